"""Fig. S1: accuracy and weight statistics of the trained networks vs regularization."""

from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullLocator

from .panels import empty_panel, label_cell, sweep_column_grid
from .prepare import prep, seed_lines_and_mean
from .style import LOG_PARAMETERS, PARAMETER_LABELS, styled, sweep_label

S1_METRICS = (
    ("train_acc", "train accuracy"),
    ("test_acc", "test accuracy"),
    ("sum_sq_w", "\u03a3 W\u00b2"),
    ("sum_abs_w", "\u03a3 |W|"),
    ("sparsity", "sparsity (|w| < 1e-3)"),
    ("nuclear_norm", "nuclear norm"),
)


@styled
def figS1(metrics: pd.DataFrame, sweeps: pd.DataFrame) -> Figure:
    """Fig. S1: accuracy and weight statistics vs regularization, a column per sweep.

    All trained models (valid or not) at their actual swept value (log axis for L2/L1, symlog
    when a value is <= 0); thin coloured lines: seeds, thick black: mean +- s.e., grey line:
    untrained mean.  Size: (3.3 in per sweep + 1.2 in) x 12.5 in.
    """
    met = prep(metrics, numeric=[c for c, _ in S1_METRICS] + ["seed"])
    for col in ("setting", "model"):
        if col not in met.columns:
            met[col] = pd.Series(dtype=str)
    fig, axes, sw, order = sweep_column_grid(
        sweeps, len(S1_METRICS), 3.3, 1.2, 12.5,
        "Performance and weight statistics vs regularization (all trained models)")
    ncols = axes.shape[1]
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
            label_cell(ax, i, j, len(S1_METRICS), sweep_label(s, sw) if s is not None else "no sweeps", label,
                       PARAMETER_LABELS.get(param, param or "value"))
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
                empty_panel(ax, "no trained models", keep_frame=True)
                continue
            lines, x, mean, sem = seed_lines_and_mean(dd, "value", col)
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
