"""The reproduction scorecard on small synthetic tables whose answers are known."""
import itertools

import numpy as np
import pandas as pd
import pytest

from unitclust.measures import FAMILY, MEASURES
from unitclust.scorecard import FINDINGS, SCORECARD_COLUMNS, scorecard, verdict

SWEEPS = {"l2": [1e-5, 1e-3, 1e-1], "l1": [1e-5, 1e-3, 1e-2], "dropout": [0.05, 0.35, 0.7]}


def setting_id(sweep, value):
    l2, l1, drop = 1e-5, 0.0, 0.0
    if sweep == "l2":
        l2 = value
    elif sweep == "l1":
        l1 = value
    else:
        drop = value
    return f"l2={l2:g}_l1={l1:g}_drop={drop:g}"


def tables(q_of, n_seeds=6, n_untrained=6, sweeps=SWEEPS, clusters_of=lambda *a: 3.0, sim_of=None, invalid=()):
    """Synthetic tables: Q*(sweep, pos, seed, layer, measure) = q_of(...), etc."""
    sw_rows, mod_rows, cs_rows, met_rows = [], [], [], []
    models = []
    for sweep, values in sweeps.items():
        for i, v in enumerate(values):
            sid = setting_id(sweep, v)
            sw_rows.append({"sweep": sweep, "parameter": "dropout" if sweep == "dropout" else sweep, "value": v,
                            "setting": sid})
            models += [(sid, s, True, sweep, i / (len(values) - 1)) for s in range(n_seeds)]
    models += [("untrained", s, False, None, None) for s in range(n_untrained)]
    seen = set()
    for sid, seed, trained, sweep, pos in models:
        if (sid, seed) in seen:
            continue
        seen.add((sid, seed))
        model = f"{sid}/seed={seed}"
        valid = (sid, seed) not in invalid
        met_rows.append({"model": model, "setting": sid, "seed": seed, "trained": trained, "valid": valid})
        for layer, m in itertools.product((1, 2), MEASURES):
            q = q_of(sweep, pos, seed, layer, m) if trained else 0.05
            mod_rows.append({"model": model, "setting": sid, "seed": seed, "trained": trained, "layer": layer,
                             "measure": m, "family": FAMILY[m], "q": q, "status": "ok", "valid": valid,
                             "n_clusters": clusters_of(sweep, pos, seed, layer, m) if trained else 3.0})
            for m2 in MEASURES:
                sim = 1.0 if m == m2 else (sim_of(trained, m, m2, seed) if sim_of else 0.5)
                cs_rows.append({"model": model, "setting": sid, "seed": seed, "trained": trained, "layer": layer,
                                "measure_a": m, "measure_b": m2, "similarity": sim, "valid": valid})
    return (pd.DataFrame(mod_rows), pd.DataFrame(cs_rows), pd.DataFrame(met_rows),
            pd.DataFrame(sw_rows).drop_duplicates(["sweep", "setting"]))


def run(**kw):
    return scorecard(*tables(**kw), n_boot=300).set_index("finding")


@pytest.mark.parametrize("claim,low,high,expected", [
    ((">", 0.0), 0.1, 0.3, "yes"), ((">", 0.0), -0.3, -0.1, "no"), ((">", 0.0), -0.1, 0.2, "inconclusive"),
    (("<", 0.0), -0.3, -0.1, "yes"), (("<", 0.0), 0.0, 0.2, "no"), (("within", (-1, 1)), -0.5, 0.5, "yes"),
    (("within", (-1, 1)), 1.5, 2.0, "no"), (("within", (-1, 1)), 0.5, 1.5, "inconclusive"),
    ((">", 0.0), np.nan, np.nan, "not applicable"),
])
def test_verdict(claim, low, high, expected):
    assert verdict(claim, low, high) == expected


