"""The reproduction scorecard: each finding of the paper measured on this run -> tables/findings.csv."""
from common import run
from unitclust.steps import scorecard_from_files


def main(sm):
    p = sm.params
    scorecard_from_files(sm.input.modularity, sm.input.cluster_similarity, sm.input.metrics, sm.input.sweeps,
                         sm.output[0], analysis=p.analysis)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
