"""The training jobs: one model, or a block of paired seeds trained one after another in one process
(see :mod:`unitclust.steps`; docs/benchmarks.md has what a block saves)."""

from __future__ import annotations

import socket
import statistics
import time

from .. import io
from ..data import load_dataset, to_tensors, train_val_split
from ..settings import TrainingOptions
from .blocks import check_block

# training options that say how a job runs, not what it computes (left out of the checkpoint)
EXECUTION = ("threads", "device", "models_per_job")


def _print_epoch(row: dict) -> None:
    print("epoch {epoch:3d}: train loss {train_loss:.4f} acc {train_acc:.4f} | val loss {val_loss:.4f} "
          "acc {val_acc:.4f} | lr {lr:.3g} | {seconds:.2f} s".format(**row), flush=True)


def train_one(data_path, model_path, metrics_path, history_path=None, *, arch: dict, setting: dict, seed: int,
              training, threads: int = 1, trained: bool = True) -> dict:
    """Train (or, with ``trained=False``, only initialise on the CPU) one model of architecture ``arch``
    at the regularization ``setting`` ({l2, l1, dropout}) with the ``training`` options
    (:class:`unitclust.settings.TrainingOptions` or its dict); write its checkpoint, metrics JSON and,
    when training, its per-epoch history CSV; print each epoch and a summary."""
    return train_many(data_path, [model_path], [metrics_path], None if history_path is None else [history_path],
                      arch=arch, setting=setting, seeds=[seed], training=training, threads=threads,
                      trained=trained)[0]


def train_many(data_path, model_paths, metrics_paths, history_paths=None, *, arch: dict, setting: dict, seeds,
               training, threads: int = 1, trained: bool = True) -> list[dict]:
    """:func:`train_one` for each of ``seeds`` in turn, in this process: the files of seed ``seeds[i]`` are
    ``model_paths[i]``, ``metrics_paths[i]`` and ``history_paths[i]``.  Each model is trained exactly as
    a job of its own trains it (same split, initialisation, data order and dropout masks: every seed
    reseeds its generators); torch is imported and the dataset read once for all of them.  A failing
    model fails the call (the files of the seeds before it are written)."""
    from ..runtime import configure_torch

    seeds = [int(s) for s in seeds]
    n = len(seeds)
    check_block(seeds, {"model_paths": model_paths, "metrics_paths": metrics_paths,
                        **({} if history_paths is None else {"history_paths": history_paths})}, "seeds")

    training = TrainingOptions.of(training)
    flushed = configure_torch(threads)
    t0 = time.perf_counter()
    arrays = load_dataset(data_path)
    out = []
    for i, seed in enumerate(seeds):
        if n > 1:
            print(f"--- seed {seed} ({i + 1} of {n}) ---", flush=True)
        history_path = None if history_paths is None else history_paths[i]
        out.append(_train_loaded(arrays, model_paths[i], metrics_paths[i], history_path, arch=arch, setting=setting,
                                 seed=seed, training=training, threads=threads, trained=trained, flushed=flushed,
                                 t0=t0))
        t0 = time.perf_counter()  # the dataset's reading counts in the first model's wall time
    if n > 1:
        acc = [m["test_acc"] for m in out]
        print(f"{n} models (seeds {seeds[0]}-{seeds[-1]}) in one process: test accuracy min {min(acc):.4f}, "
              f"median {statistics.median(acc):.4f}, max {max(acc):.4f}; {sum(m['epochs'] for m in out)} epochs; "
              f"{sum(m['wall_time_s'] for m in out):.1f} s")
    return out


def _train_loaded(arrays, model_path, metrics_path, history_path, *, arch, setting, seed, training, threads,
                  trained, flushed, t0) -> dict:
    """One model of :func:`train_many` from the dataset's ``arrays``; writes its files, returns its metrics."""
    import torch

    from ..devices import lease_device
    from ..models import build_model
    from ..training import HISTORY_COLUMNS, TrainConfig, model_metrics, train

    l2, l1, dropout = (float(setting[k]) for k in ("l2", "l1", "dropout"))
    with lease_device(training.device if trained else "cpu") as lease:
        lease_start, dev = time.time(), lease
        tr, va = train_val_split(len(arrays["y_train"]), seed, training.val_fraction)
        x_test, y_test = to_tensors(arrays, "test", dev)
        splits = {"train": to_tensors(arrays, "train", dev, rows=tr), "val": to_tensors(arrays, "train", dev, rows=va),
                  "test": (x_test, y_test)}
        model = build_model(arch, arrays["shape"], int(arrays["y_train"].max()) + 1, dropout, seed).to(dev)
        record = {"epochs": 0, "best_epoch": 0, "diverged": False}
        if trained:
            cfg = TrainConfig(**training.protocol())
            x_bytes = (torch.as_tensor(arrays["x_train"])[tr].to(dev), arrays["scale"])  # scaled(...) = x_train
            record = train(model, *splits["train"], *splits["val"], l1=l1, l2=l2, seed=seed, cfg=cfg,
                           on_epoch=_print_epoch, x_bytes=x_bytes)
        metrics = model_metrics(model, splits)
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        lease_end = time.time()
    hparams = {**model.hparams(), "l2": float(l2), "l1": float(l1), "seed": int(seed), "trained": bool(trained)}
    finite = all(torch.isfinite(v).all() for v in state.values())
    history = record.pop("history", [])
    metrics.update(record)
    metrics.update({"diverged": bool(record["diverged"] or not finite), "trained": bool(trained),
                    "denormals_flushed": flushed,
                    "hparams": hparams, "n_train": len(splits["train"][0]), "n_val": len(splits["val"][0]),
                    "n_test": len(x_test), "device": dev, "host": socket.gethostname(), "threads": int(threads),
                    "lease": {"device": lease, "start": lease_start, "end": lease_end},
                    "wall_time_s": time.perf_counter() - t0, **io.provenance()})
    io.save_checkpoint(model_path, {"state_dict": state, "hparams": hparams,
                                    "training": (training.as_dict(exclude=EXECUTION) if trained
                                                 else {"val_fraction": training.val_fraction}),
                                    **io.provenance()})
    if history_path is not None:
        io.write_rows_csv(history_path, history, HISTORY_COLUMNS)
    io.write_json(metrics_path, metrics)
    print(f"{'trained' if trained else 'initialised'} on {dev}: {metrics['epochs']} epochs "
          f"(best {metrics['best_epoch']}), "
          f"test accuracy {metrics['test_acc']:.4f}, test loss {metrics['test_loss']:.4f}, "
          f"diverged {metrics['diverged']}, subnormals flushed {flushed}, {metrics['wall_time_s']:.1f} s")
    return metrics
