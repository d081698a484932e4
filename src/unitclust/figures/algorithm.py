"""Fig. S2: what spectral initialization and Monte Carlo refinement each contribute to Q*."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from unitclust.measures import MEASURES

from .panels import empty_panel
from .prepare import measure_order, prep_modularity
from .style import MEASURE_LABELS, measure_color, new_figure, styled


@styled
def figS2(modularity: pd.DataFrame) -> Figure:
    """Fig. S2: Q of the spectral initialization alone (left) and of 1000 Monte Carlo steps
    from one cluster alone (right, the random 5 % of rows where it was computed) vs final Q*.

    One point per analysed matrix (``status == "ok"``) of a valid model, trained or untrained,
    coloured by measure; dashed: y = x, with the count of points on or above it.
    Size: 11 x 5.4 in.
    """
    mod = prep_modularity(modularity)
    d = mod[mod["valid"]] if len(mod) else mod
    fig = new_figure((11.0, 5.4))
    axes = fig.subplots(1, 2)
    specs = [("q_init", "Q from spectral initialization alone", "no valid models"),
             ("q_mc_only", "Q from 1000 Monte Carlo steps alone", "no Monte-Carlo-only runs")]
    measures = measure_order(d["measure"]) if len(d) else list(MEASURES)
    shown = set()
    for ax, (xcol, xlabel, empty_msg) in zip(axes, specs):
        ax.set_xlabel(xlabel)
        ax.set_ylabel("final Q* (initialization + Monte Carlo)")
        dd = d.dropna(subset=[xcol, "q"]) if len(d) else d
        if dd.empty:
            empty_panel(ax, empty_msg)
            continue
        for m in measures:
            dm = dd[dd["measure"] == m]
            if dm.empty:
                continue
            shown.add(m)
            ax.scatter(dm[xcol], dm["q"], s=9, color=measure_color(m), alpha=0.6, lw=0,
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
    handles = [Line2D([], [], ls="", marker="o", ms=5, color=measure_color(m),
                      label=MEASURE_LABELS.get(m, m)) for m in measures if m in shown]
    handles.append(Line2D([], [], color="0.3", ls="--", lw=1, label="y = x"))
    fig.legend(handles=handles, loc="outside right center", frameon=False)
    fig.suptitle("Both spectral initialization and Monte Carlo refinement improve Q*")
    return fig
