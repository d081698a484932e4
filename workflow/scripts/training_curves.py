"""Training curves: validation loss and accuracy per epoch of every trained model, per sweep."""
from common import run
from unitclust import figures, io


def main(sm):
    t = io.read_tables(history=sm.input.history, sweeps=sm.input.sweeps)
    fig = figures.training_curves(t["history"], t["sweeps"])
    figures.save_figure(fig, sm.output.pdf, sm.output.png, dpi=sm.params.dpi)
    print(f"{t['history']['model'].nunique()} models drawn")


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
