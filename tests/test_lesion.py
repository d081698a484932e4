"""Lesion tests of clusters: the batched accuracies against a direct per-group computation, the
statistics on hand-made numbers, determinism, deduplication and errors."""
import copy

import numpy as np
import pytest
import torch
from torch import nn

from unitclust.external import InputShaped
from unitclust.lesion import (
    lesion_accuracies,
    lesion_statistics,
    lesion_tests,
    permutation_summary,
    random_groups,
    specificity,
)
from unitclust.models import build_model

GROUPS_MLP = [np.array([0]), np.array([1, 2]), np.array([3, 4, 5]), np.array([5, 0]), np.arange(6)]


def fitted(model, x, y, steps=150):
    """``model`` after a few full-batch Adam steps on (x, y), so that its predictions vary and
    lesions change them."""
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def mlp_data():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(240, 20, generator=gen, dtype=torch.float64)
    y = (x[:, :3] + 0.5 * torch.randn(240, 3, generator=gen, dtype=torch.float64)).argmax(1)
    model = build_model({"type": "mlp", "hidden": [6, 5]}, 20, 3, 0.0, seed=0).double()
    return fitted(model, x, y), x, y


def accuracies(logits, y, n_classes):
    pred = logits.argmax(1)
    return float((pred == y).double().mean()), np.array([float((pred[y == c] == c).double().mean())
                                                         for c in range(n_classes)])


def direct_mlp(model, li, x, y, group, mode):
    """Silence units ``group`` of hidden layer ``li`` by editing the next linear layer: its input
    columns zeroed, their mean contribution moved into its bias for ``mode="mean"``."""
    m = copy.deepcopy(model)
    with torch.no_grad():
        nxt = m.linears[li + 1]
        if mode == "mean":
            mean = m.hidden_activations(x)[li].mean(0)
            nxt.bias += nxt.weight[:, group] @ mean[group]
        nxt.weight[:, group] = 0
        return accuracies(m(x), y, 3)


def direct_hooked(model, layer, x, y, group, mode, n_classes):
    """Silence channels ``group`` of ``layer`` by a hook that edits its output, one input at a time."""
    m = copy.deepcopy(model).eval()
    outs = []
    handle = m.get_submodule(layer).register_forward_hook(lambda _m, _i, o: outs.append(o))
    with torch.no_grad():
        m(x)
    handle.remove()
    fill = outs[0].mean(0) if mode == "mean" else torch.zeros_like(outs[0][0])

    def silence(_m, _i, out):
        out = out.clone()
        out[:, group] = fill[group]
        return out

    handle = m.get_submodule(layer).register_forward_hook(silence)
    with torch.no_grad():
        logits = torch.cat([m(x[i:i + 1]) for i in range(len(x))])
    handle.remove()
    return accuracies(logits, y, n_classes)


@pytest.mark.parametrize("mode", ["zero", "mean"])
@pytest.mark.parametrize("li", [0, 1])
def test_batched_mlp_lesions_equal_editing_the_next_layer(mlp_data, mode, li):
    model, x, y = mlp_data
    groups = [g[g < model.hidden[li]] for g in GROUPS_MLP]
    res = lesion_accuracies(model, f"relus.{li}", x, y, groups, mode=mode, batch_size=50, max_elements=400)
    assert res["intact_acc"] == accuracies(model(x), y, 3)[0]
    assert 0.5 < res["intact_acc"] < 1.0
    for g, acc, class_acc in zip(groups, res["acc"], res["class_acc"]):
        want, want_class = direct_mlp(model, li, x, y, g, mode)
        assert acc == pytest.approx(want, abs=1e-12)
        np.testing.assert_allclose(class_acc, want_class, atol=1e-12)
    assert res["acc"][-1] < res["intact_acc"]  # silencing the whole layer hurts
    assert model.training is False


