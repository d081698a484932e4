"""Fig. S3 (params.quantity "q": Q*) or Fig. S4 ("n_clusters": number of clusters) vs regularization, by layer."""
from common import run
from unitclust import figures, io
from unitclust.tables import n_excluded


def main(sm):
    t = io.read_tables(modularity=sm.input.modularity, sweeps=sm.input.sweeps, metrics=sm.input.metrics)
    fig = figures.by_layer(t["modularity"], t["sweeps"], n_excluded(t["metrics"]), quantity=sm.params.quantity)
    figures.save_figure(fig, sm.output.pdf, sm.output.png, dpi=sm.params.dpi)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
