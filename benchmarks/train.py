"""Seconds per training epoch as training really runs: the per-step code paths against a textbook loop
and the matrix products' limit; early vs late epochs under the earlier autograd variants.

Trains the paper's 784-64-64-10 net (batch 200, 1 thread) on real MNIST when ``data/mnist`` holds
the four IDX files and otherwise on synthetic data of MNIST's shape and sparsity.

Section ``paths`` (issue 22): for each setting, in one run, interleaved over ``--repeats`` rounds
of ``--path-epochs`` epochs each (the median s/epoch is reported, so that other jobs on a shared
machine touch every variant alike):

* ``textbook``: what a user would write: ``DataLoader(TensorDataset, shuffle=True)``, autograd on
  cross-entropy + penalty, ``torch.optim.Adam()``, a validation pass per epoch;
* ``autograd``: ``unitclust.training.train`` with ``fast="off"`` (the code path before issue 22:
  autograd, fused Adam, minibatches sliced from whole tensors);
* ``fast_mlp``: ``unitclust.training.train`` as every job now runs it (``unitclust.fast_mlp``);
* ``sgemm limit``: the forward and backward matrix products of one 200-row step of the same
  shapes (3 forward ``addmm``, 3 weight-gradient and 2 input-gradient ``mm``), timed alone
  (best of several), times the steps per epoch: what the epoch would take if it did nothing else.

It prints s/epoch, the ratios against ``fast_mlp``, the limit's share of ``fast_mlp``'s time, and
the largest difference between the ``autograd`` and ``fast_mlp`` weights (same seed, same data).

Section ``batched`` (issue 22): the matrix products of one step for ``--models`` paired networks,
one network after another against all at once with batched products (``bmm``), as paired seeds
trained together in one process would run them: whether batching the products is itself faster.

Section ``job`` (issue 22, per trained model): the train job's own function
(``unitclust.steps.train_one``) in a fresh process per run, training one model to its early stop
under the paper's protocol (imports, data, training, metrics and checkpoint: what a workflow job
pays, up to the end of its process as that version's scripts end it), from this checkout and from
the source of ``--before`` (a git revision; by default the last one before issue 22's training
work, whose jobs trained with autograd), alternated over
``--job-repeats`` rounds.  It prints the median process seconds, the ratio, and each side's
epochs, best epoch and test accuracy (which must agree within float noise).

Section ``subnormal`` (the earlier measurement): ``--epochs`` (40) epochs, early stopping off, of
the autograd path under each variant, the same model (seed 0) each time:

* ``previous``: subnormal floats left to the CPU (its default), ``torch.optim.Adam`` default;
* ``flush``: ``torch.set_flush_denormal(True)`` (what every job now does), Adam default;
* ``flush+foreach``, ``flush+fused``: the same with Adam's multi-tensor / fused implementation.

It prints seconds per epoch over the first and last 4 epochs, the late/early ratio, the
speed-up against ``previous`` (mean s/epoch over all epochs), and the test accuracy (the code paths must agree).

    python benchmarks/train.py [--sections paths batched job subnormal] [--path-epochs 3 --repeats 3]
                               [--epochs 40] [--settings l2=1e-5 l2=3.16e-3 dropout=0.5]
                               [--before REV --job-repeats 2]
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from unitclust.data import DataUnavailableError, load_idx_dataset, save_dataset, to_tensors, train_val_split
from unitclust.models import build_model
from unitclust.training import TrainConfig, evaluate, penalty, train

PATHS = {  # name: (flush subnormals to zero, Adam implementation); all on the autograd path
    "previous": (False, "default"),
    "flush": (True, "default"),
    "flush+foreach": (True, "foreach"),
    "flush+fused": (True, "fused"),
}
WINDOW = 4
ROOT = Path(__file__).resolve().parents[1]
BEFORE_ISSUE_22 = "f06548b~1"  # the last commit whose train jobs used the autograd path


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
    cfg = TrainConfig(max_epochs=epochs, patience=epochs + 1, adam=adam, fast="off")
    record = train(model, x[tr], y[tr], x[va], y[va], l1=setting["l1"], l2=setting["l2"], seed=0, cfg=cfg)
    seconds = [h["seconds"] for h in record["history"]]
    _, test_acc = evaluate(model, *to_tensors(arrays, "test"))
    torch.set_flush_denormal(False)
    return statistics.mean(seconds[:WINDOW]), statistics.mean(seconds[-WINDOW:]), statistics.mean(seconds), test_acc


# ------------------------------------------------------------------ section "paths"
def textbook_epochs(model, x_tr, y_tr, x_val, y_val, setting, epochs, seed):
    """The loop a user would write (DataLoader, autograd, torch.optim.Adam); seconds per epoch."""
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(seed)
    loader = DataLoader(TensorDataset(x_tr, y_tr), batch_size=200, shuffle=True)
    val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=1000)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    seconds = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        model.train()
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb) + penalty(model, setting["l1"], setting["l2"])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            val = sum(F.cross_entropy(model(xb), yb, reduction="sum").item() for xb, yb in val_loader)
        assert math.isfinite(val)
        seconds.append(time.perf_counter() - t0)
    return seconds


def sgemm_limit(batch=200, widths=(784, 64, 64, 10), reps=100, clock=time.perf_counter):
    """Seconds of the matrix products of one training step (forward addmm per layer; backward the
    weight gradient per layer and the input gradient of every layer but the first), best of 3, and
    the step's GFLOP; ``clock`` is wall time or ``time.process_time`` (CPU time of this process)."""
    g = torch.Generator().manual_seed(0)
    acts = [torch.rand(batch, w, generator=g) for w in widths]
    ws = [torch.randn(b, a, generator=g) for a, b in zip(widths[:-1], widths[1:])]
    bs = [torch.randn(b, generator=g) for b in widths[1:]]
    outs = [torch.empty(batch, b) for b in widths[1:]]
    gws = [torch.empty_like(w) for w in ws]
    das = [torch.empty_like(a) for a in acts]  # input gradients (the activities stay as drawn)

    def step():
        for a, w, b, o in zip(acts, ws, bs, outs):
            torch.addmm(b, a, w.t(), out=o)
        for layer in range(len(ws) - 1, -1, -1):
            torch.mm(outs[layer].t(), acts[layer], out=gws[layer])
            if layer > 0:
                torch.mm(outs[layer], ws[layer], out=das[layer])

    flop = sum(2 * batch * a * b * (3 if i > 0 else 2) for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])))
    for _ in range(20):
        step()
    best = math.inf
    for _ in range(3):
        t0 = clock()
        for _ in range(reps):
            step()
        best = min(best, (clock() - t0) / reps)
    return best, flop / 1e9


