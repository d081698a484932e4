"""Job glue: stale temporary files of a killed job are removed; the scripts' preamble imports this checkout."""
import subprocess
import sys
from pathlib import Path

from unitclust.runtime import remove_stale_temporaries

ROOT = Path(__file__).resolve().parents[1]


def test_stale_temporaries_of_the_outputs_are_removed_and_nothing_else(tmp_path):
    (tmp_path / "a").mkdir()
    stale = [tmp_path / "a/.x.h5.abc123.part", tmp_path / ".y.csv.zz.part"]
    keep = [tmp_path / "a/x.h5", tmp_path / "a/.other.h5.abc.part", tmp_path / "a/.x.h5.note"]
    for p in stale + keep:
        p.write_text("data")
    removed = remove_stale_temporaries([tmp_path / "a/x.h5", tmp_path / "y.csv", tmp_path / "missing/z.pt"])
    assert sorted(removed) == sorted(stale)
    assert all(p.exists() for p in keep) and not any(p.exists() for p in stale)


def test_scripts_import_the_package_of_their_own_checkout(tmp_path):
    """A copy of the project runs its own src/, even with another checkout earlier on sys.path
    (e.g. an editable install) - the preamble puts the copy's src first."""
    import shutil

    for part in ("workflow", "src"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    code = ("import sys; sys.path.insert(0, %r); sys.path.append(%r); import common, unitclust; "
            "print(unitclust.__file__)" % (str(ROOT / "src"), str(tmp_path / "workflow/scripts")))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert Path(out.strip()).resolve().is_relative_to(tmp_path / "src")


RUN = """
import atexit, sys, types
from pathlib import Path
from unitclust.runtime import run_script
atexit.register(lambda: Path(sys.argv[1]).with_suffix('.atexit').write_text('teardown ran'))
def main(sm):
    print('result summary')
    sys.__stdout__.write('unflushed line on the real stdout')
    if sys.argv[2] == 'fail':
        raise ValueError('bad input')
    Path(sm.output[0]).write_text('out')
sm = types.SimpleNamespace(rule='r', wildcards={}, input=[], output=[sys.argv[1] + '.out'], params={}, threads=1,
                           log=[sys.argv[1] + '.log'])
run_script(main, sm)
print('not reached')
"""


def _job(tmp_path, mode):
    return subprocess.run([sys.executable, "-c", RUN, str(tmp_path / "job"), mode], capture_output=True, text=True,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT / "src"), "PATH": ""})


def test_a_finished_job_ends_its_process_at_once_with_everything_written(tmp_path):
    """The job's output, log and real stdout are complete; the interpreter's teardown (here an
    atexit hook) is skipped, and nothing after run_script runs."""
    proc = _job(tmp_path, "ok")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "unflushed line on the real stdout"
    assert (tmp_path / "job.out").read_text() == "out"
    log = (tmp_path / "job.log").read_text()
    assert "result summary" in log and "done in" in log.splitlines()[-1]
    assert not (tmp_path / "job.atexit").exists()


def test_a_failed_job_exits_1_with_its_reason(tmp_path):
    proc = _job(tmp_path, "fail")
    assert proc.returncode == 1
    assert "ERROR in rule r: ValueError: bad input" in proc.stderr
    assert "Traceback" in (tmp_path / "job.log").read_text()
    assert not (tmp_path / "job.out").exists()