def test_known_rises_are_measured_exactly_and_supported():
    """Q* rises by 0.3 across dropout (0.4 upstream, 0.2 downstream; layer 1 more than layer 2),
    by 0.05 across L2 and not at all across L1, identically for every seed."""
    def q(sweep, pos, seed, layer, m):
        up = FAMILY[m] == "upstream"
        slope = {"dropout": (0.4 if up else 0.2) + (0.05 if layer == 1 else -0.05), "l2": 0.05, "l1": 0.0}[sweep]
        return 0.1 + slope * pos + 0.01 * seed
    sc = run(q_of=q)
    assert list(sc.reset_index().columns) == SCORECARD_COLUMNS and len(sc) == len(FINDINGS)
    assert sc.loc["dropout_raises_q", "value"] == pytest.approx(0.3)
    assert sc.loc["dropout_upstream", "value"] == pytest.approx(0.2)
    assert sc.loc["dropout_layer1", "value"] == pytest.approx(0.1)
    assert sc.loc["l2_raises_q", "value"] == pytest.approx(0.05)
    assert sc.loc["dropout_strongest", "value"] == pytest.approx(0.25)
    assert sc.loc["l1_weak", "value"] == pytest.approx(0.15)
    assert sc.loc["l1_like_l2", "value"] == pytest.approx(0.1)
    for name in ("dropout_raises_q", "dropout_upstream", "dropout_layer1", "l2_raises_q", "dropout_strongest",
                 "l1_weak", "l1_like_l2"):
        row = sc.loc[name]
        assert row["ci_low"] == pytest.approx(row["value"]) == pytest.approx(row["ci_high"])  # no seed variation
        assert row["verdict"] == "yes", name


def test_a_finding_that_does_not_hold_says_no():
    sc = run(q_of=lambda sweep, pos, seed, layer, m: 0.3 - (0.2 if sweep == "dropout" else 0.0) * pos)
    assert sc.loc["dropout_raises_q", "value"] == pytest.approx(-0.2)
    assert sc.loc["dropout_raises_q", "verdict"] == "no"


def test_seed_noise_around_zero_is_inconclusive():
    """The L2 rise is +0.05 for even seeds and -0.05 for odd ones: mean 0, interval straddles 0."""
    def q(sweep, pos, seed, layer, m):
        return 0.2 + (0.05 if seed % 2 == 0 else -0.05) * pos * (sweep == "l2")
    sc = run(q_of=q, n_seeds=8)
    row = sc.loc["l2_raises_q"]
    assert row["value"] == pytest.approx(0.0, abs=1e-12)
    assert row["ci_low"] < 0 < row["ci_high"] and row["verdict"] == "inconclusive"


def test_missing_sweep_gives_not_applicable():
    sc = run(q_of=lambda *a: 0.2, sweeps={"l2": SWEEPS["l2"], "dropout": SWEEPS["dropout"]})
    assert sc.loc["dropout_strongest", "verdict"] == "not applicable"
    assert sc.loc["l1_weak", "verdict"] == "not applicable"
    assert sc.loc["l1_like_l2", "verdict"] == "not applicable"
    assert sc.loc["dropout_raises_q", "verdict"] != "not applicable"


def test_cluster_similarity_findings_and_excluded_fraction():
    def sim(trained, a, b, seed):
        if FAMILY[a] != FAMILY[b]:
            return 0.2
        if a.removesuffix("_norm") == b.removesuffix("_norm"):
            return 0.9
        return 0.7 if (trained or FAMILY[a] == "downstream") else 0.3
    invalid = {(setting_id("l2", 1e-1), s) for s in range(6)}  # 6 of 9 x 6 = 54 trained models
    sc = run(q_of=lambda *a: 0.2, sim_of=sim, invalid=invalid)
    within_t = (4 * 0.9 + 8 * 0.7) / 12  # per family: 2 normalization pairs, 4 other pairs
    assert sc.loc["families_agree_within", "value"] == pytest.approx(within_t - 0.2)
    assert sc.loc["normalization_matters_little", "value"] == pytest.approx(0.2)
    assert sc.loc["upstream_agreement_from_training", "value"] == pytest.approx((2 * 0.9 + 4 * 0.7) / 6
                                                                                - (2 * 0.9 + 4 * 0.3) / 6)
    assert sc.loc["training_attenuates_split", "verdict"] == "no"  # cross-family agreement unchanged
    assert sc.loc["models_below_cutoff", "value"] == pytest.approx(6 / 54)
    assert sc.loc["rarely_over_six_clusters", "value"] == pytest.approx(0.0)
    assert sc.loc["rarely_over_six_clusters", "previous_value"] == pytest.approx(1.0)  # the old 2-6 fraction


