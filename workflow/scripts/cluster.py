"""Cluster every (layer, measure) similarity matrix of one model -> one HDF5 file."""
from common import run
from unitclust.steps import cluster_one


def main(sm):
    p = sm.params
    cluster_one(sm.input.similarity, sm.output[0], model_id=p.model_id, clustering=p.clustering, n_null=p.n_null,
                model_path=sm.input.model or None, data_path=sm.input.data or None,
                null_similarity=p.null_similarity, threads=sm.threads)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
