"""Planted modules: recovery of the planted partition per measure and clustering method against strength."""
from common import run
from unitclust import figures, io


def main(sm):
    t = io.read_tables(recovery=sm.input.recovery)
    fig = figures.planted_figure(t["recovery"])
    figures.save_figure(fig, sm.output.pdf, sm.output.png, dpi=sm.params.dpi)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
