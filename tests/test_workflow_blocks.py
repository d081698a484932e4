"""Blocks of seeds (training.models_per_job): one job per block and stage, the same files as one job per model."""
import re

import pytest
from support.compare_runs import differences_of
from support.workflow_helpers import (TINY_RESULTS, copy_run, finished_run, planned_jobs, result_files, snakemake,
                                      write_config)

pytestmark = pytest.mark.e2e

R = TINY_RESULTS
BLOCKS = {"seeds": 2, "untrained_seeds": 3, "training__models_per_job": 2}  # seeds 0-1 in blocks, untrained 2 alone
STAGES = {"train": "train", "untrained": "init_untrained", "similarity": "similarity", "cluster": "cluster",
          "compare": "compare"}
DEVICE = ("device", "lease.device", "/@device", "/@lease")
PER_MODEL = ("model.pt", "metrics.json", "history.csv", "similarity.h5", "clusters.h5", "cluster_similarity.h5")


@pytest.fixture(scope="module")
def blocks(tmp_path_factory):
    return finished_run(tmp_path_factory, "blocks", **BLOCKS)


def test_each_block_is_one_job_per_stage(blocks):
    logs = blocks / R / "logs"
    settings = sorted(p.name for p in (logs / "train").iterdir())
    assert len(settings) == 3
    for s in settings:
        assert sorted(p.name for p in (logs / "train" / s).iterdir()) == ["seeds=0-1.log"]
        for stage in ("similarity", "cluster", "compare"):
            assert sorted(p.name for p in (logs / stage / s).iterdir()) == ["seeds=0-1.log"], (stage, s)
    assert sorted(p.name for p in (logs / "init_untrained").iterdir()) == ["seed=2.log", "seeds=0-1.log"]
    log = (logs / "train" / settings[0] / "seeds=0-1.log").read_text()
    assert "--- seed 0 (1 of 2) ---" in log and "--- seed 1 (2 of 2) ---" in log
    assert "2 models (seeds 0-1) in one process" in log
    cluster_log = (logs / "cluster" / "untrained" / "seeds=0-1.log").read_text()
    assert "--- untrained/seed=1 (2 of 2) ---" in cluster_log and "Q*" in cluster_log


def test_blocks_make_the_files_of_one_job_per_model(blocks, tiny):
    """Seed 0 of every setting and untrained seeds 0-1 are made by blocks here and one job each in
    the tiny run: every per-model file is the same, bit for bit, beyond timings, the host and the
    device (the tiny run leases fake GPUs; both compute on the CPU)."""
    models = sorted(p.parent.relative_to(tiny) for p in (tiny / R / "models").rglob("model.pt"))
    assert len(models) == 5
    files = [m / name for m in models for name in PER_MODEL if (tiny / m / name).exists()]
    assert len(files) == 5 * 5 + 3  # history.csv for the trained models only
    differences = [d for rel in files for d in differences_of(rel, tiny / rel, blocks / rel, DEVICE)]
    assert differences == [], "\n".join(differences)


def test_second_run_does_nothing(blocks, tmp_path):
    work = copy_run(blocks, tmp_path / "proj")
    before = {p: p.stat().st_mtime_ns for p in result_files(work)}
    proc = snakemake(work, "-n", config=work / "tiny.yaml")
    assert "Nothing to be done" in proc.stdout + proc.stderr
    assert before == {p: p.stat().st_mtime_ns for p in result_files(work)}


@pytest.mark.parametrize(("seeds", "new_rules"), [(3, {"train", "similarity", "cluster", "compare"}),
                                                  (4, {"train_seeds_2_3", "similarity_seeds_2_3", "cluster_seeds_2_3",
                                                       "compare_seeds_2_3"})])
def test_more_seeds_schedule_only_the_new_models(blocks, tmp_path, seeds, new_rules):
    """A seed outside a complete block gets its own jobs; a new complete block gets one job per stage
    and setting; the models of the existing blocks are not touched."""
    work = copy_run(blocks, tmp_path / "proj")
    cfg = write_config(work, "more.yaml", **{**BLOCKS, "seeds": seeds})
    per_model = [(r, o) for r, o in planned_jobs(snakemake(work, "-n", config=cfg).stdout) if "/models/" in o]
    assert {r for r, _ in per_model} == new_rules
    assert len(per_model) == 3 * 4  # 3 settings x 4 stages
    assert all("/seed=2/" in o and "untrained" not in o for _, o in per_model), per_model


def test_block_jobs_get_their_stages_set_resources(tmp_path):
    """A profile's set-resources name the one-model rules (train, similarity, ...); block rules, named
    after their seeds, get the same resources."""
    cfg = write_config(tmp_path, "t.yaml", **BLOCKS)
    out = snakemake(tmp_path, "-n", "--set-resources", "train:mem_mb=1234", "similarity:runtime=77",
                    "cluster:mem_mb=555", config=cfg).stdout
    resources = {}
    for rule, line in re.findall(r"rule (\w+):\n(?:    .*\n)*?    resources: (.*)", out):
        resources.setdefault(rule, set()).add(line)
    assert all("gpu=1" in r and "mem_mb=1234" in r for r in resources["train_seeds_0_1"])
    assert all("gpu=1" in r and "runtime=77" in r for r in resources["similarity_seeds_0_1"])
    assert all("mem_mb=555" in r for r in resources["cluster_untrained_seeds_0_1"])
    assert all("mem_mb" not in r for r in resources["init_untrained_seeds_0_1"])
