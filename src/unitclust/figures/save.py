"""Writing a figure as PDF and PNG, atomically and byte-stable across reruns."""

from __future__ import annotations

import os
import sys

import matplotlib
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from unitclust.io import atomic_path

from .style import DEFAULT_DPI, rc


def save_figure(fig: Figure, pdf_path: str | os.PathLike, png_path: str | os.PathLike,
                dpi: float = DEFAULT_DPI) -> None:
    """Write ``fig`` as PNG then PDF, each through :func:`unitclust.io.atomic_path`, and close it.

    The PNG is exactly ``figsize * dpi`` pixels (no tight bbox) and has no Software entry; the
    PDF has no CreationDate, so reruns are byte-stable.
    """
    try:
        with matplotlib.rc_context(rc()):
            with atomic_path(png_path) as tmp:
                fig.savefig(tmp, format="png", dpi=dpi, metadata={"Software": None})
            # The PNG draw ran the constrained layout; freeze it so that the PDF reuses the
            # same axes positions instead of solving the layout again (saves ~40 % time).
            if isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):
                fig.set_layout_engine("none")
            with atomic_path(pdf_path) as tmp:
                fig.savefig(tmp, format="pdf", dpi=dpi, metadata={"CreationDate": None})
    finally:
        _close(fig)


def _close(fig: Figure) -> None:
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:  # deregister a pyplot-managed figure; never import pyplot ourselves
        plt.close(fig)
    fig.clear()
