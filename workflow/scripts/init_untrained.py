"""Initialise one untrained baseline (seeded, never trained) and write checkpoint and metrics."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # noqa: F821 - repo package, see README
from unitclust.pipeline import train_one
from unitclust.runtime import run_script


def main(sm):
    train_one(sm.input.data, sm.output.model, sm.output.metrics, hidden=sm.params.hidden, l2=0.0, l1=0.0,
              dropout=0.0, seed=int(sm.wildcards.seed), training={"val_fraction": sm.params.val_fraction},
              device="cpu", threads=sm.threads, trained=False)


run_script(main, snakemake)  # noqa: F821
