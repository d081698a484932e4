"""Running the real workflow on a tiny config in a temporary copy of the project."""
import base64
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
HOOKS = Path(__file__).resolve().parent / "hooks"  # sitecustomize.py: test-only hooks for every job
TINY = ROOT / "tests" / "configs" / "tiny.yaml"
TINY_RESULTS = "results/digits/mlp_16-12"  # tiny.yaml's one experiment, named after its architecture
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
PROJECT_PARTS = ["Snakefile", "config.yaml", "workflow", "src", "envs"]
FIGURE_RULES = {"fig3", "fig4", "figS1", "figS2", "figS3", "figS4", "figS5", "training_curves"}
TABLE_RULES = {"table_sweeps", "table_metrics", "table_history", "table_modularity", "table_cluster_similarity",
               "scorecard"}
SUMMARY_RULES = {"table_summary", "summary_figure"}  # results/summary: every experiment's Q*


def copy_project(dst: Path) -> Path:
    """A private copy of the workflow (so tests may edit scripts) that runs in ``dst``."""
    dst.mkdir(parents=True, exist_ok=True)
    for part in PROJECT_PARTS:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dst / part, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, dst / part)
    return dst


def write_config(workdir: Path, name="config.yaml", **overrides) -> Path:
    """tiny.yaml with overrides given as ``section__key=value``; written to ``workdir/name``."""
    cfg = yaml.safe_load(TINY.read_text())
    for dotted, value in overrides.items():
        node = cfg
        keys = dotted.split("__")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    path = workdir / name
    path.write_text(yaml.safe_dump(cfg))
    return path


