"""Datasets: IDX files (raw and gzip), CIFAR-10 batches, digits, image shapes, clear errors for
missing or corrupt data."""
import gzip
import os
import pickle
import sys
import tarfile
import types
from pathlib import Path

import numpy as np
import pytest
from support import cifar

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


def test_loading_only_the_test_split_gives_the_same_test_arrays(tmp_path):
    arrays = data.load_digits_dataset()
    data.save_dataset(tmp_path / "d.npz", arrays, "digits")
    full, test = data.load_dataset(tmp_path / "d.npz"), data.load_dataset(tmp_path / "d.npz", splits=("test",))
    assert "x_train" not in test and "y_train" not in test
    assert test["shape"] == full["shape"] == (1, 8, 8) and test["name"] == "digits"
    for a, b in zip(data.to_tensors(test, "test"), data.to_tensors(full, "test")):
        assert a.equal(b)
    with pytest.raises(ValueError, match="unknown split.*'val'"):
        data.load_dataset(tmp_path / "d.npz", splits=("test", "val"))


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
    with pytest.raises(ValueError, match="allowed.*cifar10"):
        data.image_shape("cifar")


# ---------------------------------------------------------------- CIFAR-10
def assert_cifar(out, batches):
    train = [batches[name] for name in cifar.FILES[:5]]
    np.testing.assert_array_equal(out["x_train"], np.concatenate([x for x, _ in train]))
    np.testing.assert_array_equal(out["y_train"], np.concatenate([y for _, y in train]))
    np.testing.assert_array_equal(out["x_test"], batches["test_batch"][0])
    np.testing.assert_array_equal(out["y_test"], batches["test_batch"][1])
    assert out["x_train"].shape == (100, 3072) and out["x_train"].dtype == np.uint8
    assert out["y_train"].dtype == np.uint8 and out["x_test"].shape == (20, 3072)
    assert out["scale"] == pytest.approx(1 / 255)
    images = out["x_train"].reshape(-1, *data.image_shape("cifar10"))  # CHW kept: channel 0 is the red plane
    assert [int(images[20 * k, 0].min()) for k in range(5)] == [10, 20, 30, 40, 50]
    assert (images[:, 0] == images[:, 0, :1, :1]).all()


@pytest.mark.parametrize("layout", ["flat", "subdir", "tar"])
def test_cifar_layouts(tmp_path, layout):
    batches = cifar.write_cifar(tmp_path, layout)
    assert_cifar(data.prepare_dataset("cifar10", tmp_path), batches)
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        ["cifar-10-python.tar.gz"] if layout == "tar" else cifar.FILES)  # nothing extracted or written


@pytest.mark.parametrize("module", ["numpy.core.multiarray", "numpy._core.multiarray"])
def test_cifar_pickles_like_python2(tmp_path, module):
    batches = cifar.write_cifar(tmp_path, numpy_module=module)
    raw = (tmp_path / "test_batch").read_bytes()
    assert raw[:2] == b"\x80\x02" and module.encode() in raw and b"_codecs" not in raw
    assert_cifar(data.load_cifar10_dataset(tmp_path), batches)


def test_cifar_missing_names_folder_files_and_fix(tmp_path):
    cifar.write_cifar(tmp_path / "d", "subdir")
    os.remove(tmp_path / "d" / "cifar-10-batches-py" / "test_batch")
    with pytest.raises(DataUnavailableError) as err:
        data.prepare_dataset("cifar10", tmp_path / "d")
    msg = str(err.value)
    for part in [str(tmp_path / "d"), *cifar.FILES, "cifar-10-batches-py", "dataset.download: true",
                 "https://www.cs.toronto.edu/~kriz/cifar.html", "Found only: data_batch_1"]:
        assert part in msg


def write_then_replace(tmp_path, name, raw):
    cifar.write_cifar(tmp_path)
    (tmp_path / name).write_bytes(raw)
    return tmp_path / name


