"""The eight similarity matrices of every hidden layer of one model -> one HDF5 file."""
from common import run
from unitclust.steps import similarity_one


def main(sm):
    p = sm.params
    similarity_one(sm.input.model, sm.input.data, sm.output[0], model_id=p.model_id,
                   abs_placement=p.abs_placement, normalization=p.normalization, eps=p.eps,
                   batch_size=p.batch_size, max_positions=p.max_positions, seed=p.seed, method=p.method,
                   device=p.device, threads=sm.threads)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
