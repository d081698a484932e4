"""Shared preamble of every script in workflow/scripts.

Snakemake puts this folder on ``sys.path`` for its Python scripts; importing ``common`` puts
the repository's ``src/`` first on ``sys.path``, so every job runs the package from this
checkout (also inside conda environments, where Snakemake hides ``PYTHONPATH``), and gives
the scripts :func:`run`.
"""
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[3] / "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)

from unitclust.runtime import run_script as run  # noqa: E402

__all__ = ["run"]
