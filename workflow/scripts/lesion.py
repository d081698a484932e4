"""Lesion tests of every cluster of one model against size-matched random groups -> one HDF5 file."""
from common import run
from unitclust.steps import lesion_one


def main(sm):
    p = sm.params
    lesion_one(sm.input.model, sm.input.clusters, sm.input.data, sm.output[0], model_id=p.model_id, lesion=p.lesion,
               device=p.device, threads=sm.threads)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
