"""Tests for the cross-experiment figures (unitclust.figures.experiments): the data drawn on the
figure objects equals what pandas computes from the table, invalid and non-"ok" rows are left
out, and degenerate tables (one experiment, only untrained / only trained models, NaN Q*, a single
model, missing or unknown measures, empty) do not crash.

Artists carry gids: "trained:<experiment>" (mean line / centre marker), "untrained:<experiment>",
"models:<experiment>" (dots), "sem:<experiment>" (band), "trained-sem:<experiment>" and
"untrained-sd:<experiment>" (error bars).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from test_figures import all_text, check_saved, render

from unitclust import figures
from unitclust.figures import MEASURE_LABELS, MEASURES

# Not in alphabetical order: the figures keep the order of first appearance.
EXPERIMENTS = [("mlp_wide", "mnist", 2), ("mlp", "mnist", 2), ("mlp_deep", "fashion", 5)]
POISON = 100.0  # q of rows that must not be drawn


def make_table(experiments=EXPERIMENTS, n_seeds: int = 3, n_untrained: int = 2, seed: int = 0,
               measures=MEASURES, poison: bool = True) -> pd.DataFrame:
    """A cross-experiment modularity table; model names repeat across experiments.

    With ``poison``: the first experiment gets one invalid trained model and one row with status
    "all_unused", both with q = POISON.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for e, (name, dataset, n_layers) in enumerate(experiments):
        models = [(f"s{s}", "base", s, True) for s in range(n_seeds)]
        models += [(f"untrained_s{s}", "untrained", s, False) for s in range(n_untrained)]
        if poison and e == 0:
            models.append(("bad", "base", 99, True))
        for model, setting, s, trained in models:
            for depth in range(1, n_layers + 1):
                for k, m in enumerate(measures):
                    q = float(rng.uniform(0.05, 0.25) + (0.2 * trained) + 0.02 * depth)
                    rows.append({
                        "experiment": name, "dataset": dataset, "model": model,
                        "setting": setting, "seed": s, "trained": trained,
                        "layer": f"layer{depth}", "measure": m,
                        "family": "upstream" if k < 4 else "downstream",
                        "normalized": str(m).endswith("_norm"), "q": q, "q_init": q - 0.01,
                        "q_mc_only": np.nan, "n_clusters": 3.0, "n_unused": 0, "n_units": 16,
                        "status": "ok", "null_mean": 0.1, "null_sd": 0.02, "z": 3.0,
                        "percentile": 99.0, "valid": model != "bad", "depth": depth,
                        "n_layers": n_layers})
    t = pd.DataFrame(rows)
    if poison and len(t):
        t.loc[t["model"] == "bad", "q"] = POISON
        hit = (t["experiment"] == experiments[0][0]) & (t["model"] == "s0") & (t["depth"] == 1)
        t.loc[hit, ["q", "status"]] = [POISON, "all_unused"]
    return t


def clean(t: pd.DataFrame) -> pd.DataFrame:
    return t[(t["status"] == "ok") & t["valid"].astype(bool)]


def expected_per_model(t: pd.DataFrame) -> pd.DataFrame:
    """Q* per experiment x model x measure: mean over the model's layers."""
    return clean(t).dropna(subset=["q"]).groupby(
        ["experiment", "model", "trained", "measure"], as_index=False)["q"].mean()


def expected_per_depth(t: pd.DataFrame) -> pd.DataFrame:
    """Mean over models of Q* per experiment x trained x measure x depth."""
    d = clean(t).dropna(subset=["q"])
    return d.groupby(["experiment", "trained", "measure", "depth"], as_index=False)["q"].agg(
        ["mean", "std", "count"])


def panel(fig: Figure, m: str):
    axes = [ax for ax in fig.get_axes() if ax.get_title() == MEASURE_LABELS.get(m, m)]
    assert len(axes) == 1, m
    return axes[0]


def by_gid(ax, gid: str) -> list:
    return [a for a in ax.get_children() if a.get_gid() == gid]


def one_line(ax, gid: str):
    found = [ln for ln in ax.get_lines() if ln.get_gid() == gid]
    assert len(found) == 1, (gid, len(found))
    return found[0]


def drawn_y(fig: Figure) -> np.ndarray:
    """Every y value of every line and dot in the figure."""
    ys = []
    for ax in fig.get_axes():
        for ln in ax.get_lines():
            ys.append(np.asarray(ln.get_ydata(), dtype=float))
        for coll in ax.collections:
            if coll.get_gid() and coll.get_gid().startswith("models:"):
                ys.append(np.asarray(coll.get_offsets())[:, 1])
    return np.concatenate(ys) if ys else np.zeros(0)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return make_table()


@pytest.fixture(scope="module")
def depth_fig(table) -> Figure:
    return figures.q_by_depth(table)


@pytest.fixture(scope="module")
def exp_fig(table) -> Figure:
    return figures.q_by_experiment(table)


