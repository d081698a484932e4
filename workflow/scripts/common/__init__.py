"""Shared preamble of every script in workflow/scripts.

Snakemake puts this folder on ``sys.path`` for its Python scripts; importing ``common`` puts
the repository's ``src/`` first on ``sys.path``, so every job runs the package from this
checkout (also inside conda environments, where Snakemake hides ``PYTHONPATH``, and when another
checkout is installed with ``pip install -e``), and gives the scripts :func:`run`.
"""
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src"
if sys.path[:1] != [str(SRC)]:
    sys.path.insert(0, str(SRC))

import unitclust  # noqa: E402 - only after src/ is first on sys.path

if not Path(unitclust.__file__).resolve().is_relative_to(SRC):
    raise ImportError(f"this job imported unitclust from {Path(unitclust.__file__).parent}, not from this "
                      f"checkout's {SRC}; it was imported before the script's preamble ran")

from unitclust.runtime import run_script as run  # noqa: E402 - only after the check above

__all__ = ["run"]