def test_bootstrap_is_seeded():
    t = tables(q_of=lambda sweep, pos, seed, layer, m: 0.1 + 0.01 * seed * pos)
    a, b = scorecard(*t, n_boot=200, seed=3), scorecard(*t, n_boot=200, seed=3)
    pd.testing.assert_frame_equal(a, b)


def test_a_sweep_without_valid_models_is_not_applicable_not_an_error():
    invalid = {(setting_id("dropout", v), s) for v in SWEEPS["dropout"] for s in range(6)}
    sc = run(q_of=lambda sweep, pos, seed, layer, m: 0.1 + 0.1 * pos, invalid=invalid)
    assert sc.loc["dropout_raises_q", "verdict"] == "not applicable"
    assert sc.loc["l2_raises_q", "verdict"] == "yes"


# --- each redefined finding answers its own sentence (docs/science.md §7, 2026-12-04) ---

def agreement(up_t, up_u, down_t, down_u, cross_t, cross_u):
    """sim_of for synthetic tables: every within-upstream pair has similarity up_t (trained) / up_u
    (untrained), likewise within-downstream and cross-family pairs."""
    def sim(trained, a, b, seed):
        if FAMILY[a] != FAMILY[b]:
            return cross_t if trained else cross_u
        if FAMILY[a] == "upstream":
            return up_t if trained else up_u
        return down_t if trained else down_u
    return sim


def agreement_card(**kw):
    return run(q_of=lambda *a: 0.2, sim_of=agreement(**kw))


def test_attenuation_is_the_cross_family_rise_not_the_upstream_emergence():
    """Upstream agreement rises strongly with training and cross-family agreement slightly: the
    split is attenuated slightly (yes), although the old pooled quantity said the split grew."""
    sc = agreement_card(up_t=0.8, up_u=0.3, down_t=0.7, down_u=0.7, cross_t=0.25, cross_u=0.2)
    row = sc.loc["training_attenuates_split"]
    assert row["value"] == pytest.approx(0.05) and row["verdict"] == "yes"
    assert row["previous_value"] == pytest.approx((0.75 - 0.25) - (0.5 - 0.2))  # > 0: the old "no"
    assert sc.loc["upstream_agreement_from_training", "verdict"] == "yes"


@pytest.mark.parametrize("cross_t,expected", [(0.15, "no"), (0.2, "no"), (0.9, "no"), (0.3, "yes")])
def test_attenuation_needs_a_cross_rise_smaller_than_the_upstream_rise(cross_t, expected):
    sc = agreement_card(up_t=0.8, up_u=0.3, down_t=0.7, down_u=0.7, cross_t=cross_t, cross_u=0.2)
    assert sc.loc["training_attenuates_split", "verdict"] == expected


@pytest.mark.parametrize("up_t", [0.3, 0.5, 0.9])
def test_untrained_downstream_structure_ignores_the_upstream_family(up_t):
    """The untrained downstream contrast (0.6 - 0.2) is all of the trained one: yes, whatever the
    upstream measures do; the value does not depend on them."""
    sc = agreement_card(up_t=up_t, up_u=0.3, down_t=0.6, down_u=0.6, cross_t=0.2, cross_u=0.2)
    assert sc.loc["downstream_structure_untrained", "value"] == pytest.approx(0.4 - 0.2)
    assert sc.loc["downstream_structure_untrained", "verdict"] == "yes"