@pytest.fixture(scope="module")
def conv_models():
    """The package's CNN (conv layer ``relus.0``: 4 channels, 6x6) and a user's conv net wrapped as
    the workflow wraps it (layer ``module.1``: 3 channels, 4x4), fitted to a 3-class task on 6x6 inputs."""
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(90, 36, generator=gen, dtype=torch.float64)
    y = (x[:, :18].sum(1) > x[:, 18:].sum(1)).long() + (x[:, ::2].sum(1) > 9).long()
    cnn = build_model({"type": "cnn", "channels": [4], "kernel": 3, "pool": 2, "hidden": [5]}, (1, 6, 6), 3,
                      0.0, seed=0).double()
    torch.manual_seed(0)
    ext = InputShaped(nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(48, 3)), (1, 6, 6))
    return {"cnn": (fitted(cnn, x, y), "relus.0"), "external": (fitted(ext.double(), x, y), "module.1")}, x, y


@pytest.mark.parametrize("which", ["cnn", "external"])
@pytest.mark.parametrize("mode", ["zero", "mean"])
def test_batched_conv_lesions_equal_a_per_input_loop(conv_models, which, mode):
    models, x, y = conv_models
    model, layer = models[which]
    groups = [np.array([0]), np.array([2, 1]), np.array([0, 1, 2])]
    res = lesion_accuracies(model, layer, x, y, groups, mode=mode, max_elements=1000)
    for g, acc, class_acc in zip(groups, res["acc"], res["class_acc"]):
        want, want_class = direct_hooked(model, layer, x, y, g, mode, 3)
        assert acc == pytest.approx(want, abs=1e-12)
        np.testing.assert_allclose(class_acc, want_class, atol=1e-12)
    assert len(set(res["acc"].tolist())) > 1  # the lesions differ, so the comparison means something
    assert res["fill"].shape == ((4, 6, 6) if which == "cnn" else (3, 4, 4)) or mode == "zero"  # mean maps


def test_chunking_does_not_change_results(mlp_data):
    model, x, y = mlp_data
    calls = []
    handle = model.linears[0].register_forward_hook(lambda _m, i, _o: calls.append(len(i[0])))
    whole = lesion_accuracies(model, "relus.0", x, y, GROUPS_MLP, mode="mean")
    handle.remove()
    assert calls == [240, 240]  # the intact pass, then every group in one pass: the upstream part runs twice
    tiny = lesion_accuracies(model, "relus.0", x, y, GROUPS_MLP, mode="mean", batch_size=7, max_elements=13)
    np.testing.assert_array_equal(whole["acc"], tiny["acc"])
    np.testing.assert_array_equal(whole["class_acc"], tiny["class_acc"])


def test_float32_model_matches_direct_computation(mlp_data):
    model, x, y = mlp_data
    m32, x32 = copy.deepcopy(model).float(), x.float()
    groups = [np.array([0]), np.array([1, 2]), np.array([2, 3, 4])]
    res = lesion_accuracies(m32, "relus.1", x32, y, groups, mode="zero")
    for g, acc in zip(groups, res["acc"]):
        assert acc == pytest.approx(direct_mlp(m32, 1, x32, y, g, "zero")[0], abs=1e-6)


def test_permutation_summary_on_hand_made_numbers():
    s = permutation_summary(0.5, [0.1, 0.5, 0.7, 0.2])
    assert s["random_mean"] == pytest.approx(0.375)
    assert s["random_sd"] == pytest.approx(np.std([0.1, 0.5, 0.7, 0.2], ddof=1))
    assert s["z"] == pytest.approx((0.5 - 0.375) / s["random_sd"])
    assert s["p"] == pytest.approx((1 + 2) / (1 + 4))  # 0.5 (a tie) and 0.7 are at least as large
    assert permutation_summary(0.9, [0.1, 0.2, 0.3])["p"] == pytest.approx(1 / 4)  # the smallest possible p
    assert permutation_summary(0.0, [0.1, 0.2])["p"] == 1.0
    flat = permutation_summary(0.3, [0.2, 0.2, 0.2])
    assert flat["random_sd"] < 1e-15 and np.isnan(flat["z"]) and flat["p"] == pytest.approx(1 / 4)
    assert all(np.isnan(v) for v in permutation_summary(0.3, []).values())


