"""The modularity objective (paper section 3.2, eqs. 6-10), in numpy.

``A`` is the similarity matrix with a zero diagonal (eq. 6), ``At = A / sum(A)`` (eq. 7),
``B = At - At 1 1^T At`` and ``Q(P) = Tr(P^T B P)`` for a one-hot assignment ``P`` (eq. 8);
``exp(H(r))`` is the effective number of clusters (eq. 10).
"""

from __future__ import annotations

import numpy as np

TIE_TOL = 1e-14  # differences in Q below this are ties (docs/science.md §4)


def check_similarity(S, name: str) -> None:
    """Validate a pairwise similarity matrix ``S`` (section 3.1, the input of eq. 6).

    Raises ``ValueError`` naming ``name`` if ``S`` is not a square 2-D numeric matrix, has
    NaN/inf entries, is asymmetric beyond 1e-8 relative to its largest entry, or has
    negative entries.
    """
    arr = np.asarray(S)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name}: expected a square 2-D matrix, got shape {arr.shape}")
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"{name}: expected a numeric matrix, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise ValueError(f"{name}: complex entries are not allowed")
    arr = arr.astype(np.float64, copy=False)
    if arr.size == 0:
        return
    bad = ~np.isfinite(arr)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        kind = "NaN" if np.isnan(arr[i, j]) else "infinite"
        raise ValueError(f"{name}: {int(bad.sum())} non-finite entries ({kind} at [{i}, {j}])")
    if (arr < 0).any():
        i, j = np.argwhere(arr < 0)[0]
        raise ValueError(f"{name}: negative entries are not allowed (S[{i}, {j}] = {arr[i, j]!r})")
    scale = float(np.abs(arr).max())
    asym = float(np.abs(arr - arr.T).max())
    if asym > 1e-8 * scale:
        raise ValueError(f"{name}: matrix is not symmetric (max |S - S^T| = {asym:.3g}, max |S| = {scale:.3g})")


def symmetrize(M) -> np.ndarray:
    """``0.5 * (M + M^T)`` as float64: exactly symmetric, so that the incremental changes of
    Q used by Algorithm 3 and the polish are exact (unchanged if ``M`` is already symmetric)."""
    M = np.asarray(M, dtype=np.float64)
    return 0.5 * (M + M.T)


def adjacency(S) -> tuple[np.ndarray, np.ndarray]:
    """Adjacency matrix of eq. 6 and the mask of used units.

    Returns ``(A, used)``: ``A`` = float64 copy of ``S`` with a zero diagonal (eq. 6);
    ``used[i]`` is False when row ``i`` of ``A`` is all zero (an "unused" unit, Appendix
    A.1: left out of the clustering and labelled -1).
    """
    A = np.array(S, dtype=np.float64, copy=True)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"expected a square matrix, got shape {A.shape}")
    np.fill_diagonal(A, 0.0)
    used = (A != 0).any(axis=1)
    return A, used


def normalized_adjacency(A) -> np.ndarray:
    """``At = A / sum(A)`` (eq. 7) as float64; an ``A`` that sums to zero is returned as is."""
    A = np.asarray(A, dtype=np.float64)
    total = A.sum()
    return A / total if total > 0 else A.copy()


def modularity_matrix(A) -> np.ndarray:
    """Modularity matrix ``B = At - At 1 1^T At`` with ``At = A / sum(A)`` (eqs. 7-8).

    Raises ``ValueError`` if ``sum(A)`` is not positive (no used units).
    """
    A = np.asarray(A, dtype=np.float64)
    if not A.sum() > 0:
        raise ValueError("modularity_matrix: sum(A) must be positive (all units unused?)")
    At = normalized_adjacency(A)
    return At - np.outer(At.sum(axis=1), At.sum(axis=0))


def canonical_labels(labels) -> np.ndarray:
    """Relabel non-negative labels 0..k-1 in order of first appearance; negative ones -> -1.

    Two assignments describe the same partition exactly when their canonical labels are equal.
    """
    labels = np.asarray(labels)
    out = np.full(labels.shape, -1, dtype=np.int64)
    mapping: dict[int, int] = {}
    for idx, lab in enumerate(labels.tolist()):
        if lab >= 0:
            out[idx] = mapping.setdefault(lab, len(mapping))
    return out


def modularity(B, labels) -> float:
    """``Q = Tr(P^T B P)`` (eq. 8) for the one-hot ``P`` of integer ``labels``.

    Every distinct label (-1 included) is one cluster; with ``B`` built from the full
    adjacency matrix the rows of unused units are zero, so their label does not matter.
    """
    B = np.asarray(B, dtype=np.float64)
    labels = np.asarray(labels)
    if B.ndim != 2 or B.shape[0] != B.shape[1] or labels.shape != (B.shape[0],):
        raise ValueError(f"modularity: shapes B {B.shape} and labels {labels.shape} do not match")
    if labels.size == 0:
        return 0.0
    _, inv = np.unique(labels, return_inverse=True)
    P = np.zeros((labels.size, int(inv.max()) + 1))
    P[np.arange(labels.size), inv] = 1.0
    return float(np.trace(P.T @ B @ P))


def number_of_clusters(labels) -> float:
    """Effective number of clusters ``exp(H(r))`` (eq. 10).

    ``r`` = cluster sizes / number of used units; labels < 0 (unused units) are ignored.
    NaN when no unit is used.
    """
    labels = np.asarray(labels)
    labels = labels[labels >= 0]
    if labels.size == 0:
        return float("nan")
    _, counts = np.unique(labels, return_counts=True)
    r = counts / labels.size
    return float(np.exp(-np.sum(r * np.log(r))))


def chain_inputs(B, labels, who: str) -> tuple[np.ndarray, np.ndarray]:
    """``(symmetrize(B), canonical labels)`` for a local search on ``B`` starting at ``labels``;
    ``ValueError`` naming ``who`` unless there is one non-negative label per row of ``B``."""
    Bs = np.ascontiguousarray(symmetrize(B))
    labels = canonical_labels(labels)
    if labels.shape != (Bs.shape[0],) or (labels < 0).any():
        raise ValueError(f"{who}: labels must be non-negative, one per row of B")
    return Bs, labels
