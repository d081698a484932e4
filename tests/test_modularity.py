"""Tests of unitclust.modularity (paper section 3.2, Appendix A.1; SPEC section 4)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unitclust import modularity as M


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


def onehot(labels):
    _, inv = np.unique(labels, return_inverse=True)
    P = np.zeros((len(labels), len(labels)))  # c = n columns, as in the paper
    P[np.arange(len(labels)), inv] = 1.0
    return P


def brute_B(S):
    A = np.array(S, dtype=float)
    np.fill_diagonal(A, 0.0)
    At = A / A.sum()
    one = np.ones((len(A), 1))
    return At - At @ one @ one.T @ At


def set_partitions(n):
    """All set partitions of n items as restricted growth strings, shape (Bell(n), n)."""
    out = []

    def rec(prefix, k):
        if len(prefix) == n:
            out.append(prefix.copy())
            return
        for c in range(k + 1):
            prefix.append(c)
            rec(prefix, max(k, c + 1))
            prefix.pop()

    rec([0], 1) if n else out.append([])
    return np.array(out, dtype=np.int64)


def exact_optimum(B):
    parts = set_partitions(B.shape[0])
    same = parts[:, :, None] == parts[:, None, :]
    qs = np.einsum("pij,ij->p", same, B)
    best = int(np.argmax(qs))
    return float(qs[best]), parts[best]


# ----------------------------------------------------------------------------- eq. 6-8


def test_adjacency_zero_diagonal_and_used_mask():
    S = random_similarity(6, 0)
    S[2, :] = 0
    S[:, 2] = 0
    S[2, 2] = 5.0  # self-similarity alone does not make a unit used
    A, used = M.adjacency(S)
    assert np.all(np.diag(A) == 0)
    assert used.tolist() == [True, True, False, True, True, True]
    off = ~np.eye(6, dtype=bool)
    assert np.array_equal(A[off], S[off])


@pytest.mark.parametrize("seed", range(4))
def test_modularity_matches_trace_formula(seed):
    rng = np.random.default_rng(seed)
    n = 12
    S = random_similarity(n, seed)
    A, _ = M.adjacency(S)
    B = M.modularity_matrix(A)
    np.testing.assert_allclose(B, brute_B(S), rtol=0, atol=1e-15)
    np.testing.assert_allclose(B.sum(axis=1), 0.0, atol=1e-15)  # B 1 = 0 (At sums to one)
    for _ in range(5):
        labels = rng.integers(-1, 5, size=n)
        P = onehot(labels)
        assert M.modularity(B, labels) == pytest.approx(np.trace(P.T @ B @ P), abs=1e-14)
    assert M.modularity(B, np.zeros(n, dtype=int)) == pytest.approx(0.0, abs=1e-14)


def test_modularity_matrix_rejects_zero():
    with pytest.raises(ValueError):
        M.modularity_matrix(np.zeros((3, 3)))


@pytest.mark.parametrize("seed", range(3))
def test_incremental_delta_q_formula(seed):
    """dQ(i: a -> c) = 2 (K[c, i] - K[a, i] + B[i, i]), K[new, i] = 0, checked against
    recomputing Tr(P^T B P) (the formula the Monte Carlo kernels use)."""
    rng = np.random.default_rng(seed)
    n = 10
    B = M.modularity_matrix(M.adjacency(random_similarity(n, seed + 10))[0])
    labels = rng.integers(0, 4, size=n)
    labels[n - 1] = 7  # a singleton
    for _ in range(60):
        i = int(rng.integers(n)) if rng.random() < 0.8 else n - 1
        a = labels[i]
        clusters = np.unique(labels)
        K = np.array([[B[u, labels == c].sum() for c in clusters] for u in range(n)])
        q0 = M.modularity(B, labels)
        targets = list(clusters) + [labels.max() + 1]  # every cluster and a new one
        for c in targets:
            Kc = K[i, list(clusters).index(c)] if c in clusters else 0.0
            Ka = K[i, list(clusters).index(a)]
            dq = 0.0 if c == a else 2.0 * (Kc - Ka + B[i, i])
            moved = labels.copy()
            moved[i] = c
            assert dq == pytest.approx(M.modularity(B, moved) - q0, abs=1e-14)
        labels[i] = rng.choice(targets)


@pytest.mark.parametrize("backend", ["python", "kernel"])
def test_kernel_bookkeeping_matches_recomputed_q(backend):
    """The incrementally tracked best Q equals eq. 8 recomputed for the returned labels,
    after every prefix of a chain that makes many moves (new clusters, emptied clusters)."""
    B = M.modularity_matrix(M.adjacency(random_similarity(9, 3, blocks=[3, 3, 3]))[0])
    rng = np.random.default_rng(0)
    units = rng.integers(0, 9, size=300)
    draws = rng.random(300)
    init = np.arange(9) % 2
    for t in list(range(0, 40)) + [300]:
        if backend == "python":
            q, lab = M._mc_python(B, init, units[:t].tolist(), draws[:t].tolist(), 1.0)
        else:
            q, lab = M._mc_kernel(B, init, units[:t], draws[:t], 1.0, M.TIE_TOL, M.ENTROPY_TOL,
                                  M._S_INIT, M._SOLVER_MAX_ITER)
        assert q == pytest.approx(M.modularity(B, lab), abs=1e-13)


def test_python_and_kernel_paths_are_bit_identical():
    """The pure-Python kernel and the loop kernel (the one numba compiles) agree bit for bit."""
    for seed in range(3):
        S = random_similarity(12, seed, blocks=[4, 4, 4], strength=0.3, noise=0.4)
        B = M.modularity_matrix(M.adjacency(S)[0])
        rng = np.random.default_rng(seed)
        units, draws = rng.integers(0, 12, size=400), rng.random(400)
        init = M.spectral_init(B)
        for target in (0.15, 0.6):
            qp, lp = M._mc_python(B, init, units.tolist(), draws.tolist(), target)
            qk, lk = M._mc_kernel(B, init, units, draws, target, M.TIE_TOL, M.ENTROPY_TOL,
                                  M._S_INIT, M._SOLVER_MAX_ITER)
            assert qp == qk
            assert np.array_equal(lp, lk)


def test_numba_backend_is_bit_identical_to_python():
    if not M._numba_kernel():
        pytest.skip("numba not installed")
    S = random_similarity(40, 1, blocks=[10, 15, 15], strength=0.2, noise=0.5)
    a = M.cluster_matrix(S, seed=5, backend="python", n_steps=3000)
    b = M.cluster_matrix(S, seed=5, backend="numba", n_steps=3000)
    assert a.q == b.q
    assert np.array_equal(a.labels, b.labels)


# ----------------------------------------------------------------------------- Algorithms 1-3


def test_planted_blocks_recovered():
    blocks = [6, 6, 6]
    truth = np.repeat([0, 1, 2], 6)
    perm = np.random.default_rng(1).permutation(18)
    S = random_similarity(18, 7, blocks=blocks)[np.ix_(perm, perm)]
    for method in ("paper", "leiden"):
        res = M.cluster_matrix(S, seed=3, method=method)
        assert res.status == "ok"
        assert np.array_equal(res.labels, M._canonical(truth[perm]))
        assert res.n_clusters == pytest.approx(3.0)
    init = M.spectral_init(M.modularity_matrix(M.adjacency(S)[0]))
    assert np.array_equal(init, M._canonical(truth[perm]))


@pytest.mark.parametrize("n,seed", [(5, 0), (6, 1), (7, 2), (8, 3), (8, 4), (9, 5)])
def test_exact_optimum_found(n, seed):
    if seed % 2:
        S = random_similarity(n, seed)  # unstructured
    else:
        S = random_similarity(n, seed, blocks=[n // 2, n - n // 2], strength=0.05, noise=0.1)
    B = M.modularity_matrix(M.adjacency(S)[0])
    q_opt, _ = exact_optimum(B)
    res = M.cluster_matrix(S, seed=seed, n_steps=1500, restarts=3)
    assert res.q == pytest.approx(q_opt, abs=1e-9)
    assert res.q == pytest.approx(M.modularity(B, res.labels), abs=1e-14)
    assert res.q_init <= res.q + 1e-15
    leiden = M.cluster_matrix(S, seed=seed, method="leiden", restarts=3)
    assert leiden.q <= q_opt + 1e-12


def test_spectral_init_only_keeps_improving_splits():
    for seed in range(5):
        S = random_similarity(15, seed, blocks=[5, 10], strength=0.1, noise=0.3)
        B = M.modularity_matrix(M.adjacency(S)[0])
        labels = M.spectral_init(B)
        assert labels.dtype == np.int64 and labels[0] == 0
        assert np.array_equal(labels, M._canonical(labels))
        assert M.modularity(B, labels) >= M.modularity(B, np.zeros(15)) - 1e-15


def test_restarts_never_worse_and_first_chain_shared():
    S = random_similarity(30, 11, blocks=[10, 10, 10], strength=0.05, noise=0.3)
    r1 = M.cluster_matrix(S, seed=2, n_steps=400)
    r1b = M.cluster_matrix(S, seed=2, n_steps=400, restarts=1)
    r4 = M.cluster_matrix(S, seed=2, n_steps=400, restarts=4)
    assert r1.q == r1b.q and np.array_equal(r1.labels, r1b.labels)
    assert r4.q >= r1.q
    assert r4.q_init == r1.q_init


def test_monte_carlo_only_and_init():
    S = random_similarity(16, 4, blocks=[8, 8], strength=0.5)
    q = M.monte_carlo_only(S, seed=1, n_steps=1000)
    assert q == M.monte_carlo_only(S, seed=1, n_steps=1000)
    res = M.cluster_matrix(S, seed=1)
    assert q <= res.q + 1e-12 and q > 0.2
    assert math.isnan(M.monte_carlo_only(np.zeros((4, 4)), seed=0))
    B = M.modularity_matrix(M.adjacency(S)[0])
    q0, lab0 = M.monte_carlo(B, np.zeros(16, dtype=int), 0, 0.15, np.random.default_rng(0))
    assert q0 == pytest.approx(0.0, abs=1e-15) and np.all(lab0 == 0)


def test_deterministic_bit_identical():
    S = random_similarity(24, 9, blocks=[8, 8, 8], strength=0.05, noise=0.4)
    a = M.cluster_matrix(S, seed=123, n_steps=800)
    b = M.cluster_matrix(S, seed=123, n_steps=800)
    assert a.q == b.q and a.q_init == b.q_init and a.n_clusters == b.n_clusters
    assert np.array_equal(a.labels, b.labels) and a.labels.dtype == np.int64
    c = M.cluster_matrix(S, seed=124, n_steps=800)  # may differ; must still be valid
    assert c.q == pytest.approx(M.modularity(M.modularity_matrix(M.adjacency(S)[0]), c.labels), abs=1e-14)
    la = M.cluster_matrix(S, seed=5, method="leiden", restarts=3)
    lb = M.cluster_matrix(S, seed=5, method="leiden", restarts=3)
    assert la.q == lb.q and np.array_equal(la.labels, lb.labels)


def test_leiden_result_is_valid():
    S = random_similarity(20, 2, blocks=[7, 6, 7], strength=0.2, noise=0.5)
    S[4, :] = 0
    S[:, 4] = 0
    res = M.cluster_matrix(S, seed=0, method="leiden", restarts=5)
    assert isinstance(res, M.ClusterResult) and res.status == "ok"
    assert res.labels[4] == -1 and res.n_unused == 1
    assert math.isnan(res.q_init)
    A, used = M.adjacency(S)
    assert res.q == pytest.approx(M.modularity(M.modularity_matrix(A[np.ix_(used, used)]), res.labels[used]), abs=1e-15)
    assert res.q == pytest.approx(M.modularity(M.modularity_matrix(A), res.labels), abs=1e-14)
    assert np.array_equal(res.labels[used], M._canonical(res.labels[used]))


# ----------------------------------------------------------------------------- unused units


def test_unused_units_labelled_minus_one():
    S = random_similarity(10, 0, blocks=[5, 5])
    for u in (0, 6):
        S[u, :] = 0
        S[:, u] = 0
    S[6, 6] = 3.0
    res = M.cluster_matrix(S, seed=1, n_steps=500)
    assert res.status == "ok" and res.n_unused == 2
    assert res.labels[0] == -1 and res.labels[6] == -1
    used = res.labels >= 0
    assert used.sum() == 8 and set(res.labels[used]) == {0, 1}
    assert res.n_clusters == pytest.approx(2.0)


@pytest.mark.parametrize("S", [np.zeros((5, 5)), np.eye(4), np.ones((1, 1)), np.zeros((1, 1)), np.zeros((0, 0))])
@pytest.mark.parametrize("method", ["paper", "leiden"])
def test_all_unused(S, method):
    res = M.cluster_matrix(S, seed=0, method=method)
    assert res.status == "all_unused"
    assert math.isnan(res.q) and math.isnan(res.q_init) and math.isnan(res.n_clusters)
    assert res.n_unused == len(S) and np.all(res.labels == -1) and res.labels.shape == (len(S),)


# ----------------------------------------------------------------------------- temperature


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(2, 25),
    scale=st.floats(1e-8, 1e2),
    seed=st.integers(0, 2**32 - 1),
    target=st.sampled_from([0.05, 0.15, 0.5, 1.0]),
)
def test_entropy_softmax_hits_target(m, scale, seed, target):
    x = np.random.default_rng(seed).normal(size=m) * scale
    p, beta = M.entropy_softmax(x, target)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    H = -np.sum(p[p > 0] * np.log(p[p > 0]))
    if math.log(m) <= target:
        assert beta == 0.0 and np.allclose(p, 1.0 / m)
    else:
        assert abs(H - target) < 1e-6
        # softmax of the scores with the solved beta, and ordered like the scores
        q = np.exp(beta * (x - x.max()))
        np.testing.assert_allclose(p, q / q.sum(), rtol=1e-9, atol=1e-300)


def test_entropy_softmax_degenerate_cases():
    p, beta = M.entropy_softmax([0.3, 0.3, 0.3], 0.15)  # all tie
    assert beta == math.inf and np.allclose(p, 1 / 3)
    p, beta = M.entropy_softmax([1.0, 1.0, 0.0, -2.0], 0.15)  # two tied best: log 2 > target
    assert beta == math.inf and np.allclose(p, [0.5, 0.5, 0, 0])
    p, beta = M.entropy_softmax([1.0, 0.0], 0.9)  # log 2 < target: uniform
    assert beta == 0.0 and np.allclose(p, 0.5)
    p, beta = M.entropy_softmax([2.0], 0.15)
    assert p.tolist() == [1.0]
    p, beta = M.entropy_softmax([0.0, 1.0, 0.5], 0.0)  # zero entropy: greedy
    assert p.tolist() == [0.0, 1.0, 0.0]
    # two candidates: closed form p_max solves the binary entropy equation
    p, beta = M.entropy_softmax([0.0, 1e-3], 0.15)
    assert -(p * np.log(p)).sum() == pytest.approx(0.15, abs=1e-7) and p[1] > 0.95


def test_choose_matches_entropy_softmax():
    """The sampler inside the Python kernel draws from the same distribution."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        dq = (rng.normal(size=int(rng.integers(2, 8))) * 1e-3).tolist()
        p, _ = M.entropy_softmax(dq, 0.15)
        cdf = np.cumsum(p)
        for u in (0.01, 0.5, 0.97, 0.999):
            j, _ = M._choose_py(dq, max(dq), 0.15, math.log(0.15), 0.0, u)
            assert j == int(np.searchsorted(cdf, u * cdf[-1], side="right"))


