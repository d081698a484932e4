"""Comparing cluster assignments across similarity measures (paper section 4.3, docs/science.md §5).

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


def similarity_matrix(assignments: dict[str, np.ndarray], measures, **kw) -> np.ndarray:
    """Symmetric len(measures)^2 matrix of element similarity, unit diagonal."""
    k = len(measures)
    out = np.eye(k)
    for i in range(k):
        for j in range(i + 1, k):
            out[i, j] = out[j, i] = element_similarity(assignments[measures[i]], assignments[measures[j]], **kw)
    return out
