"""Helpers for the clustering tests: test matrices and eq. 8 recomputed from scratch."""
import numpy as np

from unitclust.clustering.objective import adjacency, modularity_matrix, symmetrize


def random_similarity(n, seed, blocks=None, strength=1.0, noise=0.1):
    """Symmetric non-negative matrix; optional planted blocks (list of block sizes)."""
    rng = np.random.default_rng(seed)
    S = rng.uniform(0, noise, size=(n, n))
    S = S + S.T
    if blocks is not None:
        start = 0
        for size in blocks:
            S[start:start + size, start:start + size] += strength
            start += size
    np.fill_diagonal(S, 1.0 + strength)
    return S


def B_of(S):
    """Symmetrized modularity matrix (eqs. 6-8) of all units of ``S``."""
    return symmetrize(modularity_matrix(adjacency(S)[0]))


def q_trace(B, labels):
    """Eq. 8 from scratch: ``Tr(P^T B P)`` with ``P`` one-hot, n x n as in the paper."""
    labels = np.asarray(labels)
    n = len(labels)
    _, inv = np.unique(labels, return_inverse=True)
    P = np.zeros((n, n))
    P[np.arange(n), inv] = 1.0
    return float(np.trace(P.T @ B @ P))


def drop_empty_slot(labels, a):
    """The kernels' slot convention: when cluster ``a`` is empty, the last cluster takes its label."""
    last = labels.max()
    if not (labels == a).any() and a < last:
        labels[labels == last] = a
    return labels


def improving_moves(B, labels, tol=1e-13):
    """Every single-unit move and every merge of two clusters that raises Q (eq. 8,
    recomputed from scratch) by more than ``tol``."""
    q = q_trace(B, labels)
    k = int(labels.max()) + 1
    found = []
    for i in range(len(labels)):
        for c in range(k + 1):  # every cluster and a new one
            moved = labels.copy()
            moved[i] = c
            if q_trace(B, moved) > q + tol:
                found.append(("move", i, c))
    for c in range(k):
        for d in range(c + 1, k):
            merged = np.where(labels == d, c, labels)
            if q_trace(B, merged) > q + tol:
                found.append(("merge", c, d))
    return found
