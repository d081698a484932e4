"""One function per workflow step: read inputs, call the pure functions, write outputs atomically.

The scripts in ``workflow/scripts`` are thin wrappers around these, so every
step can also be run (and tested) from Python without Snakemake.
"""

from __future__ import annotations

import socket
import time

from . import io
from .data import load_dataset, to_tensors, train_val_split


def train_one(data_path, model_path, metrics_path, *, hidden, l2, l1, dropout, seed, training: dict,
              device="auto", threads=1, trained=True) -> dict:
    """Train (or, with ``trained=False``, only initialise) one model; write checkpoint + metrics JSON."""
    import torch

    from .devices import lease_device
    from .models import build_model
    from .runtime import set_threads
    from .training import TrainConfig, model_metrics, train

    set_threads(threads)
    t0 = time.perf_counter()
    arrays = load_dataset(data_path)
    with lease_device(device if trained else "cpu") as dev:
        x_full, y_full = to_tensors(arrays, "train", dev)
        x_test, y_test = to_tensors(arrays, "test", dev)
        tr, va = train_val_split(len(x_full), seed, training.get("val_fraction", 0.1))
        tr, va = tr.to(dev), va.to(dev)
        splits = {"train": (x_full[tr], y_full[tr]), "val": (x_full[va], y_full[va]), "test": (x_test, y_test)}
        model = build_model(x_full.shape[1], hidden, int(arrays["y_train"].max()) + 1, dropout, seed).to(dev)
        record = {"epochs": 0, "best_epoch": 0, "diverged": False}
        if trained:
            cfg = TrainConfig(**{k: v for k, v in training.items() if k != "val_fraction"})
            record = train(model, *splits["train"], *splits["val"], l1=l1, l2=l2, seed=seed, cfg=cfg)
        metrics = model_metrics(model, splits)
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    hparams = {**model.hparams(), "l2": float(l2), "l1": float(l1), "seed": int(seed), "trained": bool(trained)}
    finite = all(torch.isfinite(v).all() for v in state.values())
    metrics.update(record)
    metrics.update({"diverged": bool(record["diverged"] or not finite), "trained": bool(trained),
                    "hparams": hparams, "n_train": len(splits["train"][0]), "n_val": len(splits["val"][0]),
                    "n_test": len(x_test), "device": dev, "host": socket.gethostname(), "threads": int(threads),
                    "wall_time_s": time.perf_counter() - t0, **io.provenance()})
    io.save_checkpoint(model_path, {"state_dict": state, "hparams": hparams, "training": dict(training),
                                    **io.provenance()})
    io.write_json(metrics_path, metrics)
    return metrics
