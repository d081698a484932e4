"""Modularity clustering of every (layer, measure) matrix of one model -> one HDF5 file."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # noqa: F821 - repo package, see README
from unitclust.pipeline import cluster_one
from unitclust.runtime import run_script


def main(sm):
    p = sm.params
    cluster_one(sm.input[0], sm.output[0], model_id=sm.wildcards.model, method=p.method, mc_steps=p.mc_steps,
                target_entropy=p.target_entropy, restarts=p.restarts, seed=p.seed,
                mc_only_fraction=p.mc_only_fraction, mc_only_steps=p.mc_only_steps)


run_script(main, snakemake)  # noqa: F821
