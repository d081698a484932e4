"""Modularity vs regularization: Fig. 3 (Q*), Fig. S3 (Q* by layer), Fig. S4 (clusters by layer)."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from unitclust.measures import MEASURES

from .panels import (add_note, draw_examples, empty_panel, legend_with_note, measure_grid,
                     sweep_handles)
from .prepare import (measure_order, measure_slots, per_model, prep_modularity, sweep_order,
                      sweep_positions, trained_valid, untrained, with_sweeps)
from .style import excluded_note, new_figure, styled

FIG3_WIDTH = 14.0
FIG3_ROW_HEIGHT = 2.75
FIG3_EXAMPLE_HEIGHT = 3.3
LAYER_BLOCK_HEIGHT = 5.0


def _layer_mean_inputs(modularity: pd.DataFrame, sweeps: pd.DataFrame, ycol: str):
    """What a measure grid of ``ycol`` (mean over layers) needs: sweep positions, sweep order,
    measures, grid rows, valid trained models per setting, untrained models."""
    mod = prep_modularity(modularity)
    sw = sweep_positions(sweeps)
    order = sweep_order(sw["sweep"]) if len(sw) else []
    measures = measure_order(mod["measure"]) if len(mod) else list(MEASURES)
    _, nrows = measure_slots(measures)
    trained = with_sweeps(per_model(trained_valid(mod), ycol, by_layer=False), sw)
    return sw, order, measures, nrows, trained, per_model(untrained(mod), ycol, by_layer=False)


@styled
def fig3(modularity: pd.DataFrame, sweeps: pd.DataFrame, n_excluded: int,
         examples: list[dict] | None = None) -> Figure:
    """Fig. 3: Q* (eq. 9, mean over layers) vs regularization strength, a panel per measure.

    Valid trained models only: thin lines are seeds, thick lines with a band the mean +- s.e.m.,
    one colour and line style per sweep; grey bands: untrained mean +- 1/2/3 sd.  x is the rank
    of the value within its sweep scaled to [0, 1].  ``examples`` (dicts with "title",
    "matrix" = A-tilde (eq. 7) sorted by cluster, "q", optional "boundaries") adds a top row.
    Size: 14 in x (2.75 in per measure row + 0.9 in, + 3.3 in with examples).
    """
    sw, order, measures, nrows, trained, untrained_q = _layer_mean_inputs(modularity, sweeps, "q")

    examples = list(examples or [])
    height = FIG3_ROW_HEIGHT * nrows + 0.9 + (FIG3_EXAMPLE_HEIGHT if examples else 0.0)
    fig = new_figure((FIG3_WIDTH, height))
    if examples:
        top, grid = fig.subfigures(2, 1, height_ratios=[FIG3_EXAMPLE_HEIGHT,
                                                       height - FIG3_EXAMPLE_HEIGHT])
        draw_examples(top, examples)
    else:
        grid = fig
    has_band = measure_grid(grid, trained, untrained_q, "q", "sigma", order,
                            "Q* (mean over layers)", measures)
    fig.suptitle("Modularity Q* vs regularization (valid trained models, mean over layers)")
    handles = sweep_handles(order, sw, "untrained mean \u00b1 1/2/3 sd" if has_band else None)
    legend_with_note(fig, handles, excluded_note(n_excluded))
    return fig


@styled
def fig3_z(modularity: pd.DataFrame, sweeps: pd.DataFrame, n_excluded: int) -> Figure:
    """Q* as a z-score against shuffled-weight nulls (mean over layers) vs regularization, in
    Fig. 3's layout: valid trained models, seeds thin, mean +- s.e.m. thick; grey bands: the
    untrained models' z mean +- 1/2/3 sd (dashed: their mean)."""
    sw, order, measures, nrows, trained, untrained_z = _layer_mean_inputs(modularity, sweeps, "z")
    fig = new_figure((FIG3_WIDTH, FIG3_ROW_HEIGHT * nrows + 0.9))
    has_band = measure_grid(fig, trained, untrained_z, "z", "sigma", order, "z of Q* vs shuffled weights", measures)
    fig.suptitle("Q* against shuffled-weight networks: z-score vs regularization (valid trained models)")
    handles = sweep_handles(order, sw, "untrained mean \u00b1 1/2/3 sd" if has_band else None)
    legend_with_note(fig, handles, excluded_note(n_excluded))
    return fig


