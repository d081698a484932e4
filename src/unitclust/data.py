"""Datasets (docs/science.md §2): offline ``digits`` and IDX-file ``mnist`` / ``fashion_mnist``.

A prepared dataset is one ``.npz`` file holding uint8 pixels plus a ``scale``
that maps them to [0, 1] (1/16 for digits, 1/255 for MNIST):
``x_train, y_train, x_test, y_test, scale, name``.  The train/validation split is
*not* in the file: it depends on the model seed (:func:`train_val_split`).
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

DATASETS = ("digits", "mnist", "fashion_mnist")
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
DIGITS_TEST_FRACTION = 0.2
DIGITS_SPLIT_SEED = 0


class DataUnavailableError(RuntimeError):
    """The dataset's files are missing and could not be downloaded."""


# ---------------------------------------------------------------- IDX format
def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed, chosen by the ``.gz`` suffix)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"cannot read IDX file {path}: {exc}. Delete it and rerun to fetch it again.") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (bad magic number). Delete it and rerun.")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    data = np.frombuffer(raw, dtype=np.uint8, offset=header)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: header says {shape} ({int(np.prod(shape))} bytes), "
                         f"found {data.size}. Delete it and rerun.")
    return data.reshape(shape)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzip-compressed if the name ends in ``.gz``)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    payload = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as fh:
        fh.write(payload)


def find_idx(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _missing_message(name: str, folder: Path, why: str) -> str:
    files = ", ".join(IDX_FILES.values())
    return (f"{name} data not found in folder '{folder}': expected the four IDX files {files} "
            f"(raw or .gz). {why} Put the files there, or set dataset.download: true on a machine with internet.")


def _torchvision_download(name: str, folder: Path) -> None:
    """Download through torchvision into ``folder``; DataUnavailableError if that is impossible."""
    try:
        from torchvision import datasets  # lazy: torchvision is download-only (see README)
    except Exception as exc:  # noqa: BLE001 - any import failure means "download unavailable"
        raise DataUnavailableError(_missing_message(name, folder, f"Download unavailable (torchvision: {exc}).")) from None
    cls = {"mnist": datasets.MNIST, "fashion_mnist": datasets.FashionMNIST}[name]
    tmp = folder / ".download"
    try:
        for train in (True, False):
            cls(str(tmp), train=train, download=True)
    except Exception as exc:  # noqa: BLE001
        raise DataUnavailableError(_missing_message(name, folder, f"Download failed: {exc}.")) from None
    raw = next(tmp.rglob("raw"))
    for stem in IDX_FILES.values():
        src = raw / stem
        os.replace(src, folder / stem)


def load_idx_dataset(name: str, folder: str | os.PathLike, download: bool = False) -> dict[str, np.ndarray]:
    """MNIST-format dataset from the four IDX files in ``folder`` (downloaded if allowed)."""
    folder = Path(folder)
    paths = {k: find_idx(folder, stem) for k, stem in IDX_FILES.items()}
    if any(p is None for p in paths.values()):
        if not download:
            raise DataUnavailableError(_missing_message(name, folder, "Downloading is off (dataset.download: false)."))
        folder.mkdir(parents=True, exist_ok=True)
        _torchvision_download(name, folder)
        paths = {k: find_idx(folder, stem) for k, stem in IDX_FILES.items()}
    arrays = {k: read_idx(p) for k, p in paths.items()}
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(f"{name} IDX files in {folder} are inconsistent: {split} images {x.shape}, labels {y.shape}")
    return {"x_train": arrays["x_train"].reshape(len(arrays["x_train"]), -1), "y_train": arrays["y_train"],
            "x_test": arrays["x_test"].reshape(len(arrays["x_test"]), -1), "y_test": arrays["y_test"],
            "scale": np.float64(1 / 255)}


def load_digits_dataset() -> dict[str, np.ndarray]:
    """scikit-learn's bundled 8x8 digits (1797 images): pixels/16, a fixed seeded 80/20 train/test split."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = d.data.astype(np.uint8)
    y = d.target.astype(np.uint8)
    order = np.random.default_rng(DIGITS_SPLIT_SEED).permutation(len(x))
    n_test = int(round(DIGITS_TEST_FRACTION * len(x)))
    test, train = order[:n_test], order[n_test:]
    return {"x_train": x[train], "y_train": y[train], "x_test": x[test], "y_test": y[test],
            "scale": np.float64(1 / 16)}


def prepare_dataset(name: str, folder: str | os.PathLike | None = None, download: bool = False) -> dict[str, np.ndarray]:
    """The arrays of dataset ``name`` (one of :data:`DATASETS`)."""
    if name == "digits":
        return load_digits_dataset()
    if name in ("mnist", "fashion_mnist"):
        if folder is None:
            raise ValueError(f"dataset {name} needs a data folder (dataset.data_dir)")
        return load_idx_dataset(name, folder, download)
    raise ValueError(f"unknown dataset {name!r}; allowed: {', '.join(DATASETS)}")


def save_dataset(path: str | os.PathLike, arrays: dict[str, np.ndarray], name: str) -> None:
    from .io import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, name=np.str_(name), **arrays)


def load_dataset(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a prepared ``.npz`` dataset; a clear error if it is corrupt."""
    try:
        with np.load(path, allow_pickle=False) as f:
            out = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test", "scale")}
    except Exception as exc:  # noqa: BLE001 - zipfile/KeyError/ValueError on corrupt files
        raise ValueError(f"prepared dataset {path} is unreadable ({exc}). Delete it and rerun.") from exc
    return out


def to_tensors(arrays: dict[str, np.ndarray], split: str, device="cpu"):
    """Float pixels in [0, 1] and int64 labels of ``split`` ('train' or 'test') as torch tensors."""
    import torch

    x = torch.as_tensor(arrays[f"x_{split}"], device=device).to(torch.float32) * float(arrays["scale"])
    y = torch.as_tensor(arrays[f"y_{split}"].astype(np.int64), device=device)
    return x, y


def train_val_split(n: int, seed: int, val_fraction: float = 0.1):
    """Indices (train, val) of a seeded random split: seed s gives the same split for every setting."""
    import torch

    gen = torch.Generator().manual_seed(int(seed))
    perm = torch.randperm(n, generator=gen)
    n_val = int(round(val_fraction * n))
    return perm[n_val:], perm[:n_val]
