"""8x8 cluster similarity between measures, per layer of one model -> one HDF5 file."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # noqa: F821 - repo package, see README
from unitclust.pipeline import compare_one
from unitclust.runtime import run_script


def main(sm):
    compare_one(sm.input[0], sm.output[0], model_id=sm.wildcards.model, unused=sm.params.unused,
                alpha=sm.params.alpha, r=sm.params.r)


run_script(main, snakemake)  # noqa: F821
