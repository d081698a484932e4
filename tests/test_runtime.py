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