# ----------------------------------------------------------------------------- eq. 10, seeds, checks


def test_number_of_clusters():
    assert M.number_of_clusters([0, 0, 1, 1, 2, 2, 3, 3]) == pytest.approx(4.0, rel=1e-12)
    assert M.number_of_clusters([5, 5, 5, -1, -1]) == pytest.approx(1.0)
    assert M.number_of_clusters([0, 0, 0, 1, -1, -1, -1]) == pytest.approx(math.exp(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25))))
    assert M.number_of_clusters(np.arange(7)) == pytest.approx(7.0)
    assert math.isnan(M.number_of_clusters([-1, -1]))
    assert math.isnan(M.number_of_clusters([]))


def test_stable_seed():
    assert M.stable_seed(0, "model", 1, "cov") == 703185357067946393
    assert M.stable_seed(np.int64(0), "model", np.int32(1), "cov") == 703185357067946393
    seeds = {M.stable_seed(s, m, layer, meas) for s in (0, 1) for m in ("a", "b") for layer in (0, 1) for meas in ("cov", "hess")}
    assert len(seeds) == 16
    assert M.stable_seed(0, "1") != M.stable_seed(0, 1) != M.stable_seed(1, 0)
    assert all(0 <= s < 2**63 for s in seeds)
    with pytest.raises(TypeError):
        M.stable_seed(object())


