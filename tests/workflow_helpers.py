"""Running the real workflow on a tiny config in a temporary directory."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "configs" / "tiny.yaml"
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def write_config(workdir: Path, name="config.yaml", **overrides) -> Path:
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


def snakemake(workdir: Path, *args, config: Path | None = None, check=True, timeout=900):
    cmd = [*SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(config or workdir / "config.yaml"), *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "UNITCLUST_LOCK_DIR": str(workdir / ".locks")}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
    return proc


def planned_jobs(output: str) -> list[tuple[str, str]]:
    """(rule, first output) of every job a dry run would execute."""
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


def copy_run(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst
