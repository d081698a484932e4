"""Modularity clustering of hidden units (paper section 3.2, Appendix A.1; SPEC section 4).

Pipeline for one similarity matrix ``S`` (n x n, symmetric, non-negative):

1. ``A`` = ``S`` with a zero diagonal (eq. 6).  Units whose row of ``A`` is all zero
   are *unused*: they are left out of the optimisation and labelled ``-1``.
2. ``At = A / sum(A)`` (eq. 7) and ``B = At - At 1 1^T At``; ``Q(P) = Tr(P^T B P)``
   for a one-hot assignment matrix ``P`` (eq. 8).
3. Algorithm 1 = Algorithm 2 (greedy recursive spectral bisection, :func:`spectral_init`)
   followed by Algorithm 3 (entropy-controlled Monte Carlo, :func:`monte_carlo`).
   ``Q* `` (eq. 9) is the best ``Q`` ever seen.
4. Number of clusters ``exp(H(r))`` (eq. 10, :func:`number_of_clusters`).

Choices the paper leaves open (README material):

* Algorithm 3 candidates: every existing cluster (staying put included, dQ = 0) and one
  new empty cluster.  When the unit is alone in its cluster, "move to a new cluster" is
  the same state as staying, so that duplicate candidate is dropped.
* The inverse temperature ``beta = 1/tau`` is solved every step so that the entropy of
  ``softmax(beta * Q')`` equals ``target_entropy`` (to ``ENTROPY_TOL`` = 1e-7 nats; a
  safeguarded Newton iteration on ``log H(s)``, ``s = beta * g1``, ``g1`` the smallest
  non-tie score gap, warm-started from the previous step, with bisection fallback).
  Two degenerate cases cannot reach the target: if ``log(#candidates) <= target`` the
  uniform distribution (the maximum achievable entropy) is used; if the candidates tied
  for the best score (within ``TIE_TOL`` of the maximum) already carry entropy
  ``log(#ties) >= target`` (e.g. all candidates tie), the move is drawn uniformly among
  the tied best ones (beta -> inf, the entropy closest to the target).
  ``target_entropy = 0`` is greedy ascent.
* The best (Q, P) pair is updated from *every scored candidate*, as in the pseudocode
  (line 10 of Algorithm 3), not only from visited states.  The reported ``Q*`` is
  recomputed from scratch (eq. 8) for the best labels.
* Algorithm 2 keeps a split only if it raises Q by more than ``SPLIT_TOL`` (guards
  against splits that "improve" Q by rounding noise).  Entries of the leading
  eigenvector that are exactly zero stay in the parent cluster (the pseudocode only
  moves the negative ones).
* Scoring is incremental: ``K[c, u] = sum_{v in c} B[u, v]`` is kept for every cluster,
  moving unit ``i`` from ``a`` to ``c != a`` changes Q by ``2 (K[c, i] - K[a, i] + B[i, i])``
  (``K[new, i] = 0``), and ``K`` is updated in O(n) after each accepted move.
* Randomness: all draws come from ``np.random.default_rng(seed)`` in bulk (unit indices,
  then uniforms, chain after chain), so the same inputs and seed give bit-identical
  labels and Q.  Restart ``r`` of ``restarts=R`` uses the next draws of the same
  generator, so ``R = 1`` is the first chain of any ``R > 1`` run.
* Restarts (``restarts = R > 1``; not part of the paper): R independent chains, all from
  the spectral initialisation, and by default (``polish=None``) each chain's best
  assignment is finished by :func:`greedy_polish` - a zero-temperature descent that moves
  single units and merges pairs of clusters while either raises Q (incremental dQ), so it
  never lowers Q and ends at a local optimum of both moves.  Merging two clusters is one
  step for the polish but a long uphill path of single-unit moves for the chain.  The
  result is the best polished chain.  ``R = 1`` (the default) is exactly Algorithm 1,
  unpolished; ``polish=True/False`` overrides the default for any R.  On the 64 realistic
  64-unit matrices of ``benchmarks/modularity.py`` (5 seed sets; best known = best over
  every method there, Leiden with 200 seeds included), Q* is within 0.5 % of the best
  known for 55.6 % of matrices with R = 1, 95.6 % (worst set 90.6 %) with R = 16,
  97.8 % (worst set 96.9 %) with R = 24 and 98.1 % (96.9 %) with R = 32; unpolished
  chains need R = 32 for 97.5 % (95.3 %).  R = 24 (~0.05 s per matrix) is the cheapest
  setting tested that meets ">= 95 % of matrices" in every seed set.
* The Monte Carlo kernel runs compiled with numba when it is importable (``cache=True``)
  and otherwise in a pure-Python implementation of the same arithmetic, which gives the
  same result bit for bit (tested); the same holds for the polish.  Set
  ``UNITCLUST_NO_NUMBA=1`` to force pure Python.

This module imports numpy only at import time (no torch); numba is imported on the first
Monte Carlo run and igraph only for ``method="leiden"``.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass

import numpy as np

METHODS = ("paper", "leiden")
TIE_TOL = 1e-14  # score differences below this are ties (Q is O(1); rounding is ~1e-17)
SPLIT_TOL = 1e-13  # Algorithm 2 keeps a split only if Q rises by more than this
ENTROPY_TOL = 1e-7  # the tau solver stops when |H - target| < ENTROPY_TOL nats
_SOLVER_MAX_ITER = 200
_S_INIT = 3.5  # ~ the two-candidate solution for H = 0.15 nats (logit(0.972))
_SEED_DOMAIN = "unitclust.stable_seed.v1"


@dataclass(frozen=True)
class ClusterResult:
    """Result of clustering one similarity matrix (paper eqs. 8-10).

    labels : int64 (n,), -1 for unused units, used units 0..k-1 in order of first appearance.
    q : Q* (eq. 8/9), NaN when there are no used units.
    q_init : Q after Algorithm 2 alone (NaN for ``method="leiden"`` or no used units).
    n_clusters : eq. 10 over the used units, NaN if none is used.
    n_unused : number of unused units (all-zero rows of A).
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


