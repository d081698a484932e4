"""Null models for Q* and chance levels for agreement, on planted examples."""
import numpy as np
import pytest
import torch

from unitclust.compare import chance_level, relabellings
from unitclust.measures import MEASURES
from unitclust.models import MLP
from unitclust.significance import null_modularity, null_summary, shuffled_weights

CLUSTERING = {"mc_steps": 300}


def test_null_summary_z_and_percentile():
    s = null_summary(0.5, [0.1, 0.2, 0.3, 0.5])
    assert s["null_mean"] == pytest.approx(0.275)
    assert s["null_sd"] == pytest.approx(np.std([0.1, 0.2, 0.3, 0.5], ddof=1))
    assert s["z"] == pytest.approx((0.5 - 0.275) / s["null_sd"])
    assert s["percentile"] == pytest.approx(100 * 3.5 / 4)  # three below, one tie counted half
    assert np.isnan(null_summary(0.5, [])["z"]) and np.isnan(null_summary(0.5, [0.2, 0.2])["z"])


def test_shuffled_weights_permute_each_matrix_and_keep_biases():
    model = MLP(5, [4, 3], 2)
    a, b = shuffled_weights(model, 7), shuffled_weights(model, 7)
    for lin, la, lb in zip(model.linears, a.linears, b.linears):
        assert torch.equal(la.weight, lb.weight)  # seeded
        assert torch.equal(torch.sort(la.weight.flatten()).values, torch.sort(lin.weight.flatten()).values)
        assert not torch.equal(la.weight, lin.weight)
        assert torch.equal(la.bias, lin.bias)
    assert not torch.equal(shuffled_weights(model, 8).linears[0].weight, a.linears[0].weight)


def planted_modular_mlp(blocks=3, per_block=6, features=8):
    """Hidden units in blocks, each block reading its own group of input features: units of a
    block co-vary and share input sensitivity, so the upstream similarity is strongly modular."""
    n, d = blocks * per_block, blocks * features
    model = MLP(d, [n], 3)
    with torch.no_grad():
        W = torch.zeros(n, d)
        for b in range(blocks):
            rows, cols = slice(b * per_block, (b + 1) * per_block), slice(b * features, (b + 1) * features)
            W[rows, cols] = 1.0 + 0.1 * torch.rand(per_block, features)
        model.linears[0].weight.copy_(W)
        model.linears[0].bias.zero_()
    g = torch.Generator().manual_seed(0)
    group = torch.rand(400, blocks, generator=g) * 2
    x = group.repeat_interleave(features, dim=1) + 0.05 * torch.rand(400, d, generator=g)
    return model, x


def test_a_planted_modular_network_gets_a_high_z():
    model, x = planted_modular_mlp()
    from unitclust.clustering.cluster import cluster_matrix
    from unitclust.similarity import similarity_matrices

    S = similarity_matrices(model, x)[0]
    nulls = null_modularity(model, x, 12, model_id="planted", clustering=CLUSTERING)
    for m in ("cov", "isens"):
        q = cluster_matrix(S[m], seed=0, **CLUSTERING).q
        summary = null_summary(q, nulls["layer1", m])
        assert summary["z"] > 5 and summary["percentile"] == 100.0, (m, q, summary)


def test_a_random_network_is_typical_of_its_shuffles():
    torch.manual_seed(3)
    model = MLP(10, [12], 3)
    x = torch.rand(300, 10)
    from unitclust.clustering.cluster import cluster_matrix
    from unitclust.similarity import similarity_matrices

    S = similarity_matrices(model, x)[0]
    nulls = null_modularity(model, x, 20, model_id="random", clustering=CLUSTERING)
    z = [null_summary(cluster_matrix(S[m], seed=0, **CLUSTERING).q, nulls["layer1", m])["z"] for m in ("cov", "isens",
                                                                                                  "osens", "hess")]
    assert np.median(np.abs(z)) < 2.0, z


def test_null_models_are_seeded_and_bit_identical():
    model, x = planted_modular_mlp(blocks=2, per_block=4, features=3)
    a = null_modularity(model, x, 3, model_id="m", seed=5, clustering=CLUSTERING)
    b = null_modularity(model, x, 3, model_id="m", seed=5, clustering=CLUSTERING)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    c = null_modularity(model, x, 3, model_id="other", seed=5, clustering=CLUSTERING)
    assert any(not np.array_equal(a[k], c[k]) for k in a)


def test_relabellings_keep_cluster_sizes_and_unused_units():
    labels = np.array([0, 0, 0, 1, 1, -1, 2, 2, 2, 2, -1])
    rows = relabellings(labels, 50, np.random.default_rng(0))
    assert rows.shape == (50, len(labels))
    for r in rows:
        assert np.array_equal(np.bincount(r[r >= 0]), np.bincount(labels[labels >= 0]))
        assert np.array_equal(r < 0, labels < 0)
    assert len({tuple(r) for r in rows}) > 40  # really random


def test_chance_level_of_identical_and_of_unrelated_clusterings():
    a = np.repeat(np.arange(4), 6)
    obs, chance, p = chance_level(a, a, "element_sim", unused="singletons", n_perm=300, seed=1)
    assert obs == pytest.approx(1.0) and chance < 0.6 and p == pytest.approx(1 / 301)
    b = np.random.default_rng(2).permutation(a)
    obs, chance, p = chance_level(a, b, "element_sim", unused="singletons", n_perm=300, seed=1)
    assert abs(obs - chance) < 0.15 and p > 0.05
    again = chance_level(a, b, "element_sim", unused="singletons", n_perm=300, seed=1)
    assert again == (obs, chance, p)


@pytest.mark.parametrize("metric", ["nmi", "rmi", "vi"])
def test_other_metrics_rank_identical_above_chance(metric):
    a = np.repeat(np.arange(3), 5)
    obs, chance, p = chance_level(a, a, metric, unused="singletons", n_perm=60, seed=0)
    assert p == pytest.approx(1 / 61)
    assert (obs < chance) if metric == "vi" else (obs > chance)


def test_nulls_of_a_cnn_shuffle_conv_weights_and_use_the_generic_measures():
    from unitclust.models import CNN

    torch.manual_seed(0)
    model = CNN((1, 6, 6), [4, 6], 3, 2, 3, hidden=[12])
    null = shuffled_weights(model, 4)
    for w, wn in zip(model.weight_matrices(), null.weight_matrices()):
        assert torch.equal(torch.sort(w.flatten()).values, torch.sort(wn.flatten()).values)
        assert not torch.equal(w, wn)
    assert torch.equal(null.convs[0].bias, model.convs[0].bias)
    x = torch.rand(20, 36)
    q = null_modularity(model, x, 2, model_id="cnn", clustering=CLUSTERING, similarity={"max_positions": 4})
    assert set(q) == {(f"layer{li}", m) for li in (1, 2, 3) for m in MEASURES}
    assert all(len(v) == 2 and np.isfinite(v).all() for v in q.values())
