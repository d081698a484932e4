"""Figures of the paper (Fig. 3, Fig. 4, Figs. S1-S5) drawn from the workflow's tidy tables.

Every ``fig*`` function takes already-loaded pandas DataFrames (the public CSV tables of the
workflow, see ``SPEC.md`` sections 5-6) and returns a :class:`matplotlib.figure.Figure`.
Nothing here calls ``plt.show``; figures are created with :class:`~matplotlib.figure.Figure`
directly (no pyplot state, no GUI backend needed) and written with :func:`save_figure`, which
writes PDF and PNG atomically.  This module never imports torch, so plot jobs start fast.

Conventions shared by all figures
---------------------------------
* Measures are ordered upstream first, then downstream (:data:`MEASURES`), labelled in words
  (:data:`MEASURE_LABELS`).  Upstream measures are drawn in blues/greens, downstream in
  reds/oranges; the normalized variant of each measure is a lighter shade of the same hue.
* In the 2x4 measure grids (Fig. 3, S3, S4) the top row holds the raw measures and the bottom
  row the normalized ones; the columns are input covariance, input sensitivity (upstream, the
  "first two columns" of the paper's Fig. 3), output sensitivity and output Hessian (downstream).
* Regularizer sweeps are told apart by line style *and* colour (:func:`sweep_style`); the known
  sweeps ``l2``, ``l1`` and ``dropout`` have fixed styles, any other sweep name gets the next
  style of a fixed cycle.
* Modularity and cluster-similarity figures use only valid trained models (``valid`` is False
  for models below the accuracy cutoff or diverged) and print how many were excluded.  Untrained
  models (``trained`` False) provide the grey reference bands.  Rows whose ``q`` is NaN
  (``status`` not "ok") are dropped before averaging.
* Degenerate inputs never crash: a panel with nothing to show is drawn with an annotation such
  as "no valid models"; missing untrained models simply mean no grey bands.

Figure sizes are fixed functions of the table shapes (documented per function), and
:func:`save_figure` never uses ``bbox_inches="tight"``, so a PNG is exactly
``figsize * dpi`` pixels.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure, SubFigure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import NullLocator

from .measures import FAMILY, LABELS, MEASURES

__all__ = [
    "MEASURES",
    "MEASURE_LABELS",
    "MEASURE_SHORT",
    "FAMILY",
    "MEASURE_COLORS",
    "DEFAULT_DPI",
    "excluded_note",
    "sweep_style",
    "sweep_positions",
    "fig3",
    "fig4",
    "figS1",
    "figS2",
    "figS3",
    "figS4",
    "figS5",
    "save_figure",
]

# ---------------------------------------------------------------------------------------------
# Vocabulary (kept local on purpose: plotting must not depend on unitclust.similarity/torch)
# ---------------------------------------------------------------------------------------------
MEASURE_LABELS: dict[str, str] = dict(LABELS)
MEASURE_SHORT: dict[str, str] = {
    "cov": "cov", "cov_norm": "cov (n)", "isens": "i-sens", "isens_norm": "i-sens (n)",
    "osens": "o-sens", "osens_norm": "o-sens (n)", "hess": "hess", "hess_norm": "hess (n)",
}
MEASURE_COLORS: dict[str, str] = {
    "cov": "#08519c", "cov_norm": "#6baed6",
    "isens": "#006d2c", "isens_norm": "#74c476",
    "osens": "#a50f15", "osens_norm": "#fb6a4a",
    "hess": "#a63603", "hess_norm": "#fd8d3c",
}
FAMILY_COLORS = {"upstream": "#08519c", "downstream": "#a50f15"}

PARAMETER_LABELS = {"l2": "L2 penalty", "l1": "L1 penalty", "dropout": "dropout p"}
LOG_PARAMETERS = frozenset({"l2", "l1"})
SWEEP_ORDER = ("l2", "l1", "dropout")
# Sweep colours avoid grey (the untrained bands) and are told apart by line style as well.
_KNOWN_SWEEP_STYLES = {
    "l2": {"color": "#6a3d9a", "linestyle": "-", "marker": "o"},
    "l1": {"color": "#b8860b", "linestyle": "--", "marker": "s"},
    "dropout": {"color": "#e7298a", "linestyle": ":", "marker": "^"},
}
_EXTRA_SWEEP_STYLES = [
    {"color": "#17becf", "linestyle": "-.", "marker": "D"},
    {"color": "#000000", "linestyle": (0, (5, 1, 1, 1, 1, 1)), "marker": "v"},
    {"color": "#8c564b", "linestyle": (0, (1, 1)), "marker": "P"},
    {"color": "#bcbd22", "linestyle": (0, (8, 2)), "marker": "X"},
    {"color": "#1f3a93", "linestyle": (0, (3, 1, 1, 1)), "marker": "*"},
]

DEFAULT_DPI = 150
#: central coverage of the untrained 1/2/3 sigma quantile bands (Fig. S4)
SIGMA_COVERAGE = (0.6827, 0.9545, 0.9973)

_BAND_COLOR = "0.45"
_BAND_ALPHA = 0.14
_NOTE_COLOR = "0.25"


def excluded_note(n_excluded: int) -> str:
    """The sentence every modularity / cluster-similarity figure prints."""
    n = int(n_excluded)
    noun = "model" if n == 1 else "models"
    return f"{n} {noun} excluded (test accuracy < cutoff or diverged)"


# ---------------------------------------------------------------------------------------------
# Styling
# ---------------------------------------------------------------------------------------------
def _rc() -> dict[str, Any]:
    rc: dict[str, Any] = {}
    rc.update(sns.axes_style("whitegrid"))
    rc.update(sns.plotting_context("paper", font_scale=1.0))
    rc.update({
        "axes.titlesize": 8.5,
        "axes.labelsize": 8,
        "xtick.labelsize": 7,
        "ytick.labelsize": 7,
        "legend.fontsize": 7.5,
        "figure.titlesize": 11,
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        "image.interpolation": "nearest",
    })
    return rc


def _styled(fn: Callable[..., Figure]) -> Callable[..., Figure]:
    """Build the figure inside a seaborn rc context.

    Tick objects are created lazily by matplotlib; they are instantiated here, inside the
    context, so that the styling survives when the figure is drawn later outside of it.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        with matplotlib.rc_context(_rc()):
            fig = fn(*args, **kwargs)
            for ax in fig.get_axes():
                for axis in (ax.xaxis, ax.yaxis):
                    axis.get_major_ticks(1)
                    axis.get_minor_ticks(1)
        return fig

    return wrapper


