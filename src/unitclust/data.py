"""Datasets (docs/science.md §2): offline ``digits``, IDX-file ``mnist`` / ``fashion_mnist`` and
``cifar10`` from its python-pickle batches.

A prepared dataset is one ``.npz`` file holding flat uint8 pixels plus a ``scale``
that maps them to [0, 1] (1/16 for digits, 1/255 otherwise) and the image ``shape`` (C, H, W):
``x_train, y_train, x_test, y_test, scale, name, shape`` (files prepared before ``shape``
existed lack it; :func:`load_dataset` then takes it from ``name``).  The train/validation split is
*not* in the file: it depends on the model seed (:func:`train_val_split`).
"""

from __future__ import annotations

import gzip
import io
import math
import os
import pickle
import shutil
import struct
import tarfile
import zlib
from pathlib import Path

import numpy as np

DATASETS = ("digits", "mnist", "fashion_mnist", "cifar10")
IMAGE_SHAPES = {"digits": (1, 8, 8), "mnist": (1, 28, 28), "fashion_mnist": (1, 28, 28), "cifar10": (3, 32, 32)}
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


def _torchvision_datasets(missing):
    """``torchvision.datasets``, imported only now; ``missing(why)`` words the error if that fails."""
    try:
        from torchvision import datasets  # lazy: torchvision is download-only (see README)
    except Exception as exc:  # noqa: BLE001 - any import failure means "download unavailable"
        raise DataUnavailableError(missing(f"Download unavailable (torchvision: {exc}).")) from None
    return datasets


def _torchvision_download(name: str, folder: Path) -> None:
    """Download through torchvision into ``folder``; DataUnavailableError if that is impossible."""
    datasets = _torchvision_datasets(lambda why: _missing_message(name, folder, why))
    cls = {"mnist": datasets.MNIST, "fashion_mnist": datasets.FashionMNIST}[name]
    tmp = folder / ".download"
    try:
        for train in (True, False):
            cls(str(tmp), train=train, download=True)
    except Exception as exc:  # noqa: BLE001 - network, checksum, disk: every failure means "download failed"
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
            raise ValueError(f"{name} IDX files in {folder} are inconsistent: {split} images {x.shape}, "
                             f"labels {y.shape}")
    return {"x_train": arrays["x_train"].reshape(len(arrays["x_train"]), -1), "y_train": arrays["y_train"],
            "x_test": arrays["x_test"].reshape(len(arrays["x_test"]), -1), "y_test": arrays["y_test"],
            "scale": np.float64(1 / 255)}


# ------------------------------------------------------------- CIFAR-10 batches
CIFAR_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
CIFAR_DIR = "cifar-10-batches-py"
CIFAR_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
CIFAR_FEATURES = 3 * 32 * 32


def _numpy_reconstruct():
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


