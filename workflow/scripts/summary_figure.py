"""Q* across experiments: by experiment (q_by_experiment) or by layer depth (q_by_depth)."""
from common import run
from unitclust import figures, io


def main(sm):
    table = io.read_table(sm.input[0])
    fig = getattr(figures, sm.params.figure)(table)
    figures.save_figure(fig, sm.output.pdf, sm.output.png, dpi=sm.params.dpi)
    valid = table[table["valid"] & table["trained"] & (table["status"] == "ok")]
    print(f"{sm.params.figure}: {table['experiment'].nunique()} experiments; mean Q* of valid trained models "
          "per experiment and depth:\n" + valid.groupby(["experiment", "depth"])["q"].mean().round(4).to_string())


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
