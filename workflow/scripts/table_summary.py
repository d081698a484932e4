"""Every experiment's modularity table -> results/summary/tables/modularity.csv (with experiment, depth)."""
from common import run
from unitclust.steps import summary_table_from_files


def main(sm):
    summary_table_from_files(list(sm.input), sm.output[0], experiments=sm.params.experiments,
                             datasets=sm.params.datasets)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
