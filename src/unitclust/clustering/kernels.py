"""The compiled kernels: Algorithm 3 (Appendix A.1), its temperature solve, and the greedy polish.

Every ``numba.njit`` function of the clustering lives in this one file, once: numba's on-disk
cache of a compiled function is invalidated only when the file holding that function changes,
so kernels that call helpers in another file would keep running stale helper code after an
edit.  ``NUMBA_DISABLE_JIT=1`` runs the same code as plain Python.

Incremental cluster state shared by the two kernels:

A state is ``(K, lab, sizes, k)``: ``k`` clusters in slots ``0..k-1``, ``lab[u]`` the slot
of unit ``u``, ``sizes[c]`` the size of cluster ``c`` and ``K[c, u] = sum_{v in c} B[u, v]``
(``K`` and ``sizes`` have ``n + 1`` rows, one spare for a new cluster).  With ``B``
symmetric, moving unit ``i`` from cluster ``a`` to ``c != a`` changes Q (eq. 8) by
``2 (K[c, i] - K[a, i] + B[i, i])``, with ``K[c, i] = 0`` for a new cluster; each move or
merge updates the state in O(n).

"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def build_state(B, lab0):
    """State for labels ``lab0`` (0..k-1, every label used): ``(K, lab, sizes, k)``."""
    n = B.shape[0]
    K = np.zeros((n + 1, n))
    lab = lab0.copy()
    sizes = np.zeros(n + 1, dtype=np.int64)
    k = 0
    for v in range(n):
        c = lab[v]
        sizes[c] += 1
        k = max(k, c + 1)
        for u in range(n):
            K[c, u] += B[v, u]
    return K, lab, sizes, k


@numba.njit(cache=True, nogil=True)
def score_moves(B, K, lab, sizes, k, i, dq):
    """Change of Q (eq. 8) for moving unit ``i`` to each candidate cluster, into ``dq``.

    ``dq[c]`` for every existing cluster ``c`` (0 for staying in its own cluster ``a``) and,
    unless ``i`` is alone in ``a`` (then a new cluster is the same state as staying),
    ``dq[k]`` for a new cluster.  Returns the number of candidates ``m`` (``k`` or ``k + 1``).
    """
    a = lab[i]
    base = K[a, i] - B[i, i]
    for c in range(k):
        dq[c] = 2.0 * (K[c, i] - base)
    dq[a] = 0.0
    if sizes[a] > 1:
        dq[k] = -2.0 * base
        return k + 1
    return k


@numba.njit(cache=True, nogil=True)
def drop_slot(K, lab, sizes, k, a):
    """Remove the empty (or merged-away) cluster in slot ``a``: the last cluster ``k - 1``
    moves into slot ``a`` so the slots stay contiguous.  Returns the new ``k``."""
    n = lab.shape[0]
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
    return k - 1


@numba.njit(cache=True, nogil=True)
def move_unit(B, K, lab, sizes, k, i, j):
    """Move unit ``i`` to cluster ``j`` (``j == k``: a new cluster) and drop its old
    cluster if that is now empty.  Returns the new ``k``."""
    n = B.shape[0]
    a = lab[i]
    for v in range(n):
        K[a, v] -= B[i, v]
        K[j, v] += B[i, v]
    lab[i] = j
    sizes[a] -= 1
    sizes[j] += 1
    if j == k:
        k += 1
    if sizes[a] == 0:
        k = drop_slot(K, lab, sizes, k, a)
    return k


@numba.njit(cache=True, nogil=True)
def merge_clusters(K, lab, sizes, k, c, d):
    """Merge cluster ``d`` into cluster ``c``.  Returns the new ``k``."""
    n = lab.shape[0]
    for v in range(n):
        K[c, v] += K[d, v]
    for v in range(n):
        if lab[v] == d:
            lab[v] = c
    sizes[c] += sizes[d]
    return drop_slot(K, lab, sizes, k, d)


# ----------------------------------------------------------------- Algorithm 3
ENTROPY_TOL = 1e-7  # the temperature solve stops when |H - target| < ENTROPY_TOL nats
SOLVER_MAX_ITER = 200
S_INIT = 3.5  # first guess of beta times the smallest non-tie score gap


@numba.njit(cache=True, nogil=True)
def solve_weights(h, m, target, log_target, s, w):
    """Solve ``H(s) = target`` for ``p_c ~ w_c = exp(-s h_c)``, ``c < m``; return ``(Z, s)``.

    ``h_c >= 0`` are the score gaps to the best candidate divided by the smallest non-tie
    gap (ties have ``h_c = 0``), ``H`` is the entropy of ``p`` in nats and ``s`` the inverse
    temperature times the smallest non-tie gap.  Newton's method on ``log H(s)``, kept inside
    a bracket by bisection (doubling ``s`` while there is no upper bound), started at ``s``
    (``S_INIT`` if ``s <= 0``).  ``w[:m]`` holds the weights at the returned ``s`` and
    ``Z`` their sum.
    """
    lo = 0.0
    hi = np.inf
    if not s > 0.0:
        s = S_INIT
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
        if abs(f) < ENTROPY_TOL or it >= SOLVER_MAX_ITER:
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
    return Z, s


@numba.njit(cache=True, nogil=True)
def move_weights(dq, m, dmax, target, log_target, s, tie_tol, h, w):
    """Unnormalised move probabilities of Algorithm 3 (lines 13-14) for the scores ``dq[:m]``
    (maximum ``dmax``): ``w[:m] ~ softmax(dq / tau)`` with the entropy ``target`` nats.

    Returns ``(Z, s, beta)``: ``Z = sum(w[:m])``, ``s`` the warm start for the next solve and
    ``beta = 1/tau``.  If even the uniform distribution has entropy <= ``target``, ``w`` is
    uniform (``beta = 0``); if the candidates tied for the best score (within ``tie_tol``)
    alone carry entropy >= ``target``, ``w`` is uniform over them (``beta = inf``);
    otherwise :func:`solve_weights` finds ``tau``.  ``h`` is scratch space.
    """
    n_tie = 0
    g1 = np.inf
    for c in range(m):
        g = dmax - dq[c]
        h[c] = g
        if g <= tie_tol:
            n_tie += 1
        elif g < g1:
            g1 = g
    if math.log(m) <= target:
        for c in range(m):
            w[c] = 1.0
        return float(m), s, 0.0
    if n_tie == m or math.log(n_tie) >= target:
        for c in range(m):
            w[c] = 1.0 if h[c] <= tie_tol else 0.0
        return float(n_tie), s, np.inf
    for c in range(m):
        h[c] = 0.0 if h[c] <= tie_tol else h[c] / g1
    Z, s = solve_weights(h, m, target, log_target, s, w)
    return Z, s, s / g1


@numba.njit(cache=True, nogil=True)
def draw_move(w, m, Z, u):
    """Index ``c`` drawn with probability ``w[c] / Z`` by the uniform draw ``u`` in [0, 1):
    the first ``c`` whose cumulative weight exceeds ``u Z`` (if rounding leaves none, the
    last candidate with positive weight)."""
    thr = u * Z
    cum = 0.0
    for c in range(m):
        cum += w[c]
        if cum > thr:
            return c
    for c in range(m - 1, -1, -1):
        if w[c] > 0.0:
            return c
    return 0


@numba.njit(cache=True, nogil=True)
def mc_kernel(B, lab0, units, draws, target, tie_tol):
    """Algorithm 3 on symmetric ``B`` from labels ``lab0`` (0..k-1, every label used).

    Step ``t`` scores every move of unit ``units[t]`` (:func:`score_moves`),
    updates the best state from every scored candidate (line 10), and makes the move drawn
    by ``draws[t]`` from :func:`move_weights` (slots as in the module docstring).  Returns
    ``(best_q, best_lab, q, lab)``: the best state seen and the final state, Q tracked
    incrementally.
    """
    n = B.shape[0]
    K, lab, sizes, k = build_state(B, lab0)
    q = 0.0
    for v in range(n):
        q += K[lab[v], v]
    best_q = q
    best_lab = lab.copy()
    log_target = math.log(target) if target > 0 else -np.inf
    dq = np.empty(n + 1)
    h = np.empty(n + 1)
    w = np.empty(n + 1)
    s = 0.0
    for t in range(units.shape[0]):
        i = units[t]
        a = lab[i]
        m = score_moves(B, K, lab, sizes, k, i, dq)
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
        Z, s, _ = move_weights(dq, m, dmax, target, log_target, s, tie_tol, h, w)
        j = draw_move(w, m, Z, draws[t])
        if j == a:
            continue
        q += dq[j]
        k = move_unit(B, K, lab, sizes, k, i, j)
    return best_q, best_lab, q, lab


# ----------------------------------------------------------------- greedy polish
@numba.njit(cache=True, nogil=True)
def best_merge(K, lab, k, E, tol):
    """The pair of clusters ``c < d`` whose merge raises Q the most, if by more than ``tol``:
    ``dQ = 2 E[c, d]`` with ``E[c, d] = sum_{u in c} K[d, u]``.  Returns ``(c, d)`` or
    ``(-1, -1)``; ``E`` is scratch space."""
    n = lab.shape[0]
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
    return cm, dm


@numba.njit(cache=True, nogil=True)
def polish_kernel(B, lab0, tol):
    """Greedy polish of ``lab0`` (0..k-1, every label used) on symmetric ``B``.

    Sweeps over the units in index order, moving each to the other cluster (existing or
    new) that raises Q the most, if by more than ``tol``, until a sweep moves nothing; then
    the best merge (:func:`best_merge`); repeated until no merge raises Q by more than
    ``tol``.  Returns the labels.
    """
    n = B.shape[0]
    K, lab, sizes, k = build_state(B, lab0)
    dq = np.empty(n + 1)
    E = np.zeros((n, n))
    while True:
        moved = True
        while moved:
            moved = False
            for i in range(n):
                a = lab[i]
                m = score_moves(B, K, lab, sizes, k, i, dq)
                best = tol
                j = -1
                for c in range(m):
                    if c != a and dq[c] > best:
                        best = dq[c]
                        j = c
                if j >= 0:
                    moved = True
                    k = move_unit(B, K, lab, sizes, k, i, j)
        cm, dm = best_merge(K, lab, k, E, tol)
        if cm < 0:
            break
        k = merge_clusters(K, lab, sizes, k, cm, dm)
    return lab
