"""Agreement between the measures' clusterings (paper section 4.3): Fig. 4 and Fig. S5."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .panels import add_note, empty_panel, heatmap
from .prepare import (mean_matrix, n_models, prep_similarity, sim_order, sweep_order,
                      sweep_positions, trained_valid, untrained)
from .style import PARAMETER_LABELS, excluded_note, fmt, new_figure, styled


METRIC_LABELS = {"element_sim": "element-centric similarity", "nmi": "normalized mutual information",
                 "rmi": "reduced mutual information", "vi": "variation of information (lower: more similar)"}


def mark_not_above_chance(ax, cs: pd.DataFrame, order) -> str:
    """Cross the cells whose pair is not above chance (see :func:`fig4`); returns a note."""
    if "p_value" not in cs.columns or not np.isfinite(cs["p_value"]).any():
        return ""
    d = cs.dropna(subset=["p_value"])
    share = (d["p_value"] < 0.05).groupby([d["measure_a"], d["measure_b"]]).mean()
    for i, a in enumerate(order):
        for j, b in enumerate(order):
            if i != j and share.get((a, b), 1.0) < 0.5:
                ax.plot(j, i, marker="x", ms=9, mew=1.2, color="0.2", zorder=5)
    return "   \u00d7: not above chance (fewer than half of the comparisons have relabelling p < 0.05)"


@styled
def fig4(cluster_similarity: pd.DataFrame, n_excluded: int, metric: str = "element_sim") -> Figure:
    """Fig. 4: mean agreement (default: element-centric similarity) between the measures' clusterings.

    (a) valid trained models (layers averaged within a model, then models); a cell is crossed
    when the pair is not above chance: fewer than half of its (model, layer) comparisons have a
    relabelling p-value below 0.05 (only when the table has p-values).  (b) (a) minus the
    untrained mean, diverging colormap centred at 0.  Size: 12.5 x 6.4 in.
    """
    cs = prep_similarity(cluster_similarity, metric)
    order = sim_order(cs)
    tv = trained_valid(cs)
    un = untrained(cs)
    chance_note = ""
    m_tr = mean_matrix(tv, order)
    m_un = mean_matrix(un, order)
    fig = new_figure((12.5, 6.4))
    ax_a, ax_b = fig.subplots(1, 2)
    n_tr, n_un = n_models(tv), n_models(un)
    ax_a.set_title(f"(a) trained models (n = {n_tr}), mean over layers and regularizers")
    if n_tr == 0:
        empty_panel(ax_a, "no valid models")
    else:
        top = max(1.0, float(np.nanmax(m_tr.to_numpy()))) if metric != "element_sim" else 1.0
        im = heatmap(ax_a, m_tr, "rocket_r", 0.0, top)
        fig.colorbar(im, ax=ax_a, shrink=0.75, label=METRIC_LABELS.get(metric, metric))
        chance_note = mark_not_above_chance(ax_a, tv, order)
    ax_b.set_title(f"(b) trained \u2212 untrained (n untrained = {n_un})")
    diff = m_tr - m_un
    if n_tr == 0 or n_un == 0 or not np.isfinite(diff.to_numpy()).any():
        empty_panel(ax_b, "no valid models" if n_tr == 0 else "no untrained models")
    else:
        vmax = float(np.nanmax(np.abs(diff.to_numpy())))
        vmax = vmax if vmax > 0 else 0.1
        im = heatmap(ax_b, diff, "RdBu_r", -vmax, vmax)
        fig.colorbar(im, ax=ax_b, shrink=0.75, label="\u0394 similarity (trained \u2212 untrained)")
    fig.suptitle("Cluster similarity between measures (upstream | downstream)")
    add_note(fig, excluded_note(n_excluded) + chance_note)
    return fig


@styled
def figS5(cluster_similarity: pd.DataFrame, sweeps: pd.DataFrame, n_excluded: int,
          metric: str = "element_sim") -> Figure:
    """Fig. S5: Fig. 4 by regularizer and strength.

    Per sweep, a row of mean similarity matrices (one per value, increasing to the right) and
    beneath it their differences to the untrained mean (one colour scale for the figure).
    Size: max(1.35 in per column + 1.9 in, 8 in) x (1.75 in per row + 0.9 in).
    """
    cs = prep_similarity(cluster_similarity, metric)
    sw = sweep_positions(sweeps)
    order_s = sweep_order(sw["sweep"]) if len(sw) else []
    order = sim_order(cs)
    tv = trained_valid(cs)
    m_un = mean_matrix(untrained(cs), order)
    have_untrained = bool(np.isfinite(m_un.to_numpy()).any())

    ncols = max([int(sw[sw["sweep"] == s]["value"].nunique()) for s in order_s] + [1])
    nrows = max(2 * len(order_s), 1)
    fig = new_figure((max(1.35 * ncols + 1.9, 8.0), 1.75 * nrows + 0.9))
    fig.suptitle("Cluster similarity by regularizer and strength\n(per sweep, top row: trained;"
                 " bottom row: trained \u2212 untrained)", fontsize=10)
    if not order_s:
        ax = fig.add_subplot(1, 1, 1)
        empty_panel(ax, "no sweeps")
        add_note(fig, excluded_note(n_excluded))
        return fig

    merged = tv.merge(sw[["sweep", "setting", "value"]], on="setting", how="inner") \
        if len(tv) else pd.DataFrame(columns=list(tv.columns) + ["sweep", "value"])
    mats: dict[tuple[str, float], pd.DataFrame] = {}
    for (s, v), d in merged.groupby(["sweep", "value"]):
        mats[(str(s), float(v))] = mean_matrix(d, order)
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
            ax_s.set_title(f"{PARAMETER_LABELS.get(param, param)}={fmt(v)}", fontsize=6.5)
            show = j == 0
            mat = mats.get((s, v))
            if mat is None or not np.isfinite(mat.to_numpy()).any():
                empty_panel(ax_s, "no valid\nmodels")
                empty_panel(ax_d, "no valid\nmodels")
            else:
                im_sim = heatmap(ax_s, mat, "rocket_r", 0.0, 1.0, labels="short",
                                 annotate=False, ticklabels=show)
                if (s, v) in diffs:
                    im_diff = heatmap(ax_d, diffs[(s, v)], "RdBu_r", -dmax, dmax,
                                      labels="short", annotate=False, ticklabels=show)
                else:
                    empty_panel(ax_d, "no untrained\nmodels")
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
    add_note(fig, excluded_note(n_excluded))
    return fig
