"""Prepare the dataset once: digits from scikit-learn, MNIST-format data from IDX files, CIFAR-10 from its batches."""
from common import run
from unitclust.data import prepare_dataset, save_dataset


def main(sm):
    p = sm.params
    arrays = prepare_dataset(p.name, p.data_dir, p.download)
    save_dataset(sm.output[0], arrays, p.name)
    print("arrays:", {k: getattr(v, "shape", v) for k, v in arrays.items()})


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