def test_lesion_statistics_on_hand_made_accuracies():
    intact_class = np.array([0.9, 0.8, 1.0])
    st = lesion_statistics(0.9, intact_class, 0.7, np.array([0.3, 0.8, 1.0]), np.array([0.85, 0.9, 0.8]),
                           np.array([[0.8, 0.8, 0.9], [0.9, 0.8, 1.0], [0.7, 0.7, 1.0]]))
    np.testing.assert_allclose(st["class_drop"], [0.6, 0.0, 0.0], atol=1e-15)
    assert st["drop"] == pytest.approx(0.2)
    assert st["drop_random_mean"] == pytest.approx(np.mean([0.05, 0.0, 0.1]))
    assert st["drop_p"] == pytest.approx(1 / 4)
    assert st["spec"] == pytest.approx(np.std([0.6, 0.0, 0.0]))
    rand_spec = [np.std([0.1, 0.0, 0.1]), 0.0, np.std([0.2, 0.1, 0.0])]
    assert st["spec_random_mean"] == pytest.approx(np.mean(rand_spec))
    assert st["spec_z"] == pytest.approx((st["spec"] - np.mean(rand_spec)) / np.std(rand_spec, ddof=1))
    assert specificity([0.1, np.nan, 0.3]) == pytest.approx(0.1)  # classes without inputs are left out


def test_random_groups_are_seeded_subsets_of_the_pool():
    pool = np.array([0, 2, 3, 7, 9])
    a = random_groups(pool, 3, 40, seed=5)
    assert a.shape == (40, 3) and np.isin(a, pool).all()
    assert all(len(set(r)) == 3 and list(r) == sorted(r) for r in a.tolist())
    np.testing.assert_array_equal(a, random_groups(pool, 3, 40, seed=5))
    assert not np.array_equal(a, random_groups(pool, 3, 40, seed=6))
    assert len({tuple(r) for r in a.tolist()}) > 5  # all 10 subsets are possible
    with pytest.raises(ValueError, match="6 units from a pool of 5"):
        random_groups(pool, 6, 1, seed=0)


LABELS = {"relus.0": {"cov": np.array([0, 0, 1, 1, -1, 2]), "osens": np.array([0, 0, 1, 1, 2, 2]),
                      "hess": np.array([1, 1, 0, 0, 2, 2])},
          "relus.1": {"isens": np.array([0, 1, 0, 1, 1])}}


def test_lesion_tests_rows_deterministic_and_order_free(mlp_data):
    model, x, y = mlp_data
    rows, raw = lesion_tests(model, LABELS, x, y, n_random=8, seed=3, model_id="m", names={"relus.0": "layer1"})
    assert [(r["layer"], r["measure"], r["cluster"]) for r in rows] == (
        [("layer1", m, c) for m in ("cov", "osens", "hess") for c in range(3)] + [("relus.1", "isens", c)
                                                                                  for c in range(2)])
    again, _ = lesion_tests(model, LABELS, x, y, n_random=8, seed=3, model_id="m", names={"relus.0": "layer1"})
    assert repr(rows) == repr(again)
    flipped = {k: dict(reversed(list(v.items()))) for k, v in reversed(list(LABELS.items()))}
    other, _ = lesion_tests(model, flipped, x, y, n_random=8, seed=3, model_id="m", names={"relus.0": "layer1"})
    key = lambda r: (r["layer"], r["measure"], r["cluster"])  # noqa: E731 - a sort key, read once
    assert repr(sorted(rows, key=key)) == repr(sorted(other, key=key))
    r = rows[0]
    assert r["size"] == 2 and r["n_random"] == 8 and len(r["class_drop"]) == 3
    assert r["drop"] == pytest.approx(r["intact_acc"] - r["acc"])
    assert raw["layer1"]["units"].shape[1] == 2 and (raw["layer1"]["units"][raw["layer1"]["sizes"] == 1, 1] == -1).all()
    cov = raw["layer1"]["measures"]["cov"]
    drawn = raw["layer1"]["units"][cov["random_group"]]
    assert not np.isin(drawn, [4]).any()  # random groups come from the used units only
    differs, _ = lesion_tests(model, LABELS, x, y, n_random=8, seed=3, model_id="other")
    assert [r["drop_random_mean"] for r in differs] != [r["drop_random_mean"] for r in rows]


