"""Model, penalty, metrics and the training protocol (docs/science.md §2) on tiny data."""
import math

import pytest
import torch

from unitclust.models import MLP, build_model
from unitclust.training import TrainConfig, evaluate, penalty, train, weight_stats


def test_architecture_and_paired_init():
    a = build_model({"type": "mlp", "hidden": [5, 4]}, 8, 3, dropout=0.0, seed=1)
    b = build_model({"type": "mlp", "hidden": [5, 4]}, 8, 3, dropout=0.5, seed=1)
    c = build_model({"type": "mlp", "hidden": [5, 4]}, 8, 3, dropout=0.0, seed=2)
    assert [tuple(w.shape) for w in a.weight_matrices()] == [(5, 8), (4, 5), (3, 4)]
    for (k, v), (_, w) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(v, w), k
    assert not torch.equal(a.linears[0].weight, c.linears[0].weight)


def test_build_model_leaves_global_rng_alone():
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    build_model({"type": "mlp", "hidden": [3]}, 4, 2, 0.0, seed=5)
    assert torch.equal(torch.rand(1), expected)


def test_bad_widths():
    with pytest.raises(ValueError):
        MLP(4, [0], 2)


def test_penalty_is_weights_only_without_half():
    m = MLP(2, [2], 1)
    with torch.no_grad():
        for lin in m.linears:
            lin.weight.fill_(2.0)
            lin.bias.fill_(100.0)
    n_w = 2 * 2 + 2 * 1
    assert penalty(m, l1=0.1, l2=0.0).item() == pytest.approx(0.1 * 2 * n_w)
    assert penalty(m, l1=0.0, l2=0.1).item() == pytest.approx(0.1 * 4 * n_w)


def test_weight_stats():
    m = MLP(2, [2], 1)
    with torch.no_grad():
        m.linears[0].weight.copy_(torch.tensor([[3.0, 0.0], [0.0, 4.0]]))
        m.linears[1].weight.copy_(torch.tensor([[1e-4, 0.0]]))
    s = weight_stats(m)
    assert s["sum_abs_w"] == pytest.approx(7.0001)
    assert s["sum_sq_w"] == pytest.approx(25.0, rel=1e-6)
    assert s["sparsity"] == pytest.approx(4 / 6)
    assert s["nuclear_norm"] == pytest.approx(7.0 + 1e-4)


