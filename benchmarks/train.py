"""Seconds per training epoch as training really runs: early vs late epochs, ours vs the previous code path.

Trains the paper's 784-64-64-10 net with the product's own ``unitclust.training.train`` for
``--epochs`` (40) epochs on one thread (early stopping off, everything else the protocol), on
real MNIST when ``data/mnist`` holds the four IDX files and otherwise on synthetic data of
MNIST's shape and sparsity.  For each of the paper's regularization settings it times the same
model (seed 0) under each code path:

* ``previous``: subnormal floats left to the CPU (its default), ``torch.optim.Adam`` default;
* ``flush``: ``torch.set_flush_denormal(True)`` (what every job now does), Adam default;
* ``flush+foreach``, ``flush+fused``: the same with Adam's multi-tensor / fused implementation.

It prints seconds per epoch over the first and last 4 epochs, the late/early ratio, the
speed-up against ``previous`` (mean s/epoch over all epochs), and the test accuracy (the code paths must agree).

    python benchmarks/train.py [--epochs 40] [--settings l2=1e-5 l2=3.16e-3 dropout=0.5]
"""
import argparse
import statistics
from pathlib import Path

import numpy as np
import torch

from unitclust.data import DataUnavailableError, load_idx_dataset, to_tensors, train_val_split
from unitclust.models import build_model
from unitclust.training import TrainConfig, evaluate, train

PATHS = {  # name: (flush subnormals to zero, Adam implementation)
    "previous": (False, "default"),
    "flush": (True, "default"),
    "flush+foreach": (True, "foreach"),
    "flush+fused": (True, "fused"),
}
WINDOW = 4


def mnist_or_synthetic(folder: Path) -> tuple[dict, str]:
    try:
        return load_idx_dataset("mnist", folder), f"MNIST from {folder}"
    except DataUnavailableError:
        rng = np.random.default_rng(0)
        teacher = rng.normal(size=(784, 10))

        def make(n):
            x = rng.random((n, 784)) * (rng.random((n, 784)) < 0.19)  # ~81 % zeros, like MNIST
            return (x * 255).astype(np.uint8), (x @ teacher).argmax(1).astype(np.int64)

        (xtr, ytr), (xte, yte) = make(60000), make(10000)
        return ({"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte, "scale": np.float32(1 / 255)},
                "synthetic data of MNIST's shape and sparsity (no data/mnist)")


def parse_setting(text: str) -> dict:
    name, value = text.split("=")
    setting = {"l2": 1e-5, "l1": 0.0, "dropout": 0.0}  # the L1 and dropout sweeps' base
    setting[name] = float(value)
    return setting


def run(arrays, setting, path, epochs):
    flush, adam = PATHS[path]
    torch.set_flush_denormal(flush)
    x, y = to_tensors(arrays, "train")
    tr, va = train_val_split(len(x), 0, 0.1)
    model = build_model({"type": "mlp", "hidden": [64, 64]}, 784, 10, setting["dropout"], seed=0)
    cfg = TrainConfig(max_epochs=epochs, patience=epochs + 1, adam=adam)
    record = train(model, x[tr], y[tr], x[va], y[va], l1=setting["l1"], l2=setting["l2"], seed=0, cfg=cfg)
    seconds = [h["seconds"] for h in record["history"]]
    _, test_acc = evaluate(model, *to_tensors(arrays, "test"))
    torch.set_flush_denormal(False)
    return statistics.mean(seconds[:WINDOW]), statistics.mean(seconds[-WINDOW:]), statistics.mean(seconds), test_acc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--settings", nargs="+", default=["l2=1e-5", "l2=3.16e-3", "dropout=0.5"])
    ap.add_argument("--paths", nargs="+", default=list(PATHS), choices=list(PATHS))
    ap.add_argument("--data", type=Path, default=Path("data/mnist"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    arrays, source = mnist_or_synthetic(args.data)
    print(f"{source}; 784-64-64-10, batch 200, {args.epochs} epochs, 1 thread; "
          f"s/epoch over epochs 1-{WINDOW} (early) and the last {WINDOW} (late)")
    print(f"{'setting':<14} {'code path':<14} {'early':>7} {'late':>7} {'late/early':>10} "
          f"{'vs previous':>11} {'test acc':>8}")
    for text in args.settings:
        base = None
        for path in args.paths:
            early, late, mean, acc = run(arrays, parse_setting(text), path, args.epochs)
            if path == "previous":
                base = mean
            speedup = f"{base / mean:10.2f}x" if base else f"{'':>11}"
            print(f"{text:<14} {path:<14} {early:7.3f} {late:7.3f} {late / early:9.2f}x {speedup} {acc:8.4f}",
                  flush=True)


if __name__ == "__main__":
    main()
