"""Tests for unitclust.figures: every figure builds, saves as PDF + PNG of the expected size,
is not blank, states the exclusion count, and survives degenerate inputs (saving itself:
test_figures_save.py).

Small synthetic tables only, low dpi, so the whole file runs in seconds.
"""

from __future__ import annotations

import ast
import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread
from matplotlib.text import Text

import unitclust.io
from unitclust import figures
from unitclust.figures import MEASURES

DPI = 30
N_EXCLUDED = 7

SWEEP_VALUES = {
    "l2": [1e-5, 1e-3, 1e-1],
    "l1": [1e-5, 3e-4, 1e-2],
    "dropout": [0.1, 0.3, 0.5],
}


def make_tables(n_layers: int = 2, n_seeds: int = 2, n_untrained: int = 4,
                seed: int = 0, extra_sweep: bool = False) -> dict[str, pd.DataFrame]:
    """Synthetic sweeps / metrics / modularity / cluster_similarity tables (seeded)."""
    rng = np.random.default_rng(seed)
    sweep_rows = []
    settings = {}
    values = dict(SWEEP_VALUES)
    if extra_sweep:
        values["my_custom"] = [0.2]
    for sweep, vals in values.items():
        param = "dropout" if sweep == "my_custom" else sweep
        for i, v in enumerate(vals):
            hp = {"l2": 1e-5, "l1": 0.0, "dropout": 0.0}
            hp[param] = v
            sid = f"{sweep}_{i}"
            settings[sid] = hp
            sweep_rows.append({"sweep": sweep, "parameter": param, "value": v,
                               "setting": sid, **hp})
    # one setting shared by two sweeps (allowed by the contract)
    sweep_rows.append({"sweep": "l1", "parameter": "l1", "value": 0.0, "setting": "l2_0",
                       **settings["l2_0"]})
    sweeps = pd.DataFrame(sweep_rows)

    models = []
    for sid, hp in settings.items():
        for s in range(n_seeds):
            models.append({"model": f"{sid}_s{s}", "setting": sid, "seed": s, "trained": True,
                           **hp})
    for s in range(n_untrained):
        models.append({"model": f"untrained_s{s}", "setting": "untrained", "seed": s,
                       "trained": False, "l2": np.nan, "l1": np.nan, "dropout": np.nan})
    metrics = pd.DataFrame(models)
    n = len(metrics)
    tr = metrics["trained"].to_numpy()
    metrics["train_loss"] = rng.uniform(0.05, 0.5, n)
    metrics["train_acc"] = np.where(tr, rng.uniform(0.85, 1.0, n), 0.1)
    metrics["val_loss"] = rng.uniform(0.1, 0.6, n)
    metrics["val_acc"] = np.where(tr, rng.uniform(0.82, 0.98, n), 0.1)
    metrics["test_loss"] = rng.uniform(0.1, 0.6, n)
    metrics["test_acc"] = np.where(tr, rng.uniform(0.82, 0.98, n), 0.1)
    metrics["sum_abs_w"] = rng.uniform(100, 1000, n)
    metrics["sum_sq_w"] = rng.uniform(10, 100, n)
    metrics["sparsity"] = rng.uniform(0, 0.3, n)
    metrics["nuclear_norm"] = rng.uniform(20, 60, n)
    metrics["epochs"] = rng.integers(5, 50, n)
    metrics["wall_time_s"] = rng.uniform(1, 10, n)
    metrics["device"] = "cpu"
    metrics["diverged"] = False
    metrics["valid"] = True
    first_trained = metrics.index[metrics["trained"]][0]
    metrics.loc[first_trained, ["test_acc", "valid"]] = [0.5, False]

    mod_rows, sim_rows = [], []
    for m in metrics.itertuples(index=False):
        boost = 0.0 if not m.trained else 0.2 * (m.dropout or 0.0)
        for layer in range(1, n_layers + 1):
            labels = {}
            for k, meas in enumerate(MEASURES):
                q = float(np.clip(rng.normal(0.15 + 0.05 * (k // 4) + boost, 0.03), 0, 1))
                mc = float(q - abs(rng.normal(0, 0.02))) if rng.random() < 0.3 else np.nan
                mod_rows.append({
                    "model": m.model, "setting": m.setting, "seed": m.seed,
                    "trained": m.trained, "layer": layer, "measure": meas,
                    "family": "upstream" if k < 4 else "downstream",
                    "normalized": meas.endswith("_norm"), "q": q,
                    "q_init": float(q - abs(rng.normal(0, 0.02))), "q_mc_only": mc,
                    "n_clusters": float(rng.uniform(2, 6)), "n_unused": int(rng.integers(0, 3)),
                    "n_units": 16, "status": "ok", "valid": m.valid})
                labels[meas] = k // 4
            for a in MEASURES:
                for b in MEASURES:
                    sim = 1.0 if a == b else float(np.clip(
                        0.7 * (labels[a] == labels[b]) + rng.uniform(0, 0.3), 0, 1))
                    sim_rows.append({"model": m.model, "setting": m.setting, "seed": m.seed,
                                     "trained": m.trained, "layer": layer, "measure_a": a,
                                     "measure_b": b, "similarity": sim, "valid": m.valid})
    return {"sweeps": sweeps, "metrics": metrics, "modularity": pd.DataFrame(mod_rows),
            "cluster_similarity": pd.DataFrame(sim_rows)}


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return make_tables()


def example_matrices(k: int = 3) -> list[dict]:
    rng = np.random.default_rng(1)
    out = []
    for i in range(k):
        a = rng.uniform(0, 0.2, (12, 12))
        a[:6, :6] += 0.3 * i
        a[6:, 6:] += 0.3 * i
        np.fill_diagonal(a, 0)
        out.append({"title": f"dropout={0.1 + 0.2 * i:.1f}", "matrix": a / a.sum(),
                    "q": 0.1 * i, "boundaries": [6]})
    return out


def build(name: str, t: dict[str, pd.DataFrame], **kw) -> Figure:
    if name == "fig3":
        return figures.fig3(t["modularity"], t["sweeps"], N_EXCLUDED, **kw)
    if name == "fig4":
        return figures.fig4(t["cluster_similarity"], N_EXCLUDED)
    if name == "figS1":
        return figures.figS1(t["metrics"], t["sweeps"])
    if name == "figS2":
        return figures.figS2(t["modularity"])
    if name == "figS3":
        return figures.figS3(t["modularity"], t["sweeps"], N_EXCLUDED)
    if name == "figS4":
        return figures.figS4(t["modularity"], t["sweeps"], N_EXCLUDED)
    if name == "figS5":
        return figures.figS5(t["cluster_similarity"], t["sweeps"], N_EXCLUDED)
    raise KeyError(name)


ALL = ["fig3", "fig4", "figS1", "figS2", "figS3", "figS4", "figS5"]
WITH_EXCLUDED = {"fig3", "fig4", "figS3", "figS4", "figS5"}


def all_text(fig: Figure) -> str:
    """Every string drawn on the figure, whitespace collapsed (so wrapped notes still match)."""
    return " ".join(" ".join(t.get_text().split()) for t in fig.findobj(Text))


def check_saved(fig: Figure, tmp_path, stem: str) -> np.ndarray:
    w, h = fig.get_size_inches()
    pdf, png = tmp_path / f"{stem}.pdf", tmp_path / f"{stem}.png"
    figures.save_figure(fig, pdf, png, dpi=DPI)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    img = imread(png)
    assert img.shape[:2] == (round(h * DPI), round(w * DPI))
    rgb = img[..., :3].astype(float)
    assert rgb.std() > 0.03
    non_white = (rgb < 0.95).any(axis=-1).mean()
    assert non_white > 0.01
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in (pdf.name, png.name)]
    assert not leftovers, leftovers  # temp files were renamed away
    return img


@pytest.mark.parametrize("name", ALL)
def test_figure_builds_saves_and_is_not_blank(name, tables, tmp_path):
    kw = {"examples": example_matrices(3)} if name == "fig3" else {}
    fig = build(name, tables, **kw)
    assert isinstance(fig, Figure)
    if name in WITH_EXCLUDED:
        assert figures.excluded_note(N_EXCLUDED) in all_text(fig)
        assert f"{N_EXCLUDED} models excluded" in all_text(fig)
    check_saved(fig, tmp_path, name)


def test_fig3_layout_sizes_and_labels(tables):
    plain = build("fig3", tables)
    fig = build("fig3", tables, examples=example_matrices(3))
    assert tuple(plain.get_size_inches()) == (14.0, 2 * 2.75 + 0.9)
    assert tuple(fig.get_size_inches()) == (14.0, 2 * 2.75 + 0.9 + 3.3)
    text = all_text(fig)
    assert "Q* = 0.200" in text and "dropout=0.5" in text
    # one panel per measure, titled in words
    for m in MEASURES:
        assert figures.MEASURE_LABELS[m] in text
    # legend states each sweep's range
    assert "L2 penalty 1e-5" in text and "dropout p 0.1" in text
    assert "regularization strength (low" in text


def test_fig4_matrix_order_and_separator(tables):
    fig = build("fig4", tables)
    ax = fig.get_axes()[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == [figures.MEASURE_LABELS[m] for m in MEASURES]
    # a line separates upstream (first 4) from downstream measures
    assert any(np.allclose(line.get_xdata(), 3.5) or np.allclose(line.get_ydata(), 3.5)
               for line in ax.get_lines())


def test_by_layer_refuses_an_unknown_quantity(tables):
    """Figs. S3 and S4 are by_layer of q and n_clusters (one script, params.quantity); nothing else."""
    with pytest.raises(ValueError, match="no by-layer figure of 'z'; quantities: q, n_clusters"):
        figures.by_layer(tables["modularity"], tables["sweeps"], N_EXCLUDED, quantity="z")


def test_sweep_positions_rank_scaled():
    t = make_tables(extra_sweep=True)
    sw = figures.sweep_positions(t["sweeps"])
    l2 = sw[sw["sweep"] == "l2"].sort_values("value")
    assert l2["pos"].tolist() == [0.0, 0.5, 1.0]
    l1 = sw[sw["sweep"] == "l1"].sort_values("value")  # 4 values incl. the shared 0
    assert np.allclose(l1["pos"], [0, 1 / 3, 2 / 3, 1])
    assert sw.loc[sw["sweep"] == "my_custom", "pos"].tolist() == [0.5]
    assert list(dict.fromkeys(sw["sweep"]))[:3] == ["l2", "l1", "dropout"]


def test_measure_vocabulary():
    assert MEASURES[:4] == ("cov", "cov_norm", "isens", "isens_norm")
    assert all(figures.FAMILY[m] == "upstream" for m in MEASURES[:4])
    assert all(figures.FAMILY[m] == "downstream" for m in MEASURES[4:])
    assert set(figures.MEASURE_COLORS) == set(MEASURES)
    assert figures.excluded_note(1) == "1 model excluded (test accuracy < cutoff or diverged)"


def _imports(path: Path, package: str) -> set[str]:
    """Absolute names of the modules imported anywhere in a file of ``package``."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the package
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                names.add(".".join(base + ([node.module] if node.module else [])))
            else:
                names.add(node.module or "")
    return names


def test_no_torch_imported():
    """Plot jobs must start fast: no module of the figures package imports torch, and among the
    unitclust modules only unitclust.measures and unitclust.io (stdlib-only at module level) and
    unitclust.lesion_summary (pandas; it and what it imports import no torch)."""
    files = sorted(Path(figures.__file__).parent.glob("*.py"))
    assert {f.stem for f in files} >= {"__init__", "style", "prepare", "panels", "save"}
    for f in files:
        names = _imports(f, "unitclust.figures")
        assert not any(n.split(".")[0] == "torch" for n in names), (f.name, names)
        ours = {n for n in names if n.split(".")[0] == "unitclust"
                and not n.startswith("unitclust.figures")}
        assert ours <= {"unitclust.measures", "unitclust.io", "unitclust.lesion_summary"}, (f.name, ours)
    # lesion_summary and the modules it imports at module level, transitively, import no torch there
    src, todo, seen = Path(unitclust.__file__).parent, ["lesion_summary"], set()
    while todo:
        name = todo.pop()
        seen.add(name)
        tree = ast.parse((src / f"{name}.py").read_text())
        top = {a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names}
        top |= {("." * n.level) + (n.module or "") for n in tree.body if isinstance(n, ast.ImportFrom)}
        assert not any(t.split(".")[0] == "torch" for t in top), (name, top)
        todo += [t.lstrip(".") for t in top if t.startswith(".") and t.lstrip(".") not in seen]
    assert seen == {"lesion_summary", "measures", "scorecard", "tables"}, seen
    io_tree = ast.parse(Path(unitclust.io.__file__).read_text())
    top = {a.name for n in io_tree.body if isinstance(n, ast.Import) for a in n.names}
    top |= {n.module or "" for n in io_tree.body if isinstance(n, ast.ImportFrom) and not n.level}
    assert all(n.split(".")[0] in sys.stdlib_module_names | {"__future__"} for n in top), top
    rel = [n for n in io_tree.body if isinstance(n, ast.ImportFrom) and n.level]
    assert all(n.level == 1 and n.module is None for n in rel)  # only `from . import __version__`


def render(fig: Figure) -> None:
    """Draw (layout included) without writing files; cheap at a tiny dpi."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=8)
    assert buf.tell() > 0


def _degenerate_cases():
    base = make_tables(seed=3)
    no_untrained = {k: v[v["trained"]] if "trained" in v else v for k, v in base.items()}
    nan_measure = dict(base)
    mod = base["modularity"].copy()
    hit = mod["measure"] == "hess_norm"
    mod.loc[hit, ["q", "n_clusters"]] = np.nan
    mod.loc[hit, "status"] = "all_unused"
    mod.loc[mod["measure"] == "osens", "q_mc_only"] = np.nan
    nan_measure["modularity"] = mod
    one_layer = make_tables(n_layers=1, n_untrained=1, seed=4, extra_sweep=True)
    five_layers = make_tables(n_layers=5, n_seeds=1, n_untrained=2, seed=5)
    return {"no_untrained": no_untrained, "nan_measure": nan_measure, "one_layer": one_layer,
            "five_layers": five_layers}


DEGENERATE = _degenerate_cases()
# Which figures each case exercises (built), and which of those are also drawn (drawing,
# i.e. the constrained layout, is what costs time).
BUILD = {
    "no_untrained": ALL,
    "nan_measure": ["fig3", "figS2", "figS3", "figS4"],
    "one_layer": ["fig3", "figS3", "figS5"],  # also a single-value, unknown sweep
    "five_layers": ["fig3", "figS3"],
}
DRAW = {
    "no_untrained": {"fig3", "fig4"},
    "nan_measure": {"figS2"},
    "one_layer": {"figS3"},
    "five_layers": set(),
}


@pytest.mark.parametrize("case", list(DEGENERATE))
def test_degenerate_inputs_do_not_crash(case):
    for name in BUILD[case]:
        fig = build(name, DEGENERATE[case])
        assert isinstance(fig, Figure)
        if name in WITH_EXCLUDED:
            assert f"{N_EXCLUDED} models excluded" in all_text(fig)
        if case == "five_layers" and name == "figS3":
            assert len(fig.subfigs) == 5
            assert fig.get_size_inches()[1] == 5 * 5.0 + 1.0
            assert all(f"hidden layer h{i}" in all_text(fig) for i in range(1, 6))
        if name in DRAW[case]:
            render(fig)


def test_untrained_bands_present_only_with_untrained(tables):
    with_u = build("fig3", tables)
    without = build("fig3", DEGENERATE["no_untrained"])
    assert "untrained mean" in all_text(with_u)
    assert "untrained mean" not in all_text(without)


def test_nan_measure_panel_is_annotated():
    fig = build("fig3", DEGENERATE["nan_measure"])
    assert "no valid models" in all_text(fig)
    s2 = all_text(build("figS2", DEGENERATE["nan_measure"]))
    assert figures.MEASURE_LABELS["hess_norm"] not in s2  # all its q are NaN


def test_empty_after_filtering():
    t = make_tables(n_untrained=0, seed=6)
    empty = {
        "sweeps": t["sweeps"],
        "metrics": t["metrics"].iloc[:0],
        "modularity": t["modularity"].assign(valid=False),
        "cluster_similarity": t["cluster_similarity"].assign(valid=False),
    }
    blank = {k: v.iloc[:0] for k, v in t.items()}  # nothing at all, not even sweeps
    for tabs in (empty, blank):
        for name in ALL:
            fig = build(name, tabs)
            text = all_text(fig)
            assert any(msg in text for msg in
                       ("no valid models", "no trained models", "no sweeps")), (name, text)
            if tabs is empty and name in ("fig3", "figS5"):
                render(fig)


def test_string_booleans_from_csv(tables):
    """Tables read back from CSV may carry booleans as strings."""
    mod = tables["modularity"].astype({"trained": str, "valid": str})
    fig = figures.fig3(mod, tables["sweeps"], N_EXCLUDED)
    assert "no valid models" not in all_text(fig)
    assert "untrained mean" in all_text(fig)
