"""Run workflows through a real single-node Slurm cluster.

    python -m pytest --run-slurm tests/test_slurm.py -v

Needs root: installs Debian's slurm-wlm and munge with apt-get when they are
missing, then starts private munged/slurmctld/slurmd daemons on 127.0.0.1
(see tests/support/slurm_cluster.py) and stops them afterwards.  Skips when that is
impossible (not root, no apt-get).

How Snakemake follows the jobs: the test cluster has no slurmdbd, so `sacct`
answers "Slurm accounting storage is disabled".  The plugin's default status
command is `sacct` whenever the binary exists, so the tests pass
``--slurm-status-command squeue``; with MinJobAge=300 s finished jobs stay
visible to ``squeue --states=all`` long enough (the plugin itself falls back
to sacct unless MinJobAge >= 3 x --slurm-init-seconds-before-status-checks).

Inside each job the slurm-jobstep plugin runs `srun` with every SLURM_*
variable except the job's identity removed, SLURM_CONF included.  The test
cluster's configuration is only reachable through SLURM_CONF, so the helper
puts wrappers for the Slurm client commands first on PATH that restore it
(a real cluster has /etc/slurm/slurm.conf or a configless slurmd instead).

The shipped profile (workflow/profiles/slurm/config.yaml) is not weakened
for the test: each test writes a derived profile to a temp dir that points
at the test partition, drops the account placeholder and the GPU requests
(the test node has no GPUs) and shortens the polling intervals.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from support.slurm_cluster import slurm_cluster_fixture, slurm_version

REPO = Path(__file__).resolve().parents[1]
SHIPPED_PROFILE = REPO / "workflow" / "profiles" / "slurm" / "config.yaml"
TINY_CONFIG = REPO / "tests" / "configs" / "tiny.yaml"
GPU_RULES = ("train", "similarity")
# resources that only make sense on a real GPU cluster
GPU_ONLY_RESOURCES = ("gpu", "gpus", "gres", "gpu_model", "cpus_per_gpu", "tasks_per_gpu")

SNAKEMAKE_TIMEOUT = 900  # s; generous, the whole module should take a few minutes

slurm_cluster = slurm_cluster_fixture(scope="module")


# ---------------------------------------------------------------------------
# the shipped profile (no cluster needed)
# ---------------------------------------------------------------------------


def load_shipped_profile() -> dict:
    return yaml.safe_load(SHIPPED_PROFILE.read_text())


def test_shipped_slurm_profile_shape():
    prof = load_shipped_profile()
    assert prof["executor"] == "slurm"
    assert int(prof["jobs"]) >= 1
    assert int(prof["latency-wait"]) >= 5
    dr = prof["default-resources"]
    for key in ("slurm_partition", "slurm_account", "runtime", "mem_mb", "cpus_per_task"):
        assert key in dr, f"default-resources lacks {key}"
    sr = prof["set-resources"]
    for rule in GPU_RULES:
        assert sr[rule]["gpu"] == 1, f"{rule} should request one GPU"
        assert int(sr[rule]["cpus_per_gpu"]) >= 1
        # the plugin prefers cpus_per_task over cpus_per_gpu; it must be off
        assert not sr[rule].get("cpus_per_task"), (
            f"{rule}: a truthy cpus_per_task would hide cpus_per_gpu"
        )


def test_shipped_slurm_profile_names_existing_rules(tmp_path):
    """set-resources for a misspelt rule would be ignored silently."""
    if not (REPO / "Snakefile").exists() or not TINY_CONFIG.exists():
        pytest.skip("the project's Snakefile or tests/configs/tiny.yaml does not exist yet")
    r = subprocess.run(
        snakemake_cmd("-s", str(REPO / "Snakefile"), "--directory", str(tmp_path),
                      "--configfile", str(TINY_CONFIG), "--workflow-profile", "none",
                      "--list-rules"),
        capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    rules = set(r.stdout.split())
    unknown = set(load_shipped_profile()["set-resources"]) - rules
    assert not unknown, f"set-resources names rules the workflow lacks: {unknown}"


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def write_test_profile(dest: Path, partition: str, mem_mb: int = 1000) -> Path:
    """Derive a profile for the GPU-less test node from the shipped one.

    Same executor and resource layout, but: the test partition, no account
    (the test cluster has none), gpu: 0 instead of GPU requests, small
    memory/runtime, no retries, squeue for status, short polling intervals.
    """
    prof = load_shipped_profile()
    dr = dict(prof.get("default-resources") or {})
    dr["slurm_partition"] = partition
    dr.pop("slurm_account", None)  # no accounts without slurmdbd
    dr["mem_mb"] = mem_mb
    dr["runtime"] = 20
    prof["default-resources"] = dr
    sr = {}
    for rule, res in (prof.get("set-resources") or {}).items():
        asks_gpu = any(k in res for k in GPU_ONLY_RESOURCES)
        res = {
            k: v
            for k, v in res.items()
            if k not in GPU_ONLY_RESOURCES and k not in ("slurm_partition", "slurm_account")
        }
        if asks_gpu:
            # rules may also declare `resources: gpu=1` in the Snakefile;
            # set-resources overrides that, so say "no GPU" explicitly
            res["gpu"] = 0
        if "cpus_per_task" in res and not res["cpus_per_task"]:
            del res["cpus_per_task"]  # fall back to default: cpus_per_task = threads
        if "mem_mb" in res:
            res["mem_mb"] = mem_mb
        if "runtime" in res:
            res["runtime"] = 20
        if res:
            sr[rule] = res
    prof["set-resources"] = sr
    prof.update(
        {
            "jobs": 4,
            "latency-wait": 10,
            "retries": 0,
            "slurm-status-command": "squeue",
            "slurm-init-seconds-before-status-checks": 2,
            "seconds-between-status-checks": 2,
            "slurm-keep-successful-logs": True,
        }
    )
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "config.yaml").write_text(yaml.safe_dump(prof, sort_keys=False))
    return dest


def snakemake_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", *args]


def run_snakemake(cluster, args, cwd, log: Path, timeout=SNAKEMAKE_TIMEOUT):
    env = cluster.env
    # the jobs re-run `python -m snakemake` from this interpreter's env:
    # make sure its bin dir is first on PATH (sbatch --export=ALL passes it on)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    t0 = time.monotonic()
    with open(log, "w") as f:
        try:
            proc = subprocess.run(
                snakemake_cmd(*args), cwd=cwd, env=env, stdout=f,
                stderr=subprocess.STDOUT, timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"snakemake did not finish in {timeout}s\n{tail(log)}\n"
                f"{cluster.run(['squeue', '--states=all'], check=False).stdout}\n"
                f"{cluster.log_tail()}"
            )
    elapsed = time.monotonic() - t0
    print(f"snakemake {' '.join(args[:3])}... took {elapsed:.1f}s", file=sys.stderr)
    return proc.returncode, elapsed


def tail(path: Path, n: int = 80) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "<no log>"


def slurm_job_ids_from_log(log: Path) -> list[str]:
    return re.findall(r"submitted with SLURM jobid (\d+)", log.read_text())


# ---------------------------------------------------------------------------
# 1. the cluster itself
# ---------------------------------------------------------------------------


@pytest.mark.slurm
@pytest.mark.timeout(1800)  # the first test also installs Slurm
def test_sbatch_wait_echo(slurm_cluster, tmp_path):
    print(slurm_version(), file=sys.stderr)
    r = slurm_cluster.run(
        ["sbatch", "--wait", "-o", str(tmp_path / "hi.out"), "--wrap", "echo hi"],
        check=False, cwd=tmp_path, timeout=120,
    )
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}\n{slurm_cluster.log_tail()}"
    assert (tmp_path / "hi.out").read_text().strip() == "hi"


# ---------------------------------------------------------------------------
# 2. a minimal workflow through the executor (independent of the project)
# ---------------------------------------------------------------------------

MINI_SNAKEFILE = textwrap.dedent(
    """
    SAMPLES = ["a", "b"]

    localrules: all, summarize

    rule all:
        input: "results/summary.txt"

    rule make:
        output: "results/{sample}.txt"
        threads: 1
        shell:
            "echo sample={wildcards.sample} > {output}; "
            "echo jobid=$SLURM_JOB_ID >> {output}; "
            "echo cpus=$SLURM_CPUS_PER_TASK >> {output}; "
            "echo host=$(hostname -s) >> {output}"

    # named like a GPU rule, so the shipped profile gives it gpu: 1, which the
    # test profile removes again (no GPUs on the test node)
    rule train:
        input: "results/a.txt"
        output: "results/model.txt"
        threads: 2
        shell:
            "cat {input} > {output}; "
            "echo jobid=$SLURM_JOB_ID >> {output}; "
            "echo cpus=$SLURM_CPUS_PER_TASK >> {output}; "
            "python -c 'import snakemake, sys; print(\\"python=\\" + sys.executable)' >> {output}"

    rule summarize:
        input: expand("results/{s}.txt", s=SAMPLES), "results/model.txt"
        output: "results/summary.txt"
        shell: "cat {input} > {output}; echo local_jobid=${{SLURM_JOB_ID:-none}} >> {output}"
    """
)


@pytest.mark.slurm
@pytest.mark.timeout(1800)  # the first test also installs Slurm
def test_minimal_workflow_through_slurm_executor(slurm_cluster, tmp_path):
    wd = tmp_path / "wf"
    wd.mkdir()
    (wd / "Snakefile").write_text(MINI_SNAKEFILE)
    profile = write_test_profile(tmp_path / "profile", slurm_cluster.partition)
    log = tmp_path / "snakemake.log"
    rc, elapsed = run_snakemake(
        slurm_cluster,
        ["--workflow-profile", str(profile)],
        cwd=wd, log=log,
    )
    assert rc == 0, f"snakemake failed (rc={rc})\n{tail(log)}\n{slurm_cluster.log_tail()}"
    text = log.read_text()

    # three rules went through sbatch, the local rule did not
    ids = slurm_job_ids_from_log(log)
    assert len(ids) == 3, f"expected 3 SLURM jobs, log says {ids}\n{tail(log)}"

    results = wd / "results"
    for s in ("a", "b"):
        content = (results / f"{s}.txt").read_text()
        assert f"sample={s}" in content
        assert re.search(r"jobid=\d+", content), content
        assert "cpus=1" in content, content
    model = (results / "model.txt").read_text()
    assert re.search(r"jobid=\d+", model), model
    assert "cpus=2" in model, model  # threads: 2 -> --cpus-per-task=2
    # the job ran the interpreter of this environment (PATH via --export=ALL)
    assert f"python={Path(sys.executable).parent}" in model, model
    summary = (results / "summary.txt").read_text()
    assert "local_jobid=none" in summary, summary
    # status was followed with squeue, not (the unusable) sacct
    assert "Falling back to 'sacct'" not in text, tail(log)

    # every job's log (kept via slurm-keep-successful-logs) exists
    logs = list((wd / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert len(logs) == 3, logs

    # a second run has nothing to do
    rc2 = subprocess.run(
        snakemake_cmd("--dry-run", "--workflow-profile", "none"),
        cwd=wd, env=slurm_cluster.env, capture_output=True, text=True,
    )
    assert rc2.returncode == 0 and "Nothing to be done" in rc2.stdout + rc2.stderr, (
        rc2.stdout + rc2.stderr
    )
    print(f"minimal workflow through Slurm: {elapsed:.1f}s", file=sys.stderr)


# ---------------------------------------------------------------------------
# 3. the project's tiny config through the executor
# ---------------------------------------------------------------------------


def copy_project(dest: Path) -> Path:
    """Copy the working tree (tracked + untracked, not ignored files)."""
    try:
        files = subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"],
            cwd=REPO, capture_output=True, check=True,
        ).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        files = None
    if files:
        for rel in filter(None, files):
            src = REPO / rel
            if not src.is_file():
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    else:
        shutil.copytree(
            REPO, dest, dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(
                ".git", ".venv", "results", ".snakemake", "__pycache__",
                ".pytest_cache", ".hypothesis", "*.egg-info", "build",
            ),
        )
    # the data dir is git-ignored; bring along what is there (offline runs)
    data = REPO / "data"
    if data.is_dir() and not (dest / "data").exists():
        shutil.copytree(data, dest / "data", symlinks=True)
    return dest


@pytest.mark.slurm
@pytest.mark.timeout(1800)  # the first test also installs Slurm
def test_project_tiny_config_through_slurm_executor(slurm_cluster, tmp_path):
    if not (REPO / "Snakefile").exists() and not (REPO / "workflow" / "Snakefile").exists():
        pytest.skip("the project's Snakefile does not exist yet")
    if not TINY_CONFIG.exists():
        pytest.skip(f"{TINY_CONFIG.relative_to(REPO)} does not exist yet")

    proj = copy_project(tmp_path / "project")
    profile = write_test_profile(tmp_path / "profile", slurm_cluster.partition, mem_mb=2000)
    config = proj / TINY_CONFIG.relative_to(REPO)
    log = tmp_path / "snakemake.log"
    rc, elapsed = run_snakemake(
        slurm_cluster,
        ["--workflow-profile", str(profile), "--configfile", str(config)],
        cwd=proj, log=log,
    )
    assert rc == 0, f"snakemake failed (rc={rc})\n{tail(log, 150)}\n{slurm_cluster.log_tail()}"
    ids = slurm_job_ids_from_log(log)
    assert ids, f"no job went through sbatch\n{tail(log)}"

    # every output Snakemake knows about exists (temp outputs may be gone)
    summ = subprocess.run(
        snakemake_cmd("--summary", "--workflow-profile", "none", "--configfile", str(config)),
        cwd=proj, env=slurm_cluster.env, capture_output=True, text=True, timeout=300,
    )
    assert summ.returncode == 0, summ.stdout + summ.stderr
    lines = [ln for ln in summ.stdout.splitlines() if ln.strip()]
    header_idx = next(i for i, ln in enumerate(lines) if ln.startswith("output_file"))
    header = lines[header_idx].split("\t")
    rows = [dict(zip(header, ln.split("\t"))) for ln in lines[header_idx + 1:]]
    assert rows, summ.stdout
    missing = [
        r["output_file"] for r in rows
        if "temp" not in r.get("status", "") and not (proj / r["output_file"]).exists()
    ]
    assert not missing, f"outputs missing after the Slurm run: {missing}"
    not_ok = [r for r in rows if r.get("plan", "") not in ("no update", "-", "")]
    assert not not_ok, f"outputs still scheduled for update: {not_ok[:10]}"

    dry = subprocess.run(
        snakemake_cmd("--dry-run", "--workflow-profile", "none", "--configfile", str(config)),
        cwd=proj, env=slurm_cluster.env, capture_output=True, text=True, timeout=300,
    )
    assert "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout + dry.stderr
    print(
        f"project tiny config through Slurm: {elapsed:.1f}s, "
        f"{len(ids)} Slurm jobs, {len(rows)} outputs checked",
        file=sys.stderr,
    )
