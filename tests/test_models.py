"""The MLP (unchanged weights and checkpoints), the CNN, build_model and model_from_hparams."""
import hashlib

import numpy as np
import pytest
import torch

from unitclust.models import CNN, MLP, build_model, model_from_hparams
from unitclust.training import penalty, weight_stats

CNN_ARCH = {"type": "cnn", "channels": [4, 6], "kernel": 3, "pool": 2, "hidden": [5]}


def digest(model) -> str:
    h = hashlib.sha256()
    for k, v in model.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("hidden, in_shape, dropout, seed, expected", [
    # sha256 of the state dicts built by build_model(in_dim, hidden, out_dim, dropout, seed) before CNNs existed
    ([64, 64], (28, 28), 0.5, 0, "cfd06ddd0bd5ad47cb3ce667ddb04696ce0f0fddf3ee9410d82973670d8b4907"),
    ([5, 4], (8,), 0.0, 1, "487c29d72eaca2e14e06112042228996369a506c552310e04e6fac461ded0687"),
])
def test_mlp_weights_unchanged_for_the_same_seed(hidden, in_shape, dropout, seed, expected):
    out_dim = 10 if in_shape == (28, 28) else 3
    assert digest(build_model({"type": "mlp", "hidden": hidden}, in_shape, out_dim, dropout, seed)) == expected


def test_mlp_state_dict_keys_and_hidden_layers():
    m = MLP(6, [5, 4], 3)
    assert list(m.state_dict()) == [f"linears.{i}.{p}" for i in range(3) for p in ("weight", "bias")]
    assert m.hidden_layers == ["relus.0", "relus.1"]
    old = {k: torch.randn_like(v) for k, v in m.state_dict().items()}  # a checkpoint of the old MLP
    m.load_state_dict(old, strict=True)
    x = torch.randn(7, 6)
    seen = []
    hooks = [m.get_submodule(n).register_forward_hook(lambda _m, _i, o: seen.append(o)) for n in m.hidden_layers]
    m.eval()
    y = m(x)
    for h in hooks:
        h.remove()
    for a, b in zip(seen, m.hidden_activations(x)):
        assert torch.equal(a, b)
    assert y.shape == (7, 3) and m.hparams()["type"] == "mlp"


def test_cnn_shapes_layers_and_weights():
    m = CNN((1, 8, 8), [4, 6], 3, 2, 3, dropout=0.2, hidden=[5])
    assert m.hidden_layers == ["relus.0", "relus.1", "relus.2"]
    shapes = {}
    for n in m.hidden_layers:
        m.get_submodule(n).register_forward_hook(lambda _m, _i, o, n=n: shapes.__setitem__(n, tuple(o.shape)))
    m.eval()
    flat = torch.randn(2, 64)
    y = m(flat)
    assert y.shape == (2, 3)
    assert shapes == {"relus.0": (2, 4, 8, 8), "relus.1": (2, 6, 4, 4), "relus.2": (2, 5)}
    assert torch.equal(m(flat.reshape(2, 1, 8, 8)), y)
    assert [tuple(w.shape) for w in m.weight_matrices()] == [(4, 1, 3, 3), (6, 4, 3, 3), (5, 24), (3, 5)]
    assert CNN((7, 7), [2], 3, 1, 4).flat_dim == 2 * 49  # (H, W) is one channel; no pooling
    with pytest.raises(ValueError, match="expects inputs of shape"):
        m(torch.randn(2, 63))


