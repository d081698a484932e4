"""Drawing primitives shared by the figures: bands, sweep curves, measure grids, heatmaps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure, SubFigure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from unitclust.measures import FAMILY

from .prepare import measure_slots, seed_lines_and_mean, sweep_order, sweep_positions
from .style import (BAND_ALPHA, BAND_COLOR, FAMILY_COLORS, MEASURE_LABELS, MEASURE_SHORT,
                    NOTE_COLOR, SIGMA_COVERAGE, measure_color, new_figure, sweep_label, sweep_style)


def add_note(fig: Figure, text: str) -> None:
    """Italic note at the bottom left of the figure (the exclusion count)."""
    fig.supxlabel(text, x=0.01, ha="left", fontsize=8, color=NOTE_COLOR, style="italic")


def legend_with_note(fig: Figure, handles: list[Any], note: str) -> None:
    """Figure legend below the panels; the exclusion note and the x-axis convention are its
    title (a separate text at the figure edge would collide with an outside legend)."""
    title = (f"{note}.   x-axis: rank of the value within its sweep, scaled to [0, 1] "
             "(values evenly spaced; each sweep's range in its entry)")
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 3),
               frameon=False, title=title,
               title_fontproperties={"size": 8, "style": "italic"})


def sweep_column_grid(sweeps: pd.DataFrame, n_rows: int, col_width: float, extra_width: float, height: float,
                      title: str):
    """A figure with a column per sweep (at least one) and ``n_rows`` rows of panels:
    returns ``(fig, axes, sweep positions, sweep order)``."""
    sw = sweep_positions(sweeps)
    order = sweep_order(sw["sweep"]) if len(sw) else []
    ncols = max(len(order), 1)
    fig = new_figure((col_width * ncols + extra_width, height))
    fig.suptitle(title)
    return fig, fig.subplots(n_rows, ncols, squeeze=False), sw, order


def label_cell(ax, i: int, j: int, n_rows: int, title: str, ylabel: str, xlabel: str) -> None:
    """Labels of a grid cell: the column title on the top row, the row label in the first
    column, the x label on the bottom row."""
    if i == 0:
        ax.set_title(title)
    if j == 0:
        ax.set_ylabel(ylabel)
    if i == n_rows - 1:
        ax.set_xlabel(xlabel)


def empty_panel(ax, message: str = "no valid models", keep_frame: bool = False) -> None:
    """A panel with nothing to show: the reason, centred."""
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes,
            fontsize=8, color="0.35", style="italic")
    if not keep_frame:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)


def draw_bands(ax, values: np.ndarray, kind: str) -> bool:
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
            ax.axhspan(lo, hi, color=BAND_COLOR, alpha=BAND_ALPHA, lw=0, zorder=0)
    ax.axhline(centre, color="0.35", lw=1.0, ls=(0, (4, 2)), zorder=0.5)
    return True


def draw_sweep_curves(ax, data: pd.DataFrame, ycol: str, order: Sequence[str],
                      xcol: str = "pos") -> bool:
    """Thin line per (sweep, seed), thick mean +- s.e.m. per sweep; returns True if drawn."""
    drawn = False
    for sweep in order:
        d = data[data["sweep"] == sweep].dropna(subset=[ycol, xcol])
        if d.empty:
            continue
        st = sweep_style(sweep, order)
        lines, x, mean, sem = seed_lines_and_mean(d, xcol, ycol)
        for _, xs, ys in lines:
            ax.plot(xs, ys, color=st["color"], ls=st["linestyle"], lw=0.6, alpha=0.35,
                    zorder=2)
        ax.fill_between(x, mean - sem, mean + sem, color=st["color"], alpha=0.22, lw=0,
                        zorder=3)
        ax.plot(x, mean, color=st["color"], ls=st["linestyle"], lw=2.2, marker=st["marker"],
                ms=3.5, zorder=4)
        drawn = True
    return drawn


def sweep_handles(order: Sequence[str], sw: pd.DataFrame, band_label: str | None
                  ) -> list[Any]:
    """Legend handles: one per sweep (with its range), the seed/mean key, the grey band."""
    handles: list[Any] = []
    for sweep in order:
        st = sweep_style(sweep, order)
        handles.append(Line2D([], [], color=st["color"], ls=st["linestyle"], lw=2.2,
                              marker=st["marker"], ms=4, label=sweep_label(sweep, sw)))
    handles.append(Line2D([], [], color="0.5", lw=0.6, alpha=0.6,
                          label="thin: individual seeds; thick: mean \u00b1 s.e.m."))
    if band_label:
        handles.append(Patch(facecolor=BAND_COLOR, alpha=0.35, lw=0, label=band_label))
    return handles


def measure_grid(container: Figure | SubFigure, trained: pd.DataFrame,
                 untrained: pd.DataFrame, ycol: str, band: str, order: Sequence[str],
                 ylabel: str, measures: Sequence[str]) -> bool:
    """2x4 (or more rows, for unknown measures) grid of per-measure curves vs sweep position.

    ``trained``: columns measure, sweep, pos, seed, <ycol> (one row per model, and per sweep
    the model's setting belongs to).  ``untrained``: columns measure, <ycol>.
    Returns whether any untrained band was drawn.
    """
    slots, nrows = measure_slots(measures)
    axes = container.subplots(nrows, 4, squeeze=False, sharex=True)
    used = set()
    any_band = False
    for m, r, c in slots:
        ax = axes[r, c]
        used.add((r, c))
        ax.set_title(MEASURE_LABELS.get(m, m), color=measure_color(m), fontweight="bold")
        tr = trained[trained["measure"] == m] if len(trained) else trained
        un = untrained[untrained["measure"] == m] if len(untrained) else untrained
        has_band = draw_bands(ax, un[ycol].to_numpy(dtype=float) if len(un) else [], band)
        any_band |= has_band
        drawn = draw_sweep_curves(ax, tr, ycol, order) if len(tr) else False
        if not drawn:
            empty_panel(ax, "no valid models", keep_frame=has_band)
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


def heatmap(ax, mat: pd.DataFrame, cmap: str, vmin: float, vmax: float, labels: str = "long",
            annotate: bool = True, ticklabels: bool = True):
    """Measure x measure matrix; tick labels coloured by family, a line between the families."""
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


def draw_examples(container: Figure | SubFigure, examples: list[dict]) -> None:
    """Fig. 3's top row: normalized adjacency matrices (eq. 7) sorted by cluster, with Q*."""
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
            empty_panel(ax, "no matrix")
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
