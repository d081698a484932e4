"""Training curves: validation loss and accuracy per epoch of every trained model, a column per sweep."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .panels import empty_panel, label_cell, sweep_column_grid
from .prepare import prep
from .style import PARAMETER_LABELS, styled, sweep_label

CURVE_ROWS = (("val_loss", "validation loss"), ("val_acc", "validation accuracy"))


@styled
def training_curves(history: pd.DataFrame, sweeps: pd.DataFrame) -> Figure:
    """Validation loss (log scale) and accuracy vs epoch for every trained model of each sweep.

    One thin line per model, coloured by its value of the swept parameter (viridis, low to high,
    colour bar per column); curves end where early stopping ended training.  A setting in
    several sweeps appears in each.  Size: (3.6 in per sweep + 1 in) x 6.4 in.
    """
    hist = prep(history, numeric=["epoch", "val_loss", "val_acc", "seed"])
    fig, axes, sw, order = sweep_column_grid(sweeps, len(CURVE_ROWS), 3.6, 1.0, 6.4,
                                            "Training curves of every trained model (validation split)")
    ncols = axes.shape[1]
    merged = (hist.merge(sw[["sweep", "setting", "value", "parameter"]], on="setting", how="inner")
              if len(hist) and len(sw) else pd.DataFrame())
    for j in range(ncols):
        name = order[j] if order else None
        d = merged[merged["sweep"] == name] if len(merged) else merged
        values = np.sort(d["value"].unique()) if len(d) else np.array([])
        cmap = mpl.colormaps["viridis"]
        color = {v: cmap(i / max(len(values) - 1, 1)) for i, v in enumerate(values)}
        for i, (col, label) in enumerate(CURVE_ROWS):
            ax = axes[i, j]
            label_cell(ax, i, j, len(CURVE_ROWS), sweep_label(name, sw) if name is not None else "no sweeps",
                       label, "epoch")
            dd = d.dropna(subset=[col]) if len(d) else d
            if dd.empty:
                empty_panel(ax, "no training history", keep_frame=True)
                continue
            for (_, value), run in dd.sort_values("epoch").groupby(["model", "value"], sort=True):
                ax.plot(run["epoch"], run[col], color=color[value], lw=0.8, alpha=0.8)
            if col == "val_loss" and (dd[col] > 0).all():
                ax.set_yscale("log")
        if len(values):
            param = str(d["parameter"].iloc[0])
            norm = mpl.colors.Normalize(0, max(len(values) - 1, 1))
            bar = fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap="viridis"), ax=axes[:, j],
                               ticks=range(len(values)), location="bottom", shrink=0.9)
            step = max(1, len(values) // 5)
            bar.set_ticks(range(0, len(values), step), labels=[f"{v:.3g}" for v in values[::step]])
            bar.set_label(PARAMETER_LABELS.get(param, param))
    return fig