def batched_products(models=9, batch=200, widths=(784, 64, 64, 10), reps=50):
    """Seconds per model of one training step's matrix products (as :func:`sgemm_limit`) for ``models``
    networks: one network after another (``mm``/``addmm``) and all at once (``bmm``/``baddbmm`` over a
    leading model dimension, as paired seeds trained together would run them); best of 3 each."""
    g = torch.Generator().manual_seed(0)
    acts = [torch.rand(models, batch, w, generator=g) for w in widths]
    ws = [torch.randn(models, b, a, generator=g) for a, b in zip(widths[:-1], widths[1:])]
    bs = [torch.randn(models, 1, b, generator=g) for b in widths[1:]]
    outs = [torch.empty(models, batch, b) for b in widths[1:]]
    gws, das = [torch.empty_like(w) for w in ws], [torch.empty_like(a) for a in acts]

    def one_by_one():
        for m in range(models):
            for a, w, b, o in zip(acts, ws, bs, outs):
                torch.addmm(b[m, 0], a[m], w[m].t(), out=o[m])
            for layer in range(len(ws) - 1, -1, -1):
                torch.mm(outs[layer][m].t(), acts[layer][m], out=gws[layer][m])
                if layer > 0:
                    torch.mm(outs[layer][m], ws[layer][m], out=das[layer][m])

    def together():
        for a, w, b, o in zip(acts, ws, bs, outs):
            torch.baddbmm(b, a, w.transpose(1, 2), out=o)
        for layer in range(len(ws) - 1, -1, -1):
            torch.bmm(outs[layer].transpose(1, 2), acts[layer], out=gws[layer])
            if layer > 0:
                torch.bmm(outs[layer], ws[layer], out=das[layer])

    best = {}
    for name, step in (("one by one", one_by_one), ("batched", together)):
        for _ in range(5):
            step()
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(reps):
                step()
            times.append((time.perf_counter() - t0) / reps / models)
        best[name] = min(times)
    return best


def section_batched(arrays, args):
    print(f"\n[batched] matrix products of one step per model, {args.models} paired networks one by one vs "
          "batched over a model dimension (bmm); best of 3")
    best = batched_products(models=args.models)
    print(f"one by one {best['one by one'] * 1e3:.3f} ms, batched {best['batched'] * 1e3:.3f} ms per model-step: "
          f"batched / one by one = {best['batched'] / best['one by one']:.2f}x", flush=True)


