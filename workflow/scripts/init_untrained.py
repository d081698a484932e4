"""Initialise one untrained baseline model (seed) and write its checkpoint and metrics."""
from common import run
from unitclust.steps import train_one


def main(sm):
    p = sm.params
    train_one(sm.input.data, sm.output.model, sm.output.metrics, arch=p.arch,
              setting={"l2": 0.0, "l1": 0.0, "dropout": 0.0}, seed=p.seed,
              training={"val_fraction": p.val_fraction}, threads=sm.threads, trained=False)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
