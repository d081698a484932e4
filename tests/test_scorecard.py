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
    for name in ("dropout_raises_q", "dropout_upstream", "dropout_layer1", "l2_raises_q", "dropout_strongest",
                 "l1_weaker_than_dropout"):
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
    assert sc.loc["l1_weaker_than_dropout", "verdict"] == "not applicable"
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
    assert sc.loc["training_attenuates_split", "verdict"] == "no"  # trained split is larger here
    assert sc.loc["models_below_cutoff", "value"] == pytest.approx(6 / 54)
    assert sc.loc["two_to_six_clusters", "value"] == pytest.approx(1.0)


def test_bootstrap_is_seeded():
    t = tables(q_of=lambda sweep, pos, seed, layer, m: 0.1 + 0.01 * seed * pos)
    a, b = scorecard(*t, n_boot=200, seed=3), scorecard(*t, n_boot=200, seed=3)
    pd.testing.assert_frame_equal(a, b)


def test_a_sweep_without_valid_models_is_not_applicable_not_an_error():
    invalid = {(setting_id("dropout", v), s) for v in SWEEPS["dropout"] for s in range(6)}
    sc = run(q_of=lambda sweep, pos, seed, layer, m: 0.1 + 0.1 * pos, invalid=invalid)
    assert sc.loc["dropout_raises_q", "verdict"] == "not applicable"
    assert sc.loc["l2_raises_q", "verdict"] == "yes"