def _blobs(n=120, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    x = torch.randn(n, 6, generator=g) * 0.3 + torch.nn.functional.one_hot(y, 6).float()
    return x, y


def test_training_learns_and_keeps_best_checkpoint():
    x, y = _blobs()
    m = build_model({"type": "mlp", "hidden": [8]}, 6, 3, 0.0, seed=0)
    before = evaluate(m, x[100:], y[100:])[0]
    rec = train(m, x[:100], y[:100], x[100:], y[100:], l1=0.0, l2=1e-5, seed=0,
                cfg=TrainConfig(batch_size=20, max_epochs=30, lr=1e-2))
    after = evaluate(m, x[100:], y[100:])[0]
    assert after < before and not rec["diverged"]
    assert rec["best_val_objective"] == pytest.approx(after + penalty(m, 0.0, 1e-5).item(), rel=1e-5)


def test_early_stopping_stops_before_max_epochs():
    x, y = _blobs()
    m = build_model({"type": "mlp", "hidden": [8]}, 6, 3, 0.0, seed=0)
    rec = train(m, x[:100], y[:100], x[100:], y[100:], l1=0.0, l2=0.0, seed=0,
                cfg=TrainConfig(batch_size=20, max_epochs=500, lr=5e-2, patience=2, lr_patience=1))
    assert rec["epochs"] < 500 and rec["epochs"] - rec["best_epoch"] == 2


def test_training_is_deterministic():
    x, y = _blobs()
    states = []
    for _ in range(2):
        m = build_model({"type": "mlp", "hidden": [8]}, 6, 3, 0.3, seed=4)
        train(m, x[:100], y[:100], x[100:], y[100:], l1=1e-4, l2=1e-4, seed=4,
              cfg=TrainConfig(batch_size=20, max_epochs=5))
        states.append(m.state_dict())
    for k in states[0]:
        assert torch.equal(states[0][k], states[1][k])


def test_divergence_is_flagged_not_raised():
    x, y = _blobs()
    m = build_model({"type": "mlp", "hidden": [8]}, 6, 3, 0.0, seed=0)
    rec = train(m, x[:100], y[:100], x[100:], y[100:], l1=0.0, l2=1e39, seed=0,
                cfg=TrainConfig(batch_size=20, max_epochs=5, lr=10.0))
    assert rec["diverged"]
    assert all(torch.isfinite(v).all() for v in m.state_dict().values())  # best finite state restored
    assert math.isfinite(evaluate(m, x, y)[0])


def test_cross_entropy_monitor_ignores_the_penalty():
    """monitor=cross_entropy records the validation cross-entropy alone; objective adds the penalty."""
    x, y = _blobs()
    recs = {}
    for monitor in ("objective", "cross_entropy"):
        m = build_model({"type": "mlp", "hidden": [8]}, 6, 3, 0.0, seed=0)
        recs[monitor] = train(m, x[:100], y[:100], x[100:], y[100:], l1=1e-3, l2=1e-3, seed=0,
                              cfg=TrainConfig(batch_size=20, max_epochs=3, monitor=monitor))
        ce = evaluate(m, x[100:], y[100:])[0]
        if monitor == "cross_entropy":
            assert recs[monitor]["history"][-1]["val_loss"] == pytest.approx(ce, rel=1e-6)
        else:
            assert recs[monitor]["history"][-1]["val_loss"] == pytest.approx(ce + penalty(m, 1e-3, 1e-3).item(),
                                                                              rel=1e-6)
    # same seed, same trajectory: the monitored numbers differ exactly by the penalty
    assert recs["objective"]["history"][0]["val_loss"] > recs["cross_entropy"]["history"][0]["val_loss"]
    with pytest.raises(ValueError, match="monitor"):
        train(build_model({"type": "mlp", "hidden": [8]}, 6, 3, 0.0, seed=0), x, y, x, y, l1=0, l2=0, seed=0,
              cfg=TrainConfig(monitor="acc"))


def test_learning_rate_drops_by_the_factor_after_lr_patience_stale_epochs():
    """A learning rate so small that the validation loss improves by less than ReduceLROnPlateau's
    relative threshold (1e-4): the schedule multiplies it by lr_factor after lr_patience stale
    epochs.  (Below a decrement of 1e-8, torch's eps, the schedule stops changing the rate.)"""
    x, y = _blobs()
    m = build_model({"type": "mlp", "hidden": [8]}, 6, 3, 0.0, seed=0)
    rec = train(m, x[:100], y[:100], x[100:], y[100:], l1=0.0, l2=0.0, seed=0,
                cfg=TrainConfig(batch_size=20, max_epochs=9, lr=1e-6, lr_factor=0.5, lr_patience=1, patience=100))
    lrs = [row["lr"] for row in rec["history"]]
    assert lrs[0] == pytest.approx(1e-6)
    drops = [b / a for a, b in zip(lrs, lrs[1:]) if b != a]
    assert drops and all(d == pytest.approx(0.5) for d in drops)
    assert len(drops) >= 3 and lrs[-1] < lrs[0]


def test_adam_implementations_and_unknown_one():
    from unitclust.training import make_adam

    p = [torch.nn.Parameter(torch.ones(3))]
    for impl in ("default", "foreach", "fused"):
        assert isinstance(make_adam(p, 1e-3, impl), torch.optim.Adam)
    with pytest.raises(ValueError, match="Adam implementation"):
        make_adam(p, 1e-3, "sgd")