def _new_figure(figsize: tuple[float, float]) -> Figure:
    """A pyplot-free figure with constrained layout (no GUI backend, no global registry)."""
    fig = Figure(figsize=figsize, layout="constrained")
    fig.get_layout_engine().set(h_pad=0.04, w_pad=0.04, hspace=0.02, wspace=0.02)
    return fig


def _add_note(fig: Figure, text: str) -> None:
    fig.supxlabel(text, x=0.01, ha="left", fontsize=8, color=_NOTE_COLOR, style="italic")


def _legend_with_note(fig: Figure, handles: list[Any], note: str) -> None:
    """Figure legend below the panels; the exclusion note and the x-axis convention are its
    title (a separate text at the figure edge would collide with an outside legend)."""
    title = (f"{note}.   x-axis: rank of the value within its sweep, scaled to [0, 1] "
             "(values evenly spaced; each sweep's range in its entry)")
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 3),
               frameon=False, title=title,
               title_fontproperties={"size": 8, "style": "italic"})


def _empty_panel(ax, message: str = "no valid models", keep_frame: bool = False) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes,
            fontsize=8, color="0.35", style="italic")
    if not keep_frame:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)


# ---------------------------------------------------------------------------------------------
# Table helpers
# ---------------------------------------------------------------------------------------------
def _as_bool(series: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(series):
        return series.fillna(False).astype(bool)
    if pd.api.types.is_numeric_dtype(series):
        return series.fillna(0).astype(float) != 0
    s = series.astype("string").str.strip().str.lower()
    return s.isin(["true", "1", "yes", "t", "y"]).fillna(False).astype(bool)


def _prep(df: pd.DataFrame | None, numeric: Sequence[str] = ()) -> pd.DataFrame:
    """Copy with boolean ``trained``/``valid`` and numeric columns coerced; tolerant of gaps."""
    if df is None:
        return pd.DataFrame()
    out = df.copy()
    for col in ("trained", "valid"):
        if col in out.columns:
            out[col] = _as_bool(out[col])
        else:
            out[col] = True if col == "valid" else (
                out["setting"].astype(str) != "untrained" if "setting" in out.columns else True)
    for col in numeric:
        if col in out.columns:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
            out.loc[~np.isfinite(out[col].to_numpy(dtype=float)), col] = np.nan
        else:
            out[col] = np.nan
    for col in ("model", "setting", "measure", "measure_a", "measure_b"):
        if col in out.columns:
            out[col] = out[col].astype(str)
    return out


def _sweep_order(names: Iterable[str]) -> list[str]:
    names = list(dict.fromkeys(str(n) for n in names))
    known = [s for s in SWEEP_ORDER if s in names]
    return known + [s for s in names if s not in SWEEP_ORDER]


def sweep_style(sweep: str, order: Sequence[str] | None = None) -> dict[str, Any]:
    """Colour, line style and marker of a sweep (fixed for l2/l1/dropout, cycled otherwise)."""
    if sweep in _KNOWN_SWEEP_STYLES:
        return dict(_KNOWN_SWEEP_STYLES[sweep])
    extras = [s for s in (order or []) if s not in _KNOWN_SWEEP_STYLES]
    # position among the unknown sweeps; a stable checksum (not hash()) when not listed
    i = extras.index(sweep) if sweep in extras else zlib.crc32(sweep.encode())
    return dict(_EXTRA_SWEEP_STYLES[i % len(_EXTRA_SWEEP_STYLES)])


def sweep_positions(sweeps: pd.DataFrame) -> pd.DataFrame:
    """Sweeps table with ``pos``: the rank of ``value`` within its sweep scaled to [0, 1].

    A sweep with a single value sits at 0.5.  Columns returned: sweep, parameter, value,
    setting, pos, n_values.  Rows with a missing sweep name or setting are dropped.
    """
    cols = ["sweep", "parameter", "value", "setting", "pos", "n_values"]
    if sweeps is None or len(sweeps) == 0 or "sweep" not in sweeps or "setting" not in sweeps:
        return pd.DataFrame({c: pd.Series(dtype=float if c in ("value", "pos", "n_values")
                                          else object) for c in cols})
    sw = sweeps.copy()
    sw["sweep"] = sw["sweep"].astype(str)
    sw["setting"] = sw["setting"].astype(str)
    if "parameter" not in sw:
        sw["parameter"] = sw["sweep"]
    sw["parameter"] = sw["parameter"].astype(str)
    if "value" not in sw:
        sw["value"] = [sw.at[i, p] if p in sw.columns else np.nan
                       for i, p in zip(sw.index, sw["parameter"])]
    sw["value"] = pd.to_numeric(sw["value"], errors="coerce").astype(float)
    sw = sw.dropna(subset=["value"]).drop_duplicates(["sweep", "setting"])
    parts = []
    for name in _sweep_order(sw["sweep"]):
        d = sw[sw["sweep"] == name].sort_values("value").copy()
        vals = np.sort(d["value"].unique())
        rank = {v: i for i, v in enumerate(vals)}
        n = len(vals)
        d["pos"] = [0.5 if n == 1 else rank[v] / (n - 1) for v in d["value"]]
        d["n_values"] = float(n)
        parts.append(d[cols])
    if not parts:
        return sweep_positions(None)  # type: ignore[arg-type]
    return pd.concat(parts, ignore_index=True)


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a < 1e-2 or a >= 1e4:
        return f"{v:.0e}".replace("e-0", "e-").replace("e+0", "e")
    return f"{v:.3g}"


def _sweep_label(sweep: str, sw: pd.DataFrame) -> str:
    d = sw[sw["sweep"] == sweep]
    param = str(d["parameter"].iloc[0]) if len(d) else sweep
    plabel = PARAMETER_LABELS.get(param, param)
    vals = np.sort(d["value"].unique())
    if len(vals) == 0:
        return f"{sweep}"
    if len(vals) == 1:
        rng = f"{plabel} = {_fmt(vals[0])}"
    else:
        rng = f"{plabel} {_fmt(vals[0])} \u2192 {_fmt(vals[-1])} ({len(vals)} values)"
    return rng if sweep == param else f"{sweep}: {rng}"


def _measure_order(present: Iterable[str]) -> list[str]:
    present = list(dict.fromkeys(str(m) for m in present))
    return list(MEASURES) + sorted(m for m in present if m not in MEASURES)


def _measure_slots(measures: Sequence[str]) -> tuple[list[tuple[str, int, int]], int]:
    """Grid position of each measure: raw on row 0, normalized on row 1, 4 base columns."""
    slots = []
    for i, m in enumerate(MEASURES):
        slots.append((m, i % 2, i // 2))
    extras = [m for m in measures if m not in MEASURES]
    for j, m in enumerate(extras):
        slots.append((m, 2 + j // 4, j % 4))
    nrows = 2 + math.ceil(len(extras) / 4)
    return slots, nrows


def _measure_color(m: str) -> str:
    return MEASURE_COLORS.get(m, "0.3")


def _seed_lines_and_mean(d: pd.DataFrame, xcol: str, ycol: str
                         ) -> tuple[list[tuple[Any, np.ndarray, np.ndarray]], np.ndarray,
                                    np.ndarray, np.ndarray]:
    """Per-seed curves and the across-seed mean +- s.e.m. at each x (NaNs already dropped).

    Returns ([(seed, x, y), ...], x, mean, sem); the s.e.m. is 0 where only one seed exists.
    """
    per_seed = d.groupby(["seed", xcol], sort=True)[ycol].mean()
    lines = []
    for seed, ds in per_seed.groupby(level=0, sort=True):
        lines.append((seed, ds.index.get_level_values(1).to_numpy(dtype=float),
                      ds.to_numpy(dtype=float)))
    agg = d.groupby(xcol, sort=True)[ycol].agg(["mean", "std", "count"])
    sem = (agg["std"] / np.sqrt(agg["count"])).fillna(0.0).to_numpy(dtype=float)
    return (lines, agg.index.to_numpy(dtype=float), agg["mean"].to_numpy(dtype=float), sem)


# ---------------------------------------------------------------------------------------------
# Drawing primitives
# ---------------------------------------------------------------------------------------------
def _draw_bands(ax, values: np.ndarray, kind: str) -> bool:
    """Grey untrained reference: mean +- 1/2/3 sd (kind="sigma") or central quantiles."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return False
    if kind == "sigma":
        centre = float(np.mean(v))
        sd = float(np.std(v, ddof=1)) if v.size > 1 else 0.0
        intervals = [(centre - k * sd, centre + k * sd) for k in (3, 2, 1)]
    else:
        centre = float(np.median(v))
        intervals = []
        for cov in SIGMA_COVERAGE[::-1]:
            lo, hi = np.quantile(v, [(1 - cov) / 2, 1 - (1 - cov) / 2])
            intervals.append((float(lo), float(hi)))
    for lo, hi in intervals:
        if hi > lo:
            ax.axhspan(lo, hi, color=_BAND_COLOR, alpha=_BAND_ALPHA, lw=0, zorder=0)
    ax.axhline(centre, color="0.35", lw=1.0, ls=(0, (4, 2)), zorder=0.5)
    return True


def _draw_sweep_curves(ax, data: pd.DataFrame, ycol: str, order: Sequence[str],
                       xcol: str = "pos") -> bool:
    """Thin line per (sweep, seed), thick mean +- s.e.m. per sweep; returns True if drawn."""
    drawn = False
    for sweep in order:
        d = data[data["sweep"] == sweep].dropna(subset=[ycol, xcol])
        if d.empty:
            continue
        st = sweep_style(sweep, order)
        lines, x, mean, sem = _seed_lines_and_mean(d, xcol, ycol)
        for _, xs, ys in lines:
            ax.plot(xs, ys, color=st["color"], ls=st["linestyle"], lw=0.6, alpha=0.35,
                    zorder=2)
        ax.fill_between(x, mean - sem, mean + sem, color=st["color"], alpha=0.22, lw=0,
                        zorder=3)
        ax.plot(x, mean, color=st["color"], ls=st["linestyle"], lw=2.2, marker=st["marker"],
                ms=3.5, zorder=4)
        drawn = True
    return drawn


def _sweep_handles(order: Sequence[str], sw: pd.DataFrame, band_label: str | None
                   ) -> list[Any]:
    handles: list[Any] = []
    for sweep in order:
        st = sweep_style(sweep, order)
        handles.append(Line2D([], [], color=st["color"], ls=st["linestyle"], lw=2.2,
                              marker=st["marker"], ms=4, label=_sweep_label(sweep, sw)))
    handles.append(Line2D([], [], color="0.5", lw=0.6, alpha=0.6,
                          label="thin: individual seeds; thick: mean \u00b1 s.e.m."))
    if band_label:
        handles.append(Patch(facecolor=_BAND_COLOR, alpha=0.35, lw=0, label=band_label))
    return handles


def _measure_grid(container: Figure | SubFigure, trained: pd.DataFrame,
                  untrained: pd.DataFrame, ycol: str, band: str, order: Sequence[str],
                  ylabel: str, measures: Sequence[str]) -> bool:
    """2x4 (or more rows, for unknown measures) grid of per-measure curves vs sweep position.

    ``trained``: columns measure, sweep, pos, seed, <ycol> (one row per model, and per sweep
    the model's setting belongs to).  ``untrained``: columns measure, <ycol>.
    Returns whether any untrained band was drawn.
    """
    slots, nrows = _measure_slots(measures)
    axes = container.subplots(nrows, 4, squeeze=False, sharex=True)
    used = set()
    any_band = False
    for m, r, c in slots:
        ax = axes[r, c]
        used.add((r, c))
        ax.set_title(MEASURE_LABELS.get(m, m), color=_measure_color(m), fontweight="bold")
        tr = trained[trained["measure"] == m] if len(trained) else trained
        un = untrained[untrained["measure"] == m] if len(untrained) else untrained
        has_band = _draw_bands(ax, un[ycol].to_numpy(dtype=float) if len(un) else [], band)
        any_band |= has_band
        drawn = _draw_sweep_curves(ax, tr, ycol, order) if len(tr) else False
        if not drawn:
            _empty_panel(ax, "no valid models", keep_frame=has_band)
        ax.set_xlim(-0.06, 1.06)
        ax.set_xticks([0.0, 0.25, 0.5, 0.75, 1.0])
        ax.tick_params(axis="x", labelbottom=False)
        if c == 0:
            ax.set_ylabel(ylabel)
    bottom_of_col = {}
    for (r, c) in used:
        bottom_of_col[c] = max(bottom_of_col.get(c, -1), r)
    for c, r in bottom_of_col.items():
        ax = axes[r, c]
        ax.tick_params(axis="x", labelbottom=True)
        ax.set_xticks([0.0, 0.25, 0.5, 0.75, 1.0], ["low", "", "", "", "high"])
        ax.set_xlabel("regularization strength (low \u2192 high)")
    for r in range(nrows):
        for c in range(4):
            if (r, c) not in used:
                axes[r, c].set_visible(False)
    return any_band


# ---------------------------------------------------------------------------------------------
# Modularity data preparation
# ---------------------------------------------------------------------------------------------
_MOD_NUMERIC = ("q", "q_init", "q_mc_only", "n_clusters", "layer", "seed")


def _prep_modularity(modularity: pd.DataFrame) -> pd.DataFrame:
    mod = _prep(modularity, numeric=_MOD_NUMERIC)
    for col in ("model", "setting", "measure"):
        if col not in mod.columns:
            mod[col] = pd.Series(dtype=str)
    if "status" in mod.columns:
        not_ok = mod["status"].astype(str).str.lower() != "ok"
        mod.loc[not_ok, ["q", "n_clusters"]] = np.nan
    return mod


def _trained_valid(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty:
        return df
    return df[df["trained"] & df["valid"]]


def _untrained(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty:
        return df
    return df[~df["trained"] & df["valid"]]


def _per_model(df: pd.DataFrame, ycol: str, by_layer: bool) -> pd.DataFrame:
    """One value per model x measure (mean over the layers with a finite value) or per layer."""
    keys = ["model", "setting", "seed", "measure"] + (["layer"] if by_layer else [])
    if df.empty:
        return pd.DataFrame(columns=keys + [ycol])
    d = df.dropna(subset=[ycol])
    d = d.assign(seed=d["seed"].fillna(-1))
    return d.groupby(keys, as_index=False, dropna=False)[ycol].mean()


def _with_sweeps(per_model: pd.DataFrame, sw: pd.DataFrame) -> pd.DataFrame:
    if per_model.empty or sw.empty:
        return pd.DataFrame(columns=list(per_model.columns) + ["sweep", "pos", "value"])
    return per_model.merge(sw[["sweep", "setting", "pos", "value"]], on="setting", how="inner")


# ---------------------------------------------------------------------------------------------
# Fig. 3
# ---------------------------------------------------------------------------------------------
FIG3_WIDTH = 14.0
FIG3_ROW_HEIGHT = 2.75
FIG3_EXAMPLE_HEIGHT = 3.3


@_styled
def fig3(modularity: pd.DataFrame, sweeps: pd.DataFrame, n_excluded: int,
         examples: list[dict] | None = None) -> Figure:
    """Fig. 3: Q* (mean over layers) vs regularization strength, one panel per measure.

    Only valid trained models are drawn: thin lines are individual seeds, thick lines with a
    shaded band are the mean +- s.e.m. over seeds, one colour and line style per sweep.  The grey
    horizontal bands are the untrained mean +- 1, 2, 3 standard deviations (per measure).
    Q* of a model is the mean over its layers with ``status == "ok"``.

    x-axis choice: the sweeps vary different hyperparameters in different units, yet the paper
    overlays them in one panel per measure.  Each value is therefore placed at its *rank within
    its sweep scaled to [0, 1]* ("regularization strength, low -> high"); a single-value sweep
    sits at 0.5, and the legend gives each sweep's actual range.  For the paper's grids this is
    exactly proportional to log10(value) for the log-spaced L2/L1 sweeps and to the value itself
    for the linearly spaced dropout sweep, i.e. the natural axis of each sweep; using ranks
    rather than log/linear rescaling also keeps user-defined sweeps with irregular spacing or a
    zero value evenly readable.

    ``examples`` (optional) adds a top row of heatmaps: dicts with "title", "matrix" (the
    normalized adjacency A-tilde sorted by cluster), "q" and optionally "boundaries" (indices
    where a new cluster starts).

    Size: width 14 in; height 2.75 in per measure row (2 rows for the 8 measures) + 0.9 in,
    plus 3.3 in when examples are given.
    """
    mod = _prep_modularity(modularity)
    sw = sweep_positions(sweeps)
    order = _sweep_order(sw["sweep"]) if len(sw) else []
    measures = _measure_order(mod["measure"]) if len(mod) else list(MEASURES)
    _, nrows = _measure_slots(measures)

    trained = _with_sweeps(_per_model(_trained_valid(mod), "q", by_layer=False), sw)
    untrained = _per_model(_untrained(mod), "q", by_layer=False)

    examples = list(examples or [])
    height = FIG3_ROW_HEIGHT * nrows + 0.9 + (FIG3_EXAMPLE_HEIGHT if examples else 0.0)
    fig = _new_figure((FIG3_WIDTH, height))
    if examples:
        top, grid = fig.subfigures(2, 1, height_ratios=[FIG3_EXAMPLE_HEIGHT,
                                                       height - FIG3_EXAMPLE_HEIGHT])
        _draw_examples(top, examples)
    else:
        grid = fig
    has_band = _measure_grid(grid, trained, untrained, "q", "sigma", order,
                             "Q* (mean over layers)", measures)
    fig.suptitle("Modularity Q* vs regularization (valid trained models, mean over layers)")
    handles = _sweep_handles(order, sw, "untrained mean \u00b1 1/2/3 sd" if has_band else None)
    _legend_with_note(fig, handles, excluded_note(n_excluded))
    return fig


def _draw_examples(container: Figure | SubFigure, examples: list[dict]) -> None:
    axes = container.subplots(1, len(examples), squeeze=False)[0]
    for ax, ex in zip(axes, examples):
        title = str(ex.get("title", ""))
        q = ex.get("q", np.nan)
        try:
            q = float(q)
        except (TypeError, ValueError):
            q = np.nan
        ax.set_title(f"{title}\nQ* = {q:.3f}" if np.isfinite(q) else f"{title}\nQ* = n/a")
        mat = ex.get("matrix")
        arr = np.asarray(mat, dtype=float) if mat is not None else np.zeros((0, 0))
        if arr.ndim != 2 or arr.size == 0 or not np.isfinite(arr).any():
            _empty_panel(ax, "no matrix")
            continue
        finite = arr[np.isfinite(arr)]
        vmax = float(np.quantile(finite, 0.99)) if finite.size else 1.0
        ax.imshow(arr, cmap="magma", vmin=0.0, vmax=vmax if vmax > 0 else None,
                  interpolation="nearest", aspect="equal")
        for b in ex.get("boundaries") or []:
            try:
                b = float(b)
            except (TypeError, ValueError):
                continue
            if 0 < b < arr.shape[0]:
                ax.axhline(b - 0.5, color="cyan", lw=0.8)
                ax.axvline(b - 0.5, color="cyan", lw=0.8)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    container.suptitle("Example normalized adjacency \u00c3 sorted by cluster", fontsize=9)


# ---------------------------------------------------------------------------------------------
# Figs. S3 and S4 (split by layer)
# ---------------------------------------------------------------------------------------------
LAYER_BLOCK_HEIGHT = 5.0


def _by_layer_figure(modularity: pd.DataFrame, sweeps: pd.DataFrame, n_excluded: int,
                     ycol: str, band: str, ylabel: str, title: str, band_label: str) -> Figure:
    mod = _prep_modularity(modularity)
    sw = sweep_positions(sweeps)
    order = _sweep_order(sw["sweep"]) if len(sw) else []
    measures = _measure_order(mod["measure"]) if len(mod) else list(MEASURES)
    _, nrows = _measure_slots(measures)
    layers = sorted(int(x) for x in mod["layer"].dropna().unique()) if len(mod) else []
    n_blocks = max(len(layers), 1)
    block_h = LAYER_BLOCK_HEIGHT * nrows / 2
    fig = _new_figure((FIG3_WIDTH, block_h * n_blocks + 1.0))
    fig.suptitle(title)
    if not layers:
        ax = fig.add_subplot(1, 1, 1)
        _empty_panel(ax, "no valid models")
        _add_note(fig, excluded_note(n_excluded))
        return fig
    trained_all = _with_sweeps(_per_model(_trained_valid(mod), ycol, by_layer=True), sw)
    untrained_all = _per_model(_untrained(mod), ycol, by_layer=True)
    subfigs = fig.subfigures(n_blocks, 1, squeeze=False)[:, 0]
    has_band = False
    for i, (sf, layer) in enumerate(zip(subfigs, layers)):
        sf.set_facecolor("white" if i % 2 == 0 else "0.90")
        sf.suptitle(f"hidden layer h{layer}", fontsize=10, fontweight="bold")
        tr = trained_all[trained_all["layer"] == layer] if len(trained_all) else trained_all
        un = untrained_all[untrained_all["layer"] == layer] if len(untrained_all) \
            else untrained_all
        has_band |= _measure_grid(sf, tr, un, ycol, band, order, ylabel, measures)
    handles = _sweep_handles(order, sw, band_label if has_band else None)
    _legend_with_note(fig, handles, excluded_note(n_excluded))
    return fig


@_styled
def figS3(modularity: pd.DataFrame, sweeps: pd.DataFrame, n_excluded: int) -> Figure:
    """Fig. S3: Fig. 3 split by layer (one 2x4 block per hidden layer, stacked vertically).

    Blocks alternate white / grey backgrounds as in the paper.  Same x-axis, line and band
    conventions as :func:`fig3` (untrained mean +- 1/2/3 sd of the layer's Q*).
    Size: width 14 in, height 5 in per layer + 1 in.
    """
    return _by_layer_figure(modularity, sweeps, n_excluded, "q", "sigma", "Q*",
                            "Modularity Q* vs regularization, by layer",
                            "untrained mean \u00b1 1/2/3 sd")


@_styled
def figS4(modularity: pd.DataFrame, sweeps: pd.DataFrame, n_excluded: int) -> Figure:
    """Fig. S4: number of clusters (eq. 10) vs regularization, by layer.

    Layout as :func:`figS3`.  Grey bands are the central 68.27 / 95.45 / 99.73 % quantile
    ranges ("1/2/3 sigma quantiles") of the untrained models' number of clusters, the dashed
    grey line their median.  Size: width 14 in, height 5 in per layer + 1 in.
    """
    return _by_layer_figure(modularity, sweeps, n_excluded, "n_clusters", "quantile",
                            "number of clusters",
                            "Number of clusters vs regularization, by layer",
                            "untrained median, 1/2/3 \u03c3 quantile ranges")


# ---------------------------------------------------------------------------------------------
# Fig. 4 and Fig. S5 (cluster similarity)
# ---------------------------------------------------------------------------------------------
def _prep_similarity(cluster_similarity: pd.DataFrame) -> pd.DataFrame:
    cs = _prep(cluster_similarity, numeric=("similarity", "layer", "seed"))
    for col in ("model", "setting", "measure_a", "measure_b"):
        if col not in cs.columns:
            cs[col] = pd.Series(dtype=str)
    return cs


def _sim_order(cs: pd.DataFrame) -> list[str]:
    present = set(cs["measure_a"]).union(cs["measure_b"]) if len(cs) else set()
    extras = sorted(m for m in present if m not in MEASURES)
    return list(MEASURES) + extras


def _mean_matrix(cs: pd.DataFrame, order: Sequence[str]) -> pd.DataFrame:
    """Mean similarity per ordered pair: averaged over layers within a model, then models."""
    if cs.empty:
        return pd.DataFrame(np.nan, index=list(order), columns=list(order))
    d = cs.dropna(subset=["similarity"])
    if d.empty:
        return pd.DataFrame(np.nan, index=list(order), columns=list(order))
    per_model = d.groupby(["model", "measure_a", "measure_b"], as_index=False)["similarity"] \
        .mean()
    mat = per_model.groupby(["measure_a", "measure_b"])["similarity"].mean().unstack()
    return mat.reindex(index=list(order), columns=list(order)).astype(float)


def _n_models(cs: pd.DataFrame) -> int:
    if cs.empty:
        return 0
    return int(cs.dropna(subset=["similarity"])["model"].nunique())


def _heatmap(ax, mat: pd.DataFrame, cmap: str, vmin: float, vmax: float, labels: str = "long",
             annotate: bool = True, ticklabels: bool = True):
    arr = mat.to_numpy(dtype=float)
    order = list(mat.index)
    cm = matplotlib.colormaps[cmap].with_extremes(bad="0.85")
    im = ax.imshow(np.ma.masked_invalid(arr), cmap=cm, vmin=vmin, vmax=vmax,
                   interpolation="nearest", aspect="equal")
    ax.grid(False)
    n = len(order)
    names = MEASURE_LABELS if labels == "long" else MEASURE_SHORT
    if ticklabels:
        ax.set_xticks(range(n), [names.get(m, m) for m in order], rotation=45 if labels ==
                      "long" else 90, ha="right" if labels == "long" else "center",
                      rotation_mode="anchor" if labels == "long" else "default")
        ax.set_yticks(range(n), [names.get(m, m) for m in order])
        for i, m in enumerate(order):
            col = FAMILY_COLORS.get(FAMILY.get(m, ""), "0.2")
            ax.get_xticklabels()[i].set_color(col)
            ax.get_yticklabels()[i].set_color(col)
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    ax.tick_params(length=0)
    n_up = sum(1 for m in order if FAMILY.get(m) == "upstream")
    if 0 < n_up < n:
        ax.axhline(n_up - 0.5, color="k", lw=1.4)
        ax.axvline(n_up - 0.5, color="k", lw=1.4)
    if annotate:
        for i in range(n):
            for j in range(n):
                v = arr[i, j]
                if np.isfinite(v):
                    if cmap == "RdBu_r":
                        dark = abs(v) > 0.6 * max(abs(vmin), abs(vmax))
                    else:
                        dark = v > vmin + 0.55 * (vmax - vmin)
                    ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=5.5,
                            color="white" if dark else "black")
    return im


@_styled
def fig4(cluster_similarity: pd.DataFrame, n_excluded: int) -> Figure:
    """Fig. 4: element-centric cluster similarity between the eight measures' clusterings.

    (a) mean 8x8 similarity over all valid trained models (every model once, whatever sweeps it
    belongs to), layers and regularizers (layers are averaged within a model first);
    (b) that mean minus the untrained models' mean, diverging colormap centred at 0.
    Measures are ordered upstream then downstream; a black line separates the two families.
    Size: 12.5 x 6.4 in.
    """
    cs = _prep_similarity(cluster_similarity)
    order = _sim_order(cs)
    tv = _trained_valid(cs)
    un = _untrained(cs)
    m_tr = _mean_matrix(tv, order)
    m_un = _mean_matrix(un, order)
    fig = _new_figure((12.5, 6.4))
    ax_a, ax_b = fig.subplots(1, 2)
    n_tr, n_un = _n_models(tv), _n_models(un)
    ax_a.set_title(f"(a) trained models (n = {n_tr}), mean over layers and regularizers")
    if n_tr == 0:
        _empty_panel(ax_a, "no valid models")
    else:
        im = _heatmap(ax_a, m_tr, "rocket_r", 0.0, 1.0)
        fig.colorbar(im, ax=ax_a, shrink=0.75, label="element-centric similarity")
    ax_b.set_title(f"(b) trained \u2212 untrained (n untrained = {n_un})")
    diff = m_tr - m_un
    if n_tr == 0 or n_un == 0 or not np.isfinite(diff.to_numpy()).any():
        _empty_panel(ax_b, "no valid models" if n_tr == 0 else "no untrained models")
    else:
        vmax = float(np.nanmax(np.abs(diff.to_numpy())))
        vmax = vmax if vmax > 0 else 0.1
        im = _heatmap(ax_b, diff, "RdBu_r", -vmax, vmax)
        fig.colorbar(im, ax=ax_b, shrink=0.75, label="\u0394 similarity (trained \u2212 untrained)")
    fig.suptitle("Cluster similarity between measures (upstream | downstream)")
    _add_note(fig, excluded_note(n_excluded))
    return fig


@_styled
def figS5(cluster_similarity: pd.DataFrame, sweeps: pd.DataFrame, n_excluded: int) -> Figure:
    """Fig. S5: Fig. 4 broken down by regularizer and strength.

    For each sweep, a row of 8x8 heatmaps (one per strength value, increasing left to right,
    averaged over the valid trained models of that setting and their layers) and beneath it a
    row of differences to the untrained mean (diverging colormap centred at 0, one scale for
    the whole figure).  Size: width max(1.35 in per column (max number of values in a sweep)
    + 1.9 in, 8 in); height 1.75 in per row (two rows per sweep) + 0.9 in.
    """
    cs = _prep_similarity(cluster_similarity)
    sw = sweep_positions(sweeps)
    order_s = _sweep_order(sw["sweep"]) if len(sw) else []
    order = _sim_order(cs)
    tv = _trained_valid(cs)
    m_un = _mean_matrix(_untrained(cs), order)
    have_untrained = bool(np.isfinite(m_un.to_numpy()).any())

    ncols = max([int(sw[sw["sweep"] == s]["value"].nunique()) for s in order_s] + [1])
    nrows = max(2 * len(order_s), 1)
    fig = _new_figure((max(1.35 * ncols + 1.9, 8.0), 1.75 * nrows + 0.9))
    fig.suptitle("Cluster similarity by regularizer and strength\n(per sweep, top row: trained;"
                 " bottom row: trained \u2212 untrained)", fontsize=10)
    if not order_s:
        ax = fig.add_subplot(1, 1, 1)
        _empty_panel(ax, "no sweeps")
        _add_note(fig, excluded_note(n_excluded))
        return fig

    merged = tv.merge(sw[["sweep", "setting", "value"]], on="setting", how="inner") \
        if len(tv) else pd.DataFrame(columns=list(tv.columns) + ["sweep", "value"])
    mats: dict[tuple[str, float], pd.DataFrame] = {}
    for (s, v), d in merged.groupby(["sweep", "value"]):
        mats[(str(s), float(v))] = _mean_matrix(d, order)
    diffs = {k: m - m_un for k, m in mats.items()} if have_untrained else {}
    dmax = max([float(np.nanmax(np.abs(d.to_numpy()))) for d in diffs.values()
                if np.isfinite(d.to_numpy()).any()] + [0.0])
    dmax = dmax if dmax > 0 else 0.1

    axes = fig.subplots(nrows, ncols, squeeze=False)
    im_sim = im_diff = None
    for k, s in enumerate(order_s):
        d = sw[sw["sweep"] == s]
        param = str(d["parameter"].iloc[0])
        values = np.sort(d["value"].unique())
        for j in range(ncols):
            ax_s, ax_d = axes[2 * k, j], axes[2 * k + 1, j]
            if j >= len(values):
                ax_s.set_visible(False)
                ax_d.set_visible(False)
                continue
            v = float(values[j])
            ax_s.set_title(f"{PARAMETER_LABELS.get(param, param)}={_fmt(v)}", fontsize=6.5)
            show = j == 0
            mat = mats.get((s, v))
            if mat is None or not np.isfinite(mat.to_numpy()).any():
                _empty_panel(ax_s, "no valid\nmodels")
                _empty_panel(ax_d, "no valid\nmodels")
            else:
                im_sim = _heatmap(ax_s, mat, "rocket_r", 0.0, 1.0, labels="short",
                                  annotate=False, ticklabels=show)
                if (s, v) in diffs:
                    im_diff = _heatmap(ax_d, diffs[(s, v)], "RdBu_r", -dmax, dmax,
                                       labels="short", annotate=False, ticklabels=show)
                else:
                    _empty_panel(ax_d, "no untrained\nmodels")
            for ax in (ax_s, ax_d):
                ax.tick_params(labelsize=5.5)
            if show:
                ax_s.set_ylabel(f"{s}\nsimilarity", fontsize=7)
                ax_d.set_ylabel(f"{s}\n\u0394 vs untrained", fontsize=7)
    for r in range(nrows):  # one colorbar per row (non-adjacent rows cannot share one)
        im = im_sim if r % 2 == 0 else im_diff
        if im is not None:
            cb = fig.colorbar(im, ax=axes[r, :].tolist(), shrink=0.9, aspect=12, pad=0.01)
            cb.ax.tick_params(labelsize=6)
    _add_note(fig, excluded_note(n_excluded))
    return fig


# ---------------------------------------------------------------------------------------------
# Fig. S1 (performance and weight statistics)
# ---------------------------------------------------------------------------------------------
S1_METRICS = (
    ("train_acc", "train accuracy"),
    ("test_acc", "test accuracy"),
    ("sum_sq_w", "\u03a3 W\u00b2"),
    ("sum_abs_w", "\u03a3 |W|"),
    ("sparsity", "sparsity (|w| < 1e-3)"),
    ("nuclear_norm", "nuclear norm"),
)


@_styled
def figS1(metrics: pd.DataFrame, sweeps: pd.DataFrame) -> Figure:
    """Fig. S1: accuracy and weight statistics vs regularization, a column per sweep.

    All trained models are drawn (valid or not; non-finite values are skipped).  x is the
    actual swept value: log axis for L2/L1 sweeps (symlog when a value is <= 0), linear for
    dropout and unknown parameters.  Thin coloured lines: seeds (one colour per seed, same in
    every panel); thick black: mean +- s.e.; grey horizontal line: untrained mean.
    Size: width 3.3 in per sweep + 1.2 in; height 12.5 in.
    """
    met = _prep(metrics, numeric=[c for c, _ in S1_METRICS] + ["seed"])
    for col in ("setting", "model"):
        if col not in met.columns:
            met[col] = pd.Series(dtype=str)
    sw = sweep_positions(sweeps)
    order = _sweep_order(sw["sweep"]) if len(sw) else []
    ncols = max(len(order), 1)
    fig = _new_figure((3.3 * ncols + 1.2, 12.5))
    fig.suptitle("Performance and weight statistics vs regularization (all trained models)")
    axes = fig.subplots(len(S1_METRICS), ncols, squeeze=False)
    trained = met[met["trained"]] if len(met) else met
    untrained = met[~met["trained"]] if len(met) else met
    merged = trained.merge(sw[["sweep", "setting", "value", "parameter"]], on="setting",
                           how="inner") if len(trained) and len(sw) else pd.DataFrame()
    seeds = sorted(merged["seed"].dropna().unique()) if len(merged) else []
    palette = dict(zip(seeds, sns.color_palette("husl", max(len(seeds), 1))))
    for j in range(ncols):
        s = order[j] if order else None
        d_sw = sw[sw["sweep"] == s] if s is not None else sw
        param = str(d_sw["parameter"].iloc[0]) if len(d_sw) else ""
        d = merged[merged["sweep"] == s] if len(merged) else merged
        vals = d_sw["value"].to_numpy(dtype=float)
        for i, (col, label) in enumerate(S1_METRICS):
            ax = axes[i, j]
            if i == 0:
                ax.set_title(_sweep_label(s, sw) if s is not None else "no sweeps")
            if j == 0:
                ax.set_ylabel(label)
            if i == len(S1_METRICS) - 1:
                ax.set_xlabel(PARAMETER_LABELS.get(param, param or "value"))
            if param in LOG_PARAMETERS and len(vals):
                pos = vals[vals > 0]
                if len(pos) == len(vals):
                    ax.set_xscale("log")
                elif len(pos):
                    ax.set_xscale("symlog", linthresh=float(pos.min()))
                ax.xaxis.set_minor_locator(NullLocator())  # invisible anyway; costly to compute
            un = untrained[col].dropna() if len(untrained) else pd.Series(dtype=float)
            if len(un):
                ax.axhline(float(un.mean()), color="0.55", lw=1.5, zorder=1)
            dd = d.dropna(subset=[col]) if len(d) else d
            if dd.empty:
                _empty_panel(ax, "no trained models", keep_frame=True)
                continue
            lines, x, mean, sem = _seed_lines_and_mean(dd, "value", col)
            for seed, xs, ys in lines:
                ax.plot(xs, ys, color=palette.get(seed, "0.5"), lw=0.8, alpha=0.8, zorder=2)
            ax.fill_between(x, mean - sem, mean + sem, color="k", alpha=0.2, lw=0, zorder=3)
            ax.plot(x, mean, color="k", lw=2.2, marker="o", ms=3, zorder=4)
    for j in range(ncols):  # share x within a column
        col_axes = axes[:, j]
        for ax in col_axes[1:]:
            ax.sharex(col_axes[0])
        for ax in col_axes[:-1]:
            ax.tick_params(axis="x", labelbottom=False)
    handles = [
        Line2D([], [], color=sns.color_palette("husl", 3)[0], lw=0.8,
               label="individual seeds (one colour per seed)"),
        Line2D([], [], color="k", lw=2.2, marker="o", ms=3, label="mean \u00b1 s.e."),
        Line2D([], [], color="0.55", lw=1.5, label="untrained mean"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)
    return fig


# ---------------------------------------------------------------------------------------------
# Fig. S2 (optimizer diagnostics)
# ---------------------------------------------------------------------------------------------
@_styled
def figS2(modularity: pd.DataFrame) -> Figure:
    """Fig. S2: spectral initialization alone / Monte Carlo alone vs the final Q*.

    Left: ``q_init`` (Q after the spectral initialization) vs the final ``q``; right: ``q_mc_only``
    (1000 Monte Carlo steps from a single cluster; only the random 5 % of rows where it was
    computed) vs ``q``.  Every analysed matrix with ``status == "ok"`` of a valid model (trained
    and untrained) is one point, coloured by measure; the dashed line is y = x and each panel
    states how many points lie on or above it.  Size: 11 x 5.4 in.
    """
    mod = _prep_modularity(modularity)
    d = mod[mod["valid"]] if len(mod) else mod
    fig = _new_figure((11.0, 5.4))
    axes = fig.subplots(1, 2)
    specs = [("q_init", "Q from spectral initialization alone", "no valid models"),
             ("q_mc_only", "Q from 1000 Monte Carlo steps alone", "no Monte-Carlo-only runs")]
    measures = _measure_order(d["measure"]) if len(d) else list(MEASURES)
    shown = set()
    for ax, (xcol, xlabel, empty_msg) in zip(axes, specs):
        ax.set_xlabel(xlabel)
        ax.set_ylabel("final Q* (initialization + Monte Carlo)")
        dd = d.dropna(subset=[xcol, "q"]) if len(d) else d
        if dd.empty:
            _empty_panel(ax, empty_msg)
            continue
        for m in measures:
            dm = dd[dd["measure"] == m]
            if dm.empty:
                continue
            shown.add(m)
            ax.scatter(dm[xcol], dm["q"], s=9, color=_measure_color(m), alpha=0.6, lw=0,
                       zorder=3)
        lo = float(np.nanmin([dd[xcol].min(), dd["q"].min()]))
        hi = float(np.nanmax([dd[xcol].max(), dd["q"].max()]))
        pad = 0.05 * (hi - lo) if hi > lo else 0.05
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.3", ls="--", lw=1,
                zorder=2, label="y = x")
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_aspect("equal", adjustable="box")
        above = int((dd["q"] >= dd[xcol] - 1e-9).sum())
        ax.set_title(f"{above} of {len(dd)} points on or above y = x")
    handles = [Line2D([], [], ls="", marker="o", ms=5, color=_measure_color(m),
                      label=MEASURE_LABELS.get(m, m)) for m in measures if m in shown]
    handles.append(Line2D([], [], color="0.3", ls="--", lw=1, label="y = x"))
    fig.legend(handles=handles, loc="outside right center", frameon=False)
    fig.suptitle("Both spectral initialization and Monte Carlo refinement improve Q*")
    return fig


# ---------------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------------
def _atomic_savefig(fig: Figure, path: Path, fmt: str, dpi: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp.{fmt}", dir=path.parent)
    os.close(fd)
    try:
        metadata = {"CreationDate": None} if fmt == "pdf" else {"Software": None}
        fig.savefig(tmp, format=fmt, dpi=dpi, metadata=metadata)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save_figure(fig: Figure, pdf_path: str | os.PathLike, png_path: str | os.PathLike,
                dpi: float = DEFAULT_DPI) -> None:
    """Write ``fig`` as PDF and PNG, each atomically (temp file in the same folder, then
    ``os.replace``), and close it.  The PNG is exactly ``figsize * dpi`` pixels (no tight bbox);
    the PDF carries no creation date so reruns are byte-stable."""
    try:
        with matplotlib.rc_context(_rc()):
            _atomic_savefig(fig, Path(png_path), "png", dpi)
            # The PNG draw ran the constrained layout; freeze it so that the PDF reuses the
            # same axes positions instead of solving the layout again (saves ~40 % time).
            if isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):
                fig.set_layout_engine("none")
            _atomic_savefig(fig, Path(pdf_path), "pdf", dpi)
    finally:
        _close(fig)


def _close(fig: Figure) -> None:
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:  # deregister a pyplot-managed figure; never import pyplot ourselves
        plt.close(fig)
    fig.clear()
