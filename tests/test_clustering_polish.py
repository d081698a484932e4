"""The greedy polish and the incremental cluster state, checked against a slow reference that
recomputes Q (eq. 8) from scratch for every single-unit move and every merge."""
import numpy as np
import pytest
from support.clustering import B_of, drop_empty_slot, improving_moves, q_trace, random_similarity

from unitclust.clustering import kernels
from unitclust.clustering.kernels import mc_kernel
from unitclust.clustering.monte_carlo import monte_carlo
from unitclust.clustering.objective import TIE_TOL, canonical_labels, modularity
from unitclust.clustering.kernels import polish_kernel
from unitclust.clustering.polish import greedy_polish
from unitclust.clustering.spectral import spectral_init


def reference_polish(B, init):
    """Sweeps over the units in index order, each unit moved to the candidate (every other
    cluster in slot order, then a new one unless it is alone) that raises Q the most, if by
    more than TIE_TOL, until a sweep moves nothing; then the best merge (pairs c < d, d into
    c), if it raises Q by more than TIE_TOL; repeated until no merge helps."""
    labels = canonical_labels(init)
    while True:
        moved = True
        while moved:
            moved = False
            for i in range(len(labels)):
                a = labels[i]
                k = labels.max() + 1
                q = q_trace(B, labels)
                cands = [c for c in range(k) if c != a] + ([k] if (labels == a).sum() > 1 else [])
                gains = []
                for c in cands:
                    trial = labels.copy()
                    trial[i] = c
                    gains.append(q_trace(B, trial) - q)
                if gains and max(gains) > TIE_TOL:
                    labels[i] = cands[int(np.argmax(gains))]
                    labels = drop_empty_slot(labels, a)
                    moved = True
        k = labels.max() + 1
        q = q_trace(B, labels)
        pairs = [(c, d) for c in range(k) for d in range(c + 1, k)]
        gains = [q_trace(B, np.where(labels == d, c, labels)) - q for c, d in pairs]
        if not gains or max(gains) <= TIE_TOL:
            return labels
        c, d = pairs[int(np.argmax(gains))]
        labels = drop_empty_slot(np.where(labels == d, c, labels), d)


def _inits(B, seed):
    n = B.shape[0]
    rng = np.random.default_rng(seed)
    _, chain = monte_carlo(B, spectral_init(B), 50, 0.15, rng)
    return [np.zeros(n, np.int64), np.arange(n), canonical_labels(rng.integers(0, 4, n)), spectral_init(B), chain]


@pytest.mark.parametrize("seed", range(4))
def test_polish_follows_reference(seed):
    S = random_similarity(9 + seed, seed, blocks=[4, 3, 2 + seed], strength=0.15, noise=0.5)
    B = B_of(S)
    for init in _inits(B, seed):
        ref = reference_polish(B, init)
        out = polish_kernel(B, canonical_labels(init), TIE_TOL)
        assert np.array_equal(out, ref)


def test_polish_follows_reference_on_merges():
    """Ring of 12 triangles joined by single edges, one cluster per triangle: no single-unit
    move raises Q, but merging neighbouring triangles does (the resolution limit of
    modularity); the polish makes the same merges as the reference."""
    n_cl, s = 12, 3
    S = np.kron(np.eye(n_cl), np.ones((s, s)))
    for c in range(n_cl):
        u, v = c * s, ((c + 1) % n_cl) * s + 1
        S[u, v] = S[v, u] = 1.0
    B = B_of(S)
    triangles = np.repeat(np.arange(n_cl), s)
    found = improving_moves(B, triangles)
    assert found and all(kind == "merge" for kind, *_ in found)
    q, lab = greedy_polish(B, triangles)
    assert np.array_equal(lab, canonical_labels(reference_polish(B, triangles)))
    assert q > modularity(B, triangles) + 1e-3 and lab.max() + 1 < n_cl
    assert improving_moves(B, lab) == []


def test_greedy_polish_raises_q_and_ends_at_local_optimum():
    for seed in range(3):
        B = B_of(random_similarity(14, seed, blocks=[5, 4, 5], strength=0.15, noise=0.5))
        for init in _inits(B, seed):
            q, lab = greedy_polish(B, init)
            assert q >= modularity(B, init) - 1e-15
            assert q == modularity(B, lab)
            assert np.array_equal(lab, canonical_labels(lab))
            assert improving_moves(B, lab) == []


def test_greedy_polish_arguments():
    B = B_of(random_similarity(4, 0))
    with pytest.raises(ValueError):
        greedy_polish(B, [0, 1, -1, 0])
    with pytest.raises(ValueError):
        greedy_polish(B, [0, 1])
    assert greedy_polish(np.zeros((0, 0)), np.zeros(0, int))[0] == 0.0


def test_state_updates_match_a_rebuilt_state():
    """After random moves and merges (kernels.move_unit, kernels.merge_clusters) the state equals
    the one built from scratch for the resulting labels, and the slots stay contiguous."""
    rng = np.random.default_rng(0)
    n = 10
    B = B_of(random_similarity(n, 5))
    K, lab, sizes, k = kernels.build_state(B, canonical_labels(rng.integers(0, 4, n)))
    for step in range(200):
        if step % 7 == 6 and k > 1:
            c, d = sorted(rng.choice(k, 2, replace=False))
            k = kernels.merge_clusters(K, lab, sizes, k, c, d)
        else:
            i = int(rng.integers(n))
            j = int(rng.integers(0, k + 1 if sizes[lab[i]] > 1 else k))
            if j != lab[i]:
                k = kernels.move_unit(B, K, lab, sizes, k, i, j)
        K2, _, sizes2, k2 = kernels.build_state(B, lab)
        assert k == k2 and sorted(set(lab.tolist())) == list(range(k))
        assert np.array_equal(sizes, sizes2)
        np.testing.assert_allclose(K, K2, rtol=0, atol=1e-14)


def test_compiled_kernels_match_their_source():
    """The compiled kernels give the same bits as their source run by the interpreter (with
    compiled helpers): guards against a stale numba disk cache (all njit code lives in
    clustering/kernels.py so that any edit invalidates the cache of every kernel)."""
    if not hasattr(mc_kernel, "py_func"):
        pytest.skip("NUMBA_DISABLE_JIT is set")
    B = B_of(random_similarity(12, 1, blocks=[4, 4, 4], strength=0.2, noise=0.5))
    rng = np.random.default_rng(3)
    units, draws = rng.integers(0, 12, size=300), rng.random(300)
    init = spectral_init(B)
    for target in (0.0, 0.15, 0.6):
        compiled = mc_kernel(B, init, units, draws, target, TIE_TOL)
        source = mc_kernel.py_func(B, init, units, draws, target, TIE_TOL)
        assert compiled[0] == source[0] and compiled[2] == source[2]
        assert np.array_equal(compiled[1], source[1]) and np.array_equal(compiled[3], source[3])
    for init in (np.arange(12), np.zeros(12, np.int64)):
        assert np.array_equal(polish_kernel(B, init, TIE_TOL), polish_kernel.py_func(B, init, TIE_TOL))
