"""Train one model (setting x seed) and write its checkpoint and metrics."""
from common import run
from unitclust.steps import train_one


def main(sm):
    p = sm.params
    train_one(sm.input.data, sm.output.model, sm.output.metrics, sm.output.history, arch=p.arch, setting=p.setting,
              seed=p.seed, training=p.training, threads=sm.threads)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