def compare_paths(arrays, setting, epochs, repeats):
    """Median s/epoch of textbook, autograd and fast_mlp, interleaved over ``repeats`` rounds, and the
    best sgemm step time of the rounds, in wall time and in this process's CPU time (what other jobs
    on a shared machine disturb less); the largest weight difference between autograd and fast_mlp
    and their test accuracies."""
    torch.set_flush_denormal(True)
    x, y = to_tensors(arrays, "train")
    tr, va = train_val_split(len(x), 0, 0.1)
    x_tr, y_tr, x_val, y_val = x[tr], y[tr], x[va], y[va]
    x_bytes = (torch.as_tensor(arrays["x_train"])[tr], float(arrays["scale"]))  # as train_one gives them
    seconds = {"textbook": [], "autograd": [], "fast_mlp": []}
    cpu = {name: [] for name in seconds}
    states, acc, step_s, step_cpu = {}, {}, math.inf, math.inf
    for _ in range(repeats):
        step_s = min(step_s, sgemm_limit()[0])
        step_cpu = min(step_cpu, sgemm_limit(clock=time.process_time)[0])
        for name in seconds:
            model = build_model({"type": "mlp", "hidden": [64, 64]}, 784, 10, setting["dropout"], seed=0)
            c0 = time.process_time()
            if name == "textbook":
                seconds[name] += textbook_epochs(model, x_tr, y_tr, x_val, y_val, setting, epochs, seed=0)
            else:
                cfg = TrainConfig(max_epochs=epochs, patience=epochs + 1, fast="off" if name == "autograd" else "auto")
                record = train(model, x_tr, y_tr, x_val, y_val, l1=setting["l1"], l2=setting["l2"], seed=0, cfg=cfg,
                               x_bytes=x_bytes if name == "fast_mlp" else None)
                assert record["train_path"] == name, record["train_path"]
                seconds[name] += [h["seconds"] for h in record["history"]]
                states[name] = model.state_dict()
                acc[name] = evaluate(model, *to_tensors(arrays, "test"))[1]
            cpu[name].append((time.process_time() - c0) / epochs)
    torch.set_flush_denormal(False)
    diff = max((states["autograd"][k] - states["fast_mlp"][k]).abs().max().item() for k in states["autograd"])
    wall = {k: statistics.median(v) for k, v in seconds.items()}
    return wall, step_s, {k: statistics.median(v) for k, v in cpu.items()}, step_cpu, diff, acc


def section_paths(arrays, args):
    steps = math.ceil(len(arrays["y_train"]) * 0.9 / 200)
    gflop = sgemm_limit(reps=1)[1]
    print(f"\n[paths] median s/epoch over {args.repeats} interleaved rounds of {args.path_epochs} epochs (wall: "
          f"the epochs' own times; cpu: this process's CPU time per epoch, first validation and setup included); "
          f"limit = the {gflop * 1e3:.0f} MFLOP of matrix products of one step, timed alone (best of the rounds), "
          f"x {steps} steps")
    print(f"{'setting':<14} {'clock':<5} {'textbook':>9} {'autograd':>9} {'fast_mlp':>9} {'limit':>7} {'GFLOP/s':>7} "
          f"{'textbook/fast':>13} {'autograd/fast':>13} {'limit/fast':>10} {'max |dW|':>9} {'test acc':>15}")
    for text in args.settings:
        wall, step_s, cpu, step_cpu, diff, acc = compare_paths(arrays, parse_setting(text), args.path_epochs,
                                                                args.repeats)
        for clock, s, step in (("wall", wall, step_s), ("cpu", cpu, step_cpu)):
            limit = step * steps
            print(f"{text:<14} {clock:<5} {s['textbook']:9.3f} {s['autograd']:9.3f} {s['fast_mlp']:9.3f} "
                  f"{limit:7.3f} {gflop / step:7.0f} {s['textbook'] / s['fast_mlp']:12.2f}x "
                  f"{s['autograd'] / s['fast_mlp']:12.2f}x {limit / s['fast_mlp']:9.0%} {diff:9.2g} "
                  f"{acc['autograd']:7.4f}/{acc['fast_mlp']:.4f}", flush=True)


# ------------------------------------------------------------------ section "job"
JOB = """
import inspect, json, sys, time
from unitclust.steps import train_one
src, data, out, setting = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
import unitclust
assert unitclust.__file__.startswith(src), (unitclust.__file__, src)
training = {"lr": 1e-3, "batch_size": 200, "max_epochs": 500, "lr_factor": 0.25, "lr_patience": 3, "patience": 6,
            "monitor": "objective", "val_fraction": 0.1}
kw = ({"setting": setting} if "setting" in inspect.signature(train_one).parameters else setting)
m = train_one(data, out + "/model.pt", out + "/metrics.json", out + "/history.csv", arch={"type": "mlp",
              "hidden": [64, 64]}, seed=0, training=training, **kw)
print(json.dumps({k: m.get(k) for k in ("epochs", "best_epoch", "test_acc", "train_seconds", "train_path")}))
from unitclust import runtime  # a job ends as that version's jobs end (end_process: no interpreter teardown)
getattr(runtime, "end_process", sys.exit)(0)
"""


