"""Comparing cluster assignments across similarity measures (paper section 4.3, docs/science.md §5).

Agreement metrics: ``element_sim`` (default, the paper's) in closed form, and clusim's ``nmi``,
``rmi`` and ``vi`` (variation of information: a distance, lower is more similar).  The chance
level of an agreement relabels the used units of the second clustering by seeded random
permutations (cluster sizes kept) and gives the mean agreement and the p-value
``(1 + #{null at least as similar as observed}) / (1 + n_perm)``.

Element-centric similarity (Gates et al. 2019, clusim's ``element_sim``) of two partitions in
closed form.  For a partition, clusim's affinity of unit i to unit j is
``alpha/|C(i)| [j in C(i)] + (1 - alpha) [j = i]`` and a unit's score is
``1 - sum_j |p_A(i, j) - p_B(i, j)| / (2 alpha)``; for a unit in cluster a of A and b of B, with
``m = |A_a ∩ B_b|``, that is ``1 - (m |1/|A_a| - 1/|B_b|| + 2 - m/|A_a| - m/|B_b|) / 2`` (alpha
cancels, and the hierarchy parameter r plays no role for partitions).  The similarity is the
mean score over units, computed from the contingency table of the two partitions.
"""

from __future__ import annotations

import numpy as np

UNUSED_MODES = ("singletons", "shared")
METRICS = ("element_sim", "nmi", "rmi", "vi")
DISTANCES = frozenset({"vi"})  # lower is more similar


def prepare_labels(labels, unused: str = "singletons") -> np.ndarray:
    """Labels for comparison: unused units (label -1) become singletons (default) or one shared cluster."""
    labels = np.asarray(labels, dtype=np.int64).copy()
    if unused not in UNUSED_MODES:
        raise ValueError(f"unknown unused-unit mode {unused!r}; allowed: {', '.join(UNUSED_MODES)}")
    dead = labels < 0
    if unused == "singletons" and dead.any():
        start = labels.max(initial=-1) + 1
        labels[dead] = start + np.arange(dead.sum())
    return labels


def _codes(labels: np.ndarray) -> tuple[np.ndarray, int]:
    _, codes = np.unique(labels, return_inverse=True)
    return codes.reshape(-1), int(codes.max(initial=-1)) + 1


def element_similarity_codes(a: np.ndarray, b: np.ndarray, ka: int, kb: int) -> np.ndarray:
    """Element-centric similarity of partition ``a`` against each row of ``b``.

    ``a``: (n,) cluster codes in 0..ka-1; ``b``: (n,) or (r, n) codes in 0..kb-1.  Returns a
    float64 array of shape ``b.shape[:-1]`` (a scalar array for one row).
    """
    b = np.asarray(b)
    n = a.shape[0]
    rows = b.reshape(-1, n)
    size_a = np.bincount(a, minlength=ka).astype(np.float64)
    size_b = np.bincount(rows[0], minlength=kb).astype(np.float64)  # every row has the same sizes
    cells = (a[None, :] * kb + rows) + (np.arange(len(rows)) * ka * kb)[:, None]
    N = np.bincount(cells.ravel(), minlength=len(rows) * ka * kb).reshape(len(rows), ka, kb)
    inv_a, inv_b = (1.0 / size_a)[:, None], (1.0 / size_b)[None, :]
    score = 1.0 - 0.5 * (N * np.abs(inv_a - inv_b) + 2.0 - N * inv_a - N * inv_b)
    return ((N * score).sum(axis=(1, 2)) / n).reshape(b.shape[:-1])


def element_similarity(a, b, *, unused: str = "singletons", alpha: float = 0.9, r: float = 1.0) -> float:
    """Element-centric similarity between two hard clusterings of the same units (clusim's
    ``element_sim`` with ``alpha`` and ``r``; for partitions neither changes the value)."""
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
    a, b = prepare_labels(a, unused), prepare_labels(b, unused)
    if a.shape != b.shape:
        raise ValueError(f"clusterings cover different numbers of units: {a.shape} vs {b.shape}")
    (ca, ka), (cb, kb) = _codes(a), _codes(b)
    return float(element_similarity_codes(ca, cb, ka, kb))


def similarity_matrix(assignments: dict[str, np.ndarray], measures, *, unused: str = "singletons") -> np.ndarray:
    """Symmetric len(measures)^2 matrix of element similarity, unit diagonal (the values of
    :func:`agreement_matrices` without chance levels)."""
    return agreement_matrices(assignments, measures, metric="element_sim", unused=unused)[0]


