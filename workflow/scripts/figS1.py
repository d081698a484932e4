"""Fig. S1: accuracy and weight statistics vs regularization."""
from common import run
from unitclust import figures, io


def main(sm):
    t = io.read_tables(metrics=sm.input.metrics, sweeps=sm.input.sweeps)
    fig = figures.figS1(t["metrics"], t["sweeps"])
    figures.save_figure(fig, sm.output.pdf, sm.output.png, dpi=sm.params.dpi)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
