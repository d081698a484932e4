"""Seconds per analysis job (similarity, cluster, compare, lesion) of one model: imports vs work.

Each job is run as the workflow runs it, a fresh Python process ended as the scripts end it
(``unitclust.runtime.end_process``), ``--runs`` times; inside, the
process times the Snakemake preamble's imports, the package and library imports of the job and
the job's work, and the whole process is timed from outside.  The comparison job is also run the
previous way (clusim's ``element_sim`` for every pair) as a baseline, and the ratio printed.  The
lesion job (``--n-random`` random groups per cluster size) is compared with the similarity job of
the same model (the issue's budget: no more than it), and with the same lesions done one group per
forward pass (no stacking of groups) as the unbatched baseline.

    python benchmarks/analysis_jobs.py results/mnist/mlp_64-64/models/<setting>/seed=0 [--data results/mnist/data.npz]
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PROGRAM = """
import sys, time, json
t0 = time.perf_counter()
sys.path.insert(0, {src!r})
import snakemake.logging, snakemake.iocontainers  # what Snakemake's script preamble imports
t1 = time.perf_counter()
{imports}
t2 = time.perf_counter()
{work}
t3 = time.perf_counter()
print(json.dumps({{"preamble": t1 - t0, "imports": t2 - t1, "work": t3 - t2}}))
from unitclust.runtime import end_process  # the process ends as the workflow's scripts end it
end_process()
"""
# The baseline lesion: what one would write without stacking groups, a forward hook and a pass over
# the inputs (batches of 1000) per group; it replaces unitclust.lesion.lesion_accuracies in the job.
TEXTBOOK_LESION = """
import numpy as np
def _textbook(model, layer, x, y, groups, *, mode="zero", batch_size=1000, **_):
    module = dict(model.named_modules())[layer]
    n_classes = None
    def accuracy(units):
        def silence(_m, _i, out):
            out = out.clone()
            out[:, units] = 0
            return out
        handle = module.register_forward_hook(silence) if units is not None else None
        try:
            with torch.no_grad():
                pred = torch.cat([model(x[i:i + batch_size]).argmax(1) for i in range(0, len(x), batch_size)])
        finally:
            if handle is not None:
                handle.remove()
        ok = (pred == y).double()
        per = torch.zeros(int(y.max()) + 1, dtype=torch.float64).index_add_(0, y, ok)
        count = torch.bincount(y, minlength=len(per)).double()
        return float(ok.mean()), (per / count).numpy()
    model.eval()
    intact, intact_class = accuracy(None)
    res = [accuracy(torch.as_tensor(g)) for g in groups]
    return {"acc": np.array([r[0] for r in res]), "class_acc": np.array([r[1] for r in res]),
            "intact_acc": intact, "intact_class_acc": intact_class,
            "n_per_class": torch.bincount(y).numpy(), "fill": None}
lesion.lesion_accuracies = _textbook
"""
LESION_WORK = ("steps.lesion_one({model}/'model.pt', {model}/'clusters.h5', {data!r}, {out}/'l.h5', model_id='m', "
               "lesion={{'n_random': {n_random}}}, device='cpu')")
JOBS = {
    "similarity": ("import torch, h5py\nfrom unitclust import steps",
                   "steps.similarity_one({model}/'model.pt', {data!r}, {out}/'s.h5', model_id='m', device='cpu')"),
    "cluster": ("import numpy, h5py, numba\nfrom unitclust import steps\nfrom unitclust.clustering import cluster",
                "steps.cluster_one({model}/'similarity.h5', {out}/'c.h5', model_id='m')"),
    "compare": ("import h5py\nfrom unitclust import steps",
                "steps.compare_one({model}/'clusters.h5', {out}/'k.h5', model_id='m')"),
    "compare, previous (clusim)": (
        "import h5py, numpy as np\nfrom clusim.clustering import Clustering\nfrom clusim.sim import element_sim\n"
        "from unitclust import io\nfrom unitclust.compare import prepare_labels\n"
        "from unitclust.measures import MEASURES",
        "_, layers = io.read_h5_matrices({model}/'clusters.h5')\n"
        "for lname, mats in layers.items():\n"
        "    cl = {{m: Clustering().from_membership_list(prepare_labels(mats[m][0]).tolist()) for m in MEASURES}}\n"
        "    [element_sim(cl[a], cl[b], alpha=0.9) for i, a in enumerate(MEASURES) for b in MEASURES[i + 1:]]"),
    "lesion": ("import torch, h5py\nfrom unitclust import steps", LESION_WORK),
    "lesion, one group per pass": ("import torch, h5py\nfrom unitclust import steps, lesion\n" + TEXTBOOK_LESION,
                                   LESION_WORK),
}


def run_job(name, model: Path, data: str, out: Path, n_random: int = 50) -> dict:
    imports, work = JOBS[name]
    code = PROGRAM.format(src=str(SRC), imports="from pathlib import Path\n" + imports,
                          work=work.format(model=f"Path({str(model)!r})", data=data, out=f"Path({str(out)!r})",
                                           n_random=n_random))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    inside = json.loads(proc.stdout.strip().splitlines()[-1])
    return {**inside, "process": time.perf_counter() - t0}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", type=Path, help="a model folder with model.pt, similarity.h5, clusters.h5")
    ap.add_argument("--data", default=None, help="the prepared dataset (default: results/<dataset>/data.npz)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--n-random", type=int, default=50, help="random groups per cluster size of the lesion job")
    args = ap.parse_args()
    data = args.data or str(args.model.parents[3] / "data.npz")  # results/<dataset>/data.npz
    print(f"model {args.model}; median of {args.runs} fresh processes per job, seconds")
    print(f"{'job':<28} {'process':>8} {'preamble':>8} {'imports':>8} {'work':>8}")
    medians = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in JOBS:
            runs = [run_job(name, args.model, data, Path(tmp), args.n_random) for _ in range(args.runs)]
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            medians[name] = med
            print(f"{name:<28} {med['process']:8.2f} {med['preamble']:8.2f} {med['imports']:8.2f} {med['work']:8.2f}")
    total = sum(medians[n]["process"] for n in ("similarity", "cluster", "compare"))
    print(f"three jobs together: {total:.2f} s per model")
    ratio = medians["compare, previous (clusim)"]["process"] / medians["compare"]["process"]
    print(f"compare job, previous / ours: {ratio:.2f}x")
    for what in ("process", "work"):
        lesion = medians["lesion"][what]
        print(f"lesion / similarity job ({what}): {lesion / medians['similarity'][what]:.2f}x; "
              f"one group per pass / batched ({what}): {medians['lesion, one group per pass'][what] / lesion:.2f}x")


if __name__ == "__main__":
    main()
