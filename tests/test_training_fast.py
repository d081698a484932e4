"""The hand-written MLP training step (unitclust.fast_mlp) gives the autograd path's model.

Same initialization, data order, dropout masks, loss (cross-entropy + l1*sum|W| + l2*sum W^2,
docs/science.md §2) and Adam: the weights, histories, stopping and best epochs must agree within
float tolerance (the hand-written step sums in another order).  Small random data of digits' shape (64
pixels, some always zero, as in MNIST) with a ragged last minibatch.
"""
import pytest
import torch

from unitclust.models import CNN, MLP, build_model
from unitclust.training import TrainConfig, train

RTOL = 1e-5


@pytest.fixture(scope="module")
def digits():
    """900 sparse 8x8 "images" in 10 classes (from a random linear teacher), pixels 0, 7 and 56
    always zero as in real digits: 700 for training, 200 for validation."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(900, 64, generator=g) * (torch.rand(900, 64, generator=g) < 0.5)
    x[:, [0, 7, 56]] = 0
    y = (x @ torch.randn(64, 10, generator=g)).argmax(1)
    return x[:700], y[:700], x[700:], y[700:]  # 700 = 10 minibatches of 64 + 60


def _train_both(data, *, hidden=(32, 16), dropout=0.0, l1=1e-4, l2=1e-3, adam="fused", lr=3e-3, **cfg):
    """Train the same seeded model with fast='off' (autograd) and fast='auto'; the two records, the two
    final state dicts and the global RNG draws that follow each run."""
    out = {}
    for fast in ("off", "auto"):
        torch.manual_seed(123)
        m = build_model({"type": "mlp", "hidden": list(hidden)}, 64, 10, dropout, seed=3)
        rec = train(m, *data, l1=l1, l2=l2, seed=3,
                    cfg=TrainConfig(batch_size=64, lr=lr, adam=adam, fast=fast, **cfg))
        out[fast] = (rec, {k: v.clone() for k, v in m.state_dict().items()}, torch.rand(3))
    return out["off"], out["auto"]


def max_rel_diff(a: dict, b: dict) -> float:
    """Largest |a - b| of a tensor, relative to the tensor's largest |a|, over the state dict."""
    return max(((a[k] - b[k]).abs().max() / a[k].abs().max().clamp_min(1e-30)).item() for k in a)


def _assert_same_history(ref: dict, fast: dict):
    assert [r["epoch"] for r in ref["history"]] == [r["epoch"] for r in fast["history"]]
    for r, f in zip(ref["history"], fast["history"]):
        for key in ("train_loss", "train_acc", "val_loss", "val_acc", "lr"):
            assert f[key] == pytest.approx(r[key], rel=RTOL, abs=1e-9), (r["epoch"], key)


@pytest.mark.parametrize("epochs", [1, 6])
def test_same_weights_as_autograd_l1_l2(digits, epochs):
    (ref, ref_state, _), (fast, fast_state, _) = _train_both(digits, max_epochs=epochs, patience=100)
    assert ref["train_path"] == "autograd" and fast["train_path"] == "fast_mlp"
    assert max_rel_diff(ref_state, fast_state) <= RTOL
    _assert_same_history(ref, fast)


def test_same_stopping_and_best_epoch(digits):
    """Early stopping and the kept checkpoint: a run that stops on its own before max_epochs."""
    (ref, ref_state, _), (fast, fast_state, _) = _train_both(digits, hidden=(16,), l1=1e-3, l2=1e-3, lr=2e-2,
                                                             max_epochs=60, patience=2, lr_patience=1)
    assert ref["epochs"] < 60
    assert (fast["epochs"], fast["best_epoch"]) == (ref["epochs"], ref["best_epoch"])
    assert fast["best_val_objective"] == pytest.approx(ref["best_val_objective"], rel=RTOL)
    assert max_rel_diff(ref_state, fast_state) <= RTOL
    _assert_same_history(ref, fast)


@pytest.mark.parametrize("uniforms", [True, False])
def test_dropout_masks_are_nn_dropouts(digits, uniforms, monkeypatch):
    """With dropout the masks come from the global RNG exactly as nn.Dropout draws them (as uniforms
    where that is the same draw, else by bernoulli_), so the model is the same and the RNG is left in
    the same state."""
    from unitclust import fast_mlp

    if uniforms:  # the probe (True with torch's own CPU kernel) leaves the global RNG as it was
        state = torch.random.get_rng_state()
        fast_mlp.uniform_masks_match(0.6, (64, 32))
        assert torch.equal(torch.random.get_rng_state(), state)
    else:
        monkeypatch.setattr(fast_mlp, "uniform_masks_match", lambda keep, shape: False)
    (ref, ref_state, ref_after), (fast, fast_state, fast_after) = _train_both(
        digits, hidden=(32, 32, 16), dropout=0.4, max_epochs=3, patience=100)
    assert fast["train_path"] == "fast_mlp"
    assert max_rel_diff(ref_state, fast_state) <= RTOL
    assert torch.equal(ref_after, fast_after)
    _assert_same_history(ref, fast)


@pytest.mark.parametrize("hidden,l1,l2,adam", [((), 0.0, 0.0, "fused"), ((24,), 1e-3, 0.0, "default"),
                                                 ((16, 16), 0.0, 1e-3, "foreach")])