@pytest.mark.parametrize("bad,what", [
    (np.array([[1.0, np.nan], [np.nan, 1.0]]), "non-finite"),
    (np.array([[1.0, np.inf], [np.inf, 1.0]]), "non-finite"),
    (np.array([[1.0, 0.5], [0.4, 1.0]]), "symmetric"),
    (np.array([[1.0, -0.5], [-0.5, 1.0]]), "negative"),
    (np.ones((2, 3)), "square"),
    (np.ones(3), "square"),
])
def test_check_similarity_rejects(bad, what):
    with pytest.raises(ValueError, match=f"layer 2 cov.*{what}"):
        M.check_similarity(bad, "layer 2 cov")
    with pytest.raises(ValueError, match="layer 2 cov"):
        M.cluster_matrix(bad, seed=0, name="layer 2 cov")


def test_check_similarity_accepts_tiny_asymmetry():
    S = random_similarity(5, 0)
    S[0, 1] *= 1 + 1e-12
    M.check_similarity(S, "x")
    assert M.cluster_matrix(S, seed=0, n_steps=100).status == "ok"


def test_bad_arguments():
    S = random_similarity(5, 0)
    with pytest.raises(ValueError, match="method"):
        M.cluster_matrix(S, seed=0, method="louvain")
    with pytest.raises(ValueError):
        M.cluster_matrix(S, seed=0, restarts=0)
    with pytest.raises(ValueError):
        M.cluster_matrix(S, seed=0, n_steps=-1)
    with pytest.raises(ValueError):
        M.cluster_matrix(S, seed=0, target_entropy=-0.1)


