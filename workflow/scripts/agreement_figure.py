"""Fig. 4 or Fig. S5 (params.figure) with the cluster-agreement metric params.metric: element_sim for
fig4 and figS5 themselves, another metric of compare.metrics for fig4_<metric> and figS5_<metric>."""
from common import run
from unitclust import figures, io
from unitclust.tables import n_excluded


def main(sm):
    p = sm.params
    t = io.read_tables(**dict(sm.input.items()))  # Fig. 4 reads no sweeps
    if p.figure == "fig4":
        fig = figures.fig4(t["cluster_similarity"], n_excluded(t["metrics"]), metric=p.metric)
    else:
        fig = figures.figS5(t["cluster_similarity"], t["sweeps"], n_excluded(t["metrics"]), metric=p.metric)
    figures.save_figure(fig, sm.output.pdf, sm.output.png, dpi=p.dpi)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
