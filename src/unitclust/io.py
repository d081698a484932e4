"""File formats of the workflow: atomic writers, checked readers, provenance.

Every output is written to a temporary file in the destination directory and renamed into
place, so a crash never leaves a truncated file at a final path.  Formats: checkpoints
(``torch.save``), JSON, HDF5 (``layerL`` groups of datasets; provenance in root attributes)
and CSV tables.  Readers turn unreadable or truncated files into a ``ValueError`` that names
the file and says to delete it and rerun.
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; rename it to ``path`` only on success.

    The final file gets the permissions the user's umask gives any new file (``mkstemp``
    alone would make it private), so a results folder can be shared.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.fchmod(fd, 0o666 & ~_umask())
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


# ------------------------------------------------------------------ HDF5
def write_h5(path: str | os.PathLike, fill, attrs: dict) -> None:
    """Write an HDF5 file atomically: root attributes ``attrs`` plus provenance, then ``fill(h5file)``."""
    import h5py

    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            for k, v in {**attrs, "git_hash": git_hash(), "unitclust_version": versions()["unitclust"],
                         "versions": json.dumps(versions(), sort_keys=True)}.items():
                f.attrs[k] = v
            fill(f)


def open_h5(path: str | os.PathLike):
    """Open a workflow HDF5 file read-only, with a clear error for a corrupt or truncated file."""
    import h5py

    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"HDF5 file {path} is unreadable or truncated ({exc}). Delete it and rerun.") from exc


def layer_names(groups) -> list[str]:
    """``layerL`` names in numeric order (layer10 after layer9)."""
    return sorted(groups, key=lambda s: int(s.removeprefix("layer")))


def read_h5_matrices(path: str | os.PathLike) -> tuple[dict, dict[str, dict[str, tuple]]]:
    """Root attributes and ``{"layer1": {name: (array, attrs)}}`` of a similarity or cluster file."""
    out: dict[str, dict] = {}
    with open_h5(path) as f:
        attrs = dict(f.attrs)
        try:
            for lname in layer_names(k for k in f if k.startswith("layer")):
                out[lname] = {m: (f[lname][m][()], dict(f[lname][m].attrs)) for m in f[lname]}
        except (OSError, KeyError, RuntimeError) as exc:
            raise ValueError(f"HDF5 file {path} is corrupt ({exc}). Delete it and rerun.") from exc
    return attrs, out


def read_h5_dataset(path: str | os.PathLike, key: str):
    """One dataset's values and attributes, e.g. ``read_h5_dataset(p, "layer1/cov")``."""
    with open_h5(path) as f:
        try:
            d = f[key]
            return d[()], dict(d.attrs)
        except (OSError, KeyError, RuntimeError) as exc:
            raise ValueError(f"HDF5 file {path} has no readable dataset {key!r} ({exc}). "
                             "Delete it and rerun.") from exc


# ------------------------------------------------------------------ CSV tables
def write_csv(df, path: str | os.PathLike) -> None:
    """Write a pandas DataFrame as CSV (no index), atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def write_rows_csv(path: str | os.PathLike, rows: list[dict], columns: list[str]) -> None:
    """Write dicts as CSV rows (header ``columns``), atomically, without pandas (torch jobs)."""
    import csv

    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def read_table(path: str | os.PathLike):
    """Read a CSV table; a clear error naming the file if it is unreadable."""
    import pandas as pd

    try:
        return pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - pandas raises many kinds (parser, unicode, empty file, OSError)
        raise ValueError(f"table {path} is unreadable ({exc}). Delete it and rerun.") from exc


def read_tables(**paths) -> dict:
    """``read_tables(metrics=p1, sweeps=p2)`` -> ``{"metrics": df1, "sweeps": df2}``."""
    return {name: read_table(p) for name, p in paths.items()}
