"""Tests for unitclust.similarity (paper eqs. 1-5, docs/science.md §3).

The vectorized closed forms are checked against a slow, obviously-correct
reference (tests/support/autograd_reference.py): per input, per unit autograd loops on a
float64 copy of the network (the Hessian from torch.autograd.functional.hessian of the real
cross-entropy loss *with* the true label), plain numpy for the covariance.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from support.autograd_reference import reduce_reference, reference_per_input

import unitclust.similarity.closed_form as sim
from unitclust.models import MLP
from unitclust.similarity import (
    BASE_MEASURES,
    FAMILY,
    LABELS,
    MEASURES,
    normalize,
    similarity_matrices,
)

SHAPES = [(5, [7, 6], 4), (6, [5, 4, 3], 3), (4, [9], 5)]
K = 30


def make_case(in_dim, hidden, out_dim, seed=0, k=K, dropout=0.0):
    torch.manual_seed(seed)
    model = MLP(in_dim, hidden, out_dim, dropout=dropout)
    # Larger weights than the default init so logits (and p) vary a lot.
    with torch.no_grad():
        for lin in model.linears:
            lin.weight.mul_(2.0)
            lin.bias.add_(0.1)
    x = torch.randn(k, in_dim)
    labels = torch.randint(0, out_dim, (k,))
    return model, x, labels


@pytest.fixture(scope="module", params=SHAPES, ids=lambda s: f"{s[0]}-{'x'.join(map(str, s[1]))}-{s[2]}")
def case(request):
    model, x, labels = make_case(*request.param)
    return model, x, labels, reference_per_input(model, x, labels)


def assert_close(a, b, rtol=1e-5, what=""):
    scale = max(np.abs(b).max(), 1e-300)
    err = np.abs(a - b).max() / scale
    assert err <= rtol, f"{what}: max rel diff {err:.3g}"


@pytest.mark.parametrize("abs_placement", ["averaged", "per_input"])
@pytest.mark.parametrize("normalization", ["max", "sqrt"])
def test_matches_reference(case, abs_placement, normalization):
    model, x, labels, terms = case
    got = similarity_matrices(model, x, abs_placement=abs_placement, normalization=normalization)
    ref = reduce_reference(terms, abs_placement)
    assert len(got) == len(model.hidden)
    for l, (g, r) in enumerate(zip(got, ref)):
        assert tuple(g) == MEASURES
        n = model.hidden[l]
        for b in BASE_MEASURES:
            assert g[b].shape == (n, n) and g[b].dtype == np.float64
            assert_close(g[b], r[b], what=f"layer {l} {b}")
            d = np.diag(r[b])
            if normalization == "max":
                rn = r[b] / np.maximum(np.maximum.outer(d, d), 1e-12)
            else:
                rn = r[b] / np.maximum(np.sqrt(np.outer(d, d)), 1e-12)
            assert_close(g[b + "_norm"], rn, what=f"layer {l} {b}_norm")


@pytest.fixture
def all_float64(monkeypatch):
    """Force the float64 path for the deep-layer input-sensitivity factors."""
    monkeypatch.setattr(sim, "_fast_dtype", lambda: torch.float64)


@pytest.mark.parametrize("abs_placement", ["averaged", "per_input"])
def test_float64_path_matches_reference_tightly(case, abs_placement, all_float64):
    """With every product in float64 the closed forms agree with autograd to ~1e-12."""
    model, x, _, terms = case
    got = similarity_matrices(model, x, abs_placement=abs_placement)
    for l, (g, r) in enumerate(zip(got, reduce_reference(terms, abs_placement))):
        for b in BASE_MEASURES:
            assert_close(g[b], r[b], rtol=1e-10, what=f"layer {l} {b}")


@pytest.mark.parametrize("abs_placement", ["averaged", "per_input"])
def test_properties(case, abs_placement):
    model, x, _, _ = case
    for layer in similarity_matrices(model, x, abs_placement=abs_placement):
        for m in MEASURES:
            S = layer[m]
            assert np.array_equal(S, S.T), m
            assert (S >= 0).all(), m
        for b in BASE_MEASURES:
            Sn, d = layer[b + "_norm"], np.diag(layer[b])
            live = d > 1e-12
            np.testing.assert_allclose(np.diag(Sn)[live], 1.0, rtol=1e-12)
            assert (Sn <= 1 + 1e-12).all()


def test_dead_unit_gives_zero_upstream_rows():
    model, x, _ = make_case(6, [5, 4, 3], 3, seed=3)
    with torch.no_grad():
        model.linears[0].bias[2] = -1e3
        model.linears[1].bias[1] = -1e3
    res = similarity_matrices(model, x)
    for l, unit in [(0, 2), (1, 1)]:
        for m in ("cov", "cov_norm", "isens", "isens_norm"):
            S = res[l][m]
            assert (S[unit] == 0).all() and (S[:, unit] == 0).all(), (l, m)
            others = np.delete(np.delete(S, unit, 0), unit, 1)
            assert np.diag(others).min() > 0
        # downstream: h is the free variable, so a dead unit still has a sensitivity
        assert res[l]["osens"][unit, unit] > 0


@pytest.mark.parametrize("fast", ["default", "float64"])
def test_batch_size_invariance(fast, monkeypatch):
    if fast == "float64":
        monkeypatch.setattr(sim, "_fast_dtype", lambda: torch.float64)
    tol = 1e-12 if fast == "float64" else 2e-6  # default: deep isens factors in float32
    model, x, _ = make_case(6, [5, 4, 3], 3, seed=1)
    for ap in ("averaged", "per_input"):
        a = similarity_matrices(model, x, abs_placement=ap, batch_size=3)
        b = similarity_matrices(model, x, abs_placement=ap, batch_size=len(x))
        with monkeypatch.context() as mp:  # one input per internal chunk
            mp.setattr(sim, "_CHUNK_ELEMS", 1)
            c = similarity_matrices(model, x, abs_placement=ap, batch_size=7)
        for la, lb, lc in zip(a, b, c):
            for m in MEASURES:
                np.testing.assert_allclose(la[m], lb[m], rtol=0, atol=tol * np.abs(lb[m]).max())
                np.testing.assert_allclose(lc[m], lb[m], rtol=0, atol=tol * np.abs(lb[m]).max())


def test_abs_placement_matters():
    model, x, _ = make_case(5, [7, 6], 4, seed=2)
    a = similarity_matrices(model, x, abs_placement="averaged")
    p = similarity_matrices(model, x, abs_placement="per_input")
    # (isens of layer 1 and osens of the last layer coincide for both placements:
    # there every per-input term has a fixed sign pattern, |W1 W1^T| * d d^T and W_out^T W_out)
    for l, m in [(0, "cov"), (1, "cov"), (1, "isens"), (0, "osens"), (0, "hess"), (1, "hess")]:
        assert not np.allclose(a[l][m], p[l][m]), (l, m)
    np.testing.assert_allclose(a[0]["isens"], p[0]["isens"], rtol=1e-12)
    np.testing.assert_allclose(a[1]["osens"], p[1]["osens"], rtol=1e-12)
    # per-input |.| can only increase each entry
    for la, lp in zip(a, p):
        for b in BASE_MEASURES:
            assert (lp[b] >= la[b] - 1e-6 * la[b].max()).all()


def test_dropout_off_and_mode_restored():
    """Dropout is ignored (eval mode) and the caller's train/eval mode is restored."""
    model, x, _ = make_case(5, [7, 6], 4, seed=4, dropout=0.5)
    model.train()
    a = similarity_matrices(model, x)
    assert model.training
    model.eval()
    b = similarity_matrices(model, x)
    assert not model.training
    for la, lb in zip(a, b):
        for m in MEASURES:
            np.testing.assert_array_equal(la[m], lb[m])