def test_degenerate_graphs():
    # complete uniform graph: every split lowers Q, the optimum is one cluster with Q = 0
    res = M.cluster_matrix(np.ones((8, 8)), seed=0, n_steps=500)
    assert res.q == pytest.approx(0.0, abs=1e-15) and np.all(res.labels == 0) and res.n_clusters == 1.0
    # two disconnected cliques of 4: Q* = 1/2, found by both methods
    S = np.kron(np.eye(2), np.ones((4, 4)))
    for method in ("paper", "leiden"):
        res = M.cluster_matrix(S, seed=0, method=method)
        assert res.q == pytest.approx(0.5, abs=1e-14)
        assert res.labels.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    # high target entropy (near-uniform moves) still returns a consistent best
    S = random_similarity(12, 1, blocks=[6, 6])
    res = M.cluster_matrix(S, seed=0, n_steps=300, target_entropy=5.0)
    B = M.modularity_matrix(M.adjacency(S)[0])
    assert res.q == pytest.approx(M.modularity(B, res.labels), abs=1e-14)
    # target entropy 0: greedy ascent
    res = M.cluster_matrix(S, seed=0, n_steps=300, target_entropy=0.0)
    assert res.labels.tolist() == [0] * 6 + [1] * 6


# ----------------------------------------------------------------------------- restarts and polish


