"""Per model, as the workflow runs it: one job per model against one job for a block of seeds.

For one setting and seeds 0..k-1 (``--block``, default 9: the default ``training.models_per_job``), every
variant in fresh Python processes, as Snakemake starts jobs (imports, data, work, files, the end of the
process as this version's scripts end it):

* ``before``: training, one process per model, from the source of ``--before`` (by default the last
  revision before issue 22, whose jobs trained with autograd);
* ``single``: one process per model from this checkout (``unitclust.steps.train_one``; then
  ``similarity_one``, ``cluster_one``, ``compare_one`` for each model);
* ``block``: one process per stage for all k models (``train_many``, ``similarity_many``,
  ``cluster_many``, ``compare_many``: what ``train_seeds_0_8`` and the other block rules run).

It prints each stage's seconds per model and the ratios, and checks that ``single`` and ``block`` made
the same models (the same epochs, best epochs and test accuracies; the tests check the files bit for bit).
Uses real MNIST from ``data/mnist`` (or synthetic data of its shape).

    python benchmarks/blocks.py [--block 9] [--setting l2=1e-5] [--before REV]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from train import BEFORE_ISSUE_22, ROOT, job_inputs, mnist_or_synthetic, parse_setting

TRAINING = {"lr": 1e-3, "batch_size": 200, "max_epochs": 500, "lr_factor": 0.25, "lr_patience": 3, "patience": 6,
            "monitor": "objective", "val_fraction": 0.1}
CODE = {  # one process: the stage's job function for the models of sys.argv[4:] (seeds)
    "train_one": "steps.train_one(data, f'{out}/s{s}/model.pt', f'{out}/s{s}/metrics.json', f'{out}/s{s}/history.csv', "
                 "arch=ARCH, setting=setting, seed=s, training=TRAINING) if 'setting' in "
                 "inspect.signature(steps.train_one).parameters else steps.train_one(data, f'{out}/s{s}/model.pt', "
                 "f'{out}/s{s}/metrics.json', f'{out}/s{s}/history.csv', arch=ARCH, seed=s, training=TRAINING, "
                 "**setting)",
    "train_many": "steps.train_many(data, *[[f'{out}/s{s}/{n}' for s in seeds] for n in ('model.pt', 'metrics.json', "
                  "'history.csv')], arch=ARCH, setting=setting, seeds=seeds, training=TRAINING)",
    "similarity_one": "steps.similarity_one(f'{out}/s{s}/model.pt', data, f'{out}/s{s}/similarity.h5', "
                      "model_id=f'x/seed={s}', device='cpu')",
    "similarity_many": "steps.similarity_many([f'{out}/s{s}/model.pt' for s in seeds], data, "
                       "[f'{out}/s{s}/similarity.h5' for s in seeds], model_ids=[f'x/seed={s}' for s in seeds], "
                       "device='cpu')",
    "cluster_one": "steps.cluster_one(f'{out}/s{s}/similarity.h5', f'{out}/s{s}/clusters.h5', model_id=f'x/seed={s}')",
    "cluster_many": "steps.cluster_many([f'{out}/s{s}/similarity.h5' for s in seeds], "
                    "[f'{out}/s{s}/clusters.h5' for s in seeds], model_ids=[f'x/seed={s}' for s in seeds])",
    "compare_one": "steps.compare_one(f'{out}/s{s}/clusters.h5', f'{out}/s{s}/cluster_similarity.h5', "
                   "model_id=f'x/seed={s}')",
    "compare_many": "steps.compare_many([f'{out}/s{s}/clusters.h5' for s in seeds], "
                    "[f'{out}/s{s}/cluster_similarity.h5' for s in seeds], model_ids=[f'x/seed={s}' for s in seeds])",
}
PROCESS = """
import inspect, json, sys
from unitclust import runtime, steps
src, data, out, setting = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
seeds = [int(s) for s in sys.argv[5:]]
import unitclust
assert unitclust.__file__.startswith(src), (unitclust.__file__, src)
ARCH, TRAINING = {"type": "mlp", "hidden": [64, 64]}, json.loads(%r)
if %r:
    for s in seeds:
        %s
else:
    s = seeds[0]
    %s
getattr(runtime, "end_process", sys.exit)(0)
"""


def run(src: Path, data: Path, out: Path, setting: dict, seeds: list[int], code: str) -> float:
    """Seconds of one fresh process running ``code`` for ``seeds`` with the package at ``src``."""
    loop = code.endswith("_one") and len(seeds) > 1
    script = PROCESS % (json.dumps(TRAINING), loop, CODE[code], CODE[code])
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", script, str(src), str(data), str(out), json.dumps(setting),
                           *map(str, seeds)], capture_output=True, text=True, env=env, check=False)
    if proc.returncode:
        raise RuntimeError(f"{code} from {src} failed:\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t0


def models(out: Path, seeds) -> list[tuple]:
    keys = ("epochs", "best_epoch", "test_acc")
    return [tuple(json.loads((out / f"s{s}" / "metrics.json").read_text()).get(k) for k in keys) for s in seeds]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--block", type=int, default=9, help="seeds 0..block-1")
    ap.add_argument("--setting", default="l2=1e-5")
    ap.add_argument("--data", type=Path, default=Path("data/mnist"))
    ap.add_argument("--before", default=BEFORE_ISSUE_22, help="git revision of the 'before' training jobs")
    args = ap.parse_args()
    arrays, source = mnist_or_synthetic(args.data)
    seeds, setting = list(range(args.block)), parse_setting(args.setting)
    print(f"{source}; {args.setting}, seeds 0-{args.block - 1}, 1 thread, {time.strftime('%Y-%m-%d %H:%M')}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data, before = job_inputs(arrays, args.before, tmp)
        now = ROOT / "src"
        seconds = {"train": {"before": sum(run(before, data, tmp / "before", setting, [s], "train_one")
                                           for s in seeds)}}
        for stage in ("train", "similarity", "cluster", "compare"):
            seconds.setdefault(stage, {})
            seconds[stage]["single"] = sum(run(now, data, tmp / "single", setting, [s], f"{stage}_one") for s in seeds)
            seconds[stage]["block"] = run(now, data, tmp / "block", setting, seeds, f"{stage}_many")
        same = models(tmp / "single", seeds) == models(tmp / "block", seeds)
    k = args.block
    print(f"{'stage':<11} {'before s/model':>14} {'single s/model':>14} {'block s/model':>13} {'single/block':>12} "
          f"{'before/block':>12}")
    for stage, s in seconds.items():
        before = f"{s['before'] / k:14.2f}" if "before" in s else f"{'':>14}"
        ratio = f"{s['before'] / s['block']:11.2f}x" if "before" in s else ""
        print(f"{stage:<11} {before} {s['single'] / k:14.2f} {s['block'] / k:13.2f} {s['single'] / s['block']:11.2f}x "
              f"{ratio}")
    total = {v: sum(s[v] for s in seconds.values()) for v in ("single", "block")}
    print(f"{'all four':<11} {'':>14} {total['single'] / k:14.2f} {total['block'] / k:13.2f} "
          f"{total['single'] / total['block']:11.2f}x")
    print(f"single and block trained the same models (epochs, best epoch, test accuracy): {same}")


if __name__ == "__main__":
    main()
