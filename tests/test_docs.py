"""The README documents the tables' columns exactly as the code writes them."""
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
    assert documented_columns("modularity") == tables.MODULARITY_COLUMNS
    assert documented_columns("cluster_similarity") == tables.CLUSTER_SIMILARITY_COLUMNS
