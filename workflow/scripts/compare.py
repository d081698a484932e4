"""8x8 element-centric similarity of the measures' cluster assignments, per layer -> one HDF5 file."""
from common import run
from unitclust.steps import compare_one


def main(sm):
    p = sm.params
    compare_one(sm.input[0], sm.output[0], model_id=p.model_id, compare=p.compare)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