def run_job(src: Path, data: Path, setting: dict, out: Path) -> dict:
    """One train job in a fresh process with the package at ``src``: its metrics and process seconds."""
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", JOB, str(src), str(data), str(out), json.dumps(setting)],
                          capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(f"train job from {src} failed:\n{proc.stderr[-3000:]}")
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "process_s": seconds}


def job_inputs(arrays, rev: str, tmp: Path) -> tuple[Path, Path]:
    """The dataset written as a workflow job reads it, and the ``src/`` of git revision ``rev``, under ``tmp``."""
    data = tmp / "data.npz"
    save_dataset(data, arrays, "mnist")
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src"], capture_output=True, check=True).stdout
    (tmp / "before").mkdir()
    subprocess.run(["tar", "-x", "-C", str(tmp / "before")], input=archive, check=True)
    return data, tmp / "before" / "src"


def section_job(arrays, args):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data, before = job_inputs(arrays, args.before, tmp)
        sources = {"before": before, "now": ROOT / "src"}
        print(f"\n[job] one train job per run (fresh process, trained to its early stop), --before {args.before} "
              f"vs this checkout; medians of {args.job_repeats} alternated rounds")
        print(f"{'setting':<14} {'before s':>9} {'now s':>7} {'before/now':>10} {'epochs':>9} {'best':>9} "
              f"{'s/epoch':>13} {'test acc':>15} {'paths':>20}")
        for text in args.settings:
            runs = {name: [] for name in sources}
            for r in range(args.job_repeats):
                for name, src in sources.items():
                    runs[name].append(run_job(src, data, parse_setting(text), tmp / f"{name}{r}"))
            med = {name: statistics.median(x["process_s"] for x in v) for name, v in runs.items()}
            b, n = runs["before"][0], runs["now"][0]
            per_epoch = {name: statistics.median(x["train_seconds"] / x["epochs"] for x in v)
                         for name, v in runs.items()}
            print(f"{text:<14} {med['before']:9.2f} {med['now']:7.2f} {med['before'] / med['now']:9.2f}x "
                  f"{b['epochs']:>4}/{n['epochs']:<4} {b['best_epoch']:>4}/{n['best_epoch']:<4} "
                  f"{per_epoch['before']:6.3f}/{per_epoch['now']:.3f} {b['test_acc']:.4f}/{n['test_acc']:.4f} "
                  f"{b.get('train_path') or 'autograd':>9}/{n['train_path']}", flush=True)


# ------------------------------------------------------------------ section "subnormal"
def section_subnormal(arrays, args):
    print(f"\n[subnormal] autograd path, {args.epochs} epochs; "
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sections", nargs="+", default=["paths", "batched", "job", "subnormal"],
                    choices=["paths", "batched", "job", "subnormal"])
    ap.add_argument("--models", type=int, default=9, help="paired networks (section batched)")
    ap.add_argument("--path-epochs", type=int, default=3, help="epochs per variant and round (section paths)")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved rounds (section paths)")
    ap.add_argument("--epochs", type=int, default=40, help="epochs per variant (section subnormal)")
    ap.add_argument("--settings", nargs="+", default=["l2=1e-5", "l2=3.16e-3", "dropout=0.5"])
    ap.add_argument("--paths", nargs="+", default=list(PATHS), choices=list(PATHS))
    ap.add_argument("--data", type=Path, default=Path("data/mnist"))
    ap.add_argument("--before", default=BEFORE_ISSUE_22, help="git revision to compare train jobs with (section job)")
    ap.add_argument("--job-repeats", type=int, default=2, help="alternated rounds per side (section job)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    arrays, source = mnist_or_synthetic(args.data)
    print(f"{source}; 784-64-64-10, batch 200, 1 thread, {time.strftime('%Y-%m-%d %H:%M')}")
    if "paths" in args.sections:
        section_paths(arrays, args)
    if "batched" in args.sections:
        section_batched(arrays, args)
    if "job" in args.sections:
        section_job(arrays, args)
    if "subnormal" in args.sections:
        section_subnormal(arrays, args)


if __name__ == "__main__":
    main()
