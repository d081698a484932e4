"""Every planted network's recovery rows -> tables/planted_recovery.csv."""
from common import run
from unitclust.steps import planted_table_from_files


def main(sm):
    planted_table_from_files(list(sm.input), sm.output[0])


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
