"""Figures of the paper (Fig. 3, Fig. 4, Figs. S1-S5), the training curves and the cross-experiment
figures (Q* by experiment, Q* by layer depth), drawn from the tidy tables.

Each ``fig*`` function takes loaded DataFrames and returns a pyplot-free
:class:`matplotlib.figure.Figure`; :func:`save_figure` writes it as PDF and PNG.  No torch is
imported, so plot jobs start fast.  The conventions are described in docs/science.md, "Figures".
"""

from unitclust.measures import FAMILY, MEASURES

from .agreement import fig4, figS5
from .algorithm import figS2
from .curves import training_curves
from .experiments import q_by_depth, q_by_experiment
from .lesion import lesion_figure
from .planted import planted_figure
from .modularity import by_layer, fig3, fig3_z, figS3, figS4
from .prepare import sweep_positions
from .save import save_figure
from .style import (DEFAULT_DPI, MEASURE_COLORS, MEASURE_LABELS, MEASURE_SHORT, excluded_note,
                    sweep_style)
from .training import figS1

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
    "fig3_z",
    "lesion_figure",
    "planted_figure",
    "fig4",
    "figS1",
    "figS2",
    "figS3",
    "figS4",
    "by_layer",
    "figS5",
    "training_curves",
    "q_by_experiment",
    "q_by_depth",
    "save_figure",
]