def test_downstream_structure_absent_before_training_says_no_even_if_upstream_emerges():
    sc = agreement_card(up_t=0.9, up_u=0.2, down_t=0.7, down_u=0.2, cross_t=0.2, cross_u=0.2)
    assert sc.loc["downstream_structure_untrained", "value"] == pytest.approx(0.0 - 0.25)
    assert sc.loc["downstream_structure_untrained", "verdict"] == "no"
    assert sc.loc["downstream_structure_untrained", "previous_value"] == pytest.approx(0.7 - 0.5)  # old: "yes"


def test_agreement_within_both_families_is_required():
    """Upstream measures agree, downstream ones no more than across families: the pooled mean
    (old quantity) says yes, the sentence ("within both") does not hold."""
    sc = agreement_card(up_t=0.9, up_u=0.9, down_t=0.2, down_u=0.2, cross_t=0.2, cross_u=0.2)
    row = sc.loc["families_agree_within"]
    assert row["value"] == pytest.approx(0.0) and row["verdict"] != "yes"
    assert row["previous_value"] == pytest.approx(0.35)


def rises(d, l2, l1):
    """q_of with given rises across the dropout, L2 and L1 sweeps (the same in every layer and measure)."""
    return lambda sweep, pos, seed, layer, m: 0.1 + {"dropout": d, "l2": l2, "l1": l1}[sweep] * pos + 0.01 * seed


@pytest.mark.parametrize("d,l2,l1,weak,like", [
    (0.3, 0.05, 0.0, "yes", "yes"),     # L1 flat, L2 small: weak and like L2
    (0.3, 0.1, 0.2, "no", "yes"),       # L1 below dropout (dropout still strongest) but not weak
    (0.3, 0.25, 0.02, "yes", "no"),     # L1 weak, L2 strong: not like L2
    (0.3, -0.1, 0.1, "yes", "no"),      # L1 and L2 of opposite signs
])
def test_l1_findings_compare_l1_with_dropout_and_with_l2(d, l2, l1, weak, like):
    sc = run(q_of=rises(d, l2, l1))
    assert sc.loc["l1_weak", "verdict"] == weak
    assert sc.loc["l1_like_l2", "verdict"] == like
    assert sc.loc["dropout_strongest", "verdict"] == "yes"


def test_dropout_strongest_is_about_the_size_of_the_effect():
    """L2 lowers Q* by more than dropout raises it: dropout is not the strongest (old quantity: yes)."""
    sc = run(q_of=rises(0.2, -0.3, 0.0))
    assert sc.loc["dropout_strongest", "verdict"] == "no"
    assert sc.loc["dropout_strongest", "previous_value"] == pytest.approx(0.2)
    assert sc.loc["dropout_raises_q", "verdict"] == "yes"


@pytest.mark.parametrize("count,over,under", [(3.0, "yes", "yes"), (8.0, "no", "yes"), (1.5, "yes", "no")])
def test_cluster_count_tails_are_separate_findings(count, over, under):
    sc = run(q_of=lambda *a: 0.2, clusters_of=lambda *a: count)
    assert sc.loc["rarely_over_six_clusters", "verdict"] == over
    assert sc.loc["rarely_under_two_clusters", "verdict"] == under


def test_rarely_means_fewer_than_one_in_ten():
    """Layer 2 of every model has 7 clusters: half the (model, layer, measure) triples exceed 6."""
    sc = run(q_of=lambda *a: 0.2, clusters_of=lambda sweep, pos, seed, layer, m: 7.0 if layer == 2 else 3.0)
    assert sc.loc["rarely_over_six_clusters", "value"] == pytest.approx(0.5)
    assert sc.loc["rarely_over_six_clusters", "verdict"] == "no"
    assert sc.loc["rarely_over_six_clusters", "previous_value"] == pytest.approx(0.5)  # old claim > 0.5: "no" too