@pytest.mark.parametrize("kwargs, match", [
    ({"in_shape": (1, 4, 4), "channels": [2, 2, 2], "pool": 2}, "shrink"),
    ({"in_shape": (1, 2, 3, 4)}, "in_shape"),
    ({"channels": []}, "channels"),
    ({"channels": [0]}, "channels"),
    ({"kernel": 0}, "kernel"),
    ({"dropout": 1.0}, "dropout"),
    ({"hidden": [3, -1]}, "hidden"),
])
def test_cnn_rejects_bad_arguments(kwargs, match):
    args = {"in_shape": (1, 8, 8), "channels": [2], "kernel": 3, "pool": 2, "out_dim": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        CNN(**args)


def test_build_model_cnn_is_seeded_and_paired():
    a = build_model(CNN_ARCH, (1, 8, 8), 3, 0.0, seed=1)
    b = build_model(CNN_ARCH, [1, 8, 8], 3, 0.5, seed=1)
    c = build_model(CNN_ARCH, (1, 8, 8), 3, 0.0, seed=2)
    assert isinstance(a, CNN) and digest(a) == digest(b) != digest(c)
    assert a.hparams() == {"type": "cnn", "in_shape": [1, 8, 8], "channels": [4, 6], "kernel": 3, "pool": 2,
                           "hidden": [5], "out_dim": 3, "dropout": 0.0}
    with pytest.raises(ValueError, match="unknown model type"):
        build_model({"type": "rnn"}, (8,), 3, 0.0, 0)
    with pytest.raises(ValueError, match="unknown key"):
        build_model({"type": "mlp", "hidden": [3], "depth": 2}, (8,), 3, 0.0, 0)
    with pytest.raises(ValueError, match="needs 'channels'"):
        build_model({"type": "cnn", "hidden": [3]}, (8, 8), 3, 0.0, 0)
    with pytest.raises(TypeError, match="arch must be a dict"):
        build_model(8, [5, 4], 3, 0.0, 0)  # the signature before CNNs
    # the config schema fills in every key: an MLP ignores the cnn-only ones
    full = {"type": "mlp", "hidden": [5, 4], "channels": [16, 32], "kernel": 3, "pool": 2}
    assert digest(build_model(full, 8, 3, 0.0, 1)) == digest(build_model({"hidden": [5, 4]}, (8,), 3, 0.0, 1))


@pytest.mark.parametrize("arch, in_shape", [({"type": "mlp", "hidden": [5, 4]}, (2, 4)), (CNN_ARCH, (8, 8))])
def test_model_from_hparams_round_trip(arch, in_shape):
    m = build_model(arch, in_shape, 3, 0.25, seed=3).eval()
    again = model_from_hparams(m.hparams())
    again.load_state_dict(m.state_dict())
    assert type(again) is type(m) and again.hparams() == m.hparams()
    x = torch.rand(4, 8 if arch["type"] == "mlp" else 64)
    assert torch.equal(again.eval()(x), m(x))


def test_model_from_old_hparams_without_type():
    m = model_from_hparams({"in_dim": 6, "hidden": [5], "out_dim": 2, "dropout": 0.5, "l2": 0.0, "seed": 0})
    assert isinstance(m, MLP) and m.hparams()["hidden"] == [5] and m.p == 0.5
    with pytest.raises(ValueError, match="lack the key"):
        model_from_hparams({"type": "cnn", "in_shape": [1, 8, 8]})
    with pytest.raises(ValueError, match="unknown model type"):
        model_from_hparams({"type": "external"})


def test_penalty_and_weight_stats_cover_conv_weights():
    m = CNN((1, 4, 4), [2], 3, 2, 2)
    with torch.no_grad():
        for p in m.parameters():
            p.fill_(100.0)  # biases must not count
        m.convs[0].weight.copy_(torch.arange(18.0).reshape(2, 1, 3, 3))
        m.linears[0].weight.fill_(1.0)
    ws = [w.detach().double() for w in m.weight_matrices()]
    assert penalty(m, l1=1.0, l2=0.0).item() == pytest.approx(sum(float(w.abs().sum()) for w in ws))
    nuc = np.linalg.norm(np.arange(18.0).reshape(2, 9), "nuc") + np.linalg.norm(np.ones((2, 8)), "nuc")
    assert weight_stats(m)["nuclear_norm"] == pytest.approx(nuc)