# ----------------------------------------------------------------------------- basics


def check_similarity(S, name: str) -> None:
    """Validate a pairwise similarity matrix S (paper section 3.1, input of eq. 6).

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


def adjacency(S) -> tuple[np.ndarray, np.ndarray]:
    """Adjacency matrix of eq. 6 and the mask of used units.

    Returns ``(A, used)``: ``A`` = float64 copy of ``S`` with a zero diagonal (eq. 6);
    ``used[i]`` is False when row ``i`` of ``A`` is all zero (an "unused" unit, Appendix
    A.1: removed before clustering and reported as its own cluster, label -1).
    """
    A = np.array(S, dtype=np.float64, copy=True)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"expected a square matrix, got shape {A.shape}")
    np.fill_diagonal(A, 0.0)
    used = (A != 0).any(axis=1)
    return A, used


def modularity_matrix(A) -> np.ndarray:
    """Modularity matrix ``B = At - At 1 1^T At`` with ``At = A / sum(A)`` (eqs. 7-8).

    Raises ``ValueError`` if ``sum(A)`` is not positive (no used units).
    """
    A = np.asarray(A, dtype=np.float64)
    total = A.sum()
    if not total > 0:
        raise ValueError("modularity_matrix: sum(A) must be positive (all units unused?)")
    At = A / total
    return At - np.outer(At.sum(axis=1), At.sum(axis=0))


def _canonical(labels) -> np.ndarray:
    """Relabel non-negative labels 0..k-1 in order of first appearance; negatives -> -1."""
    labels = np.asarray(labels)
    out = np.full(labels.shape, -1, dtype=np.int64)
    mapping: dict[int, int] = {}
    for idx, lab in enumerate(labels.tolist()):
        if lab >= 0:
            out[idx] = mapping.setdefault(lab, len(mapping))
    return out


def modularity(B, labels) -> float:
    """``Q = Tr(P^T B P)`` (eq. 8) for the one-hot ``P`` of integer ``labels``.

    Every distinct label (including -1) is one cluster; with ``B`` built from the full
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


def _canon_part(x):
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, (tuple, list)):
        return tuple(_canon_part(v) for v in x)
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    raise TypeError(f"stable_seed: unsupported identity part {x!r} of type {type(x).__name__}")


def stable_seed(*parts) -> int:
    """Stable 63-bit seed from an identity tuple, e.g. ``(config_seed, model_id, layer, measure)``.

    blake2b of the canonical ``repr`` of the parts (numpy scalars -> Python scalars, lists ->
    tuples); the same identity gives the same seed on every machine and Python run (unlike
    ``hash``).  Supports None, bool, int, float, str and nested tuples/lists of them.
    Used to seed Algorithms 1-3 (SPEC section 4: "everything is seeded").
    """
    text = repr((_SEED_DOMAIN, _canon_part(parts)))
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & (2**63 - 1)


# ----------------------------------------------------------------------------- Algorithm 2


