"""The robustness table: the scorecard's findings under the config as given and under each analysis variant."""
from common import run
from unitclust.steps import robustness_from_files


def main(sm):
    robustness_from_files(list(sm.input), sm.params.labels, sm.output[0])


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
