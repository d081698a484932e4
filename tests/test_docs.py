"""The README and docs/science.md document what the code does: table columns, config keys, no outside references."""
import re
from pathlib import Path

from unitclust import tables

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def documented_columns(table: str) -> list[str]:
    row = re.search(rf"^\| `{table}\.csv` \|[^|]*\|([^|]*)\|", README, re.M)
    assert row, f"{table}.csv is not documented in README.md"
    return [c.strip() for c in row.group(1).split(",")]


def test_readme_table_columns_match_code():
    assert documented_columns("sweeps") == tables.SWEEP_COLUMNS
    assert documented_columns("metrics") == tables.METRIC_COLUMNS
    assert documented_columns("history") == tables.HISTORY_COLUMNS
    assert documented_columns("modularity") == tables.MODULARITY_COLUMNS
    assert documented_columns("cluster_similarity") == tables.CLUSTER_SIMILARITY_COLUMNS


def _schema_keys(node, prefix=""):
    props = node.get("properties")
    if not props:
        yield prefix
        return
    for key, sub in props.items():
        yield from _schema_keys(sub, f"{prefix}.{key}" if prefix else key)


def test_every_config_key_is_documented():
    """Each key of the schema appears, as `section.key`, in README.md or docs/*.md."""
    import yaml

    root = Path(__file__).resolve().parents[1]
    schema = yaml.safe_load((root / "workflow/schemas/config.schema.yaml").read_text())
    docs = README + "".join(p.read_text() for p in sorted((root / "docs").glob("*.md")))
    missing = [k for k in _schema_keys(schema) if f"`{k}`" not in docs]
    assert not missing, f"config keys not documented in README.md or docs/*.md: {missing}"


def test_no_reference_outside_the_repository():
    """A user's clone has only the repository: nothing may point to the team's notes."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    files = subprocess.run(["git", "-C", str(root), "ls-files"], capture_output=True, text=True).stdout.split()
    if not files:  # not a git checkout (e.g. an unpacked archive): scan the usual folders
        files = [str(p.relative_to(root)) for d in ("src", "workflow", "docs", "tests", "benchmarks")
                 for p in (root / d).rglob("*") if p.is_file()] + ["README.md", "config.yaml", "Snakefile"]
    pattern = re.compile(r"\.\./shared|\bSPEC(\.md)?\b")
    offenders = []
    for name in files:
        path = root / name
        if path.suffix in {".png", ".pdf", ".h5", ".npz", ".pt"} or not path.is_file():
            continue
        text = path.read_text(errors="ignore")
        if name != "tests/test_docs.py" and pattern.search(text):
            offenders.append(name)
    assert not offenders, f"files that refer outside the repository: {offenders}"
