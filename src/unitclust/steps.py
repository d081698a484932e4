"""One function per workflow job: read the inputs, call the pure functions, write the outputs.

The scripts in ``workflow/scripts`` are thin wrappers around these, so every job can also be
run (and tested) from Python without Snakemake.  File formats live in :mod:`unitclust.io`.
Each function returns (or prints) a short summary that the job's log records.
"""

from __future__ import annotations

import socket
import time

import numpy as np

from . import io
from .data import load_dataset, to_tensors, train_val_split
from .settings import AnalysisOptions, ClusteringOptions, CompareOptions, SimilarityOptions, TrainingOptions


def _print_epoch(row: dict) -> None:
    print("epoch {epoch:3d}: train loss {train_loss:.4f} acc {train_acc:.4f} | val loss {val_loss:.4f} "
          "acc {val_acc:.4f} | lr {lr:.3g} | {seconds:.2f} s".format(**row), flush=True)


def train_one(data_path, model_path, metrics_path, history_path=None, *, arch: dict, setting: dict, seed: int,
              training, threads: int = 1, trained: bool = True) -> dict:
    """Train (or, with ``trained=False``, only initialise on the CPU) one model of architecture ``arch``
    at the regularization ``setting`` ({l2, l1, dropout}) with the ``training`` options
    (:class:`unitclust.settings.TrainingOptions` or its dict); write its checkpoint, metrics JSON and,
    when training, its per-epoch history CSV; print each epoch and a summary."""
    import torch

    from .devices import lease_device
    from .models import build_model
    from .runtime import configure_torch
    from .training import HISTORY_COLUMNS, TrainConfig, model_metrics, train

    training = TrainingOptions.of(training)
    l2, l1, dropout = (float(setting[k]) for k in ("l2", "l1", "dropout"))
    flushed = configure_torch(threads)
    t0 = time.perf_counter()
    arrays = load_dataset(data_path)
    with lease_device(training.device if trained else "cpu") as lease:
        lease_start, dev = time.time(), lease
        x_full, y_full = to_tensors(arrays, "train", dev)
        x_test, y_test = to_tensors(arrays, "test", dev)
        tr, va = train_val_split(len(x_full), seed, training.val_fraction)
        tr, va = tr.to(dev), va.to(dev)
        splits = {"train": (x_full[tr], y_full[tr]), "val": (x_full[va], y_full[va]), "test": (x_test, y_test)}
        model = build_model(arch, arrays["shape"], int(arrays["y_train"].max()) + 1, dropout, seed).to(dev)
        record = {"epochs": 0, "best_epoch": 0, "diverged": False}
        if trained:
            cfg = TrainConfig(**training.protocol())
            record = train(model, *splits["train"], *splits["val"], l1=l1, l2=l2, seed=seed, cfg=cfg,
                           on_epoch=_print_epoch)
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
                                    "training": (training.as_dict(exclude=("threads", "device")) if trained
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


# ------------------------------------------------------------------ similarity
def similarity_one(model_path, data_path, out_path, *, model_id: str, similarity=None, device="auto",
                   threads: int = 1) -> None:
    """The eight similarity matrices (paper section 3.1) of every analysed hidden layer of one model, on the
    test split, with the ``similarity`` options (:class:`unitclust.settings.SimilarityOptions` or its dict):
    closed forms for the ReLU MLP, torch.func for conv nets and the user's own models."""
    import torch

    from .checkpoints import analysed_layers, model_from_checkpoint
    from .devices import lease_device
    from .external import layer_widths
    from .runtime import configure_torch
    from .similarity import FAMILY, MEASURES, compute_similarity

    opts = SimilarityOptions.of(similarity)
    configure_torch(threads)
    ckpt = io.load_checkpoint(model_path)
    arrays = load_dataset(data_path)
    model = model_from_checkpoint(ckpt)
    modules, names = analysed_layers(model, ckpt)
    finite = all(torch.isfinite(v).all() for v in model.state_dict().values())
    with lease_device(device) as lease:
        dev = lease
        x, y = to_tensors(arrays, "test", dev)
        model = model.to(dev)
        if finite:
            layers = compute_similarity(model, x, y, layers=modules, **opts.as_dict())
        else:  # diverged weights: record NaN matrices with a status instead of crashing
            layers = [{m: np.full((n, n), np.nan) for m in MEASURES}
                      for n in layer_widths(model, modules, x[:1])]
    common = {"abs_placement": opts.abs_placement, "normalization": opts.normalization, "eps": opts.eps,
              "n_inputs": len(x), "split": "test", "max_positions": opts.max_positions, "positions_seed": opts.seed}

    def fill(f):
        for li, (mats, name) in enumerate(zip(layers, names), start=1):
            g = f.create_group(f"layer{li}")
            g.attrs["module"] = name
            for m in MEASURES:
                d = g.create_dataset(m, data=np.asarray(mats[m], dtype=np.float64))
                d.attrs.update({"measure": m, "family": FAMILY[m], "normalized": m.endswith("_norm"), **common})

    for li, (mats, name) in enumerate(zip(layers, names), start=1):
        print(f"layer{li} ({name}): {len(mats['cov'])} units; max entry per measure: "
              + ", ".join(f"{m} {np.nanmax(mats[m]):.3g}" for m in MEASURES))
    print(f"{len(x)} test inputs on {dev}, method {opts.method}, abs_placement {opts.abs_placement}, normalization "
          f"{opts.normalization}, status {'ok' if finite else 'diverged'}")
    io.write_h5(out_path, fill, {"model": model_id, "trained": bool(ckpt["hparams"].get("trained", True)),
                               "status": "ok" if finite else "diverged", "device": str(dev), "lease": lease,
                               "method": opts.method, **common})


def import_one(checkpoint_path, data_path, model_path, metrics_path, *, checkpoints: dict, threads=1) -> dict:
    """Load one of the user's own checkpoints into their factory's module, check it, and write it as
    the workflow's checkpoint with its test loss and accuracy (no training)."""
    import torch

    from .external import check_model, sha256
    from .runtime import configure_torch
    from .training import evaluate

    configure_torch(threads)
    t0 = time.perf_counter()
    arrays = load_dataset(data_path)
    model = check_model(checkpoint_path, checkpoints, arrays["shape"])
    x, y = to_tensors(arrays, "test", "cpu")
    loss, acc = evaluate(model, x, y)
    state = {k: v.detach().cpu() for k, v in model.module.state_dict().items()}
    finite = all(torch.isfinite(v).all() for v in state.values())
    hparams = {"type": "external", "factory": checkpoints["factory"], "kwargs": dict(checkpoints.get("kwargs", {})),
               "layers": list(checkpoints["layers"]), "input_shape": list(model.input_shape), "trained": True,
               "source": str(checkpoint_path), "sha256": sha256(checkpoint_path)}
    metrics = {"test_loss": loss, "test_acc": acc, "trained": True, "diverged": not finite, "epochs": 0,
               "hparams": hparams, "n_test": len(x), "wall_time_s": time.perf_counter() - t0, **io.provenance()}
    io.save_checkpoint(model_path, {"state_dict": state, "hparams": hparams, **io.provenance()})
    io.write_json(metrics_path, metrics)
    print(f"imported {checkpoint_path} (sha256 {hparams['sha256'][:12]}) into {checkpoints['factory']}: layers "
          f"{hparams['layers']}, input shape {hparams['input_shape']}; test accuracy {acc:.4f}, loss {loss:.4f}")
    return metrics


# ------------------------------------------------------------------ clustering
def _null_q(model_path, data_path, n_null, *, model_id, seed, similarity: dict, clustering: dict, threads) -> dict:
    """Q* of the shuffled-weight nulls of one model (CPU), or ``{}`` when there are none."""
    if not n_null:
        return {}
    from .checkpoints import analysed_layers, model_from_checkpoint
    from .runtime import configure_torch
    from .significance import null_modularity

    configure_torch(threads)
    ckpt = io.load_checkpoint(model_path)
    model = model_from_checkpoint(ckpt)
    x, y = to_tensors(load_dataset(data_path), "test", "cpu")
    return null_modularity(model, x, n_null, model_id=model_id, seed=seed, similarity=similarity,
                           clustering=clustering, y=y, layers=analysed_layers(model, ckpt)[0])


def cluster_one(sim_path, out_path, *, model_id: str, clustering=None, n_null: int = 0, model_path=None,
                data_path=None, null_similarity=None, threads: int = 1) -> None:
    """Cluster every (layer, measure) matrix of one similarity file (paper section 3.2, Algorithm 1) with
    the ``clustering`` options (:class:`unitclust.settings.ClusteringOptions` or its dict).

    With ``n_null`` > 0 also the Q* of ``n_null`` shuffled-weight copies of the model
    (``model_path``, inputs from ``data_path``; similarity options ``null_similarity``), measured
    and clustered like the model (docs/science.md §4), as the attribute ``null_q`` of each dataset.
    """
    from .clustering.cluster import cluster_matrix, monte_carlo_only
    from .seeds import stable_seed

    opts = ClusteringOptions.of(clustering)
    seed = opts.seed
    attrs, layers = io.read_h5_matrices(sim_path)
    status = str(attrs.get("status", "ok"))
    nulls = _null_q(model_path, data_path, n_null if status == "ok" else 0, model_id=model_id, seed=seed,
                    similarity=SimilarityOptions.of(null_similarity).as_dict(), threads=threads,
                    clustering=opts.algorithm())
    results = {}
    for lname in io.layer_names(layers):
        for m, (S, _) in layers[lname].items():
            name = f"{sim_path}:{lname}/{m}"
            s = stable_seed(seed, model_id, lname, m)
            if status != "ok":
                results[lname, m] = dict(labels=np.full(len(S), -1, np.int64), q=np.nan, q_init=np.nan,
                                         q_mc_only=np.nan, n_clusters=np.nan, n_unused=len(S),
                                         status=status, seed=s)
                continue
            r = cluster_matrix(S, seed=s, name=name, **opts.algorithm())
            sampled = stable_seed(seed, "mc_only", model_id, lname, m) / 2.0**63 < opts.mc_only_fraction
            q_mc = (monte_carlo_only(S, seed=s, mc_only_steps=opts.mc_only_steps, target_entropy=opts.target_entropy)
                    if sampled and r.status == "ok" else np.nan)
            results[lname, m] = dict(labels=r.labels, q=r.q, q_init=r.q_init, q_mc_only=q_mc,
                                     n_clusters=r.n_clusters, n_unused=r.n_unused, status=r.status, seed=r.seed)
            if n_null:
                results[lname, m]["null_q"] = nulls.get((lname, m), np.full(n_null, np.nan))
            print(f"{lname} {m:11s} Q* {r.q:.4f} (init {r.q_init:.4f}), {r.n_clusters:.2f} clusters, "
                  f"{r.n_unused} unused, {r.status}"
                  + (f"; nulls: mean {np.mean(results[lname, m]['null_q']):.4f}" if n_null else ""))

    def fill(f):
        for (lname, m), res in results.items():
            d = f.require_group(lname).create_dataset(m, data=np.asarray(res.pop("labels"), dtype=np.int64))
            d.attrs.update({k: (float(v) if isinstance(v, float) else v) for k, v in res.items()})

    io.write_h5(out_path, fill, {"model": model_id, **opts.algorithm(), "seed": seed,
                                 "n_null": int(n_null), "status": status, "source": str(sim_path)})


# ------------------------------------------------------------------ comparing clusterings
def compare_one(clusters_path, out_path, *, model_id: str, compare=None) -> None:
    """Agreement between the measures' cluster assignments, per layer (paper section 4.3), with the
    ``compare`` options (:class:`unitclust.settings.CompareOptions` or its dict): 8x8 element-centric
    similarity (dataset ``layerL``) and any other ``metrics`` (``<metric>/layerL``), with chance levels
    from ``n_perm`` relabellings (attributes ``chance_mean``, ``p_value``)."""
    from .compare import agreement_matrices
    from .measures import MEASURES
    from .seeds import stable_seed

    opts = CompareOptions.of(compare)
    unused, n_perm, seed = opts.unused, opts.n_perm, opts.seed
    attrs, layers = io.read_h5_matrices(clusters_path)
    metrics = ["element_sim"] + [m for m in opts.metrics if m != "element_sim"]
    results = {}
    for lname in io.layer_names(layers):
        labels = {m: lab for m, (lab, _) in layers[lname].items()}
        for metric in metrics:
            results[metric, lname] = agreement_matrices(
                labels, MEASURES, metric=metric, unused=unused, n_perm=n_perm,
                seed_of=lambda a, b: stable_seed(seed, model_id, lname, a, b, metric))
            values, chance, p = results[metric, lname]
            off = ~np.eye(len(MEASURES), dtype=bool)
            print(f"{lname} {metric}: mean off the diagonal {values[off].mean():.3f}"
                  + (f", chance {np.nanmean(chance[off]):.3f}, pairs with p < 0.05: {(p[off] < 0.05).sum() // 2}"
                     if n_perm else ""))

    def fill(f):
        for (metric, lname), (values, chance, p) in results.items():
            d = f.create_dataset(lname if metric == "element_sim" else f"{metric}/{lname}", data=values)
            d.attrs["measures"] = list(MEASURES)
            d.attrs["metric"] = metric
            if n_perm:
                d.attrs["chance_mean"], d.attrs["p_value"] = chance, p

    io.write_h5(out_path, fill, {"model": model_id, "unused": unused, "metrics": metrics,
                                 "n_perm": int(n_perm), "seed": int(seed), "measures": list(MEASURES),
                                 "status": str(attrs.get("status", "ok"))})


# ------------------------------------------------------------------ tables
def model_id_of(path: str) -> str:
    """'results/x/models/<setting>/seed=3/clusters.h5' -> '<setting>/seed=3'."""
    parts = str(path).split("/")
    return "/".join(parts[-3:-1])


def metrics_table_from_files(paths, out_path, *, accuracy_cutoff: float):
    """metrics.csv from every model's metrics JSON."""
    from .tables import metrics_table

    df = metrics_table({model_id_of(p): io.read_json(p) for p in paths}, accuracy_cutoff)
    io.write_csv(df, out_path)
    trained = df[df["trained"]]
    print(f"{len(df)} models ({len(trained)} trained); {int((~trained['valid']).sum())} trained models excluded "
          f"(test accuracy < {accuracy_cutoff} or diverged); median test accuracy {trained['test_acc'].median():.4f}")
    return df


def modularity_table_from_files(cluster_paths, metrics_path, out_path):
    """modularity.csv from every model's cluster file."""
    from .tables import modularity_table

    clusters = {model_id_of(p): io.read_h5_matrices(p)[1] for p in cluster_paths}
    df = modularity_table(clusters, io.read_table(metrics_path))
    io.write_csv(df, out_path)
    print(f"{len(df)} rows; mean Q* of valid trained models per measure:")
    print(df[df["valid"] & df["trained"]].groupby("measure")["q"].mean().round(4).to_string())
    return df


def cluster_similarity_table_from_files(paths, metrics_path, out_path):
    """cluster_similarity.csv from every model's comparison file."""
    from .tables import cluster_similarity_table

    mats = {}
    for p in paths:
        with io.open_h5(p) as f:
            mats[model_id_of(p)] = {
                (str(d.attrs.get("metric", "element_sim")), d.name.rsplit("/", 1)[1]):
                (d[()], [str(m) for m in d.attrs["measures"]], d.attrs.get("chance_mean"), d.attrs.get("p_value"))
                for d in _datasets(f)}
    df = cluster_similarity_table(mats, io.read_table(metrics_path))
    io.write_csv(df, out_path)
    print(f"{len(df)} rows; metrics {sorted(df['metric'].unique())}")
    return df


def _datasets(group):
    """Every dataset below an HDF5 group, depth first."""
    for key in group:
        item = group[key]
        if hasattr(item, "keys"):
            yield from _datasets(item)
        else:
            yield item


def history_table_from_files(paths, out_path):
    """history.csv (one row per trained model x epoch) from every model's history file."""
    from .tables import history_table

    df = history_table({model_id_of(p): io.read_table(p) for p in paths})
    io.write_csv(df, out_path)
    print(f"{df['model'].nunique()} models, {len(df)} epochs in all")
    return df


def summary_table_from_files(paths, out_path, *, experiments, datasets):
    """results/summary/tables/modularity.csv: every experiment's modularity table, stacked."""
    from .tables import summary_table

    df = summary_table({(e, d): io.read_table(p) for p, e, d in zip(paths, experiments, datasets)})
    io.write_csv(df, out_path)
    print(f"{len(df)} rows from {len(paths)} experiments: "
          + ", ".join(f"{e} ({n} layers)" for e, n in df.groupby("experiment", sort=False)["n_layers"].first().items()))
    return df


def scorecard_from_files(modularity_path, cluster_similarity_path, metrics_path, sweeps_path, out_path, *,
                         analysis=None):
    """findings.csv: the paper's findings measured on this run (docs/science.md §7), with the bootstrap of
    the ``analysis`` options (:class:`unitclust.settings.AnalysisOptions` or its dict)."""
    from .scorecard import scorecard

    t = io.read_tables(modularity=modularity_path, cluster_similarity=cluster_similarity_path,
                       metrics=metrics_path, sweeps=sweeps_path)
    opts = AnalysisOptions.of(analysis)
    df = scorecard(t["modularity"], t["cluster_similarity"], t["metrics"], t["sweeps"], n_boot=opts.n_boot,
                   seed=opts.bootstrap_seed)
    io.write_csv(df, out_path)
    for r in df.itertuples():
        print(f"{r.finding:34s} {r.value:9.4g} [{r.ci_low:9.4g}, {r.ci_high:9.4g}] {r.claim:20s} {r.verdict}")
    return df


def robustness_from_files(findings_paths, labels, out_path):
    """robustness.csv: the findings tables of several analysis variants side by side."""
    from .scorecard import robustness

    if len(findings_paths) != len(labels):
        raise ValueError(f"{len(findings_paths)} findings tables for {len(labels)} labels {labels}")
    cards = {label: io.read_table(path) for label, path in zip(labels, findings_paths)}
    df = robustness(cards)
    io.write_csv(df, out_path)
    for r in df.to_dict("records"):
        verdicts = " | ".join(f"{label}: {r[f'verdict:{label}']}" for label in labels)
        print(f"{r['finding']:34s} {verdicts}{'   (verdict changes)' if r['verdict_changes'] else ''}")
    return df


# ------------------------------------------------------------------ figures
def example_matrices(sim_paths, cluster_paths, titles, *, measure: str, layer: int = 1) -> list[dict]:
    """Fig. 3's example row: normalized adjacency A~ (eq. 7) of one layer, units sorted by cluster."""
    from .clustering.objective import adjacency, normalized_adjacency

    examples = []
    for sim, clu, title in zip(sim_paths, cluster_paths, titles):
        S, _ = io.read_h5_dataset(sim, f"layer{layer}/{measure}")
        labels, attrs = io.read_h5_dataset(clu, f"layer{layer}/{measure}")
        A = normalized_adjacency(adjacency(S)[0])
        key = np.where(labels < 0, labels.max(initial=0) + 1, labels)
        order = np.argsort(key, kind="stable")
        sizes = np.bincount(key[order] - key.min()) if len(key) else np.array([])
        examples.append({"title": title, "matrix": A[np.ix_(order, order)], "q": float(attrs["q"]),
                         "boundaries": np.cumsum(sizes[sizes > 0])[:-1].tolist()})
    return examples
