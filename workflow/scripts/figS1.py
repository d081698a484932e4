"""Fig. S1: accuracy and weight statistics vs regularization."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # noqa: F821 - repo package, see README
from unitclust import plotting
from unitclust.pipeline import load_tables, save_figure
from unitclust.runtime import run_script


def main(sm):
    t = load_tables(metrics=sm.input.metrics, sweeps=sm.input.sweeps)
    fig = plotting.figS1(t["metrics"], t["sweeps"])
    save_figure(fig, sm.output.pdf, sm.output.png, dpi=sm.params.dpi)


run_script(main, snakemake)  # noqa: F821
