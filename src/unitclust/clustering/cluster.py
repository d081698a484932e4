"""Clustering one similarity matrix: Algorithm 1 (Appendix A.1) or Leiden, and Algorithm 3
alone (Supplemental Fig. S2)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..settings import ClusteringOptions
from .leiden import leiden_labels
from .monte_carlo import check_mc_args, monte_carlo
from .objective import (
    adjacency,
    canonical_labels,
    check_similarity,
    modularity,
    modularity_matrix,
    number_of_clusters,
    symmetrize,
)
from .polish import greedy_polish
from .spectral import spectral_init

METHODS = ("paper", "leiden")
_PAPER = ClusteringOptions()  # the defaults (unitclust.settings)


@dataclass(frozen=True)
class ClusterResult:
    """Result of clustering one similarity matrix (eqs. 8-10).

    labels : int64 (n,), -1 for unused units, used units 0..k-1 in order of first appearance.
    q : Q* (eqs. 8-9), NaN when there are no used units.
    q_init : Q after Algorithm 2 alone (NaN for ``method="leiden"`` or no used units).
    n_clusters : eq. 10 over the used units, NaN if none is used.
    n_unused : number of unused units (all-zero rows of A, eq. 6).
    status : ``"ok"`` or ``"all_unused"``.
    seed : the seed the result was computed with.
    """

    labels: np.ndarray
    q: float
    q_init: float
    n_clusters: float
    n_unused: int
    status: str
    seed: int


def _prepare(S, name):
    """Check and symmetrize ``S``; return ``(A, B, used)``: the adjacency matrix (eq. 6) and
    the symmetrized modularity matrix (eqs. 7-8) of the used units (both ``None`` if no unit
    is used) and the mask of used units."""
    check_similarity(S, name)
    A, used = adjacency(symmetrize(S))
    if not used.any():
        return None, None, used
    A = A[np.ix_(used, used)]
    return A, symmetrize(modularity_matrix(A)), used


def cluster_matrix(S, *, seed: int, method: str = _PAPER.method, mc_steps: int = _PAPER.mc_steps,
                   target_entropy: float = _PAPER.target_entropy, restarts: int = _PAPER.restarts,
                   name: str = "similarity matrix", polish: bool | None = None) -> ClusterResult:
    """Cluster the units of one similarity matrix by maximising modularity (eqs. 6-10).

    ``method="paper"``: Algorithm 1 = :func:`~.spectral.spectral_init` (Algorithm 2) then
    :func:`~.monte_carlo.monte_carlo` (Algorithm 3, ``mc_steps`` steps at ``target_entropy``
    nats), all draws from ``np.random.default_rng(seed)``; ``restarts = R`` keeps the best of
    R chains from the same initialisation, chain ``r`` using the draws after those of chain
    ``r - 1`` (so R = 1, the paper's algorithm, is the first chain of every R).  ``polish``:
    finish each chain's best assignment with :func:`~.polish.greedy_polish`; ``None``
    (default) means ``restarts > 1``.  Ignored for ``method="leiden"``.
    ``method="leiden"``: igraph's Leiden with the modularity objective, best of ``restarts``
    seeds, Q recomputed by eq. 8.
    Unused units (all-zero rows of A, eq. 6) get label -1; if every unit is unused
    (all-zero, 0x0 or 1x1 matrix) the result has status ``"all_unused"`` and NaN scores.
    """
    if method not in METHODS:
        raise ValueError(f"unknown clustering method {method!r}; expected one of {METHODS}")
    if int(restarts) != restarts or restarts < 1:
        raise ValueError(f"restarts must be a positive integer, got {restarts!r}")
    restarts = int(restarts)
    check_mc_args(mc_steps, target_entropy)
    A, B, used = _prepare(S, name)
    n = used.shape[0]
    n_unused = int((~used).sum())
    if B is None:
        return ClusterResult(labels=np.full(n, -1, dtype=np.int64), q=math.nan, q_init=math.nan,
                             n_clusters=math.nan, n_unused=n_unused, status="all_unused", seed=int(seed))
    if method == "paper":
        init = spectral_init(B)
        q_init = modularity(B, init)
        rng = np.random.default_rng(seed)
        do_polish = restarts > 1 if polish is None else bool(polish)
        best_q, best = -math.inf, init
        for _ in range(restarts):
            q, lab = monte_carlo(B, init, mc_steps, target_entropy, rng)
            if do_polish:
                q, lab = greedy_polish(B, lab)
            if q > best_q:
                best_q, best = q, lab
    else:
        q_init = math.nan
        best_q, best = -math.inf, None
        for lab in leiden_labels(A, seed, restarts):
            lab = canonical_labels(lab)
            q = modularity(B, lab)
            if q > best_q:
                best_q, best = q, lab
    labels = np.full(n, -1, dtype=np.int64)
    labels[used] = best
    return ClusterResult(labels=labels, q=float(best_q), q_init=float(q_init),
                         n_clusters=number_of_clusters(best), n_unused=n_unused, status="ok", seed=int(seed))


def monte_carlo_only(S, *, seed: int, mc_only_steps: int = _PAPER.mc_only_steps,
                     target_entropy: float = _PAPER.target_entropy,
                     name: str = "similarity matrix") -> float:
    """Q* of Algorithm 3 alone, ``mc_only_steps`` steps from a single cluster, draws from
    ``np.random.default_rng(seed)`` (Supplemental Fig. S2, right).  NaN when every unit is
    unused."""
    check_mc_args(mc_only_steps, target_entropy, "mc_only_steps")
    _, B, _ = _prepare(S, name)
    if B is None:
        return math.nan
    q, _ = monte_carlo(B, np.zeros(B.shape[0], dtype=np.int64), mc_only_steps, target_entropy,
                       np.random.default_rng(seed))
    return q