def test_other_depths_penalties_and_adams(digits, hidden, l1, l2, adam):
    (ref, ref_state, _), (fast, fast_state, _) = _train_both(digits, hidden=hidden, l1=l1, l2=l2, adam=adam,
                                                             max_epochs=2, patience=100)
    assert fast["train_path"] == "fast_mlp"
    assert max_rel_diff(ref_state, fast_state) <= RTOL
    _assert_same_history(ref, fast)


def test_path_selection(digits):
    x, y, xv, yv = digits
    cfg = TrainConfig(batch_size=64, max_epochs=1)

    class Custom(MLP):
        pass

    cnn = CNN((8, 8), [2], 3, 2, 10)
    assert train(cnn, x, y, xv, yv, l1=0, l2=0, seed=0, cfg=cfg)["train_path"] == "autograd"
    assert train(Custom(64, [4], 10), x, y, xv, yv, l1=0, l2=0, seed=0, cfg=cfg)["train_path"] == "autograd"
    assert train(MLP(64, [4], 10).double(), x.double(), y, xv.double(), yv, l1=0, l2=0, seed=0,
                 cfg=cfg)["train_path"] == "autograd"
    assert train(MLP(64, [4], 10), x, y, xv, yv, l1=0, l2=0, seed=0, cfg=cfg)["train_path"] == "fast_mlp"
    from unitclust.fast_mlp import supports

    assert supports(MLP(64, [4], 10), x) and not supports(MLP(64, [4], 10).to("meta"), x.to("meta"))  # CPU only
    with pytest.raises(ValueError, match="fast"):
        train(MLP(64, [4], 10), x, y, xv, yv, l1=0, l2=0, seed=0, cfg=TrainConfig(fast="yes"))


def _levels(data, scale=1 / 16):
    """The digits fixture quantized to uint8 levels (as datasets are stored) and back to floats."""
    x, y, xv, yv = data
    levels = torch.round(x / scale).to(torch.uint8)
    return levels, levels.to(torch.float32) * scale, y, xv, yv


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_inputs_gathered_as_bytes_give_the_same_model(digits, dropout):
    """Minibatches gathered from the uint8 levels and scaled are the float inputs exactly: the same
    weights and history, bit for bit."""
    levels, x, y, xv, yv = _levels(digits)
    states, records = [], []
    for x_bytes in (None, (levels, 1 / 16)):
        m = build_model({"type": "mlp", "hidden": [32, 16]}, 64, 10, dropout, seed=3)
        records.append(train(m, x, y, xv, yv, l1=1e-4, l2=1e-3, seed=3, x_bytes=x_bytes,
                             cfg=TrainConfig(batch_size=64, max_epochs=3, patience=100)))
        states.append(m.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    assert [r["train_loss"] for r in records[0]["history"]] == [r["train_loss"] for r in records[1]["history"]]


def test_bytes_that_are_not_the_inputs_are_not_used(digits):
    from unitclust.fast_mlp import FastMLPEpoch

    levels, x, y, _, _ = _levels(digits)
    m = build_model({"type": "mlp", "hidden": [8]}, 64, 10, 0.0, seed=0)
    opt = torch.optim.Adam(m.parameters(), fused=True)

    def epoch(x_bytes):
        return FastMLPEpoch(m, x, y, l1=0, l2=0, batch_size=64, opt=opt, x_bytes=x_bytes)

    assert epoch((levels, 1 / 16)).x_bytes is not None
    assert epoch((levels, 1 / 15)).x_bytes is None  # another scale
    assert epoch((levels.flip(0), 1 / 16)).x_bytes is None  # other rows
    assert epoch((levels.to(torch.int16), 1 / 16)).x_bytes is None  # not bytes


def test_parameters_share_one_buffer_only_while_training(digits):
    """The step keeps every parameter in one flat buffer; the trained model's parameters have their
    own storage again, no gradients, and a checkpoint of the usual size."""
    from unitclust.fast_mlp import FastMLPEpoch

    x, y, _, _ = digits
    m = build_model({"type": "mlp", "hidden": [32, 16]}, 64, 10, 0.0, seed=0)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    fe = FastMLPEpoch(m, x, y, l1=0, l2=0, batch_size=64, opt=torch.optim.Adam(m.parameters(), fused=True))
    assert len({p.untyped_storage().data_ptr() for p in m.parameters()}) == 1
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())  # the values moved unchanged
    fe.close()
    ptrs = {p.untyped_storage().data_ptr() for p in m.parameters()}
    assert len(ptrs) == len(list(m.parameters())) and all(p.grad is None for p in m.parameters())
    assert all(p.untyped_storage().nbytes() == p.numel() * 4 for p in m.parameters())
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())


def test_training_a_model_does_not_import_dynamo(tmp_path):
    """torch.optim imports torch._dynamo (1-3 s) on the first call of a wrapped method; a job set up
    by configure_torch trains the paper's MLP without it."""
    import subprocess
    import sys

    code = ("import sys, torch\n"
            "from unitclust.runtime import configure_torch\n"
            "from unitclust.models import build_model\n"
            "from unitclust.training import TrainConfig, train\n"
            "configure_torch(1)\n"
            "x, y = torch.rand(300, 64), torch.randint(0, 10, (300,))\n"
            "m = build_model({'type': 'mlp', 'hidden': [8]}, 64, 10, 0.0, seed=0)\n"
            "r = train(m, x[:200], y[:200], x[200:], y[200:], l1=1e-4, l2=1e-3, seed=0,\n"
            "          cfg=TrainConfig(batch_size=64, max_epochs=3))\n"
            "assert r['train_path'] == 'fast_mlp' and r['epochs'] == 3\n"
            "print('torch._dynamo' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