def _by_layer_figure(modularity: pd.DataFrame, sweeps: pd.DataFrame, n_excluded: int,
                     ycol: str, band: str, ylabel: str, title: str, band_label: str) -> Figure:
    """One measure grid per hidden layer, stacked, on alternating white / grey backgrounds."""
    mod = prep_modularity(modularity)
    sw = sweep_positions(sweeps)
    order = sweep_order(sw["sweep"]) if len(sw) else []
    measures = measure_order(mod["measure"]) if len(mod) else list(MEASURES)
    _, nrows = measure_slots(measures)
    layers = sorted(int(x) for x in mod["layer"].dropna().unique()) if len(mod) else []
    n_blocks = max(len(layers), 1)
    block_h = LAYER_BLOCK_HEIGHT * nrows / 2
    fig = new_figure((FIG3_WIDTH, block_h * n_blocks + 1.0))
    fig.suptitle(title)
    if not layers:
        ax = fig.add_subplot(1, 1, 1)
        empty_panel(ax, "no valid models")
        add_note(fig, excluded_note(n_excluded))
        return fig
    trained_all = with_sweeps(per_model(trained_valid(mod), ycol, by_layer=True), sw)
    untrained_all = per_model(untrained(mod), ycol, by_layer=True)
    subfigs = fig.subfigures(n_blocks, 1, squeeze=False)[:, 0]
    has_band = False
    for i, (sf, layer) in enumerate(zip(subfigs, layers)):
        sf.set_facecolor("white" if i % 2 == 0 else "0.90")
        sf.suptitle(f"hidden layer h{layer}", fontsize=10, fontweight="bold")
        tr = trained_all[trained_all["layer"] == layer] if len(trained_all) else trained_all
        un = untrained_all[untrained_all["layer"] == layer] if len(untrained_all) \
            else untrained_all
        has_band |= measure_grid(sf, tr, un, ycol, band, order, ylabel, measures)
    handles = sweep_handles(order, sw, band_label if has_band else None)
    legend_with_note(fig, handles, excluded_note(n_excluded))
    return fig


# Figs. S3 and S4 draw one column of the modularity table by layer: the column ("quantity") ->
# (kind of untrained band, y label, title, legend entry of the band)
BY_LAYER = {
    "q": ("sigma", "Q*", "Modularity Q* vs regularization, by layer", "untrained mean \u00b1 1/2/3 sd"),
    "n_clusters": ("quantile", "number of clusters", "Number of clusters vs regularization, by layer",
                   "untrained median, 1/2/3 \u03c3 quantile ranges"),
}


@styled
def by_layer(modularity: pd.DataFrame, sweeps: pd.DataFrame, n_excluded: int, quantity: str) -> Figure:
    """Fig. S3 (``quantity="q"``) or Fig. S4 (``quantity="n_clusters"``): the quantity vs
    regularization, one block of measure panels per hidden layer (see :func:`figS3`, :func:`figS4`)."""
    if quantity not in BY_LAYER:
        raise ValueError(f"no by-layer figure of {quantity!r}; quantities: {', '.join(BY_LAYER)}")
    return _by_layer_figure(modularity, sweeps, n_excluded, quantity, *BY_LAYER[quantity])


def figS3(modularity: pd.DataFrame, sweeps: pd.DataFrame, n_excluded: int) -> Figure:
    """Fig. S3: Fig. 3 split by layer (one 2x4 block per hidden layer, stacked vertically).

    Same conventions as :func:`fig3` (grey bands: untrained mean +- 1/2/3 sd of the layer's Q*).
    Size: 14 in x (5 in per layer + 1 in).
    """
    return by_layer(modularity, sweeps, n_excluded, "q")


def figS4(modularity: pd.DataFrame, sweeps: pd.DataFrame, n_excluded: int) -> Figure:
    """Fig. S4: number of clusters (eq. 10) vs regularization, by layer.

    Layout as :func:`figS3`; grey bands: central 68.27 / 95.45 / 99.73 % quantile ranges of the
    untrained models, dashed line their median.  Size: 14 in x (5 in per layer + 1 in).
    """
    return by_layer(modularity, sweeps, n_excluded, "n_clusters")
