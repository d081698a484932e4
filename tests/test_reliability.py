"""Reliability of whole runs: bad configs, missing data, determinism, shareable outputs.

SIGKILL at every stage: tests/test_faults_workflow.py.
"""
import os
import stat

import numpy as np
import pandas as pd
import pytest
import torch
from support.compare_runs import differences_of
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
    differences = [d for rel in files for d in differences_of(rel, a / rel, b / rel)]
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
