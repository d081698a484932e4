"""Table preparation for the figures: filtering, averaging and sweep positions (pandas only).

Inputs are the workflow's tidy tables (metrics, sweeps, modularity, cluster_similarity) as read
from CSV; every helper tolerates missing columns, string booleans and empty tables.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from unitclust.measures import MEASURES

SWEEP_ORDER = ("l2", "l1", "dropout")
MOD_NUMERIC = ("q", "q_init", "q_mc_only", "n_clusters", "layer", "seed", "z", "percentile")


def _as_bool(series: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(series):
        return series.fillna(False).astype(bool)
    if pd.api.types.is_numeric_dtype(series):
        return series.fillna(0).astype(float) != 0
    s = series.astype("string").str.strip().str.lower()
    return s.isin(["true", "1", "yes", "t", "y"]).fillna(False).astype(bool)


def prep(df: pd.DataFrame | None, numeric: Sequence[str] = ()) -> pd.DataFrame:
    """Copy with boolean ``trained``/``valid`` and numeric columns coerced; tolerant of gaps."""
    if df is None:
        return pd.DataFrame()
    out = df.copy()
    for col in ("trained", "valid"):
        if col in out.columns:
            out[col] = _as_bool(out[col])
        else:
            out[col] = True if col == "valid" else (
                out["setting"].astype(str) != "untrained" if "setting" in out.columns else True)
    for col in numeric:
        if col in out.columns:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
            out.loc[~np.isfinite(out[col].to_numpy(dtype=float)), col] = np.nan
        else:
            out[col] = np.nan
    for col in ("model", "setting", "measure", "measure_a", "measure_b"):
        if col in out.columns:
            out[col] = out[col].astype(str)
    return out


def prep_modularity(modularity: pd.DataFrame) -> pd.DataFrame:
    """Modularity table with ``q``/``n_clusters`` set to NaN where ``status`` is not "ok"."""
    mod = prep(modularity, numeric=MOD_NUMERIC)
    for col in ("model", "setting", "measure"):
        if col not in mod.columns:
            mod[col] = pd.Series(dtype=str)
    if "status" in mod.columns:
        not_ok = mod["status"].astype(str).str.lower() != "ok"
        mod.loc[not_ok, ["q", "n_clusters"]] = np.nan
    return mod


def prep_similarity(cluster_similarity: pd.DataFrame, metric: str = "element_sim") -> pd.DataFrame:
    """The rows of one agreement ``metric`` (tables without a metric column are element_sim)."""
    cs = prep(cluster_similarity, numeric=("similarity", "layer", "seed", "chance_mean", "p_value"))
    for col in ("model", "setting", "measure_a", "measure_b"):
        if col not in cs.columns:
            cs[col] = pd.Series(dtype=str)
    if "metric" in cs.columns:
        cs = cs[cs["metric"].astype(str) == metric]
    return cs


def trained_valid(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty:
        return df
    return df[df["trained"] & df["valid"]]


def untrained(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty:
        return df
    return df[~df["trained"] & df["valid"]]


def sweep_order(names: Iterable[str]) -> list[str]:
    """l2, l1, dropout first (those present), then other sweeps in order of appearance."""
    names = list(dict.fromkeys(str(n) for n in names))
    known = [s for s in SWEEP_ORDER if s in names]
    return known + [s for s in names if s not in SWEEP_ORDER]


def sweep_positions(sweeps: pd.DataFrame | None) -> pd.DataFrame:
    """Sweeps table with ``pos``: the rank of ``value`` within its sweep scaled to [0, 1].

    A sweep with a single value sits at 0.5.  Columns returned: sweep, parameter, value,
    setting, pos, n_values.  Rows with a missing sweep name or setting are dropped.
    """
    cols = ["sweep", "parameter", "value", "setting", "pos", "n_values"]
    if sweeps is None or len(sweeps) == 0 or "sweep" not in sweeps or "setting" not in sweeps:
        return pd.DataFrame({c: pd.Series(dtype=float if c in ("value", "pos", "n_values")
                                          else object) for c in cols})
    sw = sweeps.copy()
    sw["sweep"] = sw["sweep"].astype(str)
    sw["setting"] = sw["setting"].astype(str)
    if "parameter" not in sw:
        sw["parameter"] = sw["sweep"]
    sw["parameter"] = sw["parameter"].astype(str)
    if "value" not in sw:
        sw["value"] = [sw.at[i, p] if p in sw.columns else np.nan
                       for i, p in zip(sw.index, sw["parameter"])]
    sw["value"] = pd.to_numeric(sw["value"], errors="coerce").astype(float)
    sw = sw.dropna(subset=["value"]).drop_duplicates(["sweep", "setting"])
    parts = []
    for name in sweep_order(sw["sweep"]):
        d = sw[sw["sweep"] == name].sort_values("value").copy()
        vals = np.sort(d["value"].unique())
        rank = {v: i for i, v in enumerate(vals)}
        n = len(vals)
        d["pos"] = [0.5 if n == 1 else rank[v] / (n - 1) for v in d["value"]]
        d["n_values"] = float(n)
        parts.append(d[cols])
    if not parts:
        return sweep_positions(None)
    return pd.concat(parts, ignore_index=True)


def measure_order(present: Iterable[str]) -> list[str]:
    """The eight measures (upstream first), then unknown measures alphabetically."""
    present = list(dict.fromkeys(str(m) for m in present))
    return list(MEASURES) + sorted(m for m in present if m not in MEASURES)


def measure_slots(measures: Sequence[str]) -> tuple[list[tuple[str, int, int]], int]:
    """Grid position of each measure: raw on row 0, normalized on row 1, 4 base columns."""
    slots = []
    for i, m in enumerate(MEASURES):
        slots.append((m, i % 2, i // 2))
    extras = [m for m in measures if m not in MEASURES]
    for j, m in enumerate(extras):
        slots.append((m, 2 + j // 4, j % 4))
    nrows = 2 + math.ceil(len(extras) / 4)
    return slots, nrows


def per_model(df: pd.DataFrame, ycol: str, by_layer: bool) -> pd.DataFrame:
    """One value per model x measure (mean over the layers with a finite value) or per layer."""
    keys = ["model", "setting", "seed", "measure"] + (["layer"] if by_layer else [])
    if df.empty:
        return pd.DataFrame(columns=keys + [ycol])
    d = df.dropna(subset=[ycol])
    d = d.assign(seed=d["seed"].fillna(-1))
    return d.groupby(keys, as_index=False, dropna=False)[ycol].mean()


def with_sweeps(per_model: pd.DataFrame, sw: pd.DataFrame) -> pd.DataFrame:
    """Attach sweep, pos and value; a setting in several sweeps appears once per sweep."""
    if per_model.empty or sw.empty:
        return pd.DataFrame(columns=list(per_model.columns) + ["sweep", "pos", "value"])
    return per_model.merge(sw[["sweep", "setting", "pos", "value"]], on="setting", how="inner")


def seed_lines_and_mean(d: pd.DataFrame, xcol: str, ycol: str
                        ) -> tuple[list[tuple[Any, np.ndarray, np.ndarray]], np.ndarray,
                                   np.ndarray, np.ndarray]:
    """Per-seed curves and the across-seed mean +- s.e.m. at each x (NaNs already dropped).

    Returns ([(seed, x, y), ...], x, mean, sem); the s.e.m. is 0 where only one seed exists.
    """
    per_seed = d.groupby(["seed", xcol], sort=True)[ycol].mean()
    lines = []
    for seed, ds in per_seed.groupby(level=0, sort=True):
        lines.append((seed, ds.index.get_level_values(1).to_numpy(dtype=float),
                      ds.to_numpy(dtype=float)))
    agg = d.groupby(xcol, sort=True)[ycol].agg(["mean", "std", "count"])
    sem = (agg["std"] / np.sqrt(agg["count"])).fillna(0.0).to_numpy(dtype=float)
    return (lines, agg.index.to_numpy(dtype=float), agg["mean"].to_numpy(dtype=float), sem)


def sim_order(cs: pd.DataFrame) -> list[str]:
    """Rows/columns of the similarity matrices: the eight measures, then unknown ones."""
    present = set(cs["measure_a"]).union(cs["measure_b"]) if len(cs) else set()
    extras = sorted(m for m in present if m not in MEASURES)
    return list(MEASURES) + extras


def mean_matrix(cs: pd.DataFrame, order: Sequence[str]) -> pd.DataFrame:
    """Mean similarity per ordered pair: averaged over layers within a model, then models."""
    if cs.empty:
        return pd.DataFrame(np.nan, index=list(order), columns=list(order))
    d = cs.dropna(subset=["similarity"])
    if d.empty:
        return pd.DataFrame(np.nan, index=list(order), columns=list(order))
    per_model = d.groupby(["model", "measure_a", "measure_b"], as_index=False)["similarity"] \
        .mean()
    mat = per_model.groupby(["measure_a", "measure_b"])["similarity"].mean().unstack()
    return mat.reindex(index=list(order), columns=list(order)).astype(float)


def n_models(cs: pd.DataFrame) -> int:
    """Number of models with at least one finite similarity."""
    if cs.empty:
        return 0
    return int(cs.dropna(subset=["similarity"])["model"].nunique())
