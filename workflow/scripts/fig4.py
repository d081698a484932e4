"""Fig. 4: mean cluster similarity between measures, trained and trained minus untrained."""
from common import run
from unitclust import figures, io
from unitclust.tables import n_excluded


def main(sm):
    t = io.read_tables(cluster_similarity=sm.input.cluster_similarity, metrics=sm.input.metrics)
    fig = figures.fig4(t["cluster_similarity"], n_excluded(t["metrics"]), metric=sm.params.metric)
    figures.save_figure(fig, sm.output.pdf, sm.output.png, dpi=sm.params.dpi)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
