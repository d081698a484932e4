"""Q* as a z-score against shuffled-weight null networks vs regularization (Fig. 3's layout)."""
from common import run
from unitclust import figures, io
from unitclust.tables import n_excluded


def main(sm):
    t = io.read_tables(modularity=sm.input.modularity, sweeps=sm.input.sweeps, metrics=sm.input.metrics)
    fig = figures.fig3_z(t["modularity"], t["sweeps"], n_excluded(t["metrics"]))
    figures.save_figure(fig, sm.output.pdf, sm.output.png, dpi=sm.params.dpi)
    z = t["modularity"][t["modularity"]["trained"] & t["modularity"]["valid"]].groupby("measure")["z"].mean()
    print("mean z of valid trained models per measure:\n" + z.round(2).to_string())


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