def test_q_by_depth_lines_are_the_per_depth_means(table, depth_fig):
    exp = expected_per_depth(table)
    for m in MEASURES:
        ax = panel(depth_fig, m)
        assert list(ax.get_xticks()) == [1, 2, 3, 4, 5]
        for name, _, n_layers in EXPERIMENTS:
            for trained, gid in ((True, f"trained:{name}"), (False, f"untrained:{name}")):
                line = one_line(ax, gid)
                want = exp[(exp["experiment"] == name) & (exp["trained"] == trained)
                           & (exp["measure"] == m)].sort_values("depth")
                assert list(line.get_xdata()) == list(range(1, n_layers + 1))
                assert np.allclose(line.get_ydata(), want["mean"])
                assert line.get_linestyle() == ("-" if trained else "--")
            # the untrained line has its experiment's colour
            assert one_line(ax, f"trained:{name}").get_color() == \
                one_line(ax, f"untrained:{name}").get_color()
            band = by_gid(ax, f"sem:{name}")
            assert len(band) == 1
            want = exp[(exp["experiment"] == name) & exp["trained"] & (exp["measure"] == m)]
            sem = want["std"] / np.sqrt(want["count"])
            ys = np.concatenate([p.vertices[:, 1] for p in band[0].get_paths()])
            assert np.isclose(ys.max(), (want["mean"] + sem).max())
            assert np.isclose(ys.min(), (want["mean"] - sem).min())
    colours = {one_line(panel(depth_fig, "cov"), f"trained:{n}").get_color()
               for n, _, _ in EXPERIMENTS}
    assert len(colours) == 3
    text = all_text(depth_fig)
    assert "mlp_deep (fashion, 5 layers, 3 valid trained models)" in text
    assert "mlp_wide (mnist, 2 layers, 3 valid trained models)" in text
    assert "dashed: untrained" in text
    assert "1 model excluded" in text
    assert "hidden layer depth" in text


def test_q_by_experiment_centres_dots_and_baselines(table, exp_fig):
    pm = expected_per_model(table)
    names = [n for n, _, _ in EXPERIMENTS]
    for m in MEASURES:
        ax = panel(exp_fig, m)
        for i, name in enumerate(names):
            tr = pm[(pm["experiment"] == name) & pm["trained"] & (pm["measure"] == m)]["q"]
            un = pm[(pm["experiment"] == name) & ~pm["trained"] & (pm["measure"] == m)]["q"]
            centre = one_line(ax, f"trained:{name}")
            assert np.isclose(centre.get_ydata()[0], tr.mean())
            dots = by_gid(ax, f"models:{name}")[0].get_offsets()
            assert np.allclose(np.sort(dots[:, 1]), np.sort(tr))
            assert np.all(np.abs(dots[:, 0] - centre.get_xdata()[0]) < 0.1)  # jitter
            assert i - 0.5 < centre.get_xdata()[0] < i + 0.5
            (bar,) = by_gid(ax, f"trained-sem:{name}")
            seg = bar.get_segments()[0]
            sem = tr.std(ddof=1) / np.sqrt(len(tr))
            assert np.allclose(sorted(seg[:, 1]), [tr.mean() - sem, tr.mean() + sem])
            base = one_line(ax, f"untrained:{name}")
            assert np.isclose(base.get_ydata()[0], un.mean())
            assert base.get_xdata()[0] > centre.get_xdata()[0]  # beside it
            (sd_bar,) = by_gid(ax, f"untrained-sd:{name}")
            assert np.allclose(sorted(sd_bar.get_segments()[0][:, 1]),
                               [un.mean() - un.std(ddof=1), un.mean() + un.std(ddof=1)])
    bottom = panel(exp_fig, "cov_norm")  # bottom row of Fig. 3's layout
    assert [t.get_text() for t in bottom.get_xticklabels()] == names
    text = all_text(exp_fig)
    assert "Q* (mean over layers)" in text and "untrained mean \u00b1 sd" in text
    assert "no valid models" not in text


def test_invalid_and_non_ok_rows_are_not_drawn(table, depth_fig, exp_fig):
    assert (table["q"] == POISON).sum() > 0
    for fig in (depth_fig, exp_fig):
        y = drawn_y(fig)
        assert y.size and np.nanmax(y) < 1.0
    # the model with one non-ok layer keeps its other layer
    pm = expected_per_model(table)
    hit = pm[(pm["experiment"] == "mlp_wide") & (pm["model"] == "s0")]
    assert len(hit) == len(MEASURES)


