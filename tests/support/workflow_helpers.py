"""Running the real workflow on a tiny config in a temporary copy of the project."""
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
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
PROJECT_PARTS = ["Snakefile", "config.yaml", "workflow", "src", "envs"]
FIGURE_RULES = {"fig3", "fig4", "figS1", "figS2", "figS3", "figS4", "figS5", "training_curves"}
TABLE_RULES = {"table_sweeps", "table_metrics", "table_history", "table_modularity", "table_cluster_similarity",
               "scorecard"}


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
    cmd = [*SNAKEMAKE, "-s", str(snakefile), "--directory", str(workdir), *args,
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
