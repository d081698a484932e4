"""The per-model jobs: import, similarity, clustering, comparison, lesions, planted networks (see
:mod:`unitclust.steps`; training is in :mod:`.train_jobs`)."""

from __future__ import annotations

import time

import numpy as np

from .. import io
from ..data import load_dataset, to_tensors
from ..settings import (
    ClusteringOptions,
    CompareOptions,
    LesionOptions,
    PlantedOptions,
    SimilarityOptions,
)


# ------------------------------------------------------------------ similarity
def similarity_one(model_path, data_path, out_path, *, model_id: str, similarity=None, device="auto",
                   threads: int = 1) -> None:
    """The eight similarity matrices (paper section 3.1) of every analysed hidden layer of one model, on the
    test split, with the ``similarity`` options (:class:`unitclust.settings.SimilarityOptions` or its dict):
    closed forms for the ReLU MLP, torch.func for conv nets and the user's own models."""
    import torch

    from ..checkpoints import analysed_layers, model_from_checkpoint
    from ..devices import lease_device
    from ..external import layer_widths
    from ..runtime import configure_torch
    from ..similarity import FAMILY, MEASURES, compute_similarity

    opts = SimilarityOptions.of(similarity)
    configure_torch(threads)
    ckpt = io.load_checkpoint(model_path)
    arrays = load_dataset(data_path, splits=("test",))
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

    from ..external import check_model, sha256
    from ..runtime import configure_torch
    from ..training import evaluate

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
    from ..checkpoints import analysed_layers, model_from_checkpoint
    from ..runtime import configure_torch
    from ..significance import null_modularity

    configure_torch(threads)
    ckpt = io.load_checkpoint(model_path)
    model = model_from_checkpoint(ckpt)
    x, y = to_tensors(load_dataset(data_path, splits=("test",)), "test", "cpu")
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
    from ..clustering.cluster import cluster_matrix, monte_carlo_only
    from ..seeds import stable_seed

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
    from ..compare import agreement_matrices
    from ..measures import MEASURES
    from ..seeds import stable_seed

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


# ------------------------------------------------------------------ lesion tests
def lesion_one(model_path, clusters_path, data_path, out_path, *, model_id: str, lesion=None, device="auto",
               threads: int = 1) -> None:
    """Lesion tests of every cluster of one model (:mod:`unitclust.lesion`) with the ``lesion`` options
    (:class:`unitclust.settings.LesionOptions` or its dict), on the test split: per layer and measure
    (group ``layerL/<measure>``) one entry per cluster of the statistics of
    :data:`unitclust.lesion_summary.STAT_COLUMNS` and ``class_drop``
    (clusters x classes), the random groups' indices (``random_group``) into the layer's distinct
    groups (``layerL/groups``: ``units``, ``sizes``, ``acc``, ``class_acc``)."""
    from ..checkpoints import analysed_layers, model_from_checkpoint
    from ..devices import lease_device
    from ..lesion import lesion_tests
    from ..runtime import configure_torch

    opts = LesionOptions.of(lesion)
    configure_torch(threads)
    attrs, layers = io.read_h5_matrices(clusters_path)
    status = str(attrs.get("status", "ok"))
    ckpt = io.load_checkpoint(model_path)
    model = model_from_checkpoint(ckpt)
    modules = analysed_layers(model, ckpt)[0]
    lnames = io.layer_names(layers)
    if len(lnames) != len(modules):
        raise ValueError(f"{clusters_path} has {len(lnames)} layers, the model {model_path} {len(modules)}; "
                         "rerun the clustering of this model")
    rows, raw = [], {}
    with lease_device(device) as dev:
        if status == "ok":
            x, y = to_tensors(load_dataset(data_path, splits=("test",)), "test", dev)
            labels = {mod: {m: lab for m, (lab, _) in layers[ln].items()} for mod, ln in zip(modules, lnames)}
            rows, raw = lesion_tests(model.to(dev), labels, x, y, mode=opts.mode, n_random=opts.n_random,
                                  seed=opts.seed, model_id=model_id, names=dict(zip(modules, lnames)),
                                  batch_size=opts.batch_size)
    columns = _lesion_columns(rows, raw)

    def fill(f):
        for ln, r in raw.items():
            g = f.create_group(f"{ln}/groups")
            for key in ("units", "sizes", "acc", "class_acc", "intact_class_acc", "n_per_class"):
                g.create_dataset(key, data=np.asarray(r[key]))
            f[ln].attrs.update({"module": r["module"], "intact_acc": float(r["intact_acc"])})
            for m, cols in columns[ln].items():
                d = f.create_group(f"{ln}/{m}")
                for key, values in cols.items():
                    d.create_dataset(key, data=np.asarray(values))

    for ln, by_measure in columns.items():
        print(f"{ln}: intact accuracy {raw[ln]['intact_acc']:.4f}; "
              + ", ".join(f"{m} {len(c['cluster'])} clusters, mean drop z {np.nanmean(c['drop_z']):.2f}, "
                          f"spec z {np.nanmean(c['spec_z']):.2f}" for m, c in by_measure.items() if len(c["cluster"])))
    print(f"lesion tests on {dev}: mode {opts.mode}, {opts.n_random} random groups per cluster size, status {status}")
    io.write_h5(out_path, fill, {"model": model_id, "status": status, "source": str(clusters_path),
                                 **opts.as_dict()})