def test_single_model_has_no_band_or_error_bar():
    t = make_table(n_seeds=1, n_untrained=1, poison=False)
    depth, exp = figures.q_by_depth(t), figures.q_by_experiment(t)
    pm = expected_per_model(t)
    for m in ("cov", "hess_norm"):
        for name, _, n_layers in EXPERIMENTS:
            assert not by_gid(panel(depth, m), f"sem:{name}")
            assert len(one_line(panel(depth, m), f"trained:{name}").get_xdata()) == n_layers
            ax = panel(exp, m)
            assert not by_gid(ax, f"trained-sem:{name}")
            assert not by_gid(ax, f"untrained-sd:{name}")
            want = pm[(pm["experiment"] == name) & pm["trained"] & (pm["measure"] == m)]["q"]
            assert np.isclose(one_line(ax, f"trained:{name}").get_ydata()[0], want.iloc[0])
    render(depth)
    render(exp)


def test_experiment_without_valid_rows_is_annotated():
    t = make_table(poison=False)
    t.loc[t["experiment"] == "mlp", "valid"] = False
    only_untrained = t[~((t["experiment"] == "mlp_deep") & t["trained"])]
    exp = figures.q_by_experiment(only_untrained)
    ax = panel(exp, "cov_norm")
    assert [x.get_text() for x in ax.get_xticklabels()] == ["mlp_wide", "mlp", "mlp_deep"]
    notes = [x.get_text() for x in ax.texts]
    assert notes.count("no valid models") == 1  # mlp: nothing valid
    assert notes.count("no valid trained models") == 1  # mlp_deep: only its baseline
    assert by_gid(ax, "untrained:mlp_deep") and not by_gid(ax, "trained:mlp_deep")
    assert "3 models excluded" in all_text(exp)  # mlp's three trained models
    depth = figures.q_by_depth(only_untrained)
    ax = panel(depth, "cov")
    assert not by_gid(ax, "trained:mlp") and not by_gid(ax, "untrained:mlp")
    assert one_line(ax, "untrained:mlp_deep").get_linestyle() == "--"
    assert "mlp (mnist, 2 layers, no valid models)" in all_text(depth)
    render(exp)


def _degenerate() -> dict[str, pd.DataFrame]:
    base = make_table(seed=3)
    nan_q = base.copy()
    nan_q.loc[nan_q["measure"] == "osens", "q"] = np.nan
    nan_q.loc[nan_q["depth"] == 2, "q"] = np.nan
    few = make_table(seed=4, measures=("cov", "hess", "my_measure"))
    ints = make_table(experiments=EXPERIMENTS[:1], seed=5, poison=False).drop(
        columns=["depth", "n_layers", "experiment", "dataset", "status"])
    ints["layer"] = ints["layer"].str.removeprefix("layer").astype(int)
    return {
        "one_experiment": make_table(experiments=EXPERIMENTS[2:], seed=1),
        "only_trained": base[base["trained"]],
        "only_untrained": base[~base["trained"]],
        "nan_q": nan_q,
        "few_and_unknown_measures": few,
        "no_optional_columns": ints,
        "all_invalid": base.assign(valid=False),
        "empty": base.iloc[:0],
        "no_columns": pd.DataFrame(),
    }


@pytest.mark.parametrize("case", list(_degenerate()))
def test_degenerate_inputs_do_not_crash(case):
    t = _degenerate()[case]
    for fn in (figures.q_by_experiment, figures.q_by_depth):
        fig = fn(t)
        assert isinstance(fig, Figure)
        titles = {ax.get_title() for ax in fig.get_axes() if ax.get_visible()}
        assert {MEASURE_LABELS[m] for m in MEASURES} <= titles  # all 8 panels, always
        text = all_text(fig)
        if case in ("all_invalid", "empty", "no_columns", "only_untrained"):
            assert "no valid" in text, (case, fn.__name__)
        if case == "few_and_unknown_measures":
            assert "my_measure" in titles
            assert fig.get_size_inches()[1] > 3 * 2.75
            assert "no valid" in all_text(fig)  # the six measures that are missing
        if case == "no_optional_columns" and fn is figures.q_by_depth:
            assert list(one_line(panel(fig, "cov"), "trained:experiment").get_xdata()) == [1, 2]
        if case == "nan_q":
            assert np.isfinite(drawn_y(fig)).all()
            if fn is figures.q_by_depth:
                line = one_line(panel(fig, "cov"), "trained:mlp_deep")
                assert list(line.get_xdata()) == [1, 3, 4, 5]
        if case in ("one_experiment", "empty"):
            render(fig)


def test_csv_round_trip_gives_the_same_data(table, tmp_path, exp_fig):
    path = tmp_path / "modularity.csv"
    table.to_csv(path, index=False)
    fig = figures.q_by_experiment(pd.read_csv(path))
    for name, _, _ in EXPERIMENTS:
        assert np.isclose(one_line(panel(fig, "isens"), f"trained:{name}").get_ydata()[0],
                          one_line(panel(exp_fig, "isens"), f"trained:{name}").get_ydata()[0])


def test_figures_save(table, tmp_path):
    check_saved(figures.q_by_experiment(table), tmp_path, "q_by_experiment")
    for p in list(tmp_path.iterdir()):
        p.unlink()
    check_saved(figures.q_by_depth(table), tmp_path, "q_by_depth")
