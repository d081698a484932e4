"""Suite-wide settings: one OpenMP thread, and the Slurm tests only when asked for.

The Slurm tests install Debian's slurm-wlm and munge with apt-get and start daemons, so they run
only with ``--run-slurm`` (or ``UNITCLUST_TEST_SLURM=1``); ``.ci/run`` asks for them.  Once asked
for, a cluster that cannot be started is a failure, not a skip.
"""
import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
SLURM_ENV = "UNITCLUST_TEST_SLURM"


def pytest_addoption(parser):
    parser.addoption("--run-slurm", action="store_true", default=False,
                     help="run the Slurm tests (root; installs slurm-wlm and munge with apt-get, starts daemons)")


def pytest_configure(config):
    if config.getoption("--run-slurm"):
        os.environ[SLURM_ENV] = "1"


def pytest_collection_modifyitems(config, items):
    if os.environ.get(SLURM_ENV) == "1":
        return
    skip = pytest.mark.skip(reason=f"changes the machine: run with --run-slurm or {SLURM_ENV}=1")
    for item in items:
        if "slurm" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _no_flush_denormal_leak():
    """Step functions run in-process flush subnormal floats process-wide (as a job should);
    undo it after each test so later tests (hypothesis draws subnormals) see IEEE floats."""
    yield
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_flush_denormal(False)


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """The whole workflow run once on tests/configs/tiny.yaml in a private copy of the project,
    with two fake GPUs (GPU jobs lease "cuda:0"/"cuda:1" as on a 2-GPU machine, compute on the CPU)."""
    from support.workflow_helpers import copy_project, snakemake, write_config

    work = copy_project(tmp_path_factory.mktemp("tiny"))
    write_config(work, "tiny.yaml")
    snakemake(work, "--cores", "2", "--resources", "gpu=2", extra_env={"UNITCLUST_FAKE_GPUS": "2"})
    return work