def spectral_init(B) -> np.ndarray:
    """Algorithm 2 (Appendix A.1): greedy recursive spectral bisection of ``B``.

    Start from one cluster; pop a cluster from a first-in-last-out queue, split it by the
    sign of the leading eigenvector (largest *signed* eigenvalue) of ``B`` restricted to
    it (negative entries form the new cluster), and keep the split - pushing both halves -
    only if Q (eq. 8) rises (by more than ``SPLIT_TOL``).  Returns canonical int64 labels.
    """
    B = np.asarray(B, dtype=np.float64)
    n = B.shape[0]
    labels = np.zeros(n, dtype=np.int64)
    if n == 0:
        return labels
    Bs = 0.5 * (B + B.T)
    queue = [0]
    n_clusters = 1
    while queue:
        c = queue.pop()
        idx = np.flatnonzero(labels == c)
        if idx.size < 2:
            continue
        sub = Bs[np.ix_(idx, idx)]
        _, vecs = np.linalg.eigh(sub)
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
    return _canonical(labels)


# ----------------------------------------------------------------------------- Algorithm 3
# Two implementations of the same arithmetic, step for step: a compiled (numba) kernel and
# a pure-Python one tuned for CPython.  They must give the same result bit for bit.


def _weights_py(h, target, log_target, s):
    """Solve H(s) = target for ``p_j ~ w_j = exp(-s h_j)`` (``h_j >= 0``, ties have
    ``h_j = 0``, the smallest non-tie ``h_j`` is 1) and return ``(w, Z, s)``.

    Newton on ``log H(s) = log target`` (H decays about exponentially in s, so this
    converges in 2-3 evaluations), safeguarded by a bracket [lo, hi] with bisection
    (doubling while no upper bound is known); warm start ``s`` (<= 0: ``_S_INIT``).
    The returned weights are those evaluated at the returned ``s``.
    """
    exp, log = math.exp, math.log
    lo = 0.0
    hi = math.inf
    if not s > 0.0:
        s = _S_INIT
    it = 0
    while True:
        w = [exp(-s * hj) for hj in h]
        Z = 0.0
        S1 = 0.0
        S2 = 0.0
        for e, hj in zip(w, h):
            Z += e
            S1 += e * hj
            S2 += e * hj * hj
        mu = S1 / Z
        H = log(Z) + s * mu
        f = H - target
        it += 1
        if abs(f) < ENTROPY_TOL or it >= _SOLVER_MAX_ITER:
            break
        if f > 0.0:
            lo = s
        else:
            hi = s
        d = -s * (S2 / Z - mu * mu)
        s_new = s - (log(H) - log_target) * H / d if (d < 0.0 and H > 0.0) else -1.0
        if not (lo < s_new < hi):
            s_new = 2.0 * s if hi == math.inf else 0.5 * (lo + hi)
        if s_new == s:
            break
        s = s_new
    return w, Z, s


def _choose_py(dq, dmax, target, log_target, s, u):
    """Draw a candidate index from softmax(dq / tau) with entropy ``target`` (Algorithm 3,
    lines 13-15) using the uniform draw ``u``.  Returns ``(index, s)``; ``s`` (the solved
    ``beta`` times the smallest non-tie gap) warm-starts the next step."""
    m = len(dq)
    n_tie = 0
    g1 = math.inf
    gaps = [dmax - x for x in dq]
    for g in gaps:
        if g <= TIE_TOL:
            n_tie += 1
        elif g < g1:
            g1 = g
    if math.log(m) <= target:  # even the uniform distribution is below the target
        j = int(u * m)
        return (j if j < m else m - 1), s
    if n_tie == m or math.log(n_tie) >= target:  # beta -> inf: uniform over the best
        r = int(u * n_tie)
        if r >= n_tie:
            r = n_tie - 1
        for j in range(m):
            if gaps[j] <= TIE_TOL:
                if r == 0:
                    return j, s
                r -= 1
    h = [0.0 if g <= TIE_TOL else g / g1 for g in gaps]
    w, Z, s = _weights_py(h, target, log_target, s)
    thr = u * Z
    cum = 0.0
    for j in range(m):
        cum += w[j]
        if cum > thr:
            return j, s
    for j in range(m - 1, -1, -1):  # rounding fallback: last candidate with weight
        if w[j] > 0.0:
            return j, s
    return 0, s


