"""Initialise the untrained baselines of one block of seeds one after another and write their files."""
from common import run
from unitclust.steps import train_many


def main(sm):
    p = sm.params
    train_many(sm.input.data, sm.output.model, sm.output.metrics, arch=p.arch,
               setting={"l2": 0.0, "l1": 0.0, "dropout": 0.0}, seeds=p.seeds,
               training={"val_fraction": p.val_fraction}, threads=sm.threads, trained=False)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
