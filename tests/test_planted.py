"""Planted modules: the truth labels, the block weights, and which measures recover the modules."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from unitclust.data import load_digits_dataset, to_tensors
from unitclust.planted import contiguous_labels, planted_mlp, planted_truth, recovery

CLUSTERING = {"mc_steps": 200}
EXACT = ("isens", "isens_norm", "osens", "osens_norm")  # exactly block-diagonal at s = 1 (planted.py)


@pytest.fixture(scope="module")
def digits():
    return to_tensors(load_digits_dataset(), "test")[0]


def table(rows, side="both", method=None):
    """{(layer, measure): element_sim} of the rows of one side (and method)."""
    return {(r["layer"], r["measure"]): r["element_sim"] for r in rows
            if r["side"] == side and (method is None or r["method"] == method)}


def test_truth_has_the_planted_sizes():
    truth = planted_truth([12, 10], 3)
    assert list(truth) == ["relus.0", "relus.1"]
    assert np.bincount(truth["relus.0"]["upstream"]).tolist() == [4, 4, 4]
    assert np.bincount(truth["relus.1"]["upstream"]).tolist() == [4, 3, 3]
    assert all(np.array_equal(t["upstream"], t["downstream"]) for t in truth.values())
    other = planted_truth([12, 10], 3, sides="different", seed=4)
    assert not np.array_equal(other["relus.0"]["upstream"], other["relus.0"]["downstream"])
    np.testing.assert_array_equal(other["relus.1"]["downstream"],
                                  planted_truth([12, 10], 3, sides="different", seed=4)["relus.1"]["downstream"])


@settings(max_examples=60, deadline=None)
@given(hidden=st.lists(st.integers(1, 30), min_size=1, max_size=3), k=st.integers(1, 30),
       sides=st.sampled_from(["same", "different"]), seed=st.integers(0, 2**31))
def test_truth_labels_are_partitions_of_near_equal_modules(hidden, k, sides, seed):
    if k > min(hidden):
        with pytest.raises(ValueError, match=f"into {k} modules"):
            planted_truth(hidden, k, sides=sides, seed=seed)
        return
    for n, t in zip(hidden, planted_truth(hidden, k, sides=sides, seed=seed).values()):
        for labels in t.values():
            sizes = np.bincount(labels, minlength=k)
            assert len(labels) == n and len(sizes) == k and sizes.sum() == n
            assert sizes.max() - sizes.min() <= 1 and sizes.min() >= 1
        assert sorted(t["downstream"].tolist()) == sorted(t["upstream"].tolist())


def test_weights_are_blocks_plus_noise_and_seeded(digits):
    full, truth = planted_mlp(64, 10, [12, 9], 3, 1.0, seed=2)
    W1, W2, W3 = (lin.weight.detach().numpy() for lin in full.linears)
    up0, up1 = truth["relus.0"]["upstream"], truth["relus.1"]["upstream"]
    for W, rows, cols in ((W1, up0, contiguous_labels(64, 3)), (W2, up1, up0), (W3, contiguous_labels(10, 3), up1)):
        block = rows[:, None] == cols[None, :]
        assert (W[~block] == 0).all() and (W[block] > 0).all()
    assert all((h > 0).all() for h in full.hidden_activations(digits))  # every unit active on every input
    noise, _ = planted_mlp(64, 10, [12, 9], 3, 0.0, seed=2)
    half, _ = planted_mlp(64, 10, [12, 9], 3, 0.5, seed=2)
    for a, b, c in zip(full.linears, noise.linears, half.linears):  # same blocks and noise at every strength
        torch.testing.assert_close(c.weight, 0.5 * a.weight + 0.5 * b.weight)
        assert abs(float(a.weight.detach().norm() / b.weight.detach().norm()) - 1) < 0.35
    again, _ = planted_mlp(64, 10, [12, 9], 3, 0.5, seed=2)
    assert all(torch.equal(a.weight, b.weight) for a, b in zip(half.linears, again.linears))
    assert not torch.equal(planted_mlp(64, 10, [12, 9], 3, 0.5, seed=3)[0].linears[0].weight, half.linears[0].weight)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_strong_modules_are_recovered_exactly(digits, k):
    model, truth = planted_mlp(64, 10, [12, 12], k, 1.0, seed=0)
    rows = recovery(model, digits, truth, methods=("paper", "leiden"), seed=0, strength=1.0, clustering=CLUSTERING)
    assert len(rows) == 2 * 8 * 2
    for r in rows:
        if r["measure"] in EXACT:
            assert r["element_sim"] == pytest.approx(1.0, abs=1e-12), r
            assert r["nmi"] == pytest.approx(1.0, abs=1e-9) and r["n_clusters_found"] == r["n_planted"] == k, r
    if k == 2:  # the softmax coupling -p p^T: hess does not find two modules on digits
        assert max(v for (_, m), v in table(rows).items() if m.startswith("hess")) < 0.9
    if k == 4:  # neighbouring pixel rows co-vary: cov merges input blocks
        assert max(v for (_, m), v in table(rows).items() if m == "cov") < 0.9


def test_pure_noise_has_no_modules_to_recover(digits):
    model, truth = planted_mlp(64, 10, [12, 12], 3, 0.0, seed=0)
    rows = recovery(model, digits, truth, seed=0, strength=0.0, clustering=CLUSTERING)
    values = list(table(rows).values())
    assert len(values) == 16 and np.mean(values) < 0.55 and max(values) < 0.75


def test_each_family_reads_its_own_side(digits):
    """One hidden layer whose units read input blocks by one partition and write to class groups
    by another: upstream measures recover the first, downstream measures the second."""
    model, truth = planted_mlp(64, 10, [12], 3, 1.0, seed=1, sides="different")
    rows = recovery(model, digits, truth, measures=EXACT, seed=1, strength=1.0, clustering=CLUSTERING)
    up, down = table(rows, "upstream"), table(rows, "downstream")
    for measure, own, other in (("isens", up, down), ("isens_norm", up, down), ("osens", down, up),
                                ("osens_norm", down, up)):
        assert own["layer1", measure] == pytest.approx(1.0) and other["layer1", measure] < 0.6, measure


def test_recovery_rows_are_deterministic(digits):
    model, truth = planted_mlp(64, 10, [8, 8], 2, 0.5, seed=5)
    a = recovery(model, digits, truth, seed=5, strength=0.5, measures=("cov", "hess"), clustering=CLUSTERING)
    b = recovery(model, digits, truth, seed=5, strength=0.5, measures=("cov", "hess"), clustering=CLUSTERING)
    assert repr(a) == repr(b)
    assert set(a[0]) >= {"strength", "seed", "layer", "measure", "method", "side", "element_sim", "nmi",
                         "n_clusters_found", "n_planted"}
    assert (a[0]["strength"], a[0]["seed"], a[0]["layer"], a[0]["method"]) == (0.5, 5, "layer1", "paper")


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="12 units of hidden layer 1 into 13 modules"):
        planted_mlp(64, 10, [12], 13, 1.0)
    with pytest.raises(ValueError, match="10 classes into 11 modules"):
        planted_mlp(64, 10, [12, 12], 11, 1.0)
    with pytest.raises(ValueError, match=r"strength must be in \[0, 1\], got 1.5"):
        planted_mlp(64, 10, [12], 2, 1.5)
    with pytest.raises(ValueError, match="unknown sides 'both'"):
        planted_truth([12], 2, sides="both")