def _mc_python(B, lab0, units, draws, target):
    n = B.shape[0]
    K = np.zeros((n + 1, n))
    lab = [int(x) for x in lab0]
    k = max(lab) + 1
    sizes = [0] * (n + 1)
    for v in range(n):
        c = lab[v]
        sizes[c] += 1
        K[c] += B[v]
    q = 0.0
    for v in range(n):
        q += K[lab[v], v]
    q = float(q)
    best_q = q
    best_lab = list(lab)
    diag = np.diagonal(B).tolist()
    log_target = math.log(target) if target > 0 else -math.inf
    s = 0.0
    for t in range(len(units)):
        i = units[t]
        a = lab[i]
        col = K[:k, i].tolist()
        base = col[a] - diag[i]
        dq = [2.0 * (x - base) for x in col]
        dq[a] = 0.0
        if sizes[a] > 1:
            dq.append(-2.0 * base)
        m = len(dq)
        if m < 2:
            continue
        dmax = max(dq)
        if q + dmax > best_q:
            best_q = q + dmax
            best_lab = list(lab)
            best_lab[i] = dq.index(dmax)
        j, s = _choose_py(dq, dmax, target, log_target, s, draws[t])
        if j == a:
            continue
        q += dq[j]
        row = B[i]
        K[a] -= row
        K[j] += row
        lab[i] = j
        sizes[a] -= 1
        sizes[j] += 1
        if j == k:
            k += 1
        if sizes[a] == 0:  # keep clusters contiguous: move the last one into slot a
            last = k - 1
            if a != last:
                K[a] = K[last]
                for v in range(n):
                    if lab[v] == last:
                        lab[v] = a
                sizes[a] = sizes[last]
                sizes[last] = 0
            K[last] = 0.0
            k -= 1
    return best_q, np.asarray(best_lab, dtype=np.int64)


def _mc_kernel(B, lab0, units, draws, target, tie_tol, entropy_tol, s_init, max_iter):
    """Array/loop version of :func:`_mc_python` (same arithmetic, same order), written for
    ``numba.njit``; interpreted it is only a slow reference."""
    n = B.shape[0]
    K = np.zeros((n + 1, n))
    lab = lab0.copy()
    sizes = np.zeros(n + 1, dtype=np.int64)
    k = 0
    for v in range(n):
        c = lab[v]
        sizes[c] += 1
        if c + 1 > k:
            k = c + 1
        for u in range(n):
            K[c, u] += B[v, u]
    q = 0.0
    for v in range(n):
        q += K[lab[v], v]
    best_q = q
    best_lab = lab.copy()
    log_target = math.log(target) if target > 0 else -np.inf
    dq = np.empty(n + 1)
    gaps = np.empty(n + 1)
    h = np.empty(n + 1)
    w = np.empty(n + 1)
    s = 0.0
    for t in range(units.shape[0]):
        i = units[t]
        a = lab[i]
        base = K[a, i] - B[i, i]
        for c in range(k):
            dq[c] = 2.0 * (K[c, i] - base)
        dq[a] = 0.0
        m = k
        if sizes[a] > 1:
            dq[k] = -2.0 * base
            m = k + 1
        if m < 2:
            continue
        jmax = 0
        dmax = dq[0]
        for c in range(1, m):
            if dq[c] > dmax:
                dmax = dq[c]
                jmax = c
        if q + dmax > best_q:
            best_q = q + dmax
            for v in range(n):
                best_lab[v] = lab[v]
            best_lab[i] = jmax
        # --- choose the move (see _choose_py / _weights_py) ---
        u = draws[t]
        n_tie = 0
        g1 = np.inf
        for c in range(m):
            g = dmax - dq[c]
            gaps[c] = g
            if g <= tie_tol:
                n_tie += 1
            elif g < g1:
                g1 = g
        j = -1
        if math.log(m) <= target:
            j = int(u * m)
            if j >= m:
                j = m - 1
        elif n_tie == m or math.log(n_tie) >= target:
            r = int(u * n_tie)
            if r >= n_tie:
                r = n_tie - 1
            for c in range(m):
                if gaps[c] <= tie_tol:
                    if r == 0:
                        j = c
                        break
                    r -= 1
        else:
            for c in range(m):
                h[c] = 0.0 if gaps[c] <= tie_tol else gaps[c] / g1
            lo = 0.0
            hi = np.inf
            if not s > 0.0:
                s = s_init
            it = 0
            Z = 0.0
            while True:
                for c in range(m):
                    w[c] = math.exp(-s * h[c])
                Z = 0.0
                S1 = 0.0
                S2 = 0.0
                for c in range(m):
                    hj = h[c]
                    e = w[c]
                    Z += e
                    S1 += e * hj
                    S2 += e * hj * hj
                mu = S1 / Z
                H = math.log(Z) + s * mu
                f = H - target
                it += 1
                if abs(f) < entropy_tol or it >= max_iter:
                    break
                if f > 0.0:
                    lo = s
                else:
                    hi = s
                d = -s * (S2 / Z - mu * mu)
                s_new = s - (math.log(H) - log_target) * H / d if (d < 0.0 and H > 0.0) else -1.0
                if not (lo < s_new < hi):
                    s_new = 2.0 * s if hi == np.inf else 0.5 * (lo + hi)
                if s_new == s:
                    break
                s = s_new
            thr = u * Z
            cum = 0.0
            for c in range(m):
                cum += w[c]
                if cum > thr:
                    j = c
                    break
            if j < 0:
                j = 0
                for c in range(m - 1, -1, -1):
                    if w[c] > 0.0:
                        j = c
                        break
        if j == a:
            continue
        # --- apply the move, O(n) ---
        q += dq[j]
        for v in range(n):
            K[a, v] -= B[i, v]
            K[j, v] += B[i, v]
        lab[i] = j
        sizes[a] -= 1
        sizes[j] += 1
        if j == k:
            k += 1
        if sizes[a] == 0:
            last = k - 1
            if a != last:
                for v in range(n):
                    K[a, v] = K[last, v]
                for v in range(n):
                    if lab[v] == last:
                        lab[v] = a
                sizes[a] = sizes[last]
                sizes[last] = 0
            for v in range(n):
                K[last, v] = 0.0
            k -= 1
    return best_q, best_lab


