"""End to end: the real Snakefile on a tiny digits config in a temporary directory."""
import os

import pytest

from workflow_helpers import planned_jobs, snakemake, write_config

pytestmark = pytest.mark.e2e

PER_MODEL = ["model.pt", "metrics.json", "similarity.h5", "clusters.h5", "cluster_similarity.h5"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    work = tmp_path_factory.mktemp("tiny")
    write_config(work)
    snakemake(work, "--cores", "2")
    return work


def outputs(work):
    return sorted(p for p in (work / "results").rglob("*") if p.is_file() and "/logs/" not in str(p)
                  and "/benchmarks/" not in str(p))


def test_every_model_has_every_output(tiny):
    models = tiny / "results/digits/models"
    dirs = sorted(p.parent for p in models.rglob("model.pt"))
    # 3 settings x 1 seed + 2 untrained
    assert len(dirs) == 5
    for d in dirs:
        for name in PER_MODEL:
            assert (d / name).stat().st_size > 0, d / name
    for table in ("sweeps", "metrics", "modularity", "cluster_similarity"):
        assert (tiny / f"results/digits/tables/{table}.csv").stat().st_size > 0


def test_second_run_does_nothing_and_touches_nothing(tiny):
    before = {p: p.stat().st_mtime_ns for p in outputs(tiny)}
    proc = snakemake(tiny, "--cores", "2")
    assert "Nothing to be done" in proc.stdout + proc.stderr
    after = {p: p.stat().st_mtime_ns for p in outputs(tiny)}
    assert before == after


def test_one_more_seed_schedules_only_the_new_models_jobs(tiny):
    cfg = write_config(tiny, "plus_seed.yaml", seeds=2)
    proc = snakemake(tiny, "-n", "--cores", "2", config=cfg)
    jobs = planned_jobs(proc.stdout)
    per_model = [(r, o) for r, o in jobs if "/models/" in o]
    assert per_model, proc.stdout
    assert all("/seed=1/" in o and "untrained" not in o for _, o in per_model), per_model
    assert sorted({r for r, _ in per_model}) == ["cluster", "compare", "similarity", "train"]
    assert len([1 for r, _ in per_model if r == "train"]) == 3  # one new model per setting
    assert {r for r, o in jobs if "/models/" not in o} <= {"table_metrics", "table_modularity",
                                                          "table_cluster_similarity", "all"} | FIGURE_RULES


FIGURE_RULES = {"fig3", "fig4", "figS1", "figS2", "figS3", "figS4", "figS5"}
