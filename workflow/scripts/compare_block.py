"""Compare the clusterings of the models of one block of seeds, one after another -> one HDF5 file each."""
from common import run
from unitclust.steps import compare_many


def main(sm):
    compare_many(sm.input, sm.output, model_ids=sm.params.model_ids, compare=sm.params.compare)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
