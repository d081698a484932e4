"""Algorithm 2 (Appendix A.1): greedy recursive spectral bisection, the initialisation of
Algorithm 1."""

from __future__ import annotations

import numpy as np

from .objective import canonical_labels, symmetrize

SPLIT_TOL = 1e-13  # a split is kept only if Q rises by more than this (docs/science.md §4)


def spectral_init(B) -> np.ndarray:
    """Algorithm 2 (Appendix A.1): greedy recursive spectral bisection of ``B``.

    Start from one cluster; pop a cluster from a first-in-last-out queue, split it by the
    sign of the leading eigenvector (largest *signed* eigenvalue) of ``B`` restricted to it
    (negative entries form the new cluster, zero entries stay), and keep the split, pushing
    both halves, only if Q (eq. 8) rises by more than ``SPLIT_TOL``.  ``B`` is symmetrized
    first.  Returns canonical int64 labels.
    """
    Bs = symmetrize(B)
    n = Bs.shape[0]
    labels = np.zeros(n, dtype=np.int64)
    if n == 0:
        return labels
    queue = [0]
    n_clusters = 1
    while queue:
        c = queue.pop()
        idx = np.flatnonzero(labels == c)
        if idx.size < 2:
            continue
        _, vecs = np.linalg.eigh(Bs[np.ix_(idx, idx)])
        v = vecs[:, -1]
        if v[np.argmax(np.abs(v))] < 0:  # canonical sign (the split itself is sign-free)
            v = -v
        neg = v < 0
        if not neg.any() or neg.all():
            continue
        minus, plus = idx[neg], idx[~neg]
        # Q(P') - Q(P): the pairs (plus, minus) stop being counted twice (B symmetric).
        dq = -2.0 * float(Bs[np.ix_(plus, minus)].sum())
        if dq > SPLIT_TOL:
            labels[minus] = n_clusters
            queue.extend((c, n_clusters))
            n_clusters += 1
    return canonical_labels(labels)
