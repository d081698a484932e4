"""The reproduction scorecard: each finding of the paper (sections 4.2-4.3, Figs. S1-S5) as a
quantity measured from the tidy tables, with a 95 % bootstrap interval over seeds and a verdict.

Every finding is computed from per-seed *components* (one value per trained seed, or per
untrained seed), averaged over the seeds and combined by a small function.  The bootstrap
resamples the trained seeds (and, independently, the untrained seeds) with replacement; all
components of one resample use the same seeds, so paired seeds stay together.  Verdict: ``yes``
when the whole interval lies on the side the paper states, ``no`` when it lies wholly on the
other side, ``inconclusive`` when it straddles the boundary, ``not applicable`` when the run lacks
what the quantity needs (e.g. no dropout sweep) or has a single trained seed (no interval).  The
definitions are in docs/science.md §7.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .measures import FAMILY, MEASURES

SCORECARD_COLUMNS = ["finding", "section", "paper", "quantity", "claim", "value", "ci_low", "ci_high",
                     "n_seeds", "verdict", "previous_quantity", "previous_value"]
UPSTREAM = [m for m in MEASURES if FAMILY[m] == "upstream"]
DOWNSTREAM = [m for m in MEASURES if FAMILY[m] == "downstream"]
PAPER_EXCLUDED_FRACTION = 21 / 270


@dataclass(frozen=True)
class Finding:
    """One row of the scorecard: ``components`` name per-seed series (see :func:`components`),
    ``combine`` maps their seed means to the quantity, ``claim`` is ``(">", b)``, ``("<", b)``
    or ``("within", (lo, hi))``.  ``previous_*`` describe a definition this one replaced; its value
    is reported (``previous_value``), never used for the verdict."""

    name: str
    section: str
    paper: str
    quantity: str
    components: tuple[str, ...]
    combine: Callable[..., float]
    claim: tuple
    previous_quantity: str = ""  # a replaced definition (docs/science.md §7), reported beside the new one
    previous_combine: Callable[..., float] | None = None
    previous_components: tuple[str, ...] = ()  # empty: the same components as the new quantity


def _diff(a, b):
    return a - b


FINDINGS = (
    Finding("dropout_raises_q", "4.2, Fig. 3", "Dropout increases Q*.",
            "rise of Q* (mean over layers and measures) across the dropout sweep",
            ("rise:dropout:all:all",), lambda a: a, (">", 0.0)),
    Finding("dropout_strongest", "4.2, Fig. 3", "Dropout has the greatest effect on Q* of the three regularizers.",
            "|rise of Q* across the dropout sweep| minus the larger of |L2 rise| and |L1 rise|",
            ("rise:dropout:all:all", "rise:l2:all:all", "rise:l1:all:all"),
            lambda d, a, b: abs(d) - max(abs(a), abs(b)), (">", 0.0),
            "rise across dropout minus the larger of the L2 and L1 rises", lambda d, a, b: d - max(a, b)),
    Finding("l2_raises_q", "4.2, Fig. 3", "L2 regularization increases Q*.",
            "rise of Q* across the L2 sweep", ("rise:l2:all:all",), lambda a: a, (">", 0.0)),
    Finding("l1_weak", "4.2, Fig. 3", "L1 regularization has a surprisingly weak effect on Q*.",
            "half of |rise across the dropout sweep| minus |rise across the L1 sweep|",
            ("rise:dropout:all:all", "rise:l1:all:all"), lambda d, a: 0.5 * abs(d) - abs(a), (">", 0.0),
            "rise across dropout minus |rise across L1| (l1_weaker_than_dropout)", lambda d, a: d - abs(a)),
    Finding("l1_like_l2", "4.2, Fig. 3", "L1 results are similar to the L2 results.",
            "half of |rise across the dropout sweep| minus |L1 rise - L2 rise|",
            ("rise:dropout:all:all", "rise:l1:all:all", "rise:l2:all:all"),
            lambda d, a, b: 0.5 * abs(d) - abs(a - b), (">", 0.0)),
    Finding("dropout_upstream", "4.2, Fig. 3", "The dropout effect is especially apparent in the upstream measures.",
            "rise of Q* across the dropout sweep, upstream measures minus downstream measures",
            ("rise:dropout:all:upstream", "rise:dropout:all:downstream"), _diff, (">", 0.0)),
    Finding("dropout_layer1", "4.2, Fig. S3",
            "The dropout effect is stronger in the first hidden layer than in the second.",
            "rise of Q* across the dropout sweep, layer 1 minus layer 2",
            ("rise:dropout:1:all", "rise:dropout:2:all"), _diff, (">", 0.0)),
    Finding("dropout_few_more_clusters", "4.2, Fig. S4", "Dropout changes the number of clusters only a little.",
            "rise of the number of clusters (eq. 10) across the dropout sweep",
            ("clusters_rise:dropout",), lambda a: a, ("within", (-1.0, 1.0))),
    Finding("rarely_over_six_clusters", "3.2, Fig. S4", "P* rarely uses more than 6 clusters for layers of 64 units.",
            "fraction of (valid trained model, layer, measure) with more than 6 clusters",
            ("frac_over_6",), lambda a: a, ("<", 0.1),
            "fraction with 2 <= clusters <= 6 (two_to_six_clusters, claim > 0.5)", lambda a: a, ("frac_2_6",)),
    Finding("rarely_under_two_clusters", "Fig. S4", "Consistently on the order of 2-6 clusters (the lower end).",
            "fraction of (valid trained model, layer, measure) with fewer than 2 clusters",
            ("frac_under_2",), lambda a: a, ("<", 0.1)),
    Finding("training_keeps_cluster_count", "Fig. S4", "Training has little impact on the number of clusters.",
            "mean number of clusters, valid trained minus untrained models",
            ("n_clusters", "u:n_clusters"), _diff, ("within", (-1.0, 1.0))),
    Finding("families_agree_within", "4.3, Fig. 4a",
            "Clusterings agree within both the upstream and the downstream measures, little across.",
            "smaller of the within-upstream and within-downstream similarities minus the cross-family similarity "
            "(trained)",
            ("sim:within_up", "sim:within_down", "sim:cross"), lambda up, down, c: min(up, down) - c, (">", 0.0),
            "pooled within-family minus cross-family similarity", _diff, ("sim:within", "sim:cross")),
    Finding("normalization_matters_little", "4.3, Fig. 4a", "Whether a measure is normalized matters little.",
            "mean similarity of a measure with its normalized variant minus other within-family pairs",
            ("sim:norm_pair", "sim:within_other"), _diff, (">", 0.0)),
    Finding("upstream_agreement_from_training", "4.3, Fig. 4b",
            "Agreement among the upstream measures emerges only through training.",
            "mean within-upstream cluster similarity, trained minus untrained",
            ("sim:within_up", "u:sim:within_up"), _diff, (">", 0.0)),
    Finding("downstream_structure_untrained", "4.3, Fig. 4b",
            "Much of the downstream structure is already present in untrained networks.",
            "untrained (within-downstream - cross) minus half the trained (within-downstream - cross)",
            ("u:sim:within_down", "u:sim:cross", "sim:within_down", "sim:cross"),
            lambda ud, uc, td, tc: (ud - uc) - 0.5 * (td - tc), (">", 0.0),
            "trained-minus-untrained change of within-upstream minus |that of within-downstream|",
            lambda tu, uu, td, ud: (tu - uu) - abs(td - ud),
            ("sim:within_up", "u:sim:within_up", "sim:within_down", "u:sim:within_down")),
    Finding("training_attenuates_split", "4.3, Fig. 4b",
            "Training slightly attenuates the upstream-vs-downstream distinction.",
            "smaller of: the trained-minus-untrained change of cross-family similarity, and the change of "
            "within-upstream similarity minus that of cross-family",
            ("sim:cross", "u:sim:cross", "sim:within_up", "u:sim:within_up"),
            lambda tc, uc, tu, uu: min(tc - uc, (tu - uu) - (tc - uc)), (">", 0.0),
            "(within - cross family similarity), trained minus untrained (claim < 0)",
            lambda tw, tc, uw, uc: (tw - tc) - (uw - uc), ("sim:within", "sim:cross", "u:sim:within", "u:sim:cross")),
    Finding("models_below_cutoff", "4.1", "21 of 270 trained models (7.8 %) fall below 80 % test accuracy.",
            "fraction of trained models excluded (below the accuracy cutoff or diverged)",
            ("excluded",), lambda a: a, ("within", (PAPER_EXCLUDED_FRACTION - 0.05, PAPER_EXCLUDED_FRACTION + 0.05))),
)


def _rise(points: pd.DataFrame) -> float:
    """Least-squares slope of ``y`` on ``pos`` (pos in [0, 1]): the change across the whole sweep."""
    if points["pos"].nunique() < 2:
        return np.nan
    return float(np.polyfit(points["pos"].to_numpy(float), points["y"].to_numpy(float), 1)[0])


def _per_seed_rise(points: pd.DataFrame) -> pd.Series:
    return pd.Series({seed: _rise(g) for seed, g in points.groupby("seed")}, dtype=float)


def _positions(sweeps: pd.DataFrame) -> pd.DataFrame:
    sw = sweeps[["sweep", "setting", "value"]].drop_duplicates(["sweep", "setting"]).copy()
    sw["pos"] = sw.groupby("sweep")["value"].transform(
        lambda v: (v.rank(method="dense") - 1) / max(v.nunique() - 1, 1))
    return sw


def components(modularity: pd.DataFrame, cluster_similarity: pd.DataFrame, metrics: pd.DataFrame,
               sweeps: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-seed components: ``(trained, untrained)``, each indexed by seed, one column per name.

    Trained components use valid models only.  ``rise:<sweep>:<layer|all>:<family|all>`` is the
    per-seed least-squares slope of Q* (mean over the selected layers and measures of a model)
    on the sweep position (rank of the value, scaled to [0, 1]); ``clusters_rise:<sweep>`` the
    same for the number of clusters; ``frac_2_6``, ``n_clusters`` per-seed mean over models,
    layers, measures; ``sim:*`` per-seed mean cluster similarity of the named measure pairs
    (unordered, off-diagonal, mean over layers and models); ``excluded`` the per-seed fraction
    of trained models that are not valid.
    """
    mod = modularity[modularity["status"] == "ok"].copy()
    mod["trained"] = mod["trained"].astype(bool)
    valid = mod["valid"].astype(bool)
    trained, untrained = mod[mod["trained"] & valid], mod[~mod["trained"]]
    pos = _positions(sweeps)
    out_t: dict[str, pd.Series] = {}
    for sweep in pos["sweep"].unique():
        sw = pos[pos["sweep"] == sweep]
        d = trained.merge(sw[["setting", "pos"]], on="setting")
        for layer in ("all", 1, 2):
            for family in ("all", "upstream", "downstream"):
                sel = d if layer == "all" else d[d["layer"] == layer]
                sel = sel if family == "all" else sel[sel["family"] == family]
                y = sel.groupby(["seed", "setting", "pos"])["q"].mean().rename("y").reset_index()
                out_t[f"rise:{sweep}:{layer}:{family}"] = _per_seed_rise(y)
        y = d.groupby(["seed", "setting", "pos"])["n_clusters"].mean().rename("y").reset_index()
        out_t[f"clusters_rise:{sweep}"] = _per_seed_rise(y)
    n = trained["n_clusters"]
    for name, mask in (("frac_2_6", n.between(2, 6)), ("frac_over_6", n > 6), ("frac_under_2", n < 2)):
        out_t[name] = mask.groupby(trained["seed"]).mean()
    out_t["n_clusters"] = trained.groupby("seed")["n_clusters"].mean()
    out_u = {"n_clusters": untrained.groupby("seed")["n_clusters"].mean()}
    sim_t, sim_u = _similarity_components(cluster_similarity)
    out_t.update(sim_t)
    out_u.update(sim_u)
    met = metrics[metrics["trained"].astype(bool)]
    out_t["excluded"] = (~met["valid"].astype(bool)).groupby(met["seed"]).mean()
    return _frame(out_t), _frame(out_u)


