"""Datasets: IDX files (raw and gzip), digits, clear errors for missing or corrupt data."""
import gzip
import sys

import numpy as np
import pytest

from unitclust import data
from unitclust.data import IDX_FILES, DataUnavailableError, read_idx, write_idx


def make_idx_folder(folder, n_train=12, n_test=5, side=4, compress=True, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {"x_train": rng.integers(0, 256, (n_train, side, side)), "y_train": rng.integers(0, 10, n_train),
              "x_test": rng.integers(0, 256, (n_test, side, side)), "y_test": rng.integers(0, 10, n_test)}
    folder.mkdir(parents=True, exist_ok=True)
    for key, stem in IDX_FILES.items():
        write_idx(folder / (stem + (".gz" if compress else "")), arrays[key])
    return arrays


@pytest.mark.parametrize("compress", [True, False])
def test_idx_roundtrip(tmp_path, compress):
    arrays = make_idx_folder(tmp_path, compress=compress)
    out = data.load_idx_dataset("mnist", tmp_path)
    np.testing.assert_array_equal(out["x_train"], arrays["x_train"].reshape(12, -1))
    np.testing.assert_array_equal(out["y_test"], arrays["y_test"])
    assert out["scale"] == pytest.approx(1 / 255)


def test_gz_file_is_really_compressed(tmp_path):
    write_idx(tmp_path / "a.gz", np.zeros((3, 2), np.uint8))
    with gzip.open(tmp_path / "a.gz") as fh:
        assert fh.read(4) == bytes([0, 0, 8, 2])


def test_truncated_idx_names_file_and_fix(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte"
    write_idx(path, np.ones((5, 4, 4), np.uint8))
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(ValueError, match="truncated.*Delete it and rerun"):
        read_idx(path)


def test_bad_magic(tmp_path):
    (tmp_path / "x").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="magic"):
        read_idx(tmp_path / "x")


def test_corrupt_gzip(tmp_path):
    (tmp_path / "x.gz").write_bytes(b"\x1f\x8b\x08garbage")
    with pytest.raises(ValueError, match="x.gz"):
        read_idx(tmp_path / "x.gz")


def test_missing_files_message_names_folder_and_files(tmp_path):
    with pytest.raises(DataUnavailableError) as err:
        data.load_idx_dataset("mnist", tmp_path / "nowhere", download=False)
    msg = str(err.value)
    assert str(tmp_path / "nowhere") in msg
    for stem in IDX_FILES.values():
        assert stem in msg


def test_download_unavailable_when_torchvision_fails(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # import fails, as with the CUDA build here
    with pytest.raises(DataUnavailableError, match="Download unavailable"):
        data.load_idx_dataset("mnist", tmp_path, download=True)


def test_digits_split_is_fixed():
    a, b = data.load_digits_dataset(), data.load_digits_dataset()
    assert a["x_train"].shape == (1438, 64) and a["x_test"].shape == (359, 64)
    np.testing.assert_array_equal(a["y_test"], b["y_test"])
    assert a["x_train"].max() <= 16


def test_save_load_roundtrip_and_tensors(tmp_path):
    arrays = data.load_digits_dataset()
    data.save_dataset(tmp_path / "d.npz", arrays, "digits")
    back = data.load_dataset(tmp_path / "d.npz")
    x, y = data.to_tensors(back, "test")
    assert x.shape == (359, 64) and float(x.max()) <= 1.0 and y.dtype.is_floating_point is False


def test_corrupt_npz(tmp_path):
    (tmp_path / "d.npz").write_bytes(b"PK\x03\x04broken")
    with pytest.raises(ValueError, match="Delete it and rerun"):
        data.load_dataset(tmp_path / "d.npz")


def test_train_val_split_is_paired_by_seed():
    tr1, va1 = data.train_val_split(100, seed=3)
    tr2, va2 = data.train_val_split(100, seed=3)
    tr3, _ = data.train_val_split(100, seed=4)
    assert len(va1) == 10 and len(tr1) == 90
    assert (tr1 == tr2).all() and (va1 == va2).all() and not (tr1 == tr3).all()
    assert len(set(tr1.tolist()) | set(va1.tolist())) == 100


def test_unknown_dataset():
    with pytest.raises(ValueError, match="allowed"):
        data.prepare_dataset("cifar")
