"""Fig. S2: Q* of initialization alone and of Monte Carlo alone vs the final Q*."""
from common import run
from unitclust import figures, io


def main(sm):
    t = io.read_tables(modularity=sm.input.modularity)
    fig = figures.figS2(t["modularity"])
    figures.save_figure(fig, sm.output.pdf, sm.output.png, dpi=sm.params.dpi)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
