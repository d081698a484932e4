"""Lesion tests across models: the tidy per-cluster table, its summary per measure, and the
lesion findings (a new result, not the paper's; docs/science.md §10).

A cluster's *drop* is the test accuracy lost when its units are silenced; its *specificity* the
spread across classes of the per-class drops (:mod:`unitclust.lesion`).  Each is a z-score
against random groups of the same size in the same layer.  Per (model, layer, measure) the
clusters' z-scores are averaged first, so a clustering with many small clusters does not outweigh
one with few; the findings then average over models and layers per seed and bootstrap the seeds
exactly as the scorecard does (:func:`unitclust.scorecard.evaluate`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .measures import FAMILY
from .scorecard import DOWNSTREAM, UPSTREAM, Finding, evaluate
from .tables import KEY_COLUMNS, split_model_id

STAT_COLUMNS = ["cluster", "size", "acc", "drop", "drop_random_mean", "drop_random_sd", "drop_z", "drop_p", "spec",
                "spec_random_mean", "spec_random_sd", "spec_z", "spec_p"]
LESION_COLUMNS = KEY_COLUMNS + ["layer", "measure", "family", "mode", "n_random", "intact_acc"] + STAT_COLUMNS + [
    "valid"]
SUMMARY_COLUMNS = ["trained", "layer", "measure", "family", "n_models", "n_clusters", "mean_size", "drop", "drop_z",
                   "spec", "spec_z", "frac_drop_p05", "frac_spec_p05"]
NEW = "new (not in the paper)"
LESION_FINDINGS = (
    Finding("lesion_upstream_specific", NEW,
            "Clusters of the upstream measures hurt particular classes more than random groups of their size do.",
            "mean z of the specificity (sd across classes of the accuracy drops) of upstream clusters",
            ("spec_z:upstream",), lambda a: a, (">", 0.0)),
    Finding("lesion_downstream_specific", NEW,
            "Clusters of the downstream measures hurt particular classes more than random groups of their size do.",
            "mean z of the specificity of downstream clusters", ("spec_z:downstream",), lambda a: a, (">", 0.0)),
    Finding("lesion_downstream_more_specific", NEW,
            "Downstream clusters are more class-specific under lesions than upstream clusters (no: upstream are).",
            "mean specificity z of downstream clusters minus that of upstream clusters",
            ("spec_z:downstream", "spec_z:upstream"), lambda a, b: a - b, (">", 0.0)),
    Finding("lesion_downstream_more_damaging", NEW,
            "Lesioning a downstream cluster costs more accuracy than lesioning an upstream one, relative to "
            "random groups (no: upstream costs more).",
            "mean drop z of downstream clusters minus that of upstream clusters",
            ("drop_z:downstream", "drop_z:upstream"), lambda a, b: a - b, (">", 0.0)),
)


def lesion_table(lesions: dict[str, dict], metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per model x layer x measure x cluster (:data:`LESION_COLUMNS` and ``drop_class_<c>``).

    ``lesions[model]`` is ``(attrs, {"layerL": {measure: columns}})`` as read from a model's
    ``lesion.h5``: ``columns`` holds :data:`STAT_COLUMNS` and ``class_drop`` (clusters x classes);
    ``attrs`` its ``mode``, ``n_random`` and per layer ``intact_acc``.
    """
    valid = dict(zip(metrics["model"], metrics["valid"].astype(bool)))
    trained = dict(zip(metrics["model"], metrics["trained"].astype(bool)))
    frames = []
    for model, (attrs, layers) in lesions.items():
        setting, seed = split_model_id(model)
        for layer, by_measure in layers.items():
            for measure, cols in by_measure.items():
                df = pd.DataFrame({c: np.asarray(cols[c]) for c in STAT_COLUMNS})
                drops = np.asarray(cols["class_drop"], dtype=np.float64).reshape(len(df), -1)
                for c in range(drops.shape[1]):
                    df[f"drop_class_{c}"] = drops[:, c]
                df.insert(0, "intact_acc", float(attrs["intact_acc"][layer]))
                df.insert(0, "n_random", int(attrs["n_random"]))
                df.insert(0, "mode", str(attrs["mode"]))
                df.insert(0, "family", FAMILY[measure])
                df.insert(0, "measure", measure)
                df.insert(0, "layer", int(str(layer).removeprefix("layer")))
                for i, (k, v) in enumerate((("model", model), ("setting", setting), ("seed", seed),
                                            ("trained", trained.get(model, True)))):
                    df.insert(i, k, v)
                df["valid"] = valid.get(model, False)
                frames.append(df)
    if not frames:
        return pd.DataFrame(columns=LESION_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    extra = [c for c in out.columns if c.startswith("drop_class_")]
    return out[LESION_COLUMNS + extra]


def per_clustering(df: pd.DataFrame) -> pd.DataFrame:
    """Mean of the clusters' statistics per (model, layer, measure)."""
    keys = ["model", "seed", "trained", "layer", "measure", "family"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        g = df.assign(drop_p05=df["drop_p"] < 0.05, spec_p05=df["spec_p"] < 0.05).groupby(keys, sort=False)
        out = g[["size", "drop", "drop_z", "spec", "spec_z", "drop_p05", "spec_p05"]].mean()
    return out.assign(n_clusters=g.size()).reset_index()


def lesion_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per (trained, layer, measure) over valid models (:data:`SUMMARY_COLUMNS`): models, clusters,
    mean cluster size, and the means of drop, drop z, specificity, specificity z and of the fractions
    of clusters with p < 0.05."""
    per = per_clustering(df[df["valid"].astype(bool)])
    if per.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    g = per.groupby(["trained", "layer", "measure", "family"], sort=True)
    out = g[["drop", "drop_z", "spec", "spec_z"]].mean()
    out["n_models"] = g["model"].nunique()
    out["n_clusters"] = g["n_clusters"].sum()
    out["mean_size"] = g["size"].mean()
    out["frac_drop_p05"] = g["drop_p05"].mean()
    out["frac_spec_p05"] = g["spec_p05"].mean()
    return out.reset_index()[SUMMARY_COLUMNS]


def lesion_components(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-seed components ``(trained, untrained)``: ``<stat>:<family>`` (stat ``drop_z`` or
    ``spec_z``, family ``upstream``/``downstream``) is the mean over the seed's valid models,
    layers and the family's measures of the per-clustering mean z."""
    per = per_clustering(df[df["valid"].astype(bool)])
    out = []
    for trained in (True, False):
        sel = per[per["trained"].astype(bool) == trained]
        cols = {}
        for family, measures in (("upstream", UPSTREAM), ("downstream", DOWNSTREAM)):
            fam = sel[sel["measure"].isin(measures)]
            for stat in ("drop_z", "spec_z"):
                cols[f"{stat}:{family}"] = fam.groupby("seed")[stat].mean()
        out.append(pd.DataFrame(cols).sort_index())
    return out[0], out[1]


def lesion_findings(df: pd.DataFrame, *, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """The lesion findings (:data:`LESION_FINDINGS`) with bootstrap intervals over trained seeds
    and verdicts, in the scorecard's columns."""
    trained, untrained = lesion_components(df)
    return evaluate(LESION_FINDINGS, trained, untrained, n_boot=n_boot, seed=seed)
