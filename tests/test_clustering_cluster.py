"""The drivers: Algorithm 1 (Appendix A.1), Leiden, Algorithm 3 alone, unused units, restarts."""
import math

import numpy as np
import pytest
from support.clustering import B_of, improving_moves, random_similarity

from unitclust.clustering.cluster import ClusterResult, cluster_matrix, monte_carlo_only
from unitclust.clustering.objective import adjacency, canonical_labels, modularity, modularity_matrix
from unitclust.clustering.spectral import spectral_init


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

    rec([0], 1)
    return np.array(out, dtype=np.int64)


def exact_optimum(B):
    parts = set_partitions(B.shape[0])
    same = parts[:, :, None] == parts[:, None, :]
    return float(np.einsum("pij,ij->p", same, B).max())


def test_planted_blocks_recovered():
    truth = np.repeat([0, 1, 2], 6)
    perm = np.random.default_rng(1).permutation(18)
    S = random_similarity(18, 7, blocks=[6, 6, 6])[np.ix_(perm, perm)]
    for method in ("paper", "leiden"):
        res = cluster_matrix(S, seed=3, method=method)
        assert res.status == "ok"
        assert np.array_equal(res.labels, canonical_labels(truth[perm]))
        assert res.n_clusters == pytest.approx(3.0)
    assert np.array_equal(spectral_init(B_of(S)), canonical_labels(truth[perm]))