def test_identical_groups_are_lesioned_once(mlp_data, monkeypatch):
    import unitclust.lesion as lesion

    model, x, y = mlp_data
    seen = []
    real = lesion.lesion_accuracies
    monkeypatch.setattr(lesion, "lesion_accuracies", lambda m, layer, x, y, groups, **kw: (
        seen.append([tuple(g) for g in groups]) or real(m, layer, x, y, groups, **kw)))
    _, raw = lesion.lesion_tests(model, {"relus.0": LABELS["relus.0"]}, x, y, n_random=0)
    assert seen[0] == [(0, 1), (2, 3), (5,), (4, 5)]  # osens and hess find cov's first two clusters again
    m = raw["relus.0"]["measures"]
    np.testing.assert_array_equal(m["osens"]["cluster_group"], [0, 1, 3])
    np.testing.assert_array_equal(m["hess"]["cluster_group"], [1, 0, 3])
    assert m["cov"]["random_group"].shape == (3, 0)
    seen.clear()
    _, raw = lesion.lesion_tests(model, {"relus.0": LABELS["relus.0"]}, x, y, n_random=30)
    assert len(seen[0]) == len(set(seen[0]))  # random draws equal to each other or a cluster: once
    assert len(seen[0]) < 4 + 3 * 30 * 2


def test_errors_name_the_problem(mlp_data):
    model, x, y = mlp_data
    with pytest.raises(ValueError, match="no layer 'relus.7'.*relus.0"):
        lesion_accuracies(model, "relus.7", x, y, [np.array([0])])
    with pytest.raises(ValueError, match="group 1 of layer 'relus.0' names unit 6, out of range.*6 units"):
        lesion_accuracies(model, "relus.0", x, y, [np.array([0]), np.array([1, 6])])
    with pytest.raises(ValueError, match="group 0 of layer 'relus.1' is empty"):
        lesion_accuracies(model, "relus.1", x, y, [np.array([], dtype=int)])
    with pytest.raises(ValueError, match="unknown lesion mode 'median'; allowed: zero, mean"):
        lesion_accuracies(model, "relus.0", x, y, [np.array([0])], mode="median")
    with pytest.raises(ValueError, match="names a unit twice"):
        lesion_accuracies(model, "relus.0", x, y, [np.array([1, 1])])
    with pytest.raises(ValueError, match="labels of layer 'relus.1', measure 'cov': 6 int64 values, expected 5"):
        lesion_tests(model, {"relus.1": {"cov": np.zeros(6, dtype=np.int64)}}, x, y, n_random=1)
    with pytest.raises(ValueError, match="no layer 'fc'"):
        lesion_tests(model, {"fc": {"cov": np.zeros(6, dtype=np.int64)}}, x, y)


def test_lesion_tests_on_a_users_conv_layer(conv_models):
    models, x, y = conv_models
    model, layer = models["external"]
    rows, raw = lesion_tests(model, {layer: {"cov": np.array([0, 1, 1])}}, x, y, mode="mean", n_random=4,
                             names={layer: "conv1"})
    assert [(r["layer"], r["cluster"], r["size"]) for r in rows] == [("conv1", 0, 1), ("conv1", 1, 2)]
    want = direct_hooked(model, layer, x, y, np.array([1, 2]), "mean", 3)[0]
    assert rows[1]["acc"] == pytest.approx(want, abs=1e-12)
    assert raw["conv1"]["module"] == "module.1" and raw["conv1"]["class_acc"].shape[1] == 3
