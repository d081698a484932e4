"""Fig. S5: cluster similarity by regularizer and strength."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # noqa: F821 - repo package, see README
from unitclust import plotting
from unitclust.pipeline import load_tables, save_figure
from unitclust.tables import n_excluded
from unitclust.runtime import run_script


def main(sm):
    t = load_tables(cluster_similarity=sm.input.cluster_similarity, sweeps=sm.input.sweeps, metrics=sm.input.metrics)
    fig = plotting.figS5(t["cluster_similarity"], t["sweeps"], n_excluded(t["metrics"]))
    save_figure(fig, sm.output.pdf, sm.output.png, dpi=sm.params.dpi)


run_script(main, snakemake)  # noqa: F821
