"""The eight similarity matrices of every hidden layer of one model -> one HDF5 file."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # noqa: F821 - repo package, see README
from unitclust.pipeline import similarity_one
from unitclust.runtime import run_script


def main(sm):
    similarity_one(sm.input.model, sm.input.data, sm.output[0], model_id=sm.wildcards.model,
                   abs_placement=sm.params.abs_placement, normalization=sm.params.normalization,
                   eps=sm.params.eps, batch_size=sm.config["similarity"]["batch_size"],
                   device=sm.config["training"]["device"], threads=sm.threads)


run_script(main, snakemake)  # noqa: F821