@pytest.mark.parametrize("n,seed", [(5, 0), (6, 1), (7, 2), (8, 3), (8, 4), (9, 5)])
def test_exact_optimum_found(n, seed):
    if seed % 2:
        S = random_similarity(n, seed)  # unstructured
    else:
        S = random_similarity(n, seed, blocks=[n // 2, n - n // 2], strength=0.05, noise=0.1)
    B = B_of(S)
    q_opt = exact_optimum(B)
    res = cluster_matrix(S, seed=seed, mc_steps=1500, restarts=3)
    assert res.q == pytest.approx(q_opt, abs=1e-9)
    assert res.q == modularity(B, res.labels)
    assert res.q_init <= res.q + 1e-15
    assert cluster_matrix(S, seed=seed, method="leiden", restarts=3).q <= q_opt + 1e-12


def test_spectral_init_only_keeps_improving_splits():
    for seed in range(5):
        B = B_of(random_similarity(15, seed, blocks=[5, 10], strength=0.1, noise=0.3))
        labels = spectral_init(B)
        assert labels.dtype == np.int64 and labels[0] == 0
        assert np.array_equal(labels, canonical_labels(labels))
        assert modularity(B, labels) >= modularity(B, np.zeros(15)) - 1e-15
    assert spectral_init(np.zeros((0, 0))).shape == (0,)


def test_restarts_and_polish():
    """R = 1 is the paper's algorithm unpolished and the first chain of every R; the polish
    (default for R > 1) never lowers Q; restarts never do worse than R = 1."""
    S = random_similarity(30, 11, blocks=[10, 10, 10], strength=0.05, noise=0.3)
    r1 = cluster_matrix(S, seed=2, mc_steps=400)
    r1_plain = cluster_matrix(S, seed=2, mc_steps=400, restarts=1, polish=False)
    r1_pol = cluster_matrix(S, seed=2, mc_steps=400, polish=True)
    assert r1.q == r1_plain.q and np.array_equal(r1.labels, r1_plain.labels)
    assert r1_pol.q >= r1.q
    r4 = cluster_matrix(S, seed=2, mc_steps=400, restarts=4)
    r4_plain = cluster_matrix(S, seed=2, mc_steps=400, restarts=4, polish=False)
    r4_pol = cluster_matrix(S, seed=2, mc_steps=400, restarts=4, polish=True)
    assert r4.q == r4_pol.q and np.array_equal(r4.labels, r4_pol.labels)
    assert r4.q >= r4_plain.q >= r1.q and r4.q >= r1_pol.q
    assert r4.q_init == r1.q_init
    B = B_of(S)
    assert improving_moves(B, r4.labels) == []
    assert r4.q == modularity(B, r4.labels)


def test_monte_carlo_only():
    S = random_similarity(16, 4, blocks=[8, 8], strength=0.5)
    q = monte_carlo_only(S, seed=1, mc_only_steps=1000)
    assert q == monte_carlo_only(S, seed=1, mc_only_steps=1000)
    assert 0.2 < q <= cluster_matrix(S, seed=1).q + 1e-12
    assert math.isnan(monte_carlo_only(np.zeros((4, 4)), seed=0))
    assert monte_carlo_only(S, seed=1, mc_only_steps=0) == pytest.approx(0.0, abs=1e-15)
    with pytest.raises(ValueError, match="mc_only_steps"):
        monte_carlo_only(S, seed=0, mc_only_steps=-1)


def test_deterministic_bit_identical():
    S = random_similarity(24, 9, blocks=[8, 8, 8], strength=0.05, noise=0.4)
    for kw in ({"mc_steps": 800}, {"mc_steps": 300, "restarts": 3}, {"method": "leiden", "restarts": 3}):
        a = cluster_matrix(S, seed=123, **kw)
        b = cluster_matrix(S, seed=123, **kw)
        assert a.q == b.q and a.q_init == b.q_init or math.isnan(a.q_init)
        assert a.n_clusters == b.n_clusters and a.seed == b.seed == 123
        assert np.array_equal(a.labels, b.labels) and a.labels.dtype == np.int64
    c = cluster_matrix(S, seed=124, mc_steps=800)  # may differ; must still be valid
    assert c.q == modularity(B_of(S), c.labels)


def test_leiden_result_is_valid():
    S = random_similarity(20, 2, blocks=[7, 6, 7], strength=0.2, noise=0.5)
    S[4, :] = 0
    S[:, 4] = 0
    res = cluster_matrix(S, seed=0, method="leiden", restarts=5)
    assert isinstance(res, ClusterResult) and res.status == "ok"
    assert res.labels[4] == -1 and res.n_unused == 1
    assert math.isnan(res.q_init)
    A, used = adjacency(S)
    assert res.q == modularity(B_of(A[np.ix_(used, used)]), res.labels[used])
    assert res.q == pytest.approx(modularity(modularity_matrix(A), res.labels), abs=1e-14)
    assert np.array_equal(res.labels[used], canonical_labels(res.labels[used]))


def test_unused_units_labelled_minus_one():
    S = random_similarity(10, 0, blocks=[5, 5])
    for u in (0, 6):
        S[u, :] = 0
        S[:, u] = 0
    S[6, 6] = 3.0
    res = cluster_matrix(S, seed=1, mc_steps=500)
    assert res.status == "ok" and res.n_unused == 2
    assert res.labels[0] == -1 and res.labels[6] == -1
    used = res.labels >= 0
    assert used.sum() == 8 and set(res.labels[used]) == {0, 1}
    assert res.n_clusters == pytest.approx(2.0)


@pytest.mark.parametrize("S", [np.zeros((5, 5)), np.eye(4), np.ones((1, 1)), np.zeros((1, 1)), np.zeros((0, 0))])
@pytest.mark.parametrize("method", ["paper", "leiden"])
def test_all_unused(S, method):
    res = cluster_matrix(S, seed=0, method=method)
    assert res.status == "all_unused"
    assert math.isnan(res.q) and math.isnan(res.q_init) and math.isnan(res.n_clusters)
    assert res.n_unused == len(S) and np.all(res.labels == -1) and res.labels.shape == (len(S),)


def test_bad_arguments():
    S = random_similarity(5, 0)
    with pytest.raises(ValueError, match="method"):
        cluster_matrix(S, seed=0, method="louvain")
    with pytest.raises(ValueError, match="restarts"):
        cluster_matrix(S, seed=0, restarts=0)
    with pytest.raises(ValueError, match="mc_steps"):
        cluster_matrix(S, seed=0, mc_steps=-1)
    with pytest.raises(ValueError, match="target_entropy"):
        cluster_matrix(S, seed=0, target_entropy=-0.1)
    with pytest.raises(ValueError, match="layer 2 cov.*symmetric"):
        cluster_matrix(np.array([[1.0, 0.5], [0.4, 1.0]]), seed=0, name="layer 2 cov")
    S[0, 1] *= 1 + 1e-12  # tiny asymmetry is accepted (and symmetrized)
    assert cluster_matrix(S, seed=0, mc_steps=100).status == "ok"


def test_degenerate_graphs():
    # complete uniform graph: every split lowers Q, the optimum is one cluster with Q = 0
    res = cluster_matrix(np.ones((8, 8)), seed=0, mc_steps=500)
    assert res.q == pytest.approx(0.0, abs=1e-15) and np.all(res.labels == 0) and res.n_clusters == 1.0
    # two disconnected cliques of 4: Q* = 1/2, found by both methods
    S = np.kron(np.eye(2), np.ones((4, 4)))
    for method in ("paper", "leiden"):
        res = cluster_matrix(S, seed=0, method=method)
        assert res.q == pytest.approx(0.5, abs=1e-14)
        assert res.labels.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    # high target entropy (near-uniform moves) still returns a consistent best
    S = random_similarity(12, 1, blocks=[6, 6])
    res = cluster_matrix(S, seed=0, mc_steps=300, target_entropy=5.0)
    assert res.q == modularity(B_of(S), res.labels)
    # target entropy 0: greedy ascent
    res = cluster_matrix(S, seed=0, mc_steps=300, target_entropy=0.0)
    assert res.labels.tolist() == [0] * 6 + [1] * 6
