"""Algorithm 3 (Appendix A.1) and its temperature solve, checked against a slow reference
that recomputes Q (eq. 8) from scratch for every candidate and solves tau with brentq."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq
from support.clustering import B_of, drop_empty_slot, q_trace, random_similarity

from unitclust.clustering import kernels
from unitclust.clustering import monte_carlo as MC
from unitclust.clustering.objective import TIE_TOL, canonical_labels, modularity
from unitclust.clustering.spectral import spectral_init


def entropy(p):
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def reference_probabilities(scores, target):
    """Lines 13-14 of Algorithm 3: ``p = softmax(beta * scores)`` with ``H(p) = target``,
    beta found by brentq; uniform if even beta = 0 gives H <= target, uniform over the
    tied best scores if beta -> inf still gives H >= target."""
    x = np.asarray(scores, dtype=float) - np.max(scores)
    m = len(x)
    ties = x >= -TIE_TOL
    if math.log(m) <= target:
        return np.full(m, 1.0 / m)
    if math.log(ties.sum()) >= target:
        return ties / ties.sum()

    def softmax(beta):
        w = np.exp(beta * x)
        return w / w.sum()

    hi = 1.0
    while entropy(softmax(hi)) > target:
        hi *= 2.0
    beta = brentq(lambda b: entropy(softmax(b)) - target, 0.0, hi, xtol=1e-12, rtol=1e-15)
    return softmax(beta)


def reference_chain(B, init, units, draws, target):
    """Algorithm 3 step by step; returns ``(labels, Q, best Q, best labels)`` after each step.

    Candidates: every cluster (in slot order) and, unless unit i is alone, a new one; when a
    cluster empties the last cluster takes its label (the kernels' slot convention)."""
    labels = canonical_labels(init)
    best_q, best = q_trace(B, labels), labels.copy()
    states = []
    for i, u in zip(units, draws):
        a = labels[i]
        k = labels.max() + 1
        cands = list(range(k)) + ([k] if (labels == a).sum() > 1 else [])
        if len(cands) > 1:
            qs = []
            for c in cands:
                moved = labels.copy()
                moved[i] = c
                qs.append(q_trace(B, moved))
            jmax = int(np.argmax(qs))
            if qs[jmax] > best_q:  # line 10: the best over every scored candidate
                best_q, best = qs[jmax], labels.copy()
                best[i] = cands[jmax]
            p = reference_probabilities(qs, target)
            j = min(int(np.searchsorted(np.cumsum(p), u, side="right")), len(p) - 1)
            if cands[j] != a:
                labels[i] = cands[j]
                labels = drop_empty_slot(labels, a)
        states.append((labels.copy(), q_trace(B, labels), best_q, best.copy()))
    return states


def ring_of_cliques(n_cl, s):
    S = np.kron(np.eye(n_cl), np.ones((s, s)))
    for c in range(n_cl):
        u, v = c * s, ((c + 1) % n_cl) * s + 1
        S[u, v] = S[v, u] = 1.0
    return S


CASES = [  # (similarity matrix, initial labels: "spectral", "one" or "all")
    (random_similarity(7, 0), "one"),
    (random_similarity(9, 1, blocks=[3, 3, 3], strength=0.3, noise=0.4), "spectral"),
    (random_similarity(11, 2, blocks=[5, 6], strength=0.05, noise=0.2), "all"),
    (random_similarity(12, 3, blocks=[4, 4, 4], strength=0.1, noise=0.5), "spectral"),
    (ring_of_cliques(4, 3), "one"),  # exact ties
]


def _init(B, how):
    n = B.shape[0]
    return {"spectral": spectral_init(B), "one": np.zeros(n, np.int64), "all": np.arange(n)}[how]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("target", [0.0, 0.15, 0.6, 3.0])
def test_kernel_follows_reference_move_by_move(case, target):
    S, how = CASES[case]
    B = B_of(S)
    n = B.shape[0]
    init = _init(B, how)
    steps = 120
    rng = np.random.default_rng(case)
    units, draws = rng.integers(0, n, size=steps), rng.random(steps)
    ref = reference_chain(B, init, units, draws, target)
    for t in range(1, steps + 1):
        best_q, best_lab, q, lab = kernels.mc_kernel(B, init, units[:t], draws[:t], target, TIE_TOL)
        ref_lab, ref_q, ref_best_q, ref_best = ref[t - 1]
        assert np.array_equal(lab, ref_lab), f"state differs after step {t}"
        assert q == pytest.approx(ref_q, abs=1e-12)
        assert best_q == pytest.approx(ref_best_q, abs=1e-12)
        assert np.array_equal(canonical_labels(best_lab), canonical_labels(ref_best))
    # the public function: same draws from the generator, Q* recomputed by eq. 8
    q_star, lab_star = MC.monte_carlo(B, init, steps, target, np.random.default_rng(case))
    assert np.array_equal(lab_star, canonical_labels(ref[-1][3]))
    assert q_star == pytest.approx(ref[-1][2], abs=1e-12)
    assert q_star == modularity(B, lab_star)


def test_chain_moves_a_lot():
    """The reference check above is not vacuous: chains at 0.6 nats visit many states."""
    B = B_of(CASES[1][0])
    rng = np.random.default_rng(1)
    units, draws = rng.integers(0, 9, size=120), rng.random(120)
    states = {tuple(lab) for lab, *_ in reference_chain(B, spectral_init(B), units, draws, 0.6)}
    assert len(states) > 20


def test_bookkeeping_matches_recomputed_q():
    """The tracked Q and best Q equal eq. 8 recomputed, after every prefix of a long chain."""
    B = B_of(random_similarity(9, 3, blocks=[3, 3, 3]))
    rng = np.random.default_rng(0)
    units, draws = rng.integers(0, 9, size=300), rng.random(300)
    init = np.arange(9) % 2
    for t in list(range(40)) + [300]:
        best_q, best_lab, q, lab = kernels.mc_kernel(B, init, units[:t], draws[:t], 1.0, TIE_TOL)
        assert best_q == pytest.approx(q_trace(B, best_lab), abs=1e-13)
        assert q == pytest.approx(q_trace(B, lab), abs=1e-13)


def test_monte_carlo_arguments():
    B = B_of(random_similarity(6, 0))
    q0, lab0 = MC.monte_carlo(B, np.zeros(6, dtype=int), 0, 0.15, np.random.default_rng(0))
    assert q0 == pytest.approx(0.0, abs=1e-15) and np.all(lab0 == 0)
    assert MC.monte_carlo(np.zeros((0, 0)), np.zeros(0, int), 5, 0.15, np.random.default_rng(0))[0] == 0.0
    for bad in ([0, 1, -1, 0, 0, 0], [0, 1]):
        with pytest.raises(ValueError):
            MC.monte_carlo(B, bad, 10, 0.15, np.random.default_rng(0))
    with pytest.raises(ValueError, match="mc_steps"):
        MC.monte_carlo(B, np.zeros(6, int), 1.5, 0.15, np.random.default_rng(0))
    with pytest.raises(ValueError, match="target_entropy"):
        MC.monte_carlo(B, np.zeros(6, int), 10, math.nan, np.random.default_rng(0))


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
    p, beta = MC.entropy_softmax(x, target)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    if math.log(m) <= target:
        assert beta == 0.0 and np.allclose(p, 1.0 / m)
    else:
        assert abs(entropy(p) - target) < kernels.ENTROPY_TOL
        # softmax of the scores with the solved beta, and close to the independent solve
        q = np.exp(beta * (x - x.max()))
        np.testing.assert_allclose(p, q / q.sum(), rtol=1e-9, atol=1e-300)
        np.testing.assert_allclose(p, reference_probabilities(x, target), rtol=1e-5, atol=1e-9)


def test_entropy_softmax_degenerate_cases():
    p, beta = MC.entropy_softmax([0.3, 0.3, 0.3], 0.15)  # all tie
    assert beta == math.inf and np.allclose(p, 1 / 3)
    p, beta = MC.entropy_softmax([1.0, 1.0, 0.0, -2.0], 0.15)  # two tied best: log 2 > target
    assert beta == math.inf and np.allclose(p, [0.5, 0.5, 0, 0])
    p, beta = MC.entropy_softmax([1.0, 0.0], 0.9)  # log 2 < target: uniform
    assert beta == 0.0 and np.allclose(p, 0.5)
    p, beta = MC.entropy_softmax([2.0], 0.15)
    assert p.tolist() == [1.0]
    p, beta = MC.entropy_softmax([0.0, 1.0, 0.5], 0.0)  # zero entropy: greedy
    assert p.tolist() == [0.0, 1.0, 0.0]
    # two candidates: p solves the binary entropy equation
    p, beta = MC.entropy_softmax([0.0, 1e-3], 0.15)
    assert entropy(p) == pytest.approx(0.15, abs=1e-7) and p[1] > 0.95
    for bad in ([], [1.0, np.nan]):
        with pytest.raises(ValueError):
            MC.entropy_softmax(bad, 0.15)
    with pytest.raises(ValueError):
        MC.entropy_softmax([0.0, 1.0], -0.1)


def test_draw_matches_entropy_softmax():
    """The kernel's draw (move_weights + draw_move) is inverse-CDF sampling of entropy_softmax."""
    rng = np.random.default_rng(0)
    for t in range(30):
        dq = rng.normal(size=int(rng.integers(2, 8))) * 1e-3
        if t % 3 == 0:
            dq[1] = dq[0] = dq.max()
        target = [0.0, 0.15, 0.6, 3.0][t % 4]
        p, _ = MC.entropy_softmax(dq, target)
        cdf = np.cumsum(p)
        m = len(dq)
        h, w = np.empty(m), np.empty(m)
        log_target = math.log(target) if target > 0 else -math.inf
        Z, _, _ = kernels.move_weights(dq, m, dq.max(), target, log_target, 0.0, TIE_TOL, h, w)
        for u in (0.0, 0.01, 0.5, 0.97, 0.999, 1 - 2**-53):
            j = kernels.draw_move(w, m, Z, u)
            assert j == min(int(np.searchsorted(cdf, u * cdf[-1], side="right")), m - 1)
            assert p[j] > 0
