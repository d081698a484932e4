"""Every model's metrics JSON -> tables/metrics.csv."""
from common import run
from unitclust.steps import metrics_table_from_files


def main(sm):
    metrics_table_from_files(list(sm.input), sm.output[0], accuracy_cutoff=sm.params.accuracy_cutoff)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
