"""Cluster similarity per model x layer x measure pair -> tables/cluster_similarity.csv."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # noqa: F821 - repo package, see README
from unitclust.pipeline import cluster_similarity_table_from_files
from unitclust.runtime import run_script


def main(sm):
    cluster_similarity_table_from_files(list(sm.input.comparisons), sm.input.metrics, sm.output[0])


run_script(main, snakemake)  # noqa: F821
