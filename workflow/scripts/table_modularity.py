"""Every model's cluster file -> tables/modularity.csv (one row per model x layer x measure)."""
from common import run
from unitclust.steps import modularity_table_from_files


def main(sm):
    modularity_table_from_files(list(sm.input.clusters), sm.input.metrics, sm.output[0])


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
