"""SIGKILL at every stage of a real run, then ``--unlock`` and ``--rerun-incomplete``.

Each test starts from a finished run of the tiny config (made once per session, shared with
tests/test_reliability.py), deletes the outputs of one stage and of everything after it, starts
Snakemake on that stage's outputs in a new process group and watches /proc every 20 ms.  The
copy's writer pauses 0.5 s between writing an output of the stage and renaming it into place
(support.workflow_helpers.inject_slow_writes), so the kill lands while a job of the stage is
running *and* writing, after at least one job of the stage has finished.  Then the whole group
(Snakemake and its jobs) gets SIGKILL, and the rerun must finish the work without redoing what
had finished, leave no temporary file under results/, and give outputs that all open.

Snakemake's own copy of a killed job's script (``.snakemake/scripts/tmpXXXXXXXX.<rule>.py``) is
Snakemake's bookkeeping, outside results/, and only the killed Snakemake process could delete it;
the tests only check that the rerun leaves no such file of its own behind.
"""
import contextlib
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field

import pytest
from support.workflow_helpers import (
    FIGURE_RULES,
    TABLE_RULES,
    TINY_RESULTS,
    check_opens,
    copy_run,
    finished_run,
    group_processes,
    incomplete_outputs,
    inject_slow_writes,
    planned_jobs,
    running_script_jobs,
    snakemake,
    start_snakemake,
    temporary_files,
    write_config,
)

pytestmark = pytest.mark.e2e
R = TINY_RESULTS
RUN = {"seeds": 1, "untrained_seeds": 1}  # the shared finished run: 3 trained models + 1 untrained
MODEL = r"models/[^/]+/seed=\d+"


@dataclass
class Stage:
    jobs: set            # scripts (= rules) whose running job proves the kill landed in this stage
    outputs: list        # globs under results/digits of this stage's outputs
    done: str            # regex: an output of this kind, finished before the kill, must exist
    slow: str            # regex: outputs whose write pauses before the rename
    targets: list        # what the run (and the rerun) is asked for
    overrides: dict = field(default_factory=dict)


STAGES = {
    # 10 epochs instead of 40: every trained model is deleted anyway
    "train": Stage({"train"}, ["models/*/seed=*/model.pt", "models/*/seed=*/metrics.json",
                               "models/*/seed=*/history.csv"],
                   r"models/l2=[^/]+/seed=\d+/metrics\.json$", r"models/l2=[^/]+/seed=\d+/history\.csv$",
                   [f"{R}/tables/metrics.csv", f"{R}/tables/history.csv"], {"training__max_epochs": 10}),
    "similarity": Stage({"similarity"}, ["models/*/seed=*/similarity.h5"], rf"{MODEL}/similarity\.h5$",
                        r"/similarity\.h5$", ["similarity.h5"]),
    "cluster": Stage({"cluster"}, ["models/*/seed=*/clusters.h5"], rf"{MODEL}/clusters\.h5$",
                     r"/clusters\.h5$", ["clusters.h5"]),
    "compare": Stage({"compare"}, ["models/*/seed=*/cluster_similarity.h5"], rf"{MODEL}/cluster_similarity\.h5$",
                     r"/cluster_similarity\.h5$", ["cluster_similarity.h5"]),
    "tables": Stage(TABLE_RULES, ["tables/*.csv"], r"tables/\w+\.csv$", r"tables/\w+\.csv$",
                    [f"{R}/tables/{t}.csv" for t in ("sweeps", "metrics", "history", "modularity",
                                                     "cluster_similarity", "findings")]),
    "figures": Stage(FIGURE_RULES, ["figures/*"], r"figures/\w+\.(png|pdf)$", r"figures/\w+\.(png|pdf)$",
                     [f"{R}/figures/{f}.png" for f in ("fig3", "fig4", "figS2")]),
}
ORDER = list(STAGES)


@pytest.fixture
def spawn():
    """Start processes in their own process group; at teardown SIGKILL every group started, even when
    the test failed half-way."""
    procs = []

    def start(*args, **kw):
        proc = start_snakemake(*args, **kw)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)


def _results(work):
    """Final outputs under results/ (not logs, benchmarks or temporary files), relative to ``work``."""
    temp = set(temporary_files(work / "results"))
    return {str(p.relative_to(work)): p for p in (work / "results").rglob("*")
            if p.is_file() and p not in temp and "/logs/" not in str(p) and "/benchmarks/" not in str(p)}


def _finished(work, pattern):
    """Outputs matching ``pattern`` that exist and that Snakemake no longer marks incomplete."""
    marked = incomplete_outputs(work)
    return sorted(rel for rel in _results(work) if re.search(pattern, rel) and rel not in marked)


