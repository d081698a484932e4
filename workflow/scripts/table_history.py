"""Every trained model's per-epoch history -> tables/history.csv (one row per model x epoch)."""
from common import run
from unitclust.steps import history_table_from_files


def main(sm):
    history_table_from_files(list(sm.input), sm.output[0])


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
