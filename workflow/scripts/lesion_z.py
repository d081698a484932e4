"""Lesion tests: z of each measure's clusters' class specificity and accuracy drop against random groups."""
from common import run
from unitclust import figures, io


def main(sm):
    t = io.read_tables(lesion=sm.input.lesion)
    fig = figures.lesion_figure(t["lesion"])
    figures.save_figure(fig, sm.output.pdf, sm.output.png, dpi=sm.params.dpi)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
