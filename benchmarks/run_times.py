"""Where the time of a finished workflow run went: job-seconds per stage from Snakemake's benchmark files.

Every rule writes a Snakemake benchmark file under ``results/**/benchmarks/<stage>/``.  This
script sums them per stage (jobs, job-seconds, median and longest job, peak resident memory),
adds the trained models' epochs and seconds per epoch from their ``metrics.json``, and, given the
run's Snakemake log, the measured wall time from its first to its last timestamp.  ``--seeds`` and
``--untrained-seeds`` restrict the sums to the models of a smaller grid (seeds below the numbers
given), to estimate what that grid would take: its job-seconds divided by ``--cores`` is a lower
bound on its wall time, and the full run's wall / (job-seconds / cores) is the packing overhead.
A job of a block of seeds (``training.models_per_job``, files ``seeds=FIRST-LAST.tsv``) counts for the
share of its seeds below the limit: what blocks of that many seeds would take (blocks of
``--seeds`` seeds, one fixed cost per block).

    python benchmarks/run_times.py results --log .snakemake/log/<run>.snakemake.log --cores 2
    python benchmarks/run_times.py results --seeds 3 --untrained-seeds 20 --cores 2
"""
import argparse
import json
import re
import statistics
from datetime import datetime
from pathlib import Path

SEED = re.compile(r"seed=(\d+)")
BLOCK = re.compile(r"seeds=(\d+)-(\d+)")
STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
PER_MODEL = ("train", "init_untrained", "import_checkpoint", "similarity", "cluster", "compare")


def _stage(path: Path) -> str:
    parts = path.parts
    return parts[parts.index("benchmarks") + 1].removesuffix(".tsv")


def _share(path: Path, seeds: int | None, untrained_seeds: int | None) -> float:
    """The share of a job's models in the grid with ``seeds`` paired and ``untrained_seeds`` seeds: 0 or 1
    for a job of one model, the fraction of its seeds below the limit for a block of seeds."""
    if _stage(path) not in PER_MODEL:
        return 1.0
    limit = untrained_seeds if "untrained" in path.parts or _stage(path) == "init_untrained" else seeds
    block, match = BLOCK.search(str(path)), SEED.search(str(path))
    if limit is None or (block is None and match is None):
        return 1.0
    first, last = (int(block.group(1)), int(block.group(2))) if block else (int(match.group(1)),) * 2
    return max(0, min(last + 1, limit) - first) / (last - first + 1)


def _record(path: Path, share: float = 1.0) -> dict:
    header, values = path.read_text().splitlines()[:2]
    row = dict(zip(header.split("\t"), values.split("\t")))
    rss = row.get("max_rss", "NA")
    return {"s": share * float(row["s"]), "rss": float(rss) if rss not in ("NA", "-") else float("nan")}


def stage_table(results: Path, seeds=None, untrained_seeds=None) -> dict[str, list[dict]]:
    """Benchmark records grouped by stage (the folder under ``benchmarks/``)."""
    stages: dict[str, list[dict]] = {}
    for path in sorted(results.glob("**/benchmarks/**/*.tsv")):
        share = _share(path, seeds, untrained_seeds)
        if share > 0:
            stages.setdefault(_stage(path), []).append(_record(path, share))
    return stages


def epochs(results: Path, seeds=None) -> list[tuple[int, float]]:
    """(epochs, training seconds) of every trained model with a seed below ``seeds``."""
    out = []
    for path in results.glob("**/models/*/seed=*/metrics.json"):
        m = json.loads(path.read_text())
        if m.get("trained") and m.get("epochs") and (seeds is None or int(SEED.search(str(path)).group(1)) < seeds):
            out.append((int(m["epochs"]), float(m["train_seconds"])))
    return out


def log_wall(log: Path) -> float:
    """Seconds from the first to the last timestamp of a Snakemake log."""
    stamps = [datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")
              for m in map(STAMP.match, log.read_text().splitlines()) if m]
    if len(stamps) < 2:
        raise SystemExit(f"{log}: fewer than two timestamps; is it a Snakemake log?")
    return (stamps[-1] - stamps[0]).total_seconds()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results", type=Path, nargs="?", default=Path("results"))
    ap.add_argument("--log", type=Path, help="the run's Snakemake log, for the measured wall time")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--seeds", type=int, help="count only paired seeds below this")
    ap.add_argument("--untrained-seeds", type=int, help="count only untrained seeds below this")
    args = ap.parse_args()
    stages = stage_table(args.results, args.seeds, args.untrained_seeds)
    if not stages:
        raise SystemExit(f"no Snakemake benchmark files under {args.results}/**/benchmarks/")
    secs = {name: [r["s"] for r in recs] for name, recs in stages.items()}
    total = sum(map(sum, secs.values()))
    print(f"{'stage':<18} {'jobs':>5} {'job-s':>8} {'share':>6} {'median s':>9} {'max s':>8} {'peak MiB':>9}")
    for name in sorted(secs, key=lambda n: -sum(secs[n])):
        s = secs[name]
        print(f"{name:<18} {len(s):5d} {sum(s):8.0f} {sum(s) / total:6.1%} {statistics.median(s):9.2f} "
              f"{max(s):8.1f} {max(r['rss'] for r in stages[name]):9.0f}")
    n_jobs = sum(map(len, stages.values()))
    print(f"{'all':<18} {n_jobs:5d} {total:8.0f}; / {args.cores} cores = {total / args.cores / 60:.1f} min")
    analysis = [statistics.median(secs[n]) for n in ("similarity", "cluster", "compare") if n in secs]
    if len(analysis) == 3:
        print(f"analysis jobs per model (median similarity + cluster + compare): {sum(analysis):.2f} s")
    ep = epochs(args.results, args.seeds)
    if ep:
        n = [e for e, _ in ep]
        per_epoch = sorted(s / e for e, s in ep)
        print(f"trained models {len(ep)}: epochs median {statistics.median(n):.0f}, mean {statistics.mean(n):.1f}, "
              f"max {max(n)}; s/epoch median {statistics.median(per_epoch):.3f}, total epochs {sum(n)}")
    if args.log:
        wall = log_wall(args.log)
        print(f"measured wall time {wall / 60:.1f} min; job-seconds / cores / wall = "
              f"{total / args.cores / wall:.2f} (1.00 = both cores busy all the time)")


if __name__ == "__main__":
    main()
