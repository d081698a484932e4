"""Look of the figures: matplotlib/seaborn rc, colours, labels, sweep styles and constants."""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from unitclust.measures import LABELS

DEFAULT_DPI = 150
#: central coverage of the untrained 1/2/3 sigma quantile bands (Fig. S4)
SIGMA_COVERAGE = (0.6827, 0.9545, 0.9973)

MEASURE_LABELS: dict[str, str] = dict(LABELS)
MEASURE_SHORT: dict[str, str] = {
    "cov": "cov", "cov_norm": "cov (n)", "isens": "i-sens", "isens_norm": "i-sens (n)",
    "osens": "o-sens", "osens_norm": "o-sens (n)", "hess": "hess", "hess_norm": "hess (n)",
}
# Upstream measures in blues/greens, downstream in reds/oranges; "_norm" is the lighter shade.
MEASURE_COLORS: dict[str, str] = {
    "cov": "#08519c", "cov_norm": "#6baed6",
    "isens": "#006d2c", "isens_norm": "#74c476",
    "osens": "#a50f15", "osens_norm": "#fb6a4a",
    "hess": "#a63603", "hess_norm": "#fd8d3c",
}
FAMILY_COLORS = {"upstream": "#08519c", "downstream": "#a50f15"}

PARAMETER_LABELS = {"l2": "L2 penalty", "l1": "L1 penalty", "dropout": "dropout p"}
LOG_PARAMETERS = frozenset({"l2", "l1"})
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

BAND_COLOR = "0.45"
BAND_ALPHA = 0.14
NOTE_COLOR = "0.25"


def excluded_note(n_excluded: int) -> str:
    """The sentence every modularity / cluster-similarity figure prints."""
    n = int(n_excluded)
    noun = "model" if n == 1 else "models"
    return f"{n} {noun} excluded (test accuracy < cutoff or diverged)"


def measure_color(m: str) -> str:
    return MEASURE_COLORS.get(m, "0.3")


def sweep_style(sweep: str, order: Sequence[str] | None = None) -> dict[str, Any]:
    """Colour, line style and marker of a sweep (fixed for l2/l1/dropout, cycled otherwise)."""
    if sweep in _KNOWN_SWEEP_STYLES:
        return dict(_KNOWN_SWEEP_STYLES[sweep])
    extras = [s for s in (order or []) if s not in _KNOWN_SWEEP_STYLES]
    # position among the unknown sweeps; a stable checksum (not hash()) when not listed
    i = extras.index(sweep) if sweep in extras else zlib.crc32(sweep.encode())
    return dict(_EXTRA_SWEEP_STYLES[i % len(_EXTRA_SWEEP_STYLES)])


def fmt(v: float) -> str:
    """A swept value for a label: ``0``, ``1e-5``, ``0.3``."""
    if v == 0:
        return "0"
    a = abs(v)
    if a < 1e-2 or a >= 1e4:
        return f"{v:.0e}".replace("e-0", "e-").replace("e+0", "e")
    return f"{v:.3g}"


def sweep_label(sweep: str, sw: pd.DataFrame) -> str:
    """Legend entry of a sweep: its parameter and range, e.g. "L2 penalty 1e-5 → 0.1 (3 values)"."""
    d = sw[sw["sweep"] == sweep]
    param = str(d["parameter"].iloc[0]) if len(d) else sweep
    plabel = PARAMETER_LABELS.get(param, param)
    vals = np.sort(d["value"].unique())
    if len(vals) == 0:
        return f"{sweep}"
    if len(vals) == 1:
        rng = f"{plabel} = {fmt(vals[0])}"
    else:
        rng = f"{plabel} {fmt(vals[0])} \u2192 {fmt(vals[-1])} ({len(vals)} values)"
    return rng if sweep == param else f"{sweep}: {rng}"


def rc() -> dict[str, Any]:
    """Seaborn "whitegrid"/"paper" style with small fonts and TrueType fonts in the PDF."""
    out: dict[str, Any] = {}
    out.update(sns.axes_style("whitegrid"))
    out.update(sns.plotting_context("paper", font_scale=1.0))
    out.update({
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
    return out


def styled(fn: Callable[..., Figure]) -> Callable[..., Figure]:
    """Build the figure inside the :func:`rc` context.

    Ticks are created lazily by matplotlib; they are instantiated here, inside the context, so
    that the styling survives when the figure is drawn later outside of it.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        with matplotlib.rc_context(rc()):
            fig = fn(*args, **kwargs)
            for ax in fig.get_axes():
                for axis in (ax.xaxis, ax.yaxis):
                    axis.get_major_ticks(1)
                    axis.get_minor_ticks(1)
        return fig

    return wrapper


def new_figure(figsize: tuple[float, float]) -> Figure:
    """A pyplot-free figure with constrained layout (no GUI backend, no global registry)."""
    fig = Figure(figsize=figsize, layout="constrained")
    fig.get_layout_engine().set(h_pad=0.04, w_pad=0.04, hspace=0.02, wspace=0.02)
    return fig
