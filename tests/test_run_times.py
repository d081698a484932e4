"""benchmarks/run_times.py (job-seconds per stage of a finished run) and the workstation profile's
scheduler setting."""
import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _load():
    spec = importlib.util.spec_from_file_location("run_times", REPO / "benchmarks" / "run_times.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run_times = _load()


def _bench(path: Path, seconds: float, rss="100.5"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{seconds}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t50\t1\n")


@pytest.fixture
def run(tmp_path):
    """A results tree: 2 settings x 3 seeds trained, 4 untrained, their similarity jobs, one table."""
    exp = tmp_path / "results" / "mnist" / "mlp_64-64"
    for setting in ("l2=0.1", "l2=0.01"):
        for seed in range(3):
            _bench(exp / "benchmarks" / "train" / setting / f"seed={seed}.tsv", 10.0 + seed)
            _bench(exp / "benchmarks" / "similarity" / setting / f"seed={seed}.tsv", 2.0)
            folder = exp / "models" / setting / f"seed={seed}"
            folder.mkdir(parents=True)
            (folder / "metrics.json").write_text(json.dumps({"trained": True, "epochs": 20 + seed,
                                                             "train_seconds": 10.0}))
    for seed in range(4):
        _bench(exp / "benchmarks" / "init_untrained" / f"seed={seed}.tsv", 1.0)
        _bench(exp / "benchmarks" / "similarity" / "untrained" / f"seed={seed}.tsv", 2.0, rss="NA")
    _bench(exp / "benchmarks" / "tables" / "metrics.tsv", 0.5)
    return tmp_path / "results"


def test_stage_sums(run):
    stages = run_times.stage_table(run)
    assert {k: len(v) for k, v in stages.items()} == {"train": 6, "similarity": 10, "init_untrained": 4, "tables": 1}
    assert sum(r["s"] for r in stages["train"]) == pytest.approx(2 * (10 + 11 + 12))
    assert max(r["rss"] for r in stages["train"]) == pytest.approx(100.5)


def test_seed_filter_keeps_a_smaller_grid(run):
    stages = run_times.stage_table(run, seeds=2, untrained_seeds=1)
    assert len(stages["train"]) == 4 and len(stages["init_untrained"]) == 1
    assert len(stages["similarity"]) == 4 + 1
    assert len(stages["tables"]) == 1  # not a per-model job: always counted


def test_a_block_job_counts_for_the_share_of_its_seeds_in_the_grid(tmp_path):
    exp = tmp_path / "results" / "mnist" / "e"
    _bench(exp / "benchmarks" / "train" / "l2=0.1" / "seeds=0-8.tsv", 90.0)
    _bench(exp / "benchmarks" / "train" / "l2=0.1" / "seeds=9-17.tsv", 45.0)
    _bench(exp / "benchmarks" / "init_untrained" / "seeds=0-3.tsv", 8.0)
    _bench(exp / "benchmarks" / "init_untrained" / "seed=4.tsv", 1.0)
    full = run_times.stage_table(tmp_path / "results")
    assert [r["s"] for r in full["train"]] == [90.0, 45.0]
    small = run_times.stage_table(tmp_path / "results", seeds=3, untrained_seeds=2)
    assert [r["s"] for r in small["train"]] == pytest.approx([30.0])  # 3 of 9 seeds; seeds 9-17 not in the grid
    assert [r["s"] for r in small["init_untrained"]] == pytest.approx([4.0])
    assert sum(r["s"] for r in run_times.stage_table(tmp_path / "results", seeds=12)["train"]) == pytest.approx(105)


def test_epochs_of_trained_models(run):
    assert sorted(e for e, _ in run_times.epochs(run)) == [20, 20, 21, 21, 22, 22]
    assert sorted(e for e, _ in run_times.epochs(run, seeds=1)) == [20, 20]


def test_log_wall(tmp_path):
    log = tmp_path / "run.log"
    log.write_text("Building DAG of jobs...\n[Sun Nov 22 08:35:38 2026]\nrule data:\n"
                   "[Sun Nov 22 09:40:08 2026]\nFinished jobid: 0 (Rule: all)\n")
    assert run_times.log_wall(log) == 64 * 60 + 30
    (tmp_path / "empty.log").write_text("nothing\n")
    with pytest.raises(SystemExit, match="fewer than two timestamps"):
        run_times.log_wall(tmp_path / "empty.log")


def test_workstation_profile_keeps_scheduler_timers_rare(monkeypatch):
    """Snakemake's default rate limit (100/1s) re-runs the scheduler every second per finished job;
    the shipped profile, named as the README says, sets a long timespan and a count no run here
    reaches.  Without the flag Snakemake does not find it (the Snakefile is not in workflow/)."""
    from snakemake.cli import parse_args

    monkeypatch.chdir(REPO)
    _, named = parse_args(["--cores", "2", "--workflow-profile", "workflow/profiles/default"])
    # long enough to keep re-runs rare, short enough that a finished run returns within 10 s
    # (Snakemake waits for its re-run timers before it exits)
    assert named.max_jobs_per_timespan.timespan == 10 and named.max_jobs_per_timespan.max_jobs >= 10_000
    assert named.scheduler == "greedy"
    assert named.show_failed_logs
    _, plain = parse_args(["--cores", "2"])
    assert plain.max_jobs_per_timespan.timespan == 1 and not plain.show_failed_logs