def snakemake(workdir: Path, *args, config: Path | None = None, check=True, timeout=900, snakefile=None,
              extra_env: dict | None = None):
    snakefile = snakefile or (workdir / "Snakefile" if (workdir / "Snakefile").exists() else ROOT / "Snakefile")
    # the greedy scheduler, as in the workstation profile: the same jobs, without an ILP solve per round
    cmd = [*SNAKEMAKE, "-s", str(snakefile), "--directory", str(workdir), "--scheduler", "greedy", *args,
           "--configfile", str(config or workdir / "tiny.yaml")]
    pythonpath = os.pathsep.join(filter(None, [str(HOOKS), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "UNITCLUST_LOCK_DIR": str(workdir / ".locks"),
           "UNITCLUST_IMPORT_AUDIT": str(workdir / ".import-audit"), "PYTHONPATH": pythonpath,
           "UNITCLUST_LEASE_RECORDS": str(workdir / ".leases"), **(extra_env or {})}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
    return proc


def planned_jobs(output: str) -> list[tuple[str, str]]:
    """(rule, first output) of every job a (dry) run lists."""
    jobs, rule = [], None
    for line in output.splitlines():
        m = re.match(r"^(?:local)?rule (\w+):", line.strip())
        if m:
            rule = m.group(1)
            continue
        m = re.match(r"^output: (\S+)", line.strip())
        if m and rule:
            jobs.append((rule, m.group(1).rstrip(",")))
            rule = None
    return jobs


def planned_rules(output: str) -> set[str]:
    return {r for r, _ in planned_jobs(output)}


def result_files(work: Path) -> list[Path]:
    return sorted(p for p in (work / "results").rglob("*")
                  if p.is_file() and "/logs/" not in str(p) and "/benchmarks/" not in str(p))


# ------------------------------------------------------------------ whole runs shared between test modules
def finished_run(tmp_path_factory, name: str, umask: int = 0o002, **overrides) -> Path:
    """The default target (``snakemake --cores 2``, no target) run once per test session on tiny.yaml
    with ``overrides`` in a fresh copy of the project, under ``umask``; later calls with the same
    ``name`` return the same folder.  Tests must copy it (:func:`copy_run`) before changing anything."""
    base = tmp_path_factory.getbasetemp() / f"finished-run-{name}"
    done = base / ".finished"
    if not done.exists():
        shutil.rmtree(base, ignore_errors=True)
        copy_project(base)
        cfg = write_config(base, "tiny.yaml", **overrides)
        old = os.umask(umask)
        try:
            snakemake(base, "--cores", "2", config=cfg)
        finally:
            os.umask(old)
        done.write_text(f"umask {umask:#o}\n")
    return base


def copy_run(src: Path, dst: Path) -> Path:
    """A copy of a run folder (project, results, .snakemake) with modification times kept."""
    shutil.copytree(src, dst, symlinks=True, ignore=shutil.ignore_patterns(".finished", "locks"))
    return dst


# ------------------------------------------------------------------ watching and killing a running workflow
SLOW_WRITES_ENV = "UNITCLUST_TEST_SLOW_WRITE"  # regex on the output path; each matching write pauses before its rename
SLOW_WRITES_PATCH = f'''

# --- test-only fault injection, appended by tests/support/workflow_helpers.inject_slow_writes ---
import os as _os

if _os.environ.get("{SLOW_WRITES_ENV}"):
    import contextlib as _contextlib
    import re as _re
    import time as _time

    from unitclust import io as _io

    _real_atomic_path = _io.atomic_path

    @_contextlib.contextmanager
    def _slow_atomic_path(path):
        with _real_atomic_path(path) as tmp:
            yield tmp
            if _re.search(_os.environ["{SLOW_WRITES_ENV}"], str(path)):
                _time.sleep(float(_os.environ.get("{SLOW_WRITES_ENV}_S", "0.5")))

    _io.atomic_path = _slow_atomic_path
'''


def inject_slow_writes(workdir: Path) -> None:
    """Make every job of the copy in ``workdir`` pause inside :func:`unitclust.io.atomic_path` (the
    output complete in its ``.part`` file, not yet renamed) for outputs matching the regex in
    ``$UNITCLUST_TEST_SLOW_WRITE``, so a test can kill a job in the middle of writing.  Inert
    without that variable.  The patch goes into the copy's script preamble (``workflow/scripts/
    common``), which every script imports before ``unitclust.figures``; Snakemake's code trigger
    looks at the rule scripts only, so it makes nothing rerun."""
    common = workdir / "workflow" / "scripts" / "common" / "__init__.py"
    common.write_text(common.read_text() + SLOW_WRITES_PATCH)


def start_snakemake(workdir: Path, *args, config: Path, extra_env: dict | None = None, **popen):
    """``snakemake`` in the background as the leader of a new process group (its jobs join the
    group): returns the Popen; kill everything with ``os.killpg(proc.pid, SIGKILL)``."""
    cmd = [*SNAKEMAKE, "-s", str(workdir / "Snakefile"), "--directory", str(workdir), *args,
           "--configfile", str(config)]
    pythonpath = os.pathsep.join(filter(None, [str(HOOKS), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "UNITCLUST_LOCK_DIR": str(workdir / ".locks"),
           "PYTHONPATH": pythonpath, **(extra_env or {})}
    return subprocess.Popen(cmd, env=env, start_new_session=True, **popen)


_SCRIPT_JOB = re.compile(r"^\S*/\.snakemake/scripts/tmp[a-z0-9_]+\.(\w+)\.py$")


def group_processes(pgid: int) -> dict[int, list[str]]:
    """Command line of every live (not zombie) process in process group ``pgid``, read from /proc."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            if os.getpgid(pid) != pgid:
                continue
            stat = Path(f"/proc/{pid}/stat").read_text()
            if stat[stat.rindex(")") + 2] == "Z":
                continue
            out[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except (OSError, ValueError):  # gone meanwhile
            continue
    return out


def running_script_jobs(pgid: int) -> dict[int, str]:
    """``{pid: script}`` of the Snakemake script jobs running in process group ``pgid``.  Snakemake runs
    a rule's ``script:`` as ``python <workdir>/.snakemake/scripts/tmpXXXXXXXX.<script>.py`` (the
    ``bash -c`` around it is not counted); in this workflow a script is named after its rule."""
    jobs = {}
    for pid, args in group_processes(pgid).items():
        for arg in args[1:]:
            m = _SCRIPT_JOB.match(arg)
            if m:
                jobs[pid] = m.group(1)
    return jobs


def incomplete_outputs(workdir: Path) -> set[str]:
    """Outputs (relative paths) that Snakemake has marked incomplete: a job that started and did not
    finish.  Snakemake keeps one file per output in ``.snakemake/incomplete``, named by the url-safe
    base64 of the path (split into ``@``-prefixed folders when longer than a file name may be)."""
    root = workdir / ".snakemake" / "incomplete"
    out = set()
    for folder, _, names in os.walk(root):
        for name in names:
            if name == "migration_underway":
                continue
            parts = Path(folder, name).relative_to(root).parts
            out.add(base64.urlsafe_b64decode("".join(p.removeprefix("@") for p in parts)).decode())
    return out


def temporary_files(folder: Path) -> list[Path]:
    """Files under ``folder`` that look temporary: the atomic writer's ``.<name>.<random>.part``,
    or any other hidden, ``*.part``, ``*.tmp``, ``*~`` file."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and (
        p.name.startswith(".") or p.suffix in (".part", ".tmp") or p.name.endswith("~")))


def check_opens(path: Path) -> None:
    """Read a final output completely with the reader of its format; raises if it is truncated."""
    import json

    suffix = path.suffix
    if suffix == ".h5":
        import h5py

        with h5py.File(path, "r") as f:
            f.visititems(lambda name, obj: obj[()] if isinstance(obj, h5py.Dataset) else None)
            assert len(f.keys()) > 0, f"{path} is empty"
    elif suffix == ".pt":
        from unitclust import io

        io.load_checkpoint(path)
    elif suffix == ".json":
        json.loads(path.read_text())
    elif suffix == ".csv":
        import pandas as pd

        assert len(pd.read_csv(path).columns) > 0, path
    elif suffix == ".npz":
        import numpy as np

        with np.load(path) as z:
            [z[k] for k in z.files]
    elif suffix == ".png":
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82"), f"{path} is not a whole PNG"
    elif suffix == ".pdf":
        data = path.read_bytes()
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF"), f"{path} is not a whole PDF"
    else:
        raise AssertionError(f"no reader for {path}")
