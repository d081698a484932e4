"""Train the models of one block of paired seeds (one setting) one after another and write their files."""
from common import run
from unitclust.steps import train_many


def main(sm):
    p = sm.params
    train_many(sm.input.data, sm.output.model, sm.output.metrics, sm.output.history, arch=p.arch, setting=p.setting,
               seeds=p.seeds, training=p.training, threads=sm.threads)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
