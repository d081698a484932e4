"""The eight similarity matrices of every hidden layer of one model -> one HDF5 file."""
from common import run
from unitclust.steps import similarity_one


def main(sm):
    p = sm.params
    similarity_one(sm.input.model, sm.input.data, sm.output[0], model_id=p.model_id, similarity=p.similarity,
                   device=p.device, threads=sm.threads)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