def _improving_moves(B, labels, tol=1e-13):
    """Every single-unit move and every merge of two clusters that raises Q (eq. 8,
    recomputed from scratch) by more than ``tol``."""
    q = M.modularity(B, labels)
    k = int(labels.max()) + 1
    found = []
    for i in range(len(labels)):
        for c in range(k + 1):  # every cluster and a new one
            moved = labels.copy()
            moved[i] = c
            if M.modularity(B, moved) > q + tol:
                found.append(("move", i, c))
    for c in range(k):
        for d in range(c + 1, k):
            merged = np.where(labels == d, c, labels)
            if M.modularity(B, merged) > q + tol:
                found.append(("merge", c, d))
    return found


@pytest.mark.parametrize("backend", ["python", "auto"])
def test_greedy_polish_raises_q_and_ends_at_local_optimum(backend):
    rng = np.random.default_rng(0)
    for seed in range(3):
        S = random_similarity(14, seed, blocks=[5, 4, 5], strength=0.15, noise=0.5)
        B = M.modularity_matrix(M.adjacency(S)[0])
        q_chain, chain = M.monte_carlo(B, M.spectral_init(B), 50, 0.15, np.random.default_rng(seed))
        for init in (np.zeros(14, int), np.arange(14), rng.integers(0, 4, 14), M.spectral_init(B), chain):
            q, lab = M.greedy_polish(B, init, backend=backend)
            assert q >= M.modularity(B, init) - 1e-15
            assert q == pytest.approx(M.modularity(B, lab), abs=1e-15)
            assert np.array_equal(lab, M._canonical(lab))
            assert _improving_moves(B, lab) == []