def _frame(columns: dict) -> pd.DataFrame:
    return pd.DataFrame(columns).sort_index() if columns else pd.DataFrame()


def _similarity_components(cs: pd.DataFrame) -> tuple[dict, dict]:
    if "metric" in cs.columns:
        cs = cs[cs["metric"] == "element_sim"]  # the paper's metric
    cs = cs[cs["measure_a"] < cs["measure_b"]].copy()  # unordered off-diagonal pairs
    fa, fb = cs["measure_a"].map(FAMILY), cs["measure_b"].map(FAMILY)
    norm_pair = cs["measure_a"].str.removesuffix("_norm") == cs["measure_b"].str.removesuffix("_norm")
    groups = {"within": fa == fb, "cross": fa != fb, "norm_pair": norm_pair, "within_other": (fa == fb) & ~norm_pair,
              "within_up": (fa == fb) & (fa == "upstream"), "within_down": (fa == fb) & (fa == "downstream")}
    trained = cs["trained"].astype(bool)
    valid = cs["valid"].astype(bool)
    out_t, out_u = {}, {}
    for name, mask in groups.items():
        t, u = cs[mask & trained & valid], cs[mask & ~trained]
        out_t[f"sim:{name}"] = t.groupby("seed")["similarity"].mean()
        out_u[f"sim:{name}"] = u.groupby("seed")["similarity"].mean()
    return out_t, out_u


