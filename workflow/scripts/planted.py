"""One network with planted modules: how well each measure and clustering method recovers them -> CSV."""
from common import run
from unitclust.steps import planted_one


def main(sm):
    p = sm.params
    planted_one(sm.input.data, sm.output[0], strength=p.strength, seed=p.seed, planted=p.planted,
                similarity=p.similarity, clustering=p.clustering, threads=sm.threads)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
