"""Lesion tests: how much, and how class-specifically, silencing a cluster hurts, against random groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from unitclust.lesion_summary import per_clustering
from unitclust.measures import FAMILY, MEASURES

from .panels import empty_panel
from .style import MEASURE_SHORT, measure_color, new_figure, styled

PANELS = (("spec_z", "specificity z (sd across classes of the accuracy drops)"),
          ("drop_z", "accuracy drop z"))


@styled
def lesion_figure(lesion: pd.DataFrame) -> Figure:
    """Per measure (upstream measures left, downstream right), the z-score of a cluster's lesion
    effect against random groups of its size: class specificity (left panel) and accuracy drop
    (right).  A point is the mean over seeds of each seed's mean over valid models, layers and
    clusters (clusters averaged per clustering first); bars: sd across seeds.  Filled: trained
    models; open: untrained.  0 (dashed) is what a random group of the same size does.
    Size: 11 x 4.6 in."""
    d = lesion[lesion["valid"].astype(bool)] if len(lesion) else lesion
    fig = new_figure((11.0, 4.6))
    axes = fig.subplots(1, 2)
    measures = [m for m in MEASURES if FAMILY[m] == "upstream"] + [m for m in MEASURES if FAMILY[m] == "downstream"]
    per = per_clustering(d) if len(d) else d
    for ax, (col, label) in zip(axes, PANELS):
        ax.set_ylabel(label)
        if per.empty:
            empty_panel(ax, "no lesion tests of valid models")
            continue
        for offset, trained in ((-0.15, True), (0.15, False)):
            sel = per[per["trained"].astype(bool) == trained]
            for i, m in enumerate(measures):
                seeds = sel[sel["measure"] == m].groupby("seed")[col].mean().dropna()
                if seeds.empty:
                    continue
                sd = float(seeds.std(ddof=1)) if len(seeds) > 1 else 0.0
                color = measure_color(m)
                ax.errorbar(i + offset, float(seeds.mean()), yerr=sd, fmt="o", ms=6, color=color, capsize=2,
                            mfc=color if trained else "white", zorder=3)
        ax.axhline(0.0, color="0.3", ls="--", lw=1, zorder=1)
        ax.axvline(3.5, color="0.4", lw=1.2, zorder=1)
        ax.set_xticks(np.arange(len(measures)), [MEASURE_SHORT.get(m, m) for m in measures], rotation=45, ha="right")
        ax.set_xlim(-0.6, len(measures) - 0.4)
        ax.set_title("upstream | downstream", fontsize="medium")
    handles = [Line2D([], [], ls="", marker="o", ms=6, color="0.3", label="trained"),
               Line2D([], [], ls="", marker="o", ms=6, color="0.3", mfc="white", label="untrained"),
               Line2D([], [], color="0.3", ls="--", lw=1, label="random groups of the same size")]
    fig.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False)
    return fig
