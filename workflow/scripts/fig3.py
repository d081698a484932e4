"""Fig. 3: Q* vs regularization for each measure, with example matrices."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # noqa: F821 - repo package, see README
from unitclust import plotting
from unitclust.pipeline import example_matrices, load_tables, save_figure
from unitclust.tables import n_excluded
from unitclust.runtime import run_script


def main(sm):
    t = load_tables(modularity=sm.input.modularity, sweeps=sm.input.sweeps, metrics=sm.input.metrics)
    examples = example_matrices(sm.input.sims, sm.input.clusters, sm.params.titles, measure=sm.params.measure)
    fig = plotting.fig3(t["modularity"], t["sweeps"], n_excluded(t["metrics"]), examples=examples)
    save_figure(fig, sm.output.pdf, sm.output.png, dpi=sm.params.dpi)


run_script(main, snakemake)  # noqa: F821