# ----------------------------------------------------------------------------- greedy polish
# Zero-temperature local search used to finish restart chains (not part of the paper).  Again
# two implementations of the same arithmetic: loops for numba, lists for CPython.


def _polish_kernel(B, lab0, tol):
    """Loop version of :func:`_polish_python` (same arithmetic, same order), for numba."""
    n = B.shape[0]
    K = np.zeros((n + 1, n))
    lab = lab0.copy()
    sizes = np.zeros(n + 1, dtype=np.int64)
    k = 0
    for v in range(n):
        c = lab[v]
        sizes[c] += 1
        if c + 1 > k:
            k = c + 1
        for u in range(n):
            K[c, u] += B[v, u]
    E = np.zeros((n, n))
    while True:
        # --- single-unit moves: sweeps in unit order until one sweep moves nothing
        moved = True
        while moved:
            moved = False
            for i in range(n):
                a = lab[i]
                base = K[a, i] - B[i, i]
                best = tol
                j = -1
                for c in range(k):
                    if c != a:
                        d = 2.0 * (K[c, i] - base)
                        if d > best:
                            best = d
                            j = c
                if sizes[a] > 1:
                    d = -2.0 * base
                    if d > best:
                        best = d
                        j = k
                if j < 0:
                    continue
                moved = True
                for v in range(n):
                    K[a, v] -= B[i, v]
                    K[j, v] += B[i, v]
                lab[i] = j
                sizes[a] -= 1
                sizes[j] += 1
                if j == k:
                    k += 1
                if sizes[a] == 0:
                    last = k - 1
                    if a != last:
                        for v in range(n):
                            K[a, v] = K[last, v]
                        for v in range(n):
                            if lab[v] == last:
                                lab[v] = a
                        sizes[a] = sizes[last]
                        sizes[last] = 0
                    for v in range(n):
                        K[last, v] = 0.0
                    k -= 1
        # --- best merge of two clusters: dQ = 2 E[c, d], E[c, d] = sum_{u in c} K[d, u]
        for c in range(k):
            for d in range(k):
                E[c, d] = 0.0
        for u in range(n):
            c = lab[u]
            for d in range(k):
                E[c, d] += K[d, u]
        best = tol
        cm = -1
        dm = -1
        for c in range(k):
            for d in range(c + 1, k):
                g = 2.0 * E[c, d]
                if g > best:
                    best = g
                    cm = c
                    dm = d
        if cm < 0:
            break
        for v in range(n):
            K[cm, v] += K[dm, v]
        for v in range(n):
            if lab[v] == dm:
                lab[v] = cm
        sizes[cm] += sizes[dm]
        last = k - 1
        if dm != last:
            for v in range(n):
                K[dm, v] = K[last, v]
            for v in range(n):
                if lab[v] == last:
                    lab[v] = dm
            sizes[dm] = sizes[last]
        sizes[last] = 0
        for v in range(n):
            K[last, v] = 0.0
        k -= 1
    return lab


