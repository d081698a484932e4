"""Atomic output files, provenance and checked readers.

Every output is written to a temporary file in the destination directory and
renamed into place, so a crash never leaves a truncated file at a final path.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path

from . import __version__

PACKAGES = ("torch", "numpy", "scipy", "h5py", "pandas", "clusim", "snakemake")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; rename it to ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: str | os.PathLike, obj) -> None:
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        json.dump(obj, fh, indent=2, sort_keys=True, allow_nan=True)
        fh.write("\n")


def read_json(path: str | os.PathLike) -> dict:
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is unreadable ({exc}). Delete it and rerun.") from exc


@functools.cache
def git_hash() -> str:
    """Commit of the source tree this package was imported from (``+dirty`` if modified), or 'unknown'."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


@functools.cache
def versions() -> dict[str, str]:
    out = {"unitclust": __version__}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def provenance() -> dict:
    """What produced a result: package versions and the git commit."""
    return {"git_hash": git_hash(), "versions": versions()}


def save_checkpoint(path: str | os.PathLike, payload: dict) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """Load a checkpoint written by :func:`save_checkpoint`; a clear error if it is corrupt."""
    import torch

    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
        ckpt["state_dict"], ckpt["hparams"]  # noqa: B018 - presence check
    except Exception as exc:  # noqa: BLE001 - zip/pickle/KeyError on corrupt files
        raise ValueError(f"checkpoint {path} is unreadable or incomplete ({type(exc).__name__}: {exc}). "
                         "Delete it and rerun the workflow to recreate it.") from exc
    return ckpt


def model_from_checkpoint(ckpt: dict):
    from .models import MLP

    h = ckpt["hparams"]
    model = MLP(h["in_dim"], h["hidden"], h["out_dim"], h["dropout"])
    model.load_state_dict(ckpt["state_dict"])
    return model
