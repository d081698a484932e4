"""Fig. S2: Q* from initialization alone and Monte Carlo alone vs final Q*."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # noqa: F821 - repo package, see README
from unitclust import plotting
from unitclust.pipeline import load_tables, save_figure
from unitclust.runtime import run_script


def main(sm):
    t = load_tables(modularity=sm.input.modularity)
    fig = plotting.figS2(t["modularity"])
    save_figure(fig, sm.output.pdf, sm.output.png, dpi=sm.params.dpi)


run_script(main, snakemake)  # noqa: F821
