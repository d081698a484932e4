"""Check an experiment's own checkpoints (factory, layers, output shape) before anything is trained."""
from common import run
from unitclust.checkpoints import check_checkpoints


def main(sm):
    p = sm.params
    check_checkpoints(list(sm.input), sm.output[0], checkpoints=p.checkpoints, experiment=p.experiment,
                      dataset=p.dataset)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
