"""Reliability of whole runs: bad configs, missing data, determinism, shareable outputs.

SIGKILL at every stage: tests/test_faults_workflow.py.
"""
import json
import os
import stat

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from support.workflow_helpers import (
    ROOT,
    TINY_RESULTS,
    copy_project,
    finished_run,
    result_files,
    snakemake,
    write_config,
)

from unitclust import io

pytestmark = pytest.mark.e2e
R = TINY_RESULTS


@pytest.mark.parametrize("override,key", [
    ({"sweeps": {"d": {"l2": 0, "l1": 0, "dropout": 1.2}}}, "sweeps.d.dropout"),
    ({"seeds": 0}, "seeds"),
    ({"model": {"hidden": [16, 0]}}, "model.hidden.1"),
    ({"unknown_key": 1}, "unknown_key"),
])
def test_bad_config_stops_before_any_job(tmp_path, override, key):
    import yaml

    cfg = yaml.safe_load((ROOT / "tests/configs/tiny.yaml").read_text())
    cfg.update(override)
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg))
    proc = snakemake(tmp_path, "--cores", "1", config=tmp_path / "bad.yaml", check=False)
    assert proc.returncode != 0
    assert f"Invalid configuration at '{key}'" in proc.stderr, proc.stderr[-2000:]
    assert not (tmp_path / "results").exists()


def test_missing_mnist_fails_at_the_data_job_and_leaves_nothing(tmp_path):
    cfg = write_config(tmp_path, "mnist.yaml", dataset={"name": "mnist", "data_dir": str(tmp_path / "nodata")})
    dry = snakemake(tmp_path, "-n", config=cfg)  # the whole DAG is known without the data
    assert "train" in dry.stdout
    proc = snakemake(tmp_path, "--cores", "1", config=cfg, check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "Error in rule data" in out or "rule data" in out
    assert str(tmp_path / "nodata") in out and "t10k-labels-idx1-ubyte" in out
    assert not (tmp_path / "results/mnist/data.npz").exists()
    # only tables/sweeps.csv needs no data (it may run before the data job fails); nothing else
    # may exist, and no temporary file
    leftovers = [p for p in (tmp_path / "results").rglob("*") if p.is_file() and "/logs/" not in str(p)
                 and "/benchmarks/" not in str(p) and p.name != "sweeps.csv"] if (tmp_path / "results").exists() else []
    assert leftovers == []


# ------------------------------------------------------------------ determinism
RUN = {"seeds": 1, "untrained_seeds": 1}  # the run shared with tests/test_faults_workflow.py
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


def _differences(rel, pa, pb):
    """What differs between two versions of one output (beyond BY_NATURE), one line per item."""
    def diff(a, b):
        missing = [f"{rel}: {k} only in {'the first' if k in a else 'the second'} run"
                   for k in sorted(set(a) ^ set(b)) if k not in BY_NATURE]
        return missing + [f"{rel}: {k}: {_explain(a[k], b[k])}" for k in sorted(set(a) & set(b))
                          if k not in BY_NATURE and not _same(a[k], b[k])]

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


def test_two_runs_in_different_directories_are_bit_identical(tmp_path, tmp_path_factory):
    """The whole default target (all tables, findings.csv, all figures) twice, in two fresh copies:
    checkpoints, metrics, histories, HDF5 files, tables and figures are identical, apart from the
    values named in BY_NATURE (timings, host name, lease times)."""
    a = finished_run(tmp_path_factory, "seed1", **RUN)
    b = copy_project(tmp_path / "b")
    snakemake(b, "--cores", "2", config=write_config(b, "tiny.yaml", **RUN))

    files = [p.relative_to(a) for p in result_files(a)]
    assert files == [p.relative_to(b) for p in result_files(b)]
    kinds = {p.suffix for p in files}
    assert kinds == {".npz", ".pt", ".json", ".csv", ".h5", ".png", ".pdf"}, kinds
    assert {p.name for p in files} >= {"findings.csv", "fig3.pdf", "fig3.png", "training_curves.png"}
    differences = [d for rel in files for d in _differences(rel, a / rel, b / rel)]
    assert differences == [], "two runs of the same config differ:\n" + "\n".join(differences)


# ------------------------------------------------------------------ shareable outputs
@pytest.mark.parametrize("umask", [0o002, 0o022], ids=["umask002", "umask022"])
def test_every_writer_gives_the_permissions_of_the_umask(tmp_path, umask):
    """Outputs (and the folders the writers make) get what the umask gives any new file, not the
    private 0o600 of a bare mkstemp: 0o664/0o775 under umask 002 (group can share), 0o644/0o755 under 022."""
    from matplotlib.figure import Figure

    from unitclust import figures, steps
    from unitclust.data import load_digits_dataset, save_dataset
    from unitclust.measures import MEASURES

    out = tmp_path / "out"
    old = os.umask(umask)
    try:
        save_dataset(out / "data" / "data.npz", load_digits_dataset(), "digits")
        io.write_json(out / "m" / "metrics.json", {"a": 1})
        io.write_rows_csv(out / "m" / "history.csv", [{"epoch": 1}], ["epoch"])
        io.write_csv(pd.DataFrame({"x": [1.0]}), out / "t" / "table.csv")
        io.save_checkpoint(out / "m" / "model.pt", {"state_dict": {"w": torch.zeros(2)}, "hparams": {}})
        rng = np.random.default_rng(0)
        io.write_h5(out / "m" / "similarity.h5", lambda f: [f.create_dataset(f"layer1/{m}", data=np.abs(
            np.corrcoef(rng.normal(size=(6, 40))))) for m in MEASURES], {"status": "ok"})
        steps.cluster_one(out / "m" / "similarity.h5", out / "m" / "clusters.h5", model_id="untrained/seed=0",
                          clustering={"mc_steps": 10, "mc_only_fraction": 0.0})
        steps.compare_one(out / "m" / "clusters.h5", out / "m" / "cluster_similarity.h5", model_id="untrained/seed=0")
        fig = Figure(figsize=(1, 1))
        fig.add_subplot().plot([0, 1])
        figures.save_figure(fig, out / "f" / "fig.pdf", out / "f" / "fig.png", dpi=20)
    finally:
        os.umask(old)
    made = sorted(out.rglob("*"))
    assert {p.name for p in made} >= {"data.npz", "metrics.json", "history.csv", "table.csv", "model.pt",
                                      "similarity.h5", "clusters.h5", "cluster_similarity.h5", "fig.pdf", "fig.png"}
    wrong = [f"{p.relative_to(out)} {stat.S_IMODE(p.stat().st_mode):#o}" for p in made
             if stat.S_IMODE(p.stat().st_mode) != (0o777 if p.is_dir() else 0o666) & ~umask]
    assert wrong == [], f"under umask {umask:#o}: {wrong}"


def test_a_run_under_umask_002_leaves_group_writable_results(tmp_path_factory):
    """The shared whole run was made under umask 002: every file under results/ (outputs, logs,
    benchmarks) is 0o664 and every folder 0o775."""
    run = finished_run(tmp_path_factory, "seed1", **RUN)
    assert (run / ".finished").read_text().strip() == "umask 0o2"
    made = sorted((run / "results").rglob("*"))
    assert any(p.suffix == ".h5" for p in made) and any(p.suffix == ".pdf" for p in made)
    wrong = [f"{p.relative_to(run)} {stat.S_IMODE(p.stat().st_mode):#o}" for p in made
             if stat.S_IMODE(p.stat().st_mode) != (0o775 if p.is_dir() else 0o664)]
    assert wrong == [], wrong