def _lesion_columns(rows: list[dict], raw: dict) -> dict:
    """The rows of :func:`unitclust.lesion.lesion_tests` as columns per layer and measure, with the
    random groups' indices."""
    from ..lesion_summary import STAT_COLUMNS

    keys = [*STAT_COLUMNS, "class_drop"]
    out = {ln: {m: {k: [] for k in keys} for m in r["measures"]} for ln, r in raw.items()}
    for row in rows:
        cols = out[row["layer"]][row["measure"]]
        for k in keys:
            cols[k].append(row[k])
    for ln, r in raw.items():
        n_classes = len(r["intact_class_acc"])
        for m, cols in out[ln].items():
            cols["class_drop"] = np.asarray(cols["class_drop"], dtype=np.float64).reshape(-1, n_classes)
            cols["random_group"] = r["measures"][m]["random_group"]
    return out


# ------------------------------------------------------------------ planted modules
def planted_one(data_path, out_path, *, strength: float, seed: int, planted=None, similarity=None, clustering=None,
                threads: int = 1) -> None:
    """Recovery of the planted modules of one network (:func:`unitclust.planted.planted_mlp` at
    ``strength``, ``seed``, the ``planted`` options) on the dataset's test inputs (flattened) by every
    measure (``similarity`` options) and clustering method (``clustering`` options) -> a CSV, one row
    per (layer, measure, method, side)."""
    from ..planted import planted_mlp, recovery
    from ..runtime import configure_torch

    opts, clu = PlantedOptions.of(planted), ClusteringOptions.of(clustering)
    configure_torch(threads)
    arrays = load_dataset(data_path)
    x, _ = to_tensors(arrays, "test", "cpu")
    x = x.reshape(len(x), -1)
    n_classes = int(arrays["y_train"].max()) + 1
    model, truth = planted_mlp(x.shape[1], n_classes, opts.hidden, opts.modules, strength, seed, sides=opts.sides)
    rows = recovery(model, x, truth, methods=opts.methods, seed=seed, strength=strength,
                    similarity=SimilarityOptions.of(similarity).as_dict(),
                    clustering={k: v for k, v in clu.algorithm().items() if k != "method"})
    rows = [{**r, "modules": opts.modules, "sides": opts.sides} for r in rows]
    io.write_rows_csv(out_path, rows, list(rows[0]))
    for method in opts.methods:
        mine = [r for r in rows if r["method"] == method]
        means = {m: np.mean([r["element_sim"] for r in mine if r["measure"] == m]) for m in dict.fromkeys(
            r["measure"] for r in mine)}
        print(f"{method}: element-centric similarity to the planted modules per measure (mean over layers): "
              + ", ".join(f"{m} {v:.3f}" for m, v in means.items()))
    print(f"planted network: {x.shape[1]} inputs, hidden {list(opts.hidden)}, {n_classes} classes, "
          f"{opts.modules} modules ({opts.sides} sides), strength {strength}, seed {seed}; {len(x)} test inputs")
