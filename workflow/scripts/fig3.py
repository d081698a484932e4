"""Fig. 3: Q* vs regularization for each measure, with example matrices."""
from common import run
from unitclust import figures, io
from unitclust.steps import example_matrices
from unitclust.tables import n_excluded


def main(sm):
    p = sm.params
    t = io.read_tables(modularity=sm.input.modularity, sweeps=sm.input.sweeps, metrics=sm.input.metrics)
    examples = example_matrices(sm.input.sims, sm.input.clusters, p.titles, measure=p.measure)
    fig = figures.fig3(t["modularity"], t["sweeps"], n_excluded(t["metrics"]), examples=examples)
    figures.save_figure(fig, sm.output.pdf, sm.output.png, dpi=p.dpi)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