def test_float32_and_float64_inputs_agree():
    model, x, _ = make_case(4, [9], 5, seed=5)
    a = similarity_matrices(model, x.float())
    b = similarity_matrices(model, x.double())
    for m in MEASURES:
        np.testing.assert_allclose(a[0][m], b[0][m], rtol=1e-6, atol=1e-9)


def test_hess_stable_for_confident_predictions():
    """Near one-hot softmax: the Hessian is tiny and must keep relative accuracy."""
    model, x, labels = make_case(4, [9], 5, seed=6, k=8)
    with torch.no_grad():
        model.linears[-1].weight.mul_(30.0)
    terms = reference_per_input(model, x, labels)
    got = similarity_matrices(model, x)[0]["hess"]
    ref = np.abs(terms[0]["hess"].mean(0))
    assert_close(got, ref, rtol=1e-6, what="hess (confident)")


def test_bad_arguments():
    model, x, _ = make_case(4, [9], 5)
    with pytest.raises(ValueError, match="abs_placement"):
        similarity_matrices(model, x, abs_placement="per-input")
    with pytest.raises(ValueError, match="normalization"):
        similarity_matrices(model, x, normalization="l2")
    with pytest.raises(ValueError, match="shape"):
        similarity_matrices(model, torch.randn(10, 5))
    with pytest.raises(ValueError, match="shape"):
        similarity_matrices(model, torch.randn(4))
    with pytest.raises(ValueError, match="no inputs"):
        similarity_matrices(model, torch.randn(0, 4))
    with pytest.raises(ValueError, match="batch_size"):
        similarity_matrices(model, x, batch_size=0)
    with pytest.raises(ValueError, match="eps"):
        similarity_matrices(model, x, eps=0.0)
    with pytest.raises(ValueError, match="method"):
        normalize(np.eye(3), "mean")
    with pytest.raises(ValueError, match="square"):
        normalize(np.ones((2, 3)))


def test_rejects_non_relu_model():
    class TanhMLP(MLP):
        def forward(self, x):
            for lin in self.linears[:-1]:
                x = torch.tanh(lin(x))
            return self.linears[-1](x)

    torch.manual_seed(0)
    model = TanhMLP(4, [9], 5)
    with torch.no_grad():
        model.linears[-1].weight.mul_(5.0)
    with pytest.raises(ValueError, match="ReLU MLP"):
        similarity_matrices(model, torch.randn(20, 4))


def test_metadata():
    assert set(FAMILY) == set(LABELS) == set(MEASURES)
    assert BASE_MEASURES == MEASURES[::2]
    assert all(FAMILY[m] == "upstream" for m in MEASURES[:4])
    assert all(FAMILY[m] == "downstream" for m in MEASURES[4:])


@st.composite
def psd_like(draw):
    n = draw(st.integers(1, 6))
    A = draw(arrays(np.float64, (n, draw(st.integers(1, 6))), elements=st.floats(-10, 10)))
    return np.abs(A @ A.T)


@settings(max_examples=40, deadline=None)
@given(S=psd_like(), method=st.sampled_from(["max", "sqrt"]))
def test_normalize_properties(S, method):
    N = normalize(S, method)
    assert np.array_equal(N, N.T)
    assert (N >= 0).all() and (N <= 1 + 1e-12).all()
    live = np.diag(S) > 1e-12
    np.testing.assert_allclose(np.diag(N)[live], 1.0)
    zero_rows = (S == 0).all(axis=1)
    assert (N[zero_rows] == 0).all() and (N[:, zero_rows] == 0).all()
    if method == "max":
        d = np.diag(S)
        np.testing.assert_allclose(N, S / np.maximum(np.maximum.outer(d, d), 1e-12))