@pytest.mark.parametrize("cut", [slice(0, 5000), slice(0, 40), slice(9, None)])
def test_cifar_truncated_or_corrupt(tmp_path, cut):
    raw = (cifar.write_cifar(tmp_path / "src") and (tmp_path / "src" / "data_batch_2").read_bytes())[cut]
    path = write_then_replace(tmp_path, "data_batch_2", raw)
    with pytest.raises(ValueError, match=f"cannot read CIFAR-10 batch {path}.*Delete it and rerun"):
        data.load_cifar10_dataset(tmp_path)


@pytest.mark.parametrize("x, labels, match", [
    (np.zeros((20, 3071), np.uint8), [0] * 20, r"shape \(20, 3071\).*expected uint8 of shape \(N, 3072\)"),
    (np.zeros((20, 32, 32, 3), np.uint8), [0] * 20, r"shape \(20, 32, 32, 3\)"),
    (np.zeros((20, 3072), np.float32), [0] * 20, "dtype float32"),
    (np.zeros((20, 3072), np.uint8), [0] * 19, "'labels' should be 20 integers"),
    (np.zeros((20, 3072), np.uint8), [0] * 19 + [10], r"labels range over 0\.\.10, expected 0\.\.9"),
    (np.zeros((20, 3072), np.uint8), None, "lacks the 'data' or 'labels'"),
])
def test_cifar_inconsistent_batch(tmp_path, x, labels, match):
    raw = cifar.py2_pickle({b"data": x} if labels is None else {b"data": x, b"labels": labels})
    path = write_then_replace(tmp_path, "test_batch", raw)
    with pytest.raises(ValueError, match=match) as err:
        data.load_cifar10_dataset(tmp_path)
    assert str(path) in str(err.value)


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("where", ["top", "inside_batch"])
def test_cifar_malicious_pickle_refused(tmp_path, where):
    marker = tmp_path / "pwned"
    if where == "top":
        raw = pickle.dumps(Evil(marker), protocol=2)
    else:  # a batch-like dict, written as Python 2 would, whose data calls os.system
        raw = cifar.py2_pickle({b"labels": [0], b"data": Evil(marker)})
    pickle.loads(raw)
    assert marker.exists()  # an ordinary unpickler runs the command
    marker.unlink()
    path = write_then_replace(tmp_path / "d", "data_batch_4", raw)
    with pytest.raises(ValueError, match=f"cannot read CIFAR-10 batch {path}.*refused to load posix.system"):
        data.load_cifar10_dataset(tmp_path / "d")
    assert not marker.exists()


