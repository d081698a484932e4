"""Prepare the dataset once: digits from scikit-learn, MNIST-format data from IDX files."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # noqa: F821 - repo package, see README
from unitclust.data import prepare_dataset, save_dataset
from unitclust.runtime import run_script


def main(sm):
    arrays = prepare_dataset(sm.params.name, sm.params.data_dir, sm.params.download)
    save_dataset(sm.output[0], arrays, sm.params.name)
    print({k: getattr(v, "shape", v) for k, v in arrays.items()})


run_script(main, snakemake)  # noqa: F821
