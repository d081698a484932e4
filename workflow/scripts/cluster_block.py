"""Cluster the similarity matrices of the models of one block of seeds, one after another -> one HDF5 file each."""
from common import run
from unitclust.steps import cluster_many


def main(sm):
    p = sm.params
    cluster_many(sm.input.similarity, sm.output, model_ids=p.model_ids, clustering=p.clustering, n_null=p.n_null,
                 model_paths=sm.input.model or None, data_path=sm.input.data or None,
                 null_similarity=p.null_similarity, threads=sm.threads)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