def test_cifar_archive_errors(tmp_path):
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"\x1f\x8bnot really")
    with pytest.raises(ValueError, match="cannot read the CIFAR-10 archive .*cifar-10-python.tar.gz.*Delete it"):
        data.load_cifar10_dataset(tmp_path)
    with tarfile.open(tmp_path / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(cifar.write_cifar(tmp_path / "x") and tmp_path / "x" / "data_batch_1",
                "cifar-10-batches-py/data_batch_1")
    with pytest.raises(ValueError, match="lacks data_batch_2, data_batch_3, data_batch_4, data_batch_5, test_batch"):
        data.load_cifar10_dataset(tmp_path)


def fake_torchvision(monkeypatch, calls, fail=False):
    def CIFAR10(root, train=True, download=False):
        calls.append({"root": root, "train": train, "download": download})
        if fail:
            raise RuntimeError("no network")
        cifar.write_cifar(Path(root), "subdir")

    module = types.ModuleType("torchvision")
    module.datasets = types.SimpleNamespace(CIFAR10=CIFAR10)
    monkeypatch.setitem(sys.modules, "torchvision", module)


def test_cifar_download_through_torchvision_stub(tmp_path, monkeypatch):
    calls = []
    fake_torchvision(monkeypatch, calls)
    with pytest.raises(DataUnavailableError, match="Downloading is off"):
        data.load_cifar10_dataset(tmp_path / "d", download=False)
    assert calls == []
    assert_cifar(data.prepare_dataset("cifar10", tmp_path / "d", download=True), cifar.fake_batches())
    assert len(calls) == 1 and calls[0]["download"] is True and calls[0]["root"].startswith(str(tmp_path / "d"))
    assert sorted(p.relative_to(tmp_path / "d").as_posix() for p in (tmp_path / "d").rglob("*")) == sorted(
        ["cifar-10-batches-py"] + [f"cifar-10-batches-py/{n}" for n in cifar.FILES])  # download folder removed
    data.load_cifar10_dataset(tmp_path / "d", download=True)
    assert len(calls) == 1  # present now: no second download


def test_cifar_download_failures(tmp_path, monkeypatch):
    fake_torchvision(monkeypatch, [], fail=True)
    with pytest.raises(DataUnavailableError, match="Download failed: no network.*kriz/cifar.html"):
        data.load_cifar10_dataset(tmp_path, download=True)
    monkeypatch.setitem(sys.modules, "torchvision", None)
    with pytest.raises(DataUnavailableError, match=f"'{tmp_path}'.*Download unavailable"):
        data.load_cifar10_dataset(tmp_path, download=True)


# ---------------------------------------------------------------- image shapes
def test_image_shapes():
    assert data.IMAGE_SHAPES == {"digits": (1, 8, 8), "mnist": (1, 28, 28), "fashion_mnist": (1, 28, 28),
                                 "cifar10": (3, 32, 32)}
    assert set(data.IMAGE_SHAPES) == set(data.DATASETS)
    x = np.zeros((2, 784), np.uint8)
    assert data.image_shape("cifar10") == (3, 32, 32)
    assert data.image_shape({"x_train": x, "shape": np.array([1, 28, 28])}) == (1, 28, 28)
    assert data.image_shape({"x_train": x, "name": np.str_("fashion_mnist")}) == (1, 28, 28)
    assert data.image_shape({"x_train": x}) == (1, 28, 28)
    with pytest.raises(ValueError, match="100 pixels"):
        data.image_shape({"x_train": np.zeros((2, 100))})


def test_cifar_save_load_has_shape_and_name(tmp_path):
    cifar.write_cifar(tmp_path / "raw")
    data.save_dataset(tmp_path / "c.npz", data.prepare_dataset("cifar10", tmp_path / "raw"), "cifar10")
    back = data.load_dataset(tmp_path / "c.npz")
    assert back["shape"] == (3, 32, 32) and all(type(s) is int for s in back["shape"]) and back["name"] == "cifar10"
    with np.load(tmp_path / "c.npz") as f:
        assert f["shape"].tolist() == [3, 32, 32]
    data.save_dataset(tmp_path / "again.npz", back, "cifar10")  # load_dataset's output saves again
    assert data.load_dataset(tmp_path / "again.npz")["shape"] == (3, 32, 32)


def test_old_npz_without_shape_still_loads_unchanged(tmp_path):
    arrays = data.load_digits_dataset()
    with open(tmp_path / "old.npz", "wb") as fh:  # as save_dataset wrote before "shape"
        np.savez(fh, name=np.str_("digits"), **arrays)
    before = (tmp_path / "old.npz").read_bytes()
    back = data.load_dataset(tmp_path / "old.npz")
    assert back["shape"] == (1, 8, 8) and back["name"] == "digits"
    np.testing.assert_array_equal(back["x_test"], arrays["x_test"])
    assert (tmp_path / "old.npz").read_bytes() == before
    mnist = {"x_train": np.zeros((3, 784), np.uint8), "y_train": np.zeros(3, np.uint8),
             "x_test": np.zeros((2, 784), np.uint8), "y_test": np.zeros(2, np.uint8), "scale": np.float64(1 / 255)}
    with open(tmp_path / "m.npz", "wb") as fh:
        np.savez(fh, name=np.str_("mnist"), **mnist)
    assert data.load_dataset(tmp_path / "m.npz")["shape"] == (1, 28, 28)


def test_shape_mismatch_errors(tmp_path):
    arrays = data.load_digits_dataset()
    with pytest.raises(ValueError, match=r"dataset mnist, to be saved in .*x_train has shape \(1438, 64\)"):
        data.save_dataset(tmp_path / "d.npz", arrays, "mnist")
    assert not (tmp_path / "d.npz").exists()
    with open(tmp_path / "bad.npz", "wb") as fh:
        np.savez(fh, name=np.str_("cifar10"), **arrays)
    with pytest.raises(ValueError, match="prepared dataset .*bad.npz: x_train.*Delete it and rerun"):
        data.load_dataset(tmp_path / "bad.npz")
