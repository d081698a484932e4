"""Extra time per model for the significance analyses: shuffled-weight nulls and chance levels.

On the paper's net (784-64-64-10) with 10,000 inputs (MNIST's test set when ``data/mnist`` holds
the IDX files, random inputs of MNIST's shape otherwise): the model's own eight similarity
matrices and their clustering (what every model costs anyway) against ``--n-null`` shuffled-weight
nulls measured and clustered the same way, and the element-centric chance levels of the 2 x 28
measure pairs with ``--n-perm`` relabellings.  Prints seconds and the ratio extra / own.

    python benchmarks/significance.py [--n-null 20] [--n-perm 200]
"""
import argparse
import time
from pathlib import Path

import numpy as np
import torch

from unitclust.clustering.cluster import cluster_matrix
from unitclust.compare import agreement_matrices
from unitclust.data import DataUnavailableError, load_idx_dataset, to_tensors
from unitclust.measures import MEASURES
from unitclust.models import build_model
from unitclust.significance import null_modularity
from unitclust.similarity import similarity_matrices


def inputs(folder: Path):
    try:
        return to_tensors(load_idx_dataset("mnist", folder), "test")[0], "MNIST test set"
    except DataUnavailableError:
        g = torch.Generator().manual_seed(0)
        return torch.rand(10000, 784, generator=g) * (torch.rand(10000, 784, generator=g) < 0.19), "random inputs"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-null", type=int, default=20)
    ap.add_argument("--n-perm", type=int, default=200)
    ap.add_argument("--data", type=Path, default=Path("data/mnist"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    x, source = inputs(args.data)
    model = build_model({"type": "mlp", "hidden": [64, 64]}, 784, 10, 0.0, seed=0)
    cluster_matrix(np.eye(3) + 0.1, seed=0)  # compile / load the numba kernels outside the timing

    t0 = time.perf_counter()
    layers = similarity_matrices(model, x)
    labels = [{m: cluster_matrix(mats[m], seed=0).labels for m in MEASURES} for mats in layers]
    own = time.perf_counter() - t0
    t0 = time.perf_counter()
    null_modularity(model, x, args.n_null, model_id="bench")
    nulls = time.perf_counter() - t0
    t0 = time.perf_counter()
    for layer in labels:
        agreement_matrices(layer, MEASURES, n_perm=args.n_perm, seed_of=lambda a, b: 0)
    chance = time.perf_counter() - t0
    print(f"784-64-64-10 (untrained), {len(x)} inputs ({source}), 1 thread")
    print(f"own similarity + clustering       {own:7.2f} s")
    print(f"{args.n_null} shuffled-weight nulls          {nulls:7.2f} s   ({nulls / own:.1f}x the model's own)")
    print(f"chance levels, {args.n_perm} relabellings     {chance:7.2f} s")


if __name__ == "__main__":
    main()