def _final_of(part, work=None):
    """The output that the atomic writer's ``<folder>/.<name>.<random>.part`` becomes (relative to
    ``work`` if given); "" for other files."""
    if not (part.name.startswith(".") and part.name.endswith(".part")):
        return ""
    final = part.parent / part.name[1:].rsplit(".", 2)[0]
    return str(final.relative_to(work) if work else final)


@pytest.mark.parametrize("name", ORDER)
def test_sigkill_inside_a_running_job_then_rerun_incomplete(tmp_path, tmp_path_factory, spawn, name):
    """SIGKILL to Snakemake and all its jobs while a job of the stage writes an output; after
    ``--unlock`` and ``--rerun-incomplete`` the work is done, only the interrupted and unstarted
    jobs ran again, no temporary file is left and every output opens."""
    stage = STAGES[name]
    work = copy_run(finished_run(tmp_path_factory, "seed1", **RUN), tmp_path / "proj")
    inject_slow_writes(work)
    cfg = write_config(work, "kill.yaml", **RUN, **stage.overrides)
    models = sorted(str(p.relative_to(work / R / "models")) for p in (work / R / "models").glob("*/seed=*"))
    assert len(models) == 4, models
    targets = [t if t.startswith(R) else f"{R}/models/{m}/{t}" for t in stage.targets
               for m in (models if not t.startswith(R) else [None])]
    for later in ORDER[ORDER.index(name):]:  # this stage and everything downstream
        for pattern in STAGES[later].outputs:
            for p in (work / R).glob(pattern):
                p.unlink()

    with (tmp_path / "first-run.log").open("w") as log:
        proc = spawn(work, "--cores", "2", *targets, config=cfg, stdout=log, stderr=subprocess.STDOUT,
                     extra_env={"UNITCLUST_TEST_SLOW_WRITE": stage.slow})
    t0, seen = time.monotonic(), None
    while seen is None:
        jobs = {pid: s for pid, s in running_script_jobs(proc.pid).items() if s in stage.jobs}
        parts = [p for p in temporary_files(work / R) if re.search(stage.slow, _final_of(p))]
        if jobs and parts and _finished(work, stage.done):
            seen = {"jobs": jobs, "parts": [str(p.relative_to(work)) for p in parts],
                    "finished_in_stage": _finished(work, stage.done)}
            os.killpg(proc.pid, signal.SIGKILL)
            print(f"killed the {name} stage during {seen}")
            break
        if proc.poll() is not None or time.monotonic() - t0 > 180:
            pytest.fail(f"never saw a {name} job ({sorted(stage.jobs)}) running and writing after another had "
                        f"finished (exit {proc.poll()}):\n" + (tmp_path / "first-run.log").read_text()[-3000:])
        time.sleep(0.02)
    killed_at = time.time()
    assert proc.wait(30) == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while group_processes(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not group_processes(proc.pid), f"processes of the killed group survived: {group_processes(proc.pid)}"

    # what the kill left: the job(s) it interrupted are marked incomplete, every file at a final path opens
    marked = incomplete_outputs(work)
    assert marked, f"Snakemake marked nothing incomplete, though {seen} was running"
    for part in seen["parts"]:
        final = _final_of(work / part, work)
        assert final in marked, f"{part} was being written, but {final} is not marked incomplete: {sorted(marked)}"
    after_kill = _results(work)
    for p in after_kill.values():
        check_opens(p)
    finished = {rel: p.stat().st_mtime_ns for rel, p in after_kill.items() if rel not in marked}
    scripts_after_kill = set(os.listdir(work / ".snakemake" / "scripts"))

    snakemake(work, "--unlock", config=cfg)
    rerun = snakemake(work, "--cores", "2", "--rerun-incomplete", *targets, config=cfg)
    redone = {out for _, out in planned_jobs(rerun.stdout + rerun.stderr)}

    context = f"killed during {seen}"
    assert all((work / t).exists() for t in targets), context
    assert redone & marked, f"the rerun ({sorted(redone)}) did not redo the interrupted job; {context}"
    assert not redone & set(finished), (f"finished before the kill, yet rerun: {sorted(redone & set(finished))}; "
                                        f"{context}")
    changed = [rel for rel, mtime in finished.items() if (work / rel).stat().st_mtime_ns != mtime]
    assert changed == [], f"finished before the kill, yet rewritten: {changed}; {context}"
    for rel in marked:  # every output of an interrupted job was made again, after the kill
        assert (work / rel).stat().st_mtime > killed_at - 0.01, f"{rel} (interrupted) was not remade; {context}"
    assert incomplete_outputs(work) == set()
    left = set(os.listdir(work / ".snakemake" / "scripts")) - scripts_after_kill
    assert left == set(), f"the rerun left Snakemake script copies behind: {left}"
    for p in _results(work).values():
        check_opens(p)
    assert temporary_files(work / "results") == [], f"temporary files left under results/; {context}"
