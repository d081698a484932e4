"""The README and docs/science.md document what the code does: table columns, config keys, the layout, no outside
references."""
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


def layout_paths() -> set[str]:
    """Every path the README's layout tree names (``dir/`` entries end with a slash).

    An entry is the first column of a line (``a.py, b.py`` names several); its folder is the nearest
    less indented ``dir/`` entry above it.  ``name.py`` words in a folder's description (and in the
    description lines below it, indented to that column) are files in that folder.
    """
    block = re.search(r"^## Layout\n+```\n(.*?)^```", README, re.M | re.S)
    assert block, "README.md has no layout section"
    paths: set[str] = set()
    parents: list[tuple[int, str]] = []  # (indent, folder) of the open folders
    entry = ""
    for line in block.group(1).splitlines():
        indent = len(line) - len(line.lstrip())
        if not line.strip():
            continue
        if indent >= 16:  # a description continued: its words belong to the entry above
            first, desc = "", line.strip()
        else:
            first, _, desc = re.split(r"(\s{2,})", line.strip() + "  ", maxsplit=1)
            while parents and parents[-1][0] >= indent:
                parents.pop()
            base = parents[-1][1] if parents else ""
            names = [n.strip() for n in first.split(",")]
            entry = base + names[0]
            paths.update(base + n for n in names)
            if entry.endswith("/"):
                parents.append((indent, entry))
        if entry.endswith("/"):
            paths.update(entry + name for name in re.findall(r"(?<![\w/.*])(\w+\.py)\b", desc))
    return paths


def test_readme_layout_matches_the_tree():
    """The README's layout names every module of the package and every workflow script, and no file that is
    gone."""
    root = Path(__file__).resolve().parents[1]
    named = layout_paths()
    tree = {str(p.relative_to(root)) for p in (root / "src/unitclust").rglob("*.py")
            if p.name != "__init__.py" and "__pycache__" not in p.parts}
    tree |= {str(p.relative_to(root)) for p in (root / "workflow/scripts").glob("*.py")}
    tree |= {str(p.parent.relative_to(root)) + "/" for p in (root / "src/unitclust").rglob("__init__.py")
             if "__pycache__" not in p.parts}
    in_layout = {p for p in named if p.endswith(".py") and p.startswith(("src/unitclust/", "workflow/scripts/"))}
    in_layout |= {p for p in named if p.endswith("/") and p.startswith("src/unitclust")}  # packages
    assert not tree - in_layout, f"files missing from README.md's layout: {sorted(tree - in_layout)}"
    assert not in_layout - tree, f"README.md's layout names files that do not exist: {sorted(in_layout - tree)}"
    missing = [p for p in named if "*" not in p and not (root / p).exists()]
    assert not missing, f"README.md's layout names paths that do not exist: {missing}"