class CifarUnpickler(pickle.Unpickler):
    """Unpickler that can only rebuild numpy arrays (what CIFAR-10 batches hold besides lists,
    ints and strings): an arbitrary pickle cannot import, hence cannot call, anything else."""

    ALLOWED = frozenset({("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                         ("numpy", "ndarray"), ("numpy", "dtype")})

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refused to load {module}.{name}: a CIFAR-10 batch holds only numpy "
                                         "arrays, lists and strings, so this file is not one (it could run code)")
        return _numpy_reconstruct() if name == "_reconstruct" else getattr(np, name)


def _cifar_batch(raw: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3072) uint8 and labels (N,) uint8 of one pickled batch, checked."""
    fix = f"Delete it and rerun to fetch it again, or put the original file there (from {CIFAR_URL})."
    try:
        batch = CifarUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as exc:  # noqa: BLE001 - truncated/corrupt pickles raise many kinds
        raise ValueError(f"cannot read CIFAR-10 batch {where}: {exc!r}. {fix}") from None
    if not isinstance(batch, dict):
        raise ValueError(f"CIFAR-10 batch {where} holds a {type(batch).__name__}, not a dict of data and labels. {fix}")
    x, labels = (batch.get(key.encode(), batch.get(key)) for key in ("data", "labels"))
    if x is None or labels is None:
        raise ValueError(f"CIFAR-10 batch {where} lacks the 'data' or 'labels' entry (it has "
                         f"{sorted(map(repr, batch))}). {fix}")
    if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != CIFAR_FEATURES:
        raise ValueError(f"CIFAR-10 batch {where}: 'data' is {type(x).__name__} of shape "
                         f"{getattr(x, 'shape', '?')} and dtype {getattr(x, 'dtype', '?')}, expected uint8 of shape "
                         f"(N, {CIFAR_FEATURES}). {fix}")
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != len(x) or (len(y) and y.dtype.kind not in "iu"):
        raise ValueError(f"CIFAR-10 batch {where}: 'labels' should be {len(x)} integers, one per image, got "
                         f"shape {y.shape} of dtype {y.dtype}. {fix}")
    if len(y) and (y.min() < 0 or y.max() > 9):
        raise ValueError(f"CIFAR-10 batch {where}: labels range over {y.min()}..{y.max()}, expected 0..9. {fix}")
    return np.ascontiguousarray(x), y.astype(np.uint8)


def find_cifar(folder: Path) -> Path | None:
    """The folder holding all six batches (``folder`` itself, then ``folder/cifar-10-batches-py``),
    else the archive ``folder/cifar-10-python.tar.gz``, else None."""
    for place in (folder, folder / CIFAR_DIR):
        if all((place / name).is_file() for name in CIFAR_FILES):
            return place
    return folder / CIFAR_ARCHIVE if (folder / CIFAR_ARCHIVE).is_file() else None


def _cifar_missing(folder: Path, why: str) -> str:
    found = [f"{n} in '{p}'" for p in (folder, folder / CIFAR_DIR) for n in CIFAR_FILES if (p / n).is_file()]
    partial = f" Found only: {', '.join(found)}." if found else ""
    return (f"cifar10 data not found in folder '{folder}': expected the six CIFAR-10 python batches "
            f"{', '.join(CIFAR_FILES)} there or in its subfolder {CIFAR_DIR}/ (or the archive {CIFAR_ARCHIVE})."
            f"{partial} {why} Put the files there (the 'CIFAR-10 python version' of {CIFAR_URL}), "
            "or set dataset.download: true on a machine with internet.")


def _read_cifar(source: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The checked batches by file name, from a folder or straight from the .tar.gz (nothing extracted)."""
    if source.is_dir():
        return {name: _cifar_batch((source / name).read_bytes(), str(source / name)) for name in CIFAR_FILES}
    batches = {}
    try:
        with tarfile.open(source, "r:*") as tar:
            for member in tar:
                name = member.name.rsplit("/", 1)[-1]
                if member.isfile() and name in CIFAR_FILES and name not in batches:
                    batches[name] = _cifar_batch(tar.extractfile(member).read(), f"{source}:{member.name}")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"cannot read the CIFAR-10 archive {source}: {exc!r}. Delete it and rerun to fetch it "
                         f"again, or put the original there (from {CIFAR_URL}).") from None
    missing = [name for name in CIFAR_FILES if name not in batches]
    if missing:
        raise ValueError(f"the CIFAR-10 archive {source} lacks {', '.join(missing)}. Delete it and rerun to fetch "
                         f"it again, or put the original there (from {CIFAR_URL}).")
    return batches


def _download_cifar10(folder: Path) -> None:
    """torchvision's CIFAR10 download, its extracted batches moved into ``folder/cifar-10-batches-py``."""
    def missing(why: str) -> str:
        return _cifar_missing(folder, why)

    datasets = _torchvision_datasets(missing)
    tmp = folder / ".download-cifar10"
    try:
        datasets.CIFAR10(root=str(tmp), train=True, download=True)
    except Exception as exc:  # noqa: BLE001 - network, checksum, disk: every failure means "download failed"
        raise DataUnavailableError(missing(f"Download failed: {exc}.")) from None
    absent = [name for name in CIFAR_FILES if not (tmp / CIFAR_DIR / name).is_file()]
    if absent:
        raise DataUnavailableError(missing(f"Download left no {', '.join(absent)} in {tmp / CIFAR_DIR}."))
    (folder / CIFAR_DIR).mkdir(exist_ok=True)
    for name in CIFAR_FILES:  # each move is atomic: an interrupted download leaves no half file
        os.replace(tmp / CIFAR_DIR / name, folder / CIFAR_DIR / name)
    shutil.rmtree(tmp, ignore_errors=True)


def load_cifar10_dataset(folder: str | os.PathLike, download: bool = False) -> dict[str, np.ndarray]:
    """CIFAR-10 from its python batches in ``folder`` (see :func:`find_cifar`; downloaded if allowed):
    flat CHW pixels (50000/10000, 3072) uint8, train batches 1..5 in order, labels 0..9."""
    folder = Path(folder)
    source = find_cifar(folder)
    if source is None:
        if not download:
            raise DataUnavailableError(_cifar_missing(folder, "Downloading is off (dataset.download: false)."))
        folder.mkdir(parents=True, exist_ok=True)
        _download_cifar10(folder)
        source = find_cifar(folder)
    batches = _read_cifar(source)
    train = [batches[name] for name in CIFAR_FILES[:-1]]
    return {"x_train": np.concatenate([x for x, _ in train]), "y_train": np.concatenate([y for _, y in train]),
            "x_test": batches["test_batch"][0], "y_test": batches["test_batch"][1], "scale": np.float64(1 / 255)}


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


def prepare_dataset(name: str, folder: str | os.PathLike | None = None,
                    download: bool = False) -> dict[str, np.ndarray]:
    """The arrays of dataset ``name`` (one of :data:`DATASETS`)."""
    if name == "digits":
        return load_digits_dataset()
    if name in ("mnist", "fashion_mnist", "cifar10"):
        if folder is None:
            raise ValueError(f"dataset {name} needs a data folder (dataset.data_dir)")
        return load_cifar10_dataset(folder, download) if name == "cifar10" else load_idx_dataset(name, folder, download)
    raise ValueError(f"unknown dataset {name!r}; allowed: {', '.join(DATASETS)}")


def image_shape(arrays_or_name) -> tuple[int, ...]:
    """(C, H, W) of the images of a dataset, given its name or its arrays (their ``shape``, else their
    ``name``, else the one shape of :data:`IMAGE_SHAPES` with as many pixels as their images)."""
    if isinstance(arrays_or_name, str):
        if arrays_or_name not in IMAGE_SHAPES:
            raise ValueError(f"unknown dataset {arrays_or_name!r}; allowed: {', '.join(DATASETS)}")
        return IMAGE_SHAPES[arrays_or_name]
    arrays = arrays_or_name
    if arrays.get("shape") is not None:
        return tuple(int(s) for s in np.asarray(arrays["shape"]).ravel())
    if arrays.get("name") is not None:
        return image_shape(str(arrays["name"]))
    n = int(np.shape(arrays["x_train"] if "x_train" in arrays else arrays["x_test"])[1])
    fits = {shape for shape in IMAGE_SHAPES.values() if math.prod(shape) == n}
    if len(fits) != 1:
        raise ValueError("cannot tell the image shape of a dataset without 'shape' or 'name' whose images have "
                         f"{n} pixels")
    return fits.pop()


def _check_shape(shape: tuple[int, ...], arrays: dict) -> None:
    for split in ("train", "test"):
        x = arrays.get(f"x_{split}")
        if x is None:  # a split the caller did not load
            continue
        if x.ndim != 2 or x.shape[1] != math.prod(shape):
            raise ValueError(f"x_{split} has shape {x.shape}, but images of shape {shape} need "
                             f"(N, {math.prod(shape)}) flat pixels")


def save_dataset(path: str | os.PathLike, arrays: dict[str, np.ndarray], name: str) -> None:
    """Write ``arrays`` (as :func:`prepare_dataset` returns them) atomically, with ``name`` and image ``shape``."""
    from .io import atomic_path

    shape = image_shape(arrays) if arrays.get("shape") is not None else image_shape(name)
    try:
        _check_shape(shape, arrays)
    except ValueError as exc:
        raise ValueError(f"dataset {name}, to be saved in {path}: {exc}") from None
    payload = {k: v for k, v in arrays.items() if k not in ("name", "shape")}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, name=np.str_(name), shape=np.asarray(shape, dtype=np.int64), **payload)