def test_greedy_polish_merges_clusters():
    """Ring of 12 triangles joined by single edges, one cluster per triangle: no single-unit
    move raises Q, but merging neighbouring triangles does (the resolution limit of
    modularity); the polish finds the merges."""
    n_cl, s = 12, 3
    S = np.kron(np.eye(n_cl), np.ones((s, s)))
    for c in range(n_cl):
        u, v = c * s, ((c + 1) % n_cl) * s + 1
        S[u, v] = S[v, u] = 1.0
    B = M.modularity_matrix(M.adjacency(S)[0])
    triangles = np.repeat(np.arange(n_cl), s)
    moves = _improving_moves(B, triangles)
    assert moves and all(kind == "merge" for kind, *_ in moves)
    q, lab = M.greedy_polish(B, triangles)
    assert q > M.modularity(B, triangles) + 1e-3
    assert lab.max() + 1 < n_cl
    assert _improving_moves(B, lab) == []


def test_greedy_polish_python_and_kernel_paths_are_bit_identical():
    rng = np.random.default_rng(1)
    for seed in range(3):
        S = random_similarity(11, seed, blocks=[4, 3, 4], strength=0.2, noise=0.5)
        B = M.modularity_matrix(M.adjacency(S)[0])
        for init in (np.zeros(11, np.int64), np.arange(11), M._canonical(rng.integers(0, 5, 11))):
            a = M._polish_python(B, init, M.TIE_TOL)
            b = M._polish_kernel(B, init, M.TIE_TOL)
            assert np.array_equal(a, b)
    if M._numba_kernel():
        S = random_similarity(40, 1, blocks=[10, 15, 15], strength=0.2, noise=0.5)
        B = M.modularity_matrix(M.adjacency(S)[0])
        for init in (np.arange(40), M._canonical(rng.integers(0, 6, 40))):
            qp, lp = M.greedy_polish(B, init, backend="python")
            qn, ln = M.greedy_polish(B, init, backend="numba")
            assert qp == qn and np.array_equal(lp, ln)


def test_greedy_polish_arguments():
    B = M.modularity_matrix(M.adjacency(random_similarity(4, 0))[0])
    with pytest.raises(ValueError):
        M.greedy_polish(B, [0, 1, -1, 0])
    with pytest.raises(ValueError):
        M.greedy_polish(B, [0, 1])
    assert M.greedy_polish(np.zeros((0, 0)), np.zeros(0, int))[0] == 0.0


def test_polish_default_only_for_restarts():
    """R = 1 is the paper's algorithm unpolished; polish (default for R > 1, or explicit)
    never lowers Q; restarts never do worse than R = 1."""
    S = random_similarity(30, 11, blocks=[10, 10, 10], strength=0.05, noise=0.3)
    r1 = M.cluster_matrix(S, seed=2, n_steps=400)
    r1_plain = M.cluster_matrix(S, seed=2, n_steps=400, polish=False)
    r1_pol = M.cluster_matrix(S, seed=2, n_steps=400, polish=True)
    assert r1.q == r1_plain.q and np.array_equal(r1.labels, r1_plain.labels)
    assert r1_pol.q >= r1.q
    r4 = M.cluster_matrix(S, seed=2, n_steps=400, restarts=4)
    r4_plain = M.cluster_matrix(S, seed=2, n_steps=400, restarts=4, polish=False)
    r4_pol = M.cluster_matrix(S, seed=2, n_steps=400, restarts=4, polish=True)
    assert r4.q == r4_pol.q and np.array_equal(r4.labels, r4_pol.labels)
    assert r4.q >= r4_plain.q >= r1.q
    assert r4.q >= r1_pol.q
    B = M.modularity_matrix(M.adjacency(S)[0])
    assert _improving_moves(B, r4.labels) == []
    assert r4.q == pytest.approx(M.modularity(B, r4.labels), abs=1e-14)


def test_restarts_with_polish_deterministic_and_backends_agree():
    S = random_similarity(24, 9, blocks=[8, 8, 8], strength=0.05, noise=0.4)
    a = M.cluster_matrix(S, seed=7, n_steps=300, restarts=3)
    b = M.cluster_matrix(S, seed=7, n_steps=300, restarts=3)
    assert a.q == b.q and np.array_equal(a.labels, b.labels)
    if M._numba_kernel():
        c = M.cluster_matrix(S, seed=7, n_steps=300, restarts=3, backend="python")
        d = M.cluster_matrix(S, seed=7, n_steps=300, restarts=3, backend="numba")
        assert c.q == d.q == a.q and np.array_equal(c.labels, d.labels)
