"""Suite-wide settings: one OpenMP thread, the Slurm tests only when asked for, and the slow tier.

The Slurm tests install Debian's slurm-wlm and munge with apt-get and start daemons, so they run
only with ``--run-slurm`` (or ``UNITCLUST_TEST_SLURM=1``); ``.ci/run`` asks for them.  Once asked
for, a cluster that cannot be started is a failure, not a skip.

``slow`` marks every test that is ``e2e`` or ``slurm``, uses a fixture that runs the whole workflow,
or took over 3 s on 2 cores (``python -m pytest --durations=0``); ``python -m pytest -m "not slow"``
is the fast tier to run while editing (README, Quick start).
"""
import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
SLURM_ENV = "UNITCLUST_TEST_SLURM"
SLOW_MARKERS = ("e2e", "slurm")
# (file, fixture) of the fixtures that run the whole workflow (a conftest.py one serves every file): every
# test using one is slow
SLOW_FIXTURES = {("conftest.py", "tiny"), ("test_workflow_experiments.py", "run")}
# file::test (every case) or file::test[case]: measured over 3 s on 2 cores
SLOW_TESTS = {
    "test_workflow_experiments.py::test_bad_own_models_fail_before_any_job",  # 2-4 s: parses the workflow
    "test_figures_experiments.py::test_figures_save",
    "test_figures.py::test_degenerate_inputs_do_not_crash[no_untrained]",
    "test_figures.py::test_figure_builds_saves_and_is_not_blank[figS3]",
    "test_figures.py::test_figure_builds_saves_and_is_not_blank[figS4]",
    "test_figures.py::test_empty_after_filtering",
    "test_figures_experiments.py::test_single_model_has_no_band_or_error_bar",
    "test_workflow_parse.py::test_paper_configs_parse_without_torch",  # 5-6 s: parses the paper's configs
    "test_envs.py::test_every_rule_with_a_script_has_an_env",  # 3-4 s: parses the workflow
    "test_devices.py::test_two_processes_never_share_a_device",
}


def pytest_addoption(parser):
    parser.addoption("--run-slurm", action="store_true", default=False,
                     help="run the Slurm tests (root; installs slurm-wlm and munge with apt-get, starts daemons)")


def pytest_configure(config):
    if config.getoption("--run-slurm"):
        os.environ[SLURM_ENV] = "1"


def is_slow(item) -> bool:
    file = item.path.name
    name = f"{file}::{item.name}"
    return (any(m in item.keywords for m in SLOW_MARKERS)
            or any(fixture in item.fixturenames and where in (file, "conftest.py") for where, fixture in SLOW_FIXTURES)
            or name in SLOW_TESTS or name.partition("[")[0] in SLOW_TESTS)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if is_slow(item):
            item.add_marker(pytest.mark.slow)
    if os.environ.get(SLURM_ENV) == "1":
        return
    skip = pytest.mark.skip(reason=f"changes the machine: run with --run-slurm or {SLURM_ENV}=1")
    for item in items:
        if "slurm" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def digits_npz(tmp_path_factory):
    """scikit-learn's digits as a prepared dataset file (what the workflow's data job writes)."""
    from unitclust.data import load_digits_dataset, save_dataset

    path = tmp_path_factory.mktemp("data") / "data.npz"
    save_dataset(path, load_digits_dataset(), "digits")
    return path


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
