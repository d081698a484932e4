"""The modularity objective (eqs. 6-10), the incremental dQ of the kernels, input checks, seeds."""
import math

import numpy as np
import pytest
from support.clustering import B_of, q_trace, random_similarity

from unitclust.clustering import objective as O
from unitclust.clustering.kernels import build_state, score_moves
from unitclust.seeds import stable_seed


def brute_B(S):
    A = np.array(S, dtype=float)
    np.fill_diagonal(A, 0.0)
    At = A / A.sum()
    one = np.ones((len(A), 1))
    return At - At @ one @ one.T @ At


def test_adjacency_zero_diagonal_and_used_mask():
    S = random_similarity(6, 0)
    S[2, :] = 0
    S[:, 2] = 0
    S[2, 2] = 5.0  # self-similarity alone does not make a unit used
    A, used = O.adjacency(S)
    assert np.all(np.diag(A) == 0)
    assert used.tolist() == [True, True, False, True, True, True]
    off = ~np.eye(6, dtype=bool)
    assert np.array_equal(A[off], S[off])


@pytest.mark.parametrize("seed", range(4))
def test_modularity_matches_trace_formula(seed):
    rng = np.random.default_rng(seed)
    n = 12
    S = random_similarity(n, seed)
    B = O.modularity_matrix(O.adjacency(S)[0])
    np.testing.assert_allclose(B, brute_B(S), rtol=0, atol=1e-15)
    np.testing.assert_allclose(B.sum(axis=1), 0.0, atol=1e-15)  # B 1 = 0 (At sums to one)
    for _ in range(5):
        labels = rng.integers(-1, 5, size=n)
        assert O.modularity(B, labels) == pytest.approx(q_trace(B, labels), abs=1e-14)
    assert O.modularity(B, np.zeros(n, dtype=int)) == pytest.approx(0.0, abs=1e-14)


def test_modularity_matrix_rejects_zero():
    with pytest.raises(ValueError):
        O.modularity_matrix(np.zeros((3, 3)))


def test_normalized_adjacency():
    A, _ = O.adjacency(random_similarity(5, 1))
    At = O.normalized_adjacency(A)
    assert At.sum() == pytest.approx(1.0) and np.array_equal(At, A / A.sum())
    assert np.array_equal(O.normalized_adjacency(np.zeros((2, 2))), np.zeros((2, 2)))


def test_symmetrize():
    M = np.random.default_rng(0).random((5, 5))
    Ms = O.symmetrize(M)
    assert np.array_equal(Ms, Ms.T) and np.array_equal(Ms, 0.5 * (M + M.T))
    assert np.array_equal(O.symmetrize(Ms), Ms)  # exact on symmetric input
    assert O.symmetrize(np.eye(2, dtype=int)).dtype == np.float64


def test_canonical_labels():
    assert O.canonical_labels([5, 5, -3, 2, 5, 9, 2]).tolist() == [0, 0, -1, 1, 0, 2, 1]
    assert O.canonical_labels(np.zeros(0, int)).dtype == np.int64


@pytest.mark.parametrize("seed", range(3))
def test_incremental_delta_q(seed):
    """dQ(i: a -> c) = 2 (K[c, i] - K[a, i] + B[i, i]), K[new, i] = 0 (kernels.score_moves),
    checked against Tr(P^T B P) recomputed for every candidate."""
    rng = np.random.default_rng(seed)
    n = 10
    B = B_of(random_similarity(n, seed + 10))
    labels = O.canonical_labels(rng.integers(0, 4, size=n))
    dq = np.empty(n + 1)
    for _ in range(60):
        K, lab, sizes, k = build_state(B, labels)
        i = int(rng.integers(n))
        m = score_moves(B, K, lab, sizes, k, i, dq)
        alone = (labels == labels[i]).sum() == 1
        assert m == (k if alone else k + 1)
        q0 = q_trace(B, labels)
        for c in range(m):
            moved = labels.copy()
            moved[i] = c
            assert dq[c] == pytest.approx(q_trace(B, moved) - q0, abs=1e-14)
        labels = labels.copy()
        labels[i] = rng.integers(0, m)
        labels = O.canonical_labels(labels)


def test_number_of_clusters():
    assert O.number_of_clusters([0, 0, 1, 1, 2, 2, 3, 3]) == pytest.approx(4.0, rel=1e-12)
    assert O.number_of_clusters([5, 5, 5, -1, -1]) == pytest.approx(1.0)
    r = np.array([0.75, 0.25])
    assert O.number_of_clusters([0, 0, 0, 1, -1, -1, -1]) == pytest.approx(math.exp(-(r * np.log(r)).sum()))
    assert O.number_of_clusters(np.arange(7)) == pytest.approx(7.0)
    assert math.isnan(O.number_of_clusters([-1, -1]))
    assert math.isnan(O.number_of_clusters([]))


@pytest.mark.parametrize("bad,what", [
    (np.array([[1.0, np.nan], [np.nan, 1.0]]), "non-finite"),
    (np.array([[1.0, np.inf], [np.inf, 1.0]]), "non-finite"),
    (np.array([[1.0, 0.5], [0.4, 1.0]]), "symmetric"),
    (np.array([[1.0, -0.5], [-0.5, 1.0]]), "negative"),
    (np.ones((2, 3)), "square"),
    (np.ones(3), "square"),
    (np.array([["a", "b"], ["c", "d"]]), "numeric"),
    (np.ones((2, 2), dtype=complex), "complex"),
])
def test_check_similarity_rejects(bad, what):
    with pytest.raises(ValueError, match=f"layer 2 cov.*{what}"):
        O.check_similarity(bad, "layer 2 cov")


def test_check_similarity_accepts_tiny_asymmetry():
    S = random_similarity(5, 0)
    S[0, 1] *= 1 + 1e-12
    O.check_similarity(S, "x")
    O.check_similarity(np.zeros((0, 0)), "x")


def test_stable_seed():
    assert stable_seed(0, "model", 1, "cov") == 703185357067946393
    assert stable_seed(np.int64(0), "model", np.int32(1), "cov") == 703185357067946393
    assert stable_seed(0, ["a", (1, 2.5)], None) == stable_seed(0, ("a", [1, 2.5]), None)
    seeds = {stable_seed(s, m, layer, meas) for s in (0, 1) for m in ("a", "b") for layer in (0, 1)
             for meas in ("cov", "hess")}
    assert len(seeds) == 16
    assert stable_seed(0, "1") != stable_seed(0, 1) != stable_seed(1, 0)
    assert all(0 <= s < 2**63 for s in seeds)
    with pytest.raises(TypeError):
        stable_seed(object())


def test_light_imports():
    """The package, the objective and Algorithm 2 import neither numba nor igraph."""
    import subprocess
    import sys

    code = ("import sys, unitclust.clustering, unitclust.clustering.objective, unitclust.clustering.spectral; "
            "assert not {'numba', 'igraph'} & set(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)
