"""Tidy tables, one row per observation: the workflow's public interface (columns in README.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .measures import FAMILY

METRIC_COLUMNS = ["model", "setting", "seed", "trained", "l2", "l1", "dropout", "train_loss", "train_acc",
                  "val_loss", "val_acc", "test_loss", "test_acc", "sum_abs_w", "sum_sq_w", "sparsity",
                  "nuclear_norm", "epochs", "best_epoch", "wall_time_s", "device", "diverged", "valid",
                  "git_hash"]
KEY_COLUMNS = ["model", "setting", "seed", "trained"]
MODULARITY_COLUMNS = KEY_COLUMNS + ["layer", "measure", "family", "normalized", "q", "q_init", "q_mc_only",
                                    "n_clusters", "n_unused", "n_units", "status", "null_mean", "null_sd", "z",
                                    "percentile", "valid"]
CLUSTER_SIMILARITY_COLUMNS = KEY_COLUMNS + ["layer", "metric", "measure_a", "measure_b", "similarity", "chance_mean",
                                            "p_value", "valid"]
SWEEP_COLUMNS = ["sweep", "parameter", "value", "setting", "l2", "l1", "dropout"]
SUMMARY_COLUMNS = ["experiment", "dataset", "depth", "n_layers"] + MODULARITY_COLUMNS
HISTORY_COLUMNS = ["model", "setting", "seed", "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr",
                   "seconds"]


def split_model_id(model: str) -> tuple[str, int]:
    """'l2=1e-05_l1=0_drop=0.5/seed=3' -> ('l2=1e-05_l1=0_drop=0.5', 3)."""
    setting, seed = model.rsplit("/", 1)
    return setting, int(seed.removeprefix("seed="))


def metrics_table(records: dict[str, dict], accuracy_cutoff: float) -> pd.DataFrame:
    """One row per model from its metrics JSON; ``valid`` = not diverged and (untrained or test_acc >= cutoff)."""
    rows = []
    for model, rec in records.items():
        setting, seed = split_model_id(model)
        hp = rec.get("hparams", {})
        trained = bool(rec.get("trained", True))
        row = {"model": model, "setting": setting, "seed": seed, "trained": trained,
               "l2": hp.get("l2") if trained else np.nan, "l1": hp.get("l1") if trained else np.nan,
               "dropout": hp.get("dropout") if trained else np.nan}
        row.update({c: rec.get(c) for c in METRIC_COLUMNS if c not in row and c != "valid"})
        acc = rec.get("test_acc")
        row["valid"] = bool(not rec.get("diverged", False)
                            and (not trained or (acc is not None and np.isfinite(acc) and acc >= accuracy_cutoff)))
        rows.append(row)
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def _validity(metrics: pd.DataFrame) -> dict[str, bool]:
    return dict(zip(metrics["model"], metrics["valid"].astype(bool)))


def modularity_table(clusters: dict[str, dict], metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per model x layer x measure from the cluster files' attributes.

    ``clusters[model]`` maps ``"layerL"`` to ``{measure: (labels, attrs)}``; an attribute
    ``null_q`` (the shuffled-weight nulls' Q*) is summarized by
    :func:`unitclust.significance.null_summary` (NaN columns without it).
    """
    from .significance import null_summary

    valid = _validity(metrics)
    rows = []
    for model, layers in clusters.items():
        setting, seed = split_model_id(model)
        for lname, measures in layers.items():
            for m, (labels, a) in measures.items():
                rows.append({"model": model, "setting": setting, "seed": seed, "trained": setting != "untrained",
                             "layer": int(lname.removeprefix("layer")), "measure": m, "family": FAMILY[m],
                             "normalized": m.endswith("_norm"), "q": a["q"], "q_init": a["q_init"],
                             "q_mc_only": a["q_mc_only"], "n_clusters": a["n_clusters"],
                             "n_unused": int(a["n_unused"]), "n_units": len(labels), "status": str(a["status"]),
                             **null_summary(a["q"], a.get("null_q", [])),
                             "valid": valid.get(model, False) and str(a["status"]) == "ok"})
    return pd.DataFrame(rows, columns=MODULARITY_COLUMNS)


def cluster_similarity_table(matrices: dict[str, dict[tuple[str, str], tuple]], metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per model x layer x metric x ordered measure pair.

    ``matrices[model][(metric, "layerL")] = (values, measures, chance_mean, p_value)``; the
    chance matrices may be None (no relabelling null computed: NaN in the table).
    """
    valid = _validity(metrics)
    rows = []
    for model, layers in matrices.items():
        setting, seed = split_model_id(model)
        for (metric, lname), (mat, measures, chance, p) in layers.items():
            nan = np.full(np.shape(mat), np.nan)
            chance, p = (nan if chance is None else chance), (nan if p is None else p)
            for i, a in enumerate(measures):
                for j, b in enumerate(measures):
                    rows.append({"model": model, "setting": setting, "seed": seed,
                                 "trained": setting != "untrained", "layer": int(lname.removeprefix("layer")),
                                 "metric": metric, "measure_a": a, "measure_b": b, "similarity": float(mat[i, j]),
                                 "chance_mean": float(chance[i, j]), "p_value": float(p[i, j]),
                                 "valid": valid.get(model, False)})
    return pd.DataFrame(rows, columns=CLUSTER_SIMILARITY_COLUMNS)


def history_table(histories: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per trained model x epoch from the models' per-epoch histories."""
    frames = []
    for model, df in histories.items():
        setting, seed = split_model_id(model)
        frames.append(df.assign(model=model, setting=setting, seed=seed))
    if not frames:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    return pd.concat(frames, ignore_index=True)[HISTORY_COLUMNS]


def summary_table(frames: dict[tuple[str, str], pd.DataFrame]) -> pd.DataFrame:
    """Every experiment's modularity table stacked: ``frames[(experiment, dataset)]``; adds the
    layer's depth (1 = first hidden layer) and the experiment's number of analysed layers."""
    parts = [df.assign(experiment=exp, dataset=ds, depth=df["layer"].astype(int),
                       n_layers=int(df["layer"].max()) if len(df) else 0)
             for (exp, ds), df in frames.items()]
    if not parts:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    return pd.concat(parts, ignore_index=True)[SUMMARY_COLUMNS]


def sweeps_table(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=SWEEP_COLUMNS)


def n_excluded(metrics: pd.DataFrame) -> int:
    """Trained models kept on disk but excluded from modularity / cluster-similarity figures."""
    return int((metrics["trained"].astype(bool) & ~metrics["valid"].astype(bool)).sum())
