"""Parsing the workflow (a dry run, a report) imports neither torch nor the user's code."""
import subprocess
import sys
import textwrap

import pytest
import yaml

from support.workflow_helpers import ROOT, planned_jobs

CHECK = textwrap.dedent('''
    import atexit, sys
    atexit.register(lambda: sys.__stdout__.write(
        "\\nIMPORTED " + " ".join(m for m in ("torch", "own_net", "sklearn") if m in sys.modules) + "\\n"))
    from snakemake.cli import main
    sys.argv = ["snakemake", "-n", "-s", sys.argv[1], "--directory", sys.argv[2], "--configfile", sys.argv[3]]
    main()
''')


def dry_run(workdir, config):
    proc = subprocess.run([sys.executable, "-c", CHECK, str(ROOT / "Snakefile"), str(workdir), str(config)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    imported = proc.stdout.rsplit("IMPORTED", 1)[1].split()
    return proc.stdout, imported


def test_dry_run_of_the_demo_imports_no_torch(tmp_path):
    _, imported = dry_run(tmp_path, ROOT / "workflow/configs/demo.yaml")
    assert imported == []


def test_own_models_are_checked_by_a_job_that_every_training_job_waits_for(tmp_path):
    """The user's factory (own_net.py raises on import) is not imported while the DAG is built."""
    (tmp_path / "own_net.py").write_text("raise RuntimeError('imported at parse time')\n")
    (tmp_path / "own_models").mkdir()
    (tmp_path / "own_models" / "m.pt").write_bytes(b"not read while parsing")
    cfg = yaml.safe_load((ROOT / "tests/configs/experiments.yaml").read_text())
    cfg["experiments"] = {"deep": cfg["experiments"]["deep"], "own": cfg["experiments"]["own"]}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    out, imported = dry_run(tmp_path, tmp_path / "c.yaml")
    assert imported == []
    jobs = planned_jobs(out)
    assert ("check_checkpoints", "results/digits/own/checks/checkpoints.json") in jobs
    train_inputs = [block for block in out.split("rule ")[1:] if block.startswith(("train:", "init_untrained:"))]
    assert train_inputs and all("results/digits/own/checks/checkpoints.json" in b for b in train_inputs)


@pytest.mark.parametrize("config", ["config.yaml", "workflow/configs/authors-experiments.yaml"])
def test_paper_configs_parse_without_torch(tmp_path, config):
    assert dry_run(tmp_path, ROOT / config)[1] == []
