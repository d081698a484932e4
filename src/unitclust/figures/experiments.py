"""Modularity across experiments (architectures): Q* per experiment and Q* by layer depth.

Input: the cross-experiment modularity table, i.e. every experiment's ``modularity.csv``
(:data:`unitclust.tables.MODULARITY_COLUMNS`) with the leading columns ``experiment`` and
``dataset`` and the columns ``depth`` (1 for "layer1", ...) and ``n_layers``.  Only rows with
status "ok" of valid models are drawn.  A model is identified by (experiment, model), so model
names may repeat across experiments.  Experiments keep their order of first appearance.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from unitclust.measures import MEASURES

from .modularity import FIG3_ROW_HEIGHT, FIG3_WIDTH
from .panels import empty_panel
from .prepare import (
    measure_order,
    measure_slots,
    per_model,
    prep_modularity,
    trained_valid,
    untrained,
)
from .style import (
    BAND_COLOR,
    MEASURE_LABELS,
    excluded_note,
    measure_color,
    new_figure,
    styled,
)

# Experiment colours: tab10 without its grey (grey is the untrained baseline).
_TAB10 = [c for i, c in enumerate(matplotlib.colormaps["tab10"].colors) if i != 7]
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
SEM_ALPHA = 0.2
TRAINED_OFFSET = -0.13  # x offset of the trained models within an experiment's slot
UNTRAINED_OFFSET = 0.22  # x offset of the untrained baseline
JITTER = 0.07


def experiment_color(i: int) -> tuple[float, float, float]:
    return _TAB10[i % len(_TAB10)]


def experiment_marker(i: int) -> str:
    return _MARKERS[i % len(_MARKERS)]


def _prep(table: pd.DataFrame | None) -> tuple[pd.DataFrame, list[str]]:
    """Prepared rows (``layer`` := depth as a number, q NaN where status is not "ok") and the
    experiments in order of first appearance (also those without any valid row)."""
    df = pd.DataFrame() if table is None else table.copy()
    if "experiment" not in df.columns:
        df["experiment"] = "experiment"
    df["experiment"] = df["experiment"].fillna("").astype(str)
    experiments = list(dict.fromkeys(df["experiment"]))
    depth = (pd.to_numeric(df["depth"], errors="coerce") if "depth" in df.columns
             else pd.Series(np.nan, index=df.index, dtype=float))
    if "layer" in df.columns:  # "layer3" or 3
        digits = df["layer"].astype(str).str.extract(r"(\d+)\s*$", expand=False)
        depth = depth.fillna(pd.to_numeric(digits, errors="coerce"))
    df["layer"] = depth.astype(float)
    return prep_modularity(df), experiments


def _per_model(rows: pd.DataFrame, by_layer: bool) -> pd.DataFrame:
    """Q* per experiment x model x measure (mean over the model's finite layers) or x layer."""
    cols = ["experiment", "model", "setting", "seed", "measure"] + (["layer"] if by_layer
                                                                    else []) + ["q"]
    if rows.empty:
        return pd.DataFrame({c: pd.Series(dtype=float if c in ("q", "layer") else object)
                             for c in cols})
    parts = [per_model(d, "q", by_layer).assign(experiment=e)
             for e, d in rows.groupby("experiment", sort=False)]
    return pd.concat(parts, ignore_index=True)[cols]


def _n_excluded(mod: pd.DataFrame) -> int:
    """Trained models (experiment, model) marked invalid."""
    if mod.empty:
        return 0
    bad = mod[mod["trained"] & ~mod["valid"]]
    return len(bad.drop_duplicates(["experiment", "model"]))


def mean_sem(values: Sequence[float] | np.ndarray) -> tuple[float, float, int]:
    """Mean, standard error of the mean (NaN with fewer than 2 values) and count of the finite
    values."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan"), 0
    sem = float(np.std(v, ddof=1) / np.sqrt(v.size)) if v.size > 1 else float("nan")
    return float(np.mean(v)), sem, int(v.size)


def _experiment_info(mod: pd.DataFrame, trained: pd.DataFrame, e: str) -> str:
    """Legend entry of an experiment: name (dataset, L layers, n valid trained models)."""
    rows = mod[mod["experiment"] == e] if len(mod) else mod
    bits = []
    if "dataset" in rows.columns:
        ds = [str(d) for d in rows["dataset"].dropna().unique() if str(d)]
        if ds:
            bits.append("/".join(ds))
    n_layers = np.nan
    if "n_layers" in rows.columns:
        n_layers = pd.to_numeric(rows["n_layers"], errors="coerce").max()
    if not np.isfinite(n_layers) and len(rows):
        n_layers = rows["layer"].max()
    if np.isfinite(n_layers):
        bits.append(f"{int(n_layers)} layer{'s' if int(n_layers) != 1 else ''}")
    t = trained[trained["experiment"] == e] if len(trained) else trained
    n = len(t.drop_duplicates("model")) if len(t) else 0
    bits.append(f"{n} valid trained model{'s' if n != 1 else ''}" if n else "no valid models")
    return f"{e} ({', '.join(bits)})"


def _panel_axes(fig: Figure, measures: Sequence[str]):
    """Fig. 3's measure layout: ``[(measure, ax, column, is_bottom_of_column)]`` and the number
    of rows; unused cells hidden."""
    slots, nrows = measure_slots(measures)
    axes = fig.subplots(nrows, 4, squeeze=False)
    bottom: dict[int, int] = {}
    for _, r, c in slots:
        bottom[c] = max(bottom.get(c, -1), r)
    used = {(r, c) for _, r, c in slots}
    for r in range(nrows):
        for c in range(4):
            if (r, c) not in used:
                axes[r, c].set_visible(False)
    out = []
    for m, r, c in slots:
        ax = axes[r, c]
        ax.set_title(MEASURE_LABELS.get(m, m), color=measure_color(m), fontweight="bold")
        out.append((m, ax, c, bottom[c] == r))
    return out, nrows


def _legend(fig: Figure, handles: list, note: str) -> None:
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 3),
               frameon=False, title=note, title_fontproperties={"size": 8, "style": "italic"})


def _note(ax, x: float, text: str) -> None:
    ax.text(x, 0.5, text, transform=ax.get_xaxis_transform(), rotation=90, ha="center",
            va="center", fontsize=6.5, color="0.35", style="italic")


def _draw_experiment_slot(ax, i: int, e: str, tr: np.ndarray, un: np.ndarray,
                          offsets: tuple[float, float], rng: np.random.Generator) -> bool:
    """Dots per valid trained model, their mean +- s.e.m., the untrained mean +- sd beside."""
    col = experiment_color(i)
    x_t, x_u = i + offsets[0], i + offsets[1]
    tr = tr[np.isfinite(tr)]
    un = un[np.isfinite(un)]
    if tr.size:
        xs = x_t + rng.uniform(-JITTER, JITTER, tr.size)
        ax.scatter(xs, tr, s=9, color=col, alpha=0.55, lw=0, zorder=2, gid=f"models:{e}")
        mean, sem, _ = mean_sem(tr)
        eb = ax.errorbar([x_t], [mean], yerr=[sem] if np.isfinite(sem) else None, fmt="D",
                         ms=6, color=col, mec="k", mew=0.8, elinewidth=2.2, capsize=3,
                         zorder=4)
        eb.lines[0].set_gid(f"trained:{e}")
        for coll in eb.lines[2]:
            coll.set_gid(f"trained-sem:{e}")
    if un.size:
        mean = float(np.mean(un))
        sd = float(np.std(un, ddof=1)) if un.size > 1 else float("nan")
        eb = ax.errorbar([x_u], [mean], yerr=[sd] if np.isfinite(sd) else None, fmt="s",
                         ms=4.5, color=BAND_COLOR, elinewidth=1.6, capsize=2.5, zorder=3)
        eb.lines[0].set_gid(f"untrained:{e}")
        for coll in eb.lines[2]:
            coll.set_gid(f"untrained-sd:{e}")
    if not tr.size:
        _note(ax, x_t if un.size else float(i),
              "no valid trained models" if un.size else "no valid models")
    return bool(tr.size or un.size)


@styled
def q_by_experiment(table: pd.DataFrame) -> Figure:
    """Q* (eq. 9, mean over a model's layers) per experiment, one panel per measure.

    x: the experiments, in order of first appearance.  Valid trained models: one dot each
    (small seeded jitter) and their mean +- s.e.m. (diamond with error bar, no bar for a single
    model); beside it in grey the experiment's untrained networks, mean +- sd.  An experiment
    without valid models in a panel is annotated "no valid models" in its slot.
    Size: 14 in x (2.75 in per measure row + 1.8 in).
    """
    mod, exps = _prep(table)
    measures = measure_order(mod["measure"]) if len(mod) else list(MEASURES)
    trained = _per_model(trained_valid(mod), by_layer=False)
    untrained_q = _per_model(untrained(mod), by_layer=False)
    offsets = (TRAINED_OFFSET, UNTRAINED_OFFSET) if len(untrained_q) else (0.0, 0.0)
    rng = np.random.default_rng(0)

    _, nrows = measure_slots(measures)
    fig = new_figure((FIG3_WIDTH, FIG3_ROW_HEIGHT * nrows + 1.8))
    fig.suptitle("Modularity Q* by experiment (mean over layers; valid trained models and "
                 "untrained baselines)")
    panels, _ = _panel_axes(fig, measures)
    long_names = len(exps) > 3 or any(len(e) > 10 for e in exps)
    for m, ax, c, is_bottom in panels:
        tr_m = trained[trained["measure"] == m]
        un_m = untrained_q[untrained_q["measure"] == m]
        for i, e in enumerate(exps):
            _draw_experiment_slot(ax, i, e, tr_m.loc[tr_m["experiment"] == e, "q"].to_numpy(
                dtype=float), un_m.loc[un_m["experiment"] == e, "q"].to_numpy(dtype=float),
                offsets, rng)
        if not exps:
            empty_panel(ax, "no valid models")
            continue
        ax.set_xlim(-0.6, len(exps) - 0.4)
        ax.grid(False, axis="x")
        if is_bottom:
            ax.set_xticks(range(len(exps)), exps, rotation=30 if long_names else 0,
                          ha="right" if long_names else "center", rotation_mode="anchor")
            ax.set_xlabel("experiment")
        else:
            ax.set_xticks(range(len(exps)))
            ax.tick_params(axis="x", labelbottom=False)
        if c == 0:
            ax.set_ylabel("Q* (mean over layers)")
    handles: list = [
        Line2D([], [], ls="", marker="o", ms=3.5, color="0.3", alpha=0.6,
               label="dots: valid trained models (colour: experiment)"),
        Line2D([], [], ls="", marker="D", ms=5.5, color="0.3", mec="k",
               label="diamond: their mean \u00b1 s.e.m."),
    ]
    if len(untrained_q):
        handles.append(Line2D([], [], ls="-", marker="s", ms=4, color=BAND_COLOR,
                              label="grey: untrained mean \u00b1 sd"))
    _legend(fig, handles, excluded_note(_n_excluded(mod)))
    return fig


def _depth_curve(d: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Depths, mean over models and s.e.m. (NaN where a single model) of per-layer Q*."""
    agg = d.dropna(subset=["q", "layer"]).groupby("layer", sort=True)["q"].agg(
        ["mean", "std", "count"])
    sem = (agg["std"] / np.sqrt(agg["count"])).where(agg["count"] > 1)
    return (agg.index.to_numpy(dtype=float), agg["mean"].to_numpy(dtype=float),
            sem.to_numpy(dtype=float))


@styled
def q_by_depth(table: pd.DataFrame) -> Figure:
    """Q* (eq. 9) against hidden-layer depth, one line per experiment, one panel per measure.

    Solid line with markers: mean over the experiment's valid trained models at each depth, band
    +- s.e.m. (none where a single model); dashed line of the same colour: its untrained
    networks' mean.  Nets of different depth share the axis (x = 1 .. deepest).
    Size: 14 in x (2.75 in per measure row + 1.6 in).
    """
    mod, exps = _prep(table)
    measures = measure_order(mod["measure"]) if len(mod) else list(MEASURES)
    trained = _per_model(trained_valid(mod), by_layer=True)
    untrained_q = _per_model(untrained(mod), by_layer=True)
    max_depth = 1
    for col in ("layer", "n_layers"):
        if col in mod.columns and len(mod):
            v = pd.to_numeric(mod[col], errors="coerce").max()
            if np.isfinite(v):
                max_depth = max(max_depth, int(v))

    _, nrows = measure_slots(measures)
    fig = new_figure((FIG3_WIDTH, FIG3_ROW_HEIGHT * nrows + 1.6))
    fig.suptitle("Modularity Q* by hidden-layer depth, per experiment (valid trained models; "
                 "dashed: untrained)")
    panels, _ = _panel_axes(fig, measures)
    depths = list(range(1, max_depth + 1))
    for m, ax, c, is_bottom in panels:
        tr_m = trained[trained["measure"] == m]
        un_m = untrained_q[untrained_q["measure"] == m]
        drawn = False
        for i, e in enumerate(exps):
            col, mk = experiment_color(i), experiment_marker(i)
            x, mean, sem = _depth_curve(tr_m[tr_m["experiment"] == e])
            if x.size:
                ax.plot(x, mean, color=col, marker=mk, ms=3.5, lw=1.8, zorder=4,
                        gid=f"trained:{e}")
                has_sem = np.isfinite(sem)
                if has_sem.any():
                    ax.fill_between(x, mean - sem, mean + sem, where=has_sem, color=col,
                                    alpha=SEM_ALPHA, lw=0, zorder=3, gid=f"sem:{e}")
                drawn = True
            xu, mean_u, _ = _depth_curve(un_m[un_m["experiment"] == e])
            if xu.size:
                ax.plot(xu, mean_u, color=col, ls="--", lw=1.1, zorder=2,
                        gid=f"untrained:{e}")
                drawn = True
        if not drawn:
            empty_panel(ax, "no valid models", keep_frame=True)
        ax.set_xlim(0.6, max_depth + 0.4)
        ax.set_xticks(depths)
        if is_bottom:
            ax.set_xlabel("hidden layer depth (1 = first)")
        if c == 0:
            ax.set_ylabel("Q*")
    handles: list = [Line2D([], [], color=experiment_color(i), marker=experiment_marker(i),
                            ms=4, lw=1.8, label=_experiment_info(mod, trained, e))
                     for i, e in enumerate(exps)]
    if len(trained):
        handles.append(Patch(facecolor="0.4", alpha=SEM_ALPHA + 0.1, lw=0,
                             label="band: \u00b1 s.e.m. over models"))
    if len(untrained_q):
        handles.append(Line2D([], [], color="0.3", ls="--", lw=1.1,
                              label="dashed: untrained mean (same colour)"))
    if handles:
        _legend(fig, handles, excluded_note(_n_excluded(mod)))
    else:
        fig.supxlabel(excluded_note(0), fontsize=8, style="italic")
    return fig