def _polish_python(B, lab0, tol):
    """Greedy polish of ``lab0`` (labels 0..k-1): first-improvement sweeps of single-unit
    moves (to the best other cluster or a new one, if it raises Q by more than ``tol``)
    until a sweep moves nothing, then the best merge of two clusters if it raises Q by more
    than ``tol``, then sweeps again, ...; stops when neither kind of move helps."""
    n = B.shape[0]
    K = np.zeros((n + 1, n))
    lab = [int(x) for x in lab0]
    k = max(lab) + 1 if n else 0
    sizes = [0] * (n + 1)
    for v in range(n):
        c = lab[v]
        sizes[c] += 1
        K[c] += B[v]
    diag = np.diagonal(B).tolist()
    while True:
        moved = True
        while moved:
            moved = False
            for i in range(n):
                a = lab[i]
                col = K[:k, i].tolist()
                base = col[a] - diag[i]
                best = tol
                j = -1
                for c in range(k):
                    if c != a:
                        d = 2.0 * (col[c] - base)
                        if d > best:
                            best = d
                            j = c
                if sizes[a] > 1:
                    d = -2.0 * base
                    if d > best:
                        best = d
                        j = k
                if j < 0:
                    continue
                moved = True
                row = B[i]
                K[a] -= row
                K[j] += row
                lab[i] = j
                sizes[a] -= 1
                sizes[j] += 1
                if j == k:
                    k += 1
                if sizes[a] == 0:
                    last = k - 1
                    if a != last:
                        K[a] = K[last]
                        lab = [a if x == last else x for x in lab]
                        sizes[a] = sizes[last]
                        sizes[last] = 0
                    K[last] = 0.0
                    k -= 1
        E = [[0.0] * k for _ in range(k)]
        Kt = K[:k].T.tolist()  # Kt[u][d] = K[d, u]
        for u in range(n):
            Ec = E[lab[u]]
            Ku = Kt[u]
            for d in range(k):
                Ec[d] += Ku[d]
        best = tol
        cm = dm = -1
        for c in range(k):
            for d in range(c + 1, k):
                g = 2.0 * E[c][d]
                if g > best:
                    best = g
                    cm, dm = c, d
        if cm < 0:
            break
        K[cm] += K[dm]
        lab = [cm if x == dm else x for x in lab]
        sizes[cm] += sizes[dm]
        last = k - 1
        if dm != last:
            K[dm] = K[last]
            lab = [dm if x == last else x for x in lab]
            sizes[dm] = sizes[last]
        sizes[last] = 0
        K[last] = 0.0
        k -= 1
    return np.asarray(lab, dtype=np.int64)


_NUMBA_KERNEL = None  # None: not tried yet; False: unavailable


_NUMBA_POLISH = None


def _numba_kernel():
    """The numba-compiled :func:`_mc_kernel` (compiled once, cached on disk), or False."""
    global _NUMBA_KERNEL, _NUMBA_POLISH
    if _NUMBA_KERNEL is None:
        _NUMBA_KERNEL = _NUMBA_POLISH = False
        if os.environ.get("UNITCLUST_NO_NUMBA", "") in ("", "0"):
            try:
                import numba
            except ImportError:
                pass
            else:
                _NUMBA_KERNEL = numba.njit(cache=True, nogil=True)(_mc_kernel)
                _NUMBA_POLISH = numba.njit(cache=True, nogil=True)(_polish_kernel)
    return _NUMBA_KERNEL


def _backend_kernel(backend, which):
    """The compiled kernel ``which`` ("mc" or "polish") for ``backend``, or False for Python."""
    if backend not in ("auto", "python", "numba"):
        raise ValueError(f"unknown backend {backend!r}")
    if backend == "python":
        return False
    kernel = _numba_kernel() and (_NUMBA_KERNEL if which == "mc" else _NUMBA_POLISH)
    if backend == "numba" and not kernel:
        raise RuntimeError("numba backend requested but numba is not available")
    return kernel


def _run_chain(B, labels, units, draws, target, backend="auto"):
    kernel = _backend_kernel(backend, "mc")
    if kernel:
        best_q, best_lab = kernel(
            np.ascontiguousarray(B, dtype=np.float64),
            np.ascontiguousarray(labels, dtype=np.int64),
            np.ascontiguousarray(units, dtype=np.int64),
            np.ascontiguousarray(draws, dtype=np.float64),
            float(target), TIE_TOL, ENTROPY_TOL, _S_INIT, _SOLVER_MAX_ITER,
        )
    else:
        best_q, best_lab = _mc_python(B, labels, units.tolist(), draws.tolist(), float(target))
    return float(best_q), best_lab


def _check_mc_args(n_steps, target_entropy):
    if int(n_steps) != n_steps or n_steps < 0:
        raise ValueError(f"n_steps must be a non-negative integer, got {n_steps!r}")
    if not (np.isfinite(target_entropy) and target_entropy >= 0):
        raise ValueError(f"target_entropy must be a finite number >= 0, got {target_entropy!r}")


