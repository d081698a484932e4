"""Planted modules: how well each measure and clustering method recovers a known partition."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from unitclust.measures import MEASURES

from .panels import empty_panel
from .style import MEASURE_LABELS, measure_color, new_figure, styled


@styled
def planted_figure(recovery: pd.DataFrame) -> Figure:
    """Element-centric similarity between the clusters found and the planted modules against the
    strength of the planted structure (0: noise only, 1: exact blocks), one line per measure, one
    panel per clustering method (columns) and side of the partition (rows, when the upstream and
    downstream partitions differ).  A point is the mean over seeds of each seed's mean over hidden
    layers; bars: sd across seeds.  Size: 5.2 in per panel wide, 4.2 in per row high."""
    methods = list(dict.fromkeys(recovery["method"])) if len(recovery) else ["paper"]
    sides = list(dict.fromkeys(recovery["side"])) if len(recovery) else ["both"]
    fig = new_figure((5.2 * len(methods) + 2.2, 4.2 * len(sides)))
    axes = np.atleast_2d(fig.subplots(len(sides), len(methods), squeeze=False))
    shown = []
    for i, side in enumerate(sides):
        for j, method in enumerate(methods):
            ax = axes[i, j]
            d = recovery[(recovery["side"] == side) & (recovery["method"] == method)] if len(recovery) else recovery
            ax.set_title(f"{method} clustering" + ("" if side == "both" else f", {side} modules"), fontsize="medium")
            ax.set_xlabel("strength of the planted modules")
            ax.set_ylabel("element-centric similarity to the truth")
            if d.empty:
                empty_panel(ax, "no planted networks")
                continue
            for m in MEASURES:
                dm = d[d["measure"] == m]
                if dm.empty:
                    continue
                per_seed = dm.groupby(["strength", "seed"])["element_sim"].mean().unstack("seed")
                sd = per_seed.std(axis=1, ddof=1).fillna(0.0) if per_seed.shape[1] > 1 else 0.0 * per_seed.mean(axis=1)
                ax.errorbar(per_seed.index, per_seed.mean(axis=1), yerr=sd, color=measure_color(m), marker="o", ms=4,
                            lw=1.4, capsize=2, ls="--" if m.endswith("_norm") else "-")
                if m not in shown:
                    shown.append(m)
            ax.set_ylim(0, 1.05)
            ax.set_xlim(-0.05, 1.05)
    handles = [Line2D([], [], color=measure_color(m), marker="o", ms=4, ls="--" if m.endswith("_norm") else "-",
                      label=MEASURE_LABELS.get(m, m)) for m in shown]
    fig.legend(handles=handles, loc="outside right center", frameon=False)
    return fig
