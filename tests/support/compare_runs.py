"""Comparing two versions of a result file bit for bit, beyond what differs between runs by nature."""
import json

import h5py
import numpy as np
import pandas as pd

from unitclust import io

# What two runs of the same config on the same machine may differ in, by nature, and nothing else.
BY_NATURE = {
    "wall_time_s": "wall time of a job (metrics.json, metrics.csv)",
    "train_seconds": "wall time of the training loop (metrics.json)",
    "seconds": "wall time of each epoch (history.csv of a model, tables/history.csv)",
    "host": "name of the machine that ran the job (metrics.json)",
    "lease.start": "clock time at which the job leased its device (metrics.json)",
    "lease.end": "clock time at which it gave the device back (metrics.json)",
}


def _value(x):
    """A value as compared here: numeric data as a numpy array (compared bit for bit, so -0.0, NaN
    payloads and the last bit count), anything else as a list of strings."""
    a = np.asarray(x)
    return a if a.dtype.kind in "biufc" else [str(v) for v in a.ravel()]


def _unequal(a, b):
    """Elementwise, bit for bit."""
    return a.view(f"u{a.itemsize}") != b.view(f"u{b.itemsize}") if a.dtype.kind == "f" else a != b


def _same(a, b):
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    return type(a) is type(b) and a == b


def _explain(a, b):
    if (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
            and a.dtype.kind in "biuf"):
        bad = np.atleast_1d(_unequal(a, b))
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        fa, fb = np.atleast_1d(a)[first], np.atleast_1d(b)[first]
        gap = np.nanmax(np.abs(np.atleast_1d(a).astype(float) - np.atleast_1d(b).astype(float))[bad], initial=0)
        return (f"{int(bad.sum())} of {bad.size} values differ in their bits (first at {list(first)}: "
                f"{fa!r} != {fb!r}; largest difference {gap:.3g})")
    def show(v):
        return f"{v.dtype}{list(v.shape)} {v.ravel()[:4]!r}" if isinstance(v, np.ndarray) else repr(v)

    return f"{show(a):.200} != {show(b):.200}"


def _h5_items(path):
    """``{name: value}`` of every dataset and every attribute (``name@attr``; root, groups, datasets)."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = _value(obj[()])
            for k, v in obj.attrs.items():
                out[f"{name}@{k}"] = _value(v)

        visit("/", f)
        f.visititems(visit)
    return out


def _flat(obj, prefix=""):
    if isinstance(obj, dict):
        return {k: v for key, val in obj.items() for k, v in _flat(val, f"{prefix}{key}.").items()}
    return {prefix.rstrip("."): obj}


def differences_of(rel, pa, pb, ignore=()):
    """What differs between two versions of one output (beyond BY_NATURE and the keys ``ignore``), one
    line per item."""
    skip = set(BY_NATURE) | set(ignore)

    def diff(a, b):
        missing = [f"{rel}: {k} only in {'the first' if k in a else 'the second'} run"
                   for k in sorted(set(a) ^ set(b)) if k not in skip]
        return missing + [f"{rel}: {k}: {_explain(a[k], b[k])}" for k in sorted(set(a) & set(b))
                          if k not in skip and not _same(a[k], b[k])]

    if rel.suffix == ".pt":
        ca, cb = io.load_checkpoint(pa), io.load_checkpoint(pb)
        sa, sb = ca.pop("state_dict"), cb.pop("state_dict")
        return diff({f"state_dict.{k}": v.numpy() for k, v in sa.items()},
                    {f"state_dict.{k}": v.numpy() for k, v in sb.items()}) + diff(_flat(ca), _flat(cb))
    if rel.suffix == ".json":
        return diff(_flat(json.loads(pa.read_text())), _flat(json.loads(pb.read_text())))
    if rel.suffix == ".h5":
        return diff(_h5_items(pa), _h5_items(pb))
    if rel.suffix == ".csv":
        ta, tb = pd.read_csv(pa), pd.read_csv(pb)
        timing = [c for c in ta.columns if c in BY_NATURE]
        if not timing:  # nothing differs by nature: the bytes must be the same
            return [] if pa.read_bytes() == pb.read_bytes() else [f"{rel}: bytes differ"]
        if list(ta.columns) != list(tb.columns) or ta.shape != tb.shape:
            return [f"{rel}: columns or shape {list(ta.columns)} {ta.shape} != {list(tb.columns)} {tb.shape}"]
        return [f"{rel}: column {c} differs in rows {[int(i) for i in np.flatnonzero(~same)[:10]]}"
                for c in ta.columns if c not in timing
                for same in [(ta[c].eq(tb[c]) | (ta[c].isna() & tb[c].isna())).to_numpy()] if not same.all()]
    if rel.suffix in (".png", ".pdf", ".npz"):
        return [] if pa.read_bytes() == pb.read_bytes() else [f"{rel}: bytes differ"]
    return [f"{rel}: no comparison for this kind of file"]