def _value(finding: Finding, means_t: dict, means_u: dict, previous: bool = False) -> float:
    """The finding's quantity (or its ``previous`` definition) from the seed means of its
    components (NaN if one is missing)."""
    combine = finding.previous_combine if previous else finding.combine
    if combine is None:
        return np.nan
    names = (finding.previous_components or finding.components) if previous else finding.components
    values = [means_u.get(n[2:], np.nan) if n.startswith("u:") else means_t.get(n, np.nan) for n in names]
    return float(combine(*values)) if np.all(np.isfinite(values)) else np.nan


def _seed_means(table: pd.DataFrame, rows=None) -> dict:
    """Mean over seeds (the given rows, with repeats) of every component, NaN-aware."""
    if table.empty:
        return {}
    values = table.to_numpy(dtype=float) if rows is None else table.to_numpy(dtype=float)[rows]
    with warnings.catch_warnings():  # an all-NaN component gives NaN ("mean of empty slice")
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.nanmean(values, axis=0)
    return dict(zip(table.columns, means))


def verdict(claim: tuple, low: float, high: float) -> str:
    """``yes`` / ``no`` / ``inconclusive`` for an interval against a claim; ``not applicable`` if NaN."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "not applicable"
    kind, bound = claim
    if kind == ">":
        return "yes" if low > bound else "no" if high <= bound else "inconclusive"
    if kind == "<":
        return "yes" if high < bound else "no" if low >= bound else "inconclusive"
    lo, hi = bound
    if lo <= low and high <= hi:
        return "yes"
    return "no" if high < lo or low > hi else "inconclusive"


def _claim_text(claim: tuple) -> str:
    kind, bound = claim
    return f"in [{bound[0]:.3g}, {bound[1]:.3g}]" if kind == "within" else f"{kind} {bound:g}"


def scorecard(modularity: pd.DataFrame, cluster_similarity: pd.DataFrame, metrics: pd.DataFrame,
              sweeps: pd.DataFrame, *, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """One row per finding (:data:`SCORECARD_COLUMNS`): the measured value, its 95 % percentile
    bootstrap interval over seeds (``n_boot`` resamples, seeded) and the verdict."""
    trained, untrained = components(modularity, cluster_similarity, metrics, sweeps)
    return evaluate(FINDINGS, trained, untrained, n_boot=n_boot, seed=seed)


def evaluate(findings, trained: pd.DataFrame, untrained: pd.DataFrame, *, n_boot: int = 2000,
             seed: int = 0) -> pd.DataFrame:
    """One row per finding (:data:`SCORECARD_COLUMNS`) from per-seed components (``trained``,
    ``untrained``: indexed by seed, one column per component): the value, its 95 % percentile
    bootstrap interval over seeds (``n_boot`` resamples, seeded) and the verdict."""
    rng = np.random.default_rng(seed)
    draws_t = rng.integers(0, max(len(trained), 1), size=(n_boot, len(trained)))
    draws_u = rng.integers(0, max(len(untrained), 1), size=(n_boot, len(untrained)))
    boot_means = [(_seed_means(trained, dt), _seed_means(untrained, du)) for dt, du in zip(draws_t, draws_u)]
    full_t, full_u = _seed_means(trained), _seed_means(untrained)
    rows = []
    for f in findings:
        value = _value(f, full_t, full_u)
        boots = np.array([_value(f, mt, mu) for mt, mu in boot_means])
        ok = boots[np.isfinite(boots)]
        # one trained seed has no spread to resample: no interval, and the verdict is "not applicable"
        low, high = (np.percentile(ok, [2.5, 97.5]) if np.isfinite(value) and len(ok) and len(trained) > 1
                     else (np.nan, np.nan))
        rows.append({"finding": f.name, "section": f.section, "paper": f.paper, "quantity": f.quantity,
                     "claim": _claim_text(f.claim), "value": value, "ci_low": float(low), "ci_high": float(high),
                     "n_seeds": len(trained), "verdict": verdict(f.claim, low, high),
                     "previous_quantity": f.previous_quantity, "previous_value": _value(f, full_t, full_u, True)})
    return pd.DataFrame(rows, columns=SCORECARD_COLUMNS)


def robustness(cards: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The scorecards of several analysis variants side by side (label -> findings table, the
    first being the reference): one row per finding with ``value``, ``ci_low``, ``ci_high``,
    ``verdict`` and ``n_seeds`` of each variant as ``<column>:<label>``, and ``verdict_changes``
    (the variants' verdicts are not all equal)."""
    if not cards:
        raise ValueError("robustness needs at least one scorecard")
    labels = list(cards)
    first = cards[labels[0]].set_index("finding")
    out = first[["section", "paper", "quantity", "claim"]].copy()
    for label in labels:
        card = cards[label].set_index("finding")
        if list(card.index) != list(first.index):
            raise ValueError(f"the scorecard of '{label}' lists other findings than that of '{labels[0]}' "
                             f"({sorted(set(card.index) ^ set(first.index))}); rerun both with this version")
        for col in ("value", "ci_low", "ci_high", "verdict", "n_seeds"):
            out[f"{col}:{label}"] = card[col]
    verdicts = out[[f"verdict:{label}" for label in labels]]
    out["verdict_changes"] = verdicts.nunique(axis=1) > 1
    return out.reset_index()
