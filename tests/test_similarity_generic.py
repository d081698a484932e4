"""The generic (torch.func) similarity measures (docs/science.md §3) and the dispatcher.

Checked against the closed forms on ReLU MLPs and against the per-input, per-unit autograd
reference (tests/support/autograd_reference.py) on MLPs, a CNN (sampled positions, a dense hidden
layer), a network with a skip connection from x and networks with tanh (label-dependent Hessian).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from support.autograd_reference import reduce_reference, reference_terms
from torch import nn

import unitclust.similarity.generic as gen
from unitclust.models import CNN, MLP
from unitclust.similarity import (
    BASE_MEASURES,
    MEASURES,
    compute_similarity,
    generic_similarity_matrices,
    sampled_positions,
    similarity_matrices,
)

MLP_SHAPES = [(12, [7, 6], 4), (6, [5, 4, 3], 3), (4, [9, 5], 5)]  # linear stem, stem (3 layers), no stem


def scaled(model, factor=1.7, seed=0):
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(factor).add_(0.05 * torch.randn_like(p))
    return model


def mlp_case(in_dim, hidden, out_dim, k=24, seed=0):
    torch.manual_seed(seed)
    model = scaled(MLP(in_dim, hidden, out_dim), seed=seed)
    return model, torch.randn(k, in_dim), torch.randint(0, out_dim, (k,))


def cnn_case(k=6, seed=0):
    torch.manual_seed(seed)
    model = scaled(CNN((1, 6, 6), [3, 4], 3, 2, 3, hidden=[5]), 1.5, seed)
    return model, torch.randn(k, 36), torch.randint(0, 3, (k,))


class Skip(nn.Module):
    """x reaches the second layer directly too: the linear-stem shortcut must not be used there."""

    def __init__(self):
        super().__init__()
        self.lin1, self.lin2, self.skip, self.out = nn.Linear(8, 5), nn.Linear(5, 4), nn.Linear(8, 4), nn.Linear(4, 3)
        self.act1, self.act2 = nn.ReLU(), nn.ReLU()

    def forward(self, x):
        h = self.act1(self.lin1(x))
        return self.out(self.act2(self.lin2(h) + self.skip(x)))


def tanh_net():
    torch.manual_seed(1)
    return scaled(nn.Sequential(nn.Linear(5, 6), nn.Tanh(), nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 3)), 2.0)


def tanh_conv():
    torch.manual_seed(2)
    return scaled(nn.Sequential(nn.Unflatten(1, (1, 4, 4)), nn.Conv2d(1, 3, 3, padding=1), nn.Tanh(),
                                nn.Flatten(), nn.Linear(48, 3)), 1.5)


@pytest.fixture
def float64_factors(monkeypatch):
    """Every product in float64 (no float32 input-sensitivity factors): agreement to ~1e-12."""
    monkeypatch.setattr(gen, "_fast_dtype", lambda dtype: dtype)


def max_rel(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


def assert_layers_close(got, ref, rtol, what=""):
    assert len(got) == len(ref)
    for li, (g, r) in enumerate(zip(got, ref)):
        for m in r:
            assert g[m].shape == r[m].shape and g[m].dtype == np.float64, (what, li, m)
            assert max_rel(g[m], r[m]) <= rtol, f"{what} layer {li} {m}: {max_rel(g[m], r[m]):.3g}"


def normalized(ref, normalization):
    out = []
    for layer in ref:
        res = dict(layer)
        for b in BASE_MEASURES:
            d = np.diag(layer[b])
            den = np.maximum.outer(d, d) if normalization == "max" else np.sqrt(np.outer(d, d))
            res[b + "_norm"] = layer[b] / np.maximum(den, 1e-12)
        out.append(res)
    return out


@pytest.mark.parametrize("shape", MLP_SHAPES, ids=lambda s: "x".join(map(str, s[1])) + f"-in{s[0]}")
@pytest.mark.parametrize("abs_placement", ["averaged", "per_input"])
@pytest.mark.parametrize("normalization", ["max", "sqrt"])
def test_matches_closed_form(shape, abs_placement, normalization):
    model, x, y = mlp_case(*shape)
    opts = {"abs_placement": abs_placement, "normalization": normalization}
    got = generic_similarity_matrices(model, x, y, model.hidden_layers, batch_size=7, **opts)
    ref = similarity_matrices(model, x, **opts)
    assert [tuple(g) for g in got] == [MEASURES] * len(ref)
    assert_layers_close(got, ref, 1e-5, f"{shape} {abs_placement} {normalization}")
    for layer in got:
        for m in MEASURES:
            assert np.array_equal(layer[m], layer[m].T) and (layer[m] >= 0).all()


CASES = {
    "mlp": lambda: (*mlp_case(12, [7, 6], 4, k=10), None),
    "mlp3": lambda: (*mlp_case(6, [5, 4, 3], 3, k=10), None),
    "wide": lambda: (*mlp_case(4, [9, 5], 5, k=10), None),  # 9 units > 4 inputs: one jvp per input
    "cnn": lambda: (*cnn_case(), None),
    "skip": lambda: (scaled(Skip()), torch.randn(10, 8), torch.randint(0, 3, (10,)), ["act1", "act2"]),
    "tanh": lambda: (tanh_net(), torch.randn(10, 5), torch.randint(0, 3, (10,)), ["0", "3"]),
    "tanh_conv": lambda: (tanh_conv(), torch.randn(5, 16), torch.randint(0, 3, (5,)), ["1", "2"]),
}


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    model, x, y, layers = CASES[request.param]()
    layers = layers or model.hidden_layers
    return request.param, model, x, y, layers, reference_terms(model, x, y, layers, max_positions=5, seed=3)


@pytest.mark.parametrize("abs_placement", ["averaged", "per_input"])
def test_matches_autograd_reference(case, abs_placement, float64_factors):
    name, model, x, y, layers, terms = case
    got = generic_similarity_matrices(model, x, y, layers, abs_placement=abs_placement, max_positions=5, seed=3,
                                      batch_size=4)
    ref = normalized(reduce_reference(terms, abs_placement), "max")
    assert_layers_close(got, ref, 1e-10, f"{name} {abs_placement}")


def test_float32_factors_stay_within_1e5(case):
    name, model, x, y, layers, terms = case
    got = generic_similarity_matrices(model, x, y, layers, max_positions=5, seed=3)
    assert_layers_close(got, normalized(reduce_reference(terms, "averaged"), "max"), 1e-5, name)


def test_hessian_of_a_non_piecewise_linear_net_depends_on_the_label():
    model, x = tanh_net(), torch.randn(10, 5)
    y = torch.zeros(10, dtype=torch.long)
    a = generic_similarity_matrices(model, x, y, ["0"])[0]  # tanh after the layer: d2y/dh2 != 0
    b = generic_similarity_matrices(model, x, y + 2, ["0"])[0]
    assert max_rel(a["hess"], b["hess"]) > 1e-3  # the label-dependent term d2y/dh2 counts
    for m in ("cov", "isens", "osens"):
        np.testing.assert_array_equal(a[m], b[m])
    with pytest.raises(ValueError, match="labels y are needed"):
        generic_similarity_matrices(model, x, None, ["0"])
    relu = mlp_case(6, [5, 4], 3)  # piecewise linear: no labels needed
    generic_similarity_matrices(relu[0], relu[1], None, relu[0].hidden_layers)


def test_batch_size_invariance_and_determinism():
    model, x, y = cnn_case(k=7)
    runs = [generic_similarity_matrices(model, x, y, model.hidden_layers, max_positions=5, batch_size=bs)
            for bs in (1, 3, 7, 7)]
    for other in runs[:3]:
        for la, lb in zip(other, runs[3]):
            for m in MEASURES:
                np.testing.assert_allclose(la[m], lb[m], rtol=0, atol=1e-6 * np.abs(lb[m]).max())
    for la, lb in zip(runs[2], runs[3]):
        for m in MEASURES:
            np.testing.assert_array_equal(la[m], lb[m])


def test_sampled_positions():
    rows = sampled_positions(36, range(10), 5, seed=3)
    assert rows.shape == (10, 5) and all(len(set(r)) == 5 and (np.diff(r) > 0).all() for r in rows)
    assert (rows >= 0).all() and (rows < 36).all()
    assert np.array_equal(sampled_positions(36, [7, 2], 5, seed=3), rows[[7, 2]])  # depends on the index only
    assert not np.array_equal(sampled_positions(36, range(10), 5, seed=4), rows)
    assert len({tuple(r) for r in rows}) > 5
    for cap in (36, 100):
        assert np.array_equal(sampled_positions(36, range(3), cap), np.tile(np.arange(36), (3, 1)))
    counts = np.bincount(sampled_positions(20, range(4000), 5, seed=1).ravel(), minlength=20)
    assert counts.min() > 0.8 * 1000 and counts.max() < 1.2 * 1000  # uniform: 4000 * 5 / 20 per position


def test_seed_and_max_positions():
    model, x, y = cnn_case()
    a = generic_similarity_matrices(model, x, y, ["relus.0"], max_positions=5, seed=0)[0]
    b = generic_similarity_matrices(model, x, y, ["relus.0"], max_positions=5, seed=1)[0]
    assert not np.allclose(a["cov"], b["cov"])
    all36 = generic_similarity_matrices(model, x, y, ["relus.0"], max_positions=36)[0]
    more = generic_similarity_matrices(model, x, y, ["relus.0"], max_positions=1000, seed=5)[0]
    for m in MEASURES:
        np.testing.assert_array_equal(all36[m], more[m])


def test_dropout_off_and_mode_restored():
    model, x, y = cnn_case()
    model.drop.p = 0.5
    model.train()
    a = generic_similarity_matrices(model, x, y, model.hidden_layers)
    assert model.training
    b = generic_similarity_matrices(model.eval(), x, y, model.hidden_layers)
    for la, lb in zip(a, b):
        for m in MEASURES:
            np.testing.assert_array_equal(la[m], lb[m])


def test_dispatcher_routes():
    model, x, y = mlp_case(12, [7, 6], 4)
    closed = similarity_matrices(model, x)
    auto = compute_similarity(model, x, y)
    assert all(np.array_equal(a[m], c[m]) for a, c in zip(auto, closed) for m in MEASURES)
    second = compute_similarity(model, x, layers=["relus.1"], method="closed_form")
    assert all(np.array_equal(second[0][m], closed[1][m]) for m in MEASURES)
    forced = compute_similarity(model, x, y, method="generic")
    assert_layers_close(forced, closed, 1e-5)
    assert not all(np.array_equal(f[m], c[m]) for f, c in zip(forced, closed) for m in MEASURES)
    cnn, xc, yc = cnn_case()
    via = compute_similarity(cnn, xc, yc, max_positions=5, seed=2)
    direct = generic_similarity_matrices(cnn, xc, yc, cnn.hidden_layers, max_positions=5, seed=2)
    assert len(via) == 3 and all(np.array_equal(v[m], d[m]) for v, d in zip(via, direct) for m in MEASURES)
    with pytest.raises(ValueError, match="closed_form.*CNN"):
        compute_similarity(cnn, xc, yc, method="closed_form")
    with pytest.raises(ValueError, match="method"):
        compute_similarity(model, x, method="exact")
    with pytest.raises(ValueError, match="hidden_layers"):
        compute_similarity(Skip(), torch.randn(3, 8))


def test_clear_errors():
    model, x, y = cnn_case()
    with pytest.raises(ValueError, match=r"no layer 'relu9'.*relus\.0"):
        generic_similarity_matrices(model, x, y, ["relu9"])
    with pytest.raises(ValueError, match="shape"):
        generic_similarity_matrices(model, torch.randn(4, 35), None, ["relus.0"])
    with pytest.raises(ValueError, match="no inputs"):
        generic_similarity_matrices(model, x[:0], None, ["relus.0"])
    with pytest.raises(ValueError, match="labels"):
        generic_similarity_matrices(model, x, y[:3], ["relus.0"])
    with pytest.raises(ValueError, match="non-finite"):
        generic_similarity_matrices(model, x.clone().fill_(float("nan")), y, ["relus.0"])
    with pytest.raises(ValueError, match="max_positions"):
        generic_similarity_matrices(model, x, y, ["relus.0"], max_positions=0)
    with pytest.raises(ValueError, match="abs_placement"):
        generic_similarity_matrices(model, x, y, ["relus.0"], abs_placement="both")
    with pytest.raises(ValueError, match="runs 0 times"):
        generic_similarity_matrices(model, x, y, ["convs"])
    with pytest.raises(ValueError, match="runs 3 times"):
        generic_similarity_matrices(model, x, y, ["drop"])