def monte_carlo(B, labels, n_steps, target_entropy, rng, *, backend: str = "auto") -> tuple[float, np.ndarray]:
    """Algorithm 3 (Appendix A.1): entropy-controlled Monte Carlo refinement of ``labels``.

    ``n_steps`` times: pick a random unit i (of ``B``; pass ``B`` of the used units only),
    score moving it to every existing cluster and to one new cluster (incrementally,
    O(n) per candidate), update the best (Q, P) from every scored candidate, then draw the
    move from ``softmax(Q'/tau)`` with ``tau`` solved so its entropy is ``target_entropy``
    nats.  Random draws: ``rng.integers(n, size=n_steps)`` then ``rng.random(n_steps)``.
    Returns ``(Q*, labels*)`` for the best assignment ever seen, ``Q*`` recomputed by
    eq. 8 and labels canonical.  ``backend``: "auto" (numba if importable), "python", "numba".
    """
    _check_mc_args(n_steps, target_entropy)
    B = np.asarray(B, dtype=np.float64)
    n = B.shape[0]
    labels = _canonical(labels)
    if labels.shape != (n,) or (labels < 0).any():
        raise ValueError("monte_carlo: labels must be non-negative, one per row of B")
    if n == 0:
        return 0.0, labels
    Bs = 0.5 * (B + B.T)  # exact symmetry makes the incremental dQ exact
    units = rng.integers(0, n, size=int(n_steps))
    draws = rng.random(int(n_steps))
    _, best = _run_chain(Bs, labels, units, draws, target_entropy, backend)
    best = _canonical(best)
    return modularity(Bs, best), best


def greedy_polish(B, labels, *, backend: str = "auto") -> tuple[float, np.ndarray]:
    """Zero-temperature local search on ``labels`` (used to finish restart chains; not in the paper).

    Repeats (a) first-improvement sweeps over the units in index order, moving a unit to
    the cluster - an existing one or a new one - that raises Q the most, if by more than
    ``TIE_TOL`` (incremental dQ as in Algorithm 3), until a sweep moves nothing, and
    (b) the single best merge of two clusters (dQ = 2 sum_{u in c, v in d} B[u, v]) if it
    raises Q by more than ``TIE_TOL``; stops when (b) finds nothing.  Q therefore never
    falls, and the result is a local optimum: no single-unit move and no merge raises Q by
    more than ``TIE_TOL``.  Deterministic (no random draws).  Returns ``(Q, labels)`` with
    ``Q`` recomputed by eq. 8 and labels canonical.  ``backend`` as in :func:`monte_carlo`.
    """
    B = np.asarray(B, dtype=np.float64)
    n = B.shape[0]
    labels = _canonical(labels)
    if labels.shape != (n,) or (labels < 0).any():
        raise ValueError("greedy_polish: labels must be non-negative, one per row of B")
    if n == 0:
        return 0.0, labels
    Bs = 0.5 * (B + B.T)
    kernel = _backend_kernel(backend, "polish")
    if kernel:
        out = kernel(np.ascontiguousarray(Bs), np.ascontiguousarray(labels, dtype=np.int64), TIE_TOL)
    else:
        out = _polish_python(Bs, labels, TIE_TOL)
    out = _canonical(out)
    return modularity(Bs, out), out


def entropy_softmax(scores, target_entropy) -> tuple[np.ndarray, float]:
    """Move distribution of Algorithm 3 (lines 13-14): ``p = softmax(scores / tau)`` with
    ``tau`` chosen so that ``H(p) = target_entropy`` nats.

    Returns ``(p, beta)`` with ``beta = 1/tau`` (0 when even the uniform distribution has
    entropy <= target; ``inf`` when the tied best scores alone reach the target - then
    ``p`` is uniform over them).  Uses the same solver as the Monte Carlo kernel.
    """
    x = np.asarray(scores, dtype=np.float64).ravel()
    if x.size == 0 or not np.isfinite(x).all():
        raise ValueError("entropy_softmax: scores must be a non-empty finite vector")
    m = x.size
    gaps = x.max() - x
    ties = gaps <= TIE_TOL
    if math.log(m) <= target_entropy:
        return np.full(m, 1.0 / m), 0.0
    if ties.all() or math.log(int(ties.sum())) >= target_entropy:
        return ties / ties.sum(), math.inf
    g1 = float(gaps[~ties].min())
    h = np.where(ties, 0.0, gaps / g1)
    w, Z, s = _weights_py(h.tolist(), float(target_entropy), math.log(target_entropy), 0.0)
    return np.asarray(w) / Z, s / g1


# ----------------------------------------------------------------------------- drivers


def _empty_result(n, used, seed) -> ClusterResult:
    return ClusterResult(
        labels=np.full(n, -1, dtype=np.int64), q=float("nan"), q_init=float("nan"),
        n_clusters=float("nan"), n_unused=int((~used).sum()), status="all_unused", seed=int(seed),
    )