def load_dataset(path: str | os.PathLike, splits=("train", "test")) -> dict:
    """Read a prepared ``.npz`` dataset: the arrays of ``splits`` ('train', 'test'; a job that needs only
    the test split skips reading the training images), ``scale``, ``name`` (str, None if absent) and
    ``shape`` (tuple of ints; files without it get :func:`image_shape` of their name); a clear error if it
    is corrupt."""
    unknown = sorted(set(splits) - {"train", "test"})
    if unknown:  # a caller's mistake, not a corrupt file
        raise ValueError(f"load_dataset: unknown split(s) {', '.join(map(repr, unknown))}; allowed: 'train', 'test'")
    try:
        with np.load(path, allow_pickle=False) as f:
            out = {k: f[k] for k in [f"{a}_{s}" for s in splits for a in ("x", "y")] + ["scale"]}
            out["name"] = str(f["name"]) if "name" in f.files else None
            stored = f["shape"] if "shape" in f.files else None
    except Exception as exc:  # noqa: BLE001 - zipfile/KeyError/ValueError on corrupt files
        raise ValueError(f"prepared dataset {path} is unreadable ({exc}). Delete it and rerun.") from exc
    try:
        out["shape"] = image_shape({**out, "shape": stored})
        _check_shape(out["shape"], out)
    except ValueError as exc:
        raise ValueError(f"prepared dataset {path}: {exc}. Delete it and rerun.") from None
    return out


def to_tensors(arrays: dict[str, np.ndarray], split: str, device="cpu", rows=None):
    """Float pixels in [0, 1] and int64 labels of ``split`` ('train' or 'test') as torch tensors; only
    the examples at index tensor ``rows`` if given (gathered as bytes, then scaled: the same floats)."""
    import torch

    x = torch.as_tensor(arrays[f"x_{split}"])
    y = torch.as_tensor(arrays[f"y_{split}"].astype(np.int64))
    if rows is not None:
        x, y = x[rows.cpu()], y[rows.cpu()]
    return scaled(x.to(device), arrays["scale"]), y.to(device)


def scaled(levels, scale):
    """The float inputs of stored uint8 pixel ``levels``: ``levels * scale`` in float32."""
    import torch

    return levels.to(torch.float32) * float(scale)


def train_val_split(n: int, seed: int, val_fraction: float = 0.1):
    """Indices (train, val) of a seeded random split: seed s gives the same split for every setting."""
    import torch

    gen = torch.Generator().manual_seed(int(seed))
    perm = torch.randperm(n, generator=gen)
    n_val = int(round(val_fraction * n))
    return perm[n_val:], perm[:n_val]
