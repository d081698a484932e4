"""Reliability of whole runs: bad configs, missing data, determinism, interruption (SIGKILL)."""
import os
import signal
import subprocess
import time

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from unitclust import io
from support.workflow_helpers import ROOT, SNAKEMAKE, copy_project, result_files, snakemake, write_config

pytestmark = pytest.mark.e2e
R = "results/digits"


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


def _h5_content(path):
    out = {}
    with h5py.File(path) as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
        attrs = {k: v for k, v in f.attrs.items() if k not in ("source",)}
    return out, attrs


def test_two_runs_in_different_directories_are_bit_identical(tmp_path):
    runs = []
    for name in ("a", "b"):
        work = copy_project(tmp_path / name)
        write_config(work, "tiny.yaml", seeds=1, untrained_seeds=1)
        snakemake(work, "--cores", "2", f"{R}/tables/modularity.csv", f"{R}/tables/cluster_similarity.csv")
        runs.append(work)
    a, b = runs
    files = [p.relative_to(a) for p in result_files(a)]
    assert files == [p.relative_to(b) for p in result_files(b)]
    for rel in files:
        pa, pb = a / rel, b / rel
        if rel.suffix == ".pt":
            sa, sb = io.load_checkpoint(pa)["state_dict"], io.load_checkpoint(pb)["state_dict"]
            assert all(torch.equal(sa[k], sb[k]) for k in sa), rel
        elif rel.suffix == ".h5":
            (da, aa), (db, ab) = _h5_content(pa), _h5_content(pb)
            assert da.keys() == db.keys() and aa.keys() == ab.keys(), rel
            for k in aa:
                assert np.array_equal(np.asarray(aa[k]), np.asarray(ab[k])), f"{rel} attr {k}"
            for k in da:
                np.testing.assert_array_equal(da[k], db[k], err_msg=f"{rel}:{k}")
        elif rel.suffix == ".csv":
            ta, tb = pd.read_csv(pa), pd.read_csv(pb)
            timing = [c for c in ta.columns if c in ("wall_time_s", "seconds")]  # timings differ by nature
            pd.testing.assert_frame_equal(ta.drop(columns=timing), tb.drop(columns=timing))
        elif rel.suffix == ".npz":
            assert pa.read_bytes() == pb.read_bytes()


def _start(work, cfg):
    cmd = [*SNAKEMAKE, "-s", str(work / "Snakefile"), "--directory", str(work), "--configfile", str(cfg),
           "--cores", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "UNITCLUST_LOCK_DIR": str(work / ".locks")}
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                            start_new_session=True)


def _wait_for(pred, proc, timeout=300):
    t0 = time.monotonic()
    while not pred():
        assert proc.poll() is None, "workflow finished before it could be interrupted"
        assert time.monotonic() - t0 < timeout, "timed out waiting for the interruption point"
        time.sleep(0.1)


@pytest.mark.parametrize("stage", ["train", "similarity"])
def test_sigkill_then_rerun_incomplete_completes_without_retraining(tmp_path, stage):
    work = copy_project(tmp_path / "proj")
    # long, non-stopping training so the kill lands inside a training job
    cfg = write_config(work, "tiny.yaml", training__max_epochs=400 if stage == "train" else 40,
                       training__patience=1000, untrained_seeds=1)
    models = work / R / "models"
    proc = _start(work, cfg)
    if stage == "train":
        def one_model_done_a_while_ago():
            done = [p.stat().st_mtime for p in models.glob("l2=*/seed=0/metrics.json")]
            return bool(done) and time.time() - min(done) > 2.5
        _wait_for(one_model_done_a_while_ago, proc)
    else:
        def one_similarity_done_a_while_ago():
            done = [p.stat().st_mtime for p in models.rglob("similarity.h5")]
            return bool(done) and time.time() - min(done) > 2.5
        _wait_for(one_similarity_done_a_while_ago, proc)
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    killed_at = time.time()
    proc.wait(30)

    # nothing at a final path is truncated
    for ck in models.rglob("model.pt"):
        io.load_checkpoint(ck)
    for h5 in models.rglob("*.h5"):
        with h5py.File(h5) as f:
            assert len(f.keys()) > 0
    # models whose job had finished (Snakemake records completion within moments of the last write)
    finished = {p: p.stat().st_mtime_ns for p in models.rglob("model.pt")
                if (p.parent / "metrics.json").exists() and (p.parent / "metrics.json").stat().st_mtime < killed_at - 2}
    assert finished

    snakemake(work, "--unlock", config=cfg)
    snakemake(work, "--cores", "2", "--rerun-incomplete", config=cfg)
    assert (work / R / "figures/fig4.png").exists()
    for p, mtime in finished.items():
        assert p.stat().st_mtime_ns == mtime, f"{p} was retrained"
    assert snakemake(work, "-n", config=cfg).stdout.count("rule train") == 0