def _prepare(S, name):
    check_similarity(S, name)
    S = np.asarray(S, dtype=np.float64)
    S = 0.5 * (S + S.T)
    A, used = adjacency(S)
    return A, used


def _leiden(A_used, seed, restarts):
    import random

    import igraph as ig

    n = A_used.shape[0]
    iu, ju = np.triu_indices(n, k=1)
    w = A_used[iu, ju]
    keep = w > 0
    g = ig.Graph(n=n, edges=list(zip(iu[keep].tolist(), ju[keep].tolist())), directed=False)
    weights = w[keep].tolist()
    seeds = np.random.default_rng(seed).integers(0, 2**63, size=restarts).tolist()
    results = []
    try:
        for s in seeds:
            ig.set_random_number_generator(random.Random(s))
            part = g.community_leiden(objective_function="modularity", weights=weights, n_iterations=-1)
            results.append(np.asarray(part.membership, dtype=np.int64))
    finally:
        ig.set_random_number_generator(random)
    return results


def cluster_matrix(S, *, seed: int, method: str = "paper", n_steps: int = 5000,
                   target_entropy: float = 0.15, restarts: int = 1,
                   name: str = "similarity matrix", backend: str = "auto",
                   polish: bool | None = None) -> ClusterResult:
    """Cluster the units of one similarity matrix by maximising modularity (eqs. 6-10).

    ``method="paper"``: Algorithm 1 = :func:`spectral_init` (Algorithm 2) then
    :func:`monte_carlo` (Algorithm 3, ``n_steps`` steps at ``target_entropy`` nats);
    ``restarts = R`` keeps the best of R independent chains from the same spectral
    initialisation (R = 1 is the paper; chain 0 is the same for every R).
    ``polish``: finish each chain's best assignment with :func:`greedy_polish`;
    ``None`` (default) means ``restarts > 1``, so R = 1 is exactly the paper's algorithm
    and R > 1 is never worse than R = 1.  Ignored for ``method="leiden"``.
    ``method="leiden"``: igraph's Leiden with the modularity objective (best of
    ``restarts`` seeds); Q is recomputed with :func:`modularity`.
    Unused units (all-zero rows of A, eq. 6) get label -1; if every unit is unused
    (all-zero, 0x0 or 1x1 matrix) the result has status "all_unused" and NaN scores.
    """
    if method not in METHODS:
        raise ValueError(f"unknown clustering method {method!r}; expected one of {METHODS}")
    if int(restarts) != restarts or restarts < 1:
        raise ValueError(f"restarts must be a positive integer, got {restarts!r}")
    restarts = int(restarts)
    _check_mc_args(n_steps, target_entropy)
    A, used = _prepare(S, name)
    n = A.shape[0]
    if not used.any():
        return _empty_result(n, used, seed)
    A_used = A[np.ix_(used, used)]
    B = modularity_matrix(A_used)
    B = 0.5 * (B + B.T)
    if method == "paper":
        init = spectral_init(B)
        q_init = modularity(B, init)
        rng = np.random.default_rng(seed)
        do_polish = restarts > 1 if polish is None else bool(polish)
        best_q, best = -math.inf, init
        for _ in range(restarts):
            q, lab = monte_carlo(B, init, n_steps, target_entropy, rng, backend=backend)
            if do_polish:
                q, lab = greedy_polish(B, lab, backend=backend)
            if q > best_q:
                best_q, best = q, lab
    else:
        q_init = float("nan")
        best_q, best = -math.inf, None
        for lab in _leiden(A_used, seed, restarts):
            lab = _canonical(lab)
            q = modularity(B, lab)
            if q > best_q:
                best_q, best = q, lab
    labels = np.full(n, -1, dtype=np.int64)
    labels[used] = best
    return ClusterResult(
        labels=labels, q=float(best_q), q_init=float(q_init),
        n_clusters=number_of_clusters(best), n_unused=int((~used).sum()), status="ok", seed=int(seed),
    )


def monte_carlo_only(S, *, seed: int, n_steps: int = 1000, target_entropy: float = 0.15,
                     name: str = "similarity matrix", backend: str = "auto") -> float:
    """Q* from Algorithm 3 alone, starting from a single cluster (Supplemental Fig. S2 right).

    NaN when every unit is unused.
    """
    _check_mc_args(n_steps, target_entropy)
    A, used = _prepare(S, name)
    if not used.any():
        return float("nan")
    B = modularity_matrix(A[np.ix_(used, used)])
    B = 0.5 * (B + B.T)
    q, _ = monte_carlo(B, np.zeros(B.shape[0], dtype=np.int64), n_steps, target_entropy,
                       np.random.default_rng(seed), backend=backend)
    return q
