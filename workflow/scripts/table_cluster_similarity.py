"""Every model's comparison file -> tables/cluster_similarity.csv (model x layer x measure pair)."""
from common import run
from unitclust.steps import cluster_similarity_table_from_files


def main(sm):
    cluster_similarity_table_from_files(list(sm.input.comparisons), sm.input.metrics, sm.output[0])


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