def agreement_matrices(assignments: dict[str, np.ndarray], measures, *, metric: str = "element_sim",
                       unused: str = "singletons", n_perm: int = 0, seed_of=lambda a, b: 0):
    """``(values, chance_mean, p_value)``: symmetric len(measures)^2 matrices of ``metric``
    between the measures' clusterings, with the chance level of each pair from ``n_perm``
    relabellings of the second clustering seeded by ``seed_of(measure_a, measure_b)`` (NaN
    matrices when ``n_perm`` is 0; the diagonal compares a clustering with itself, p NaN)."""
    k = len(measures)
    values, chance, p = np.full((k, k), np.nan), np.full((k, k), np.nan), np.full((k, k), np.nan)
    for i, a in enumerate(measures):
        values[i, i] = agreement(assignments[a], assignments[a], metric, unused=unused)
        for j in range(i + 1, k):
            b = measures[j]
            obs, cm, pv = chance_level(assignments[a], assignments[b], metric, unused=unused, n_perm=n_perm,
                                       seed=seed_of(a, b))
            values[i, j] = values[j, i] = obs
            chance[i, j] = chance[j, i] = cm
            p[i, j] = p[j, i] = pv
    return values, chance, p


def _clusim_metric(metric: str, a: np.ndarray, rows: np.ndarray) -> np.ndarray:
    from clusim.clustering import Clustering
    import clusim.sim as sim

    fn = getattr(sim, metric)
    ca = Clustering().from_membership_list(a.tolist())
    return np.array([fn(ca, Clustering().from_membership_list(r.tolist())) for r in rows], dtype=np.float64)


def agreement(a, b, metric: str = "element_sim", *, unused: str = "singletons") -> float:
    """One agreement metric (:data:`METRICS`) between two clusterings of the same units."""
    return float(agreements(prepare_labels(a, unused), prepare_labels(b, unused)[None, :], metric)[0])


def agreements(a: np.ndarray, rows: np.ndarray, metric: str) -> np.ndarray:
    """``metric`` between prepared labels ``a`` and each row of prepared labels ``rows``."""
    if metric not in METRICS:
        raise ValueError(f"unknown agreement metric {metric!r}; allowed: {', '.join(METRICS)}")
    if rows.shape[-1] != a.shape[0]:
        raise ValueError(f"clusterings cover different numbers of units: {a.shape[0]} vs {rows.shape[-1]}")
    if metric != "element_sim":
        return _clusim_metric(metric, a, rows)
    ca, ka = _codes(a)
    values, codes = np.unique(rows, return_inverse=True)
    return element_similarity_codes(ca, codes.reshape(rows.shape), ka, len(values))


def relabellings(labels, n_perm: int, rng: np.random.Generator) -> np.ndarray:
    """``n_perm`` copies of ``labels`` whose used units (label >= 0) are randomly permuted among
    themselves: every cluster keeps its size, unused units stay unused."""
    labels = np.asarray(labels, dtype=np.int64)
    used = np.flatnonzero(labels >= 0)
    out = np.repeat(labels[None, :], n_perm, axis=0)
    if len(used):
        out[:, used] = labels[used][rng.permuted(np.tile(np.arange(len(used)), (n_perm, 1)), axis=1)]
    return out


def chance_level(a, b, metric: str, *, unused: str, n_perm: int, seed: int) -> tuple[float, float, float]:
    """``(observed, chance mean, p-value)`` of ``metric`` between ``a`` and ``b`` against ``n_perm``
    seeded relabellings of ``b``; the p-value counts nulls at least as similar as observed."""
    pa = prepare_labels(a, unused)
    observed = float(agreements(pa, prepare_labels(b, unused)[None, :], metric)[0])
    if n_perm <= 0:
        return observed, float("nan"), float("nan")
    rows = np.stack([prepare_labels(r, unused) for r in relabellings(b, n_perm, np.random.default_rng(seed))])
    null = agreements(pa, rows, metric)
    tol = 1e-12 * max(1.0, abs(observed))
    extreme = (null <= observed + tol) if metric in DISTANCES else (null >= observed - tol)
    return observed, float(null.mean()), float((1 + extreme.sum()) / (1 + n_perm))
