"""Tiny fake CIFAR-10 python batches, pickled as Python 2 wrote the originals (protocol 2, str as bytes)."""
import io
import pickle
import struct
import tarfile
from typing import ClassVar

import numpy as np

FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)


class Py2Pickler(pickle._Pickler):
    """Writes bytes and str as Python 2's ``str`` (BINSTRING), not as ``_codecs.encode`` calls."""

    dispatch: ClassVar[dict] = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj):
        raw = obj.encode("latin-1") if isinstance(obj, str) else obj
        n = len(raw)
        head = pickle.SHORT_BINSTRING + bytes([n]) if n < 256 else pickle.BINSTRING + struct.pack("<i", n)
        self.write(head + raw)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str
    dispatch[str] = save_py2_str


def py2_pickle(obj, numpy_module="numpy.core.multiarray") -> bytes:
    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue().replace(b"numpy._core.multiarray\n", numpy_module.encode() + b"\n")


def fake_batches(n=20, seed=0):
    """{file name: (data (n, 3072) uint8, labels list)}; batch k's red plane is k*10, its images random."""
    rng = np.random.default_rng(seed)
    out = {}
    for k, name in enumerate(FILES, start=1):
        x = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        x[:, :1024] = k * 10  # red plane (CHW: 1024 red, 1024 green, 1024 blue)
        out[name] = (x, rng.integers(0, 10, n).tolist())
    return out


def batch_pickle(x, labels, name="fake", numpy_module="numpy.core.multiarray") -> bytes:
    return py2_pickle({b"batch_label": f"{name} of 6".encode(), b"labels": labels, b"data": x,
                       b"filenames": [b"img_%d.png" % i for i in range(len(labels))]}, numpy_module)


def write_cifar(folder, layout="flat", n=20, seed=0, numpy_module="numpy.core.multiarray"):
    """Fake batches in ``folder`` (layout 'flat'), ``folder/cifar-10-batches-py`` ('subdir') or the
    archive ``folder/cifar-10-python.tar.gz`` ('tar'); returns :func:`fake_batches`."""
    batches = fake_batches(n, seed)
    folder.mkdir(parents=True, exist_ok=True)
    if layout == "tar":
        with tarfile.open(folder / "cifar-10-python.tar.gz", "w:gz") as tar:
            for name, (x, y) in batches.items():
                raw = batch_pickle(x, y, name, numpy_module)
                info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
                info.size = len(raw)
                tar.addfile(info, io.BytesIO(raw))
        return batches
    place = folder / "cifar-10-batches-py" if layout == "subdir" else folder
    place.mkdir(exist_ok=True)
    for name, (x, y) in batches.items():
        (place / name).write_bytes(batch_pickle(x, y, name, numpy_module))
    return batches
