"""Comparing cluster assignments across similarity measures (paper section 4.3, docs/science.md §5).

Element-centric similarity (Gates et al. 2019) from clusim, alpha 0.9, r 1.0.
"""

from __future__ import annotations

import numpy as np

UNUSED_MODES = ("singletons", "shared")


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


def element_similarity(a, b, *, unused: str = "singletons", alpha: float = 0.9, r: float = 1.0) -> float:
    """clusim ``element_sim`` between two hard clusterings of the same units."""
    from clusim.clustering import Clustering
    from clusim.sim import element_sim

    a, b = prepare_labels(a, unused), prepare_labels(b, unused)
    if a.shape != b.shape:
        raise ValueError(f"clusterings cover different numbers of units: {a.shape} vs {b.shape}")
    ca = Clustering().from_membership_list(a.tolist())
    cb = Clustering().from_membership_list(b.tolist())
    return float(element_sim(ca, cb, alpha=alpha, r=r))


def similarity_matrix(assignments: dict[str, np.ndarray], measures, **kw) -> np.ndarray:
    """Symmetric len(measures)^2 matrix of element similarity, unit diagonal."""
    k = len(measures)
    out = np.eye(k)
    for i in range(k):
        for j in range(i + 1, k):
            out[i, j] = out[j, i] = element_similarity(assignments[measures[i]], assignments[measures[j]], **kw)
    return out
