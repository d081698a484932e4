"""The similarity matrices of the models of one block of seeds, one after another -> one HDF5 file each."""
from common import run
from unitclust.steps import similarity_many


def main(sm):
    p = sm.params
    similarity_many(sm.input.model, sm.input.data, sm.output, model_ids=p.model_ids, similarity=p.similarity,
                    device=p.device, threads=sm.threads)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
