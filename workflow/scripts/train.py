"""Train one model (setting x seed) and write its checkpoint and metrics."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # noqa: F821 - repo package, see README
from unitclust.pipeline import train_one
from unitclust.runtime import run_script


def main(sm):
    p = sm.params
    train_one(sm.input.data, sm.output.model, sm.output.metrics, hidden=p.hidden, l2=p.l2, l1=p.l1,
              dropout=p.dropout, seed=int(sm.wildcards.seed), training=p.training,
              device=sm.config["training"]["device"], threads=sm.threads)


run_script(main, snakemake)  # noqa: F821
