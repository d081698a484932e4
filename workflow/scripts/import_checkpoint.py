"""Load one of the user's own checkpoints, check it, and write it with its test metrics."""
from common import run
from unitclust.steps import import_one


def main(sm):
    import_one(sm.input.checkpoint, sm.input.data, sm.output.model, sm.output.metrics,
               checkpoints=sm.params.checkpoints, threads=sm.threads)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
