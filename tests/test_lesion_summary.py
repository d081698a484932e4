"""Lesion tests across models (unitclust.lesion_summary): the tidy table, the summary and the findings."""
import numpy as np
import pandas as pd
import pytest

from unitclust.lesion_summary import (
    LESION_COLUMNS,
    LESION_FINDINGS,
    lesion_findings,
    lesion_summary,
    lesion_table,
    per_clustering,
)
from unitclust.measures import FAMILY, MEASURES

MODELS = [f"l2=1e-05_l1=0_drop=0.5/seed={s}" for s in range(4)] + ["untrained/seed=0"]


def metrics(valid=True):
    return pd.DataFrame({"model": MODELS, "trained": [True] * 4 + [False], "valid": [valid] * 4 + [True]})


def columns(n_clusters, spec_z=0.0, drop_z=0.0, n_classes=3):
    k = np.arange(n_clusters)
    cols = {c: np.full(n_clusters, 0.1) for c in ("acc", "drop", "drop_random_mean", "drop_random_sd", "drop_p", "spec",
                                                  "spec_random_mean", "spec_random_sd", "spec_p")}
    cols.update(cluster=k, size=k + 2, drop_z=np.full(n_clusters, float(drop_z)),
                spec_z=np.full(n_clusters, float(spec_z)),
                class_drop=np.tile(np.arange(n_classes) / 10, (n_clusters, 1)))
    return cols


def lesions(spec_up=0.0, spec_down=0.0, drop_up=0.0, drop_down=0.0, noise=0.0):
    rng = np.random.default_rng(0)
    out = {}
    for model in MODELS:
        layers = {}
        for layer in ("layer1", "layer2"):
            layers[layer] = {m: columns(2 + (m == "cov") * 3,
                                        (spec_up if FAMILY[m] == "upstream" else spec_down) + noise * rng.normal(),
                                        drop_up if FAMILY[m] == "upstream" else drop_down) for m in MEASURES}
        out[model] = ({"mode": "zero", "n_random": 20, "intact_acc": {"layer1": 0.9, "layer2": 0.9}}, layers)
    return out


def test_table_has_one_row_per_cluster_with_keys_and_class_drops():
    df = lesion_table(lesions(), metrics())
    assert list(df.columns[:len(LESION_COLUMNS)]) == LESION_COLUMNS
    assert [c for c in df.columns if c.startswith("drop_class_")] == ["drop_class_0", "drop_class_1", "drop_class_2"]
    per_model = 2 * (5 + 2 * 7)  # layers x clusters (cov has 5, every other measure 2)
    assert len(df) == len(MODELS) * per_model
    row = df[(df["model"] == MODELS[1]) & (df["layer"] == 2) & (df["measure"] == "osens")].iloc[1]
    assert row["seed"] == 1 and row["trained"] and row["family"] == "downstream" and row["cluster"] == 1
    assert row["size"] == 3 and row["drop_class_2"] == pytest.approx(0.2) and row["intact_acc"] == 0.9


def test_clusters_are_averaged_per_clustering_first():
    df = lesion_table(lesions(), metrics())
    df.loc[df["measure"] == "cov", "spec_z"] = np.where(df.loc[df["measure"] == "cov", "cluster"] == 0, 5.0, 0.0)
    per = per_clustering(df)
    cov = per[(per["measure"] == "cov") & (per["model"] == MODELS[0]) & (per["layer"] == 1)]
    assert cov["spec_z"].item() == pytest.approx(1.0) and cov["n_clusters"].item() == 5


def test_summary_counts_only_valid_models():
    s = lesion_summary(lesion_table(lesions(spec_down=2.0), metrics()))
    t = s[s["trained"]]
    assert set(t["n_models"]) == {4} and len(t) == 2 * len(MEASURES)
    assert t[t["family"] == "downstream"]["spec_z"].eq(2.0).all() and t[t["family"] == "upstream"]["spec_z"].eq(0).all()
    s = lesion_summary(lesion_table(lesions(), metrics(valid=False)))
    assert not s["trained"].any()  # only the (valid) untrained model is left


@pytest.mark.parametrize("kwargs,expected", [
    (dict(spec_up=0.5, spec_down=2.0, drop_up=1.0, drop_down=0.2),
     {"lesion_upstream_specific": "yes", "lesion_downstream_specific": "yes",
      "lesion_downstream_more_specific": "yes", "lesion_downstream_more_damaging": "no"}),
    (dict(spec_up=-1.0, spec_down=-0.5, drop_up=0.0, drop_down=1.0),
     {"lesion_upstream_specific": "no", "lesion_downstream_specific": "no",
      "lesion_downstream_more_specific": "yes", "lesion_downstream_more_damaging": "yes"}),
])
def test_each_finding_responds_to_its_own_quantity(kwargs, expected):
    card = lesion_findings(lesion_table(lesions(noise=0.05, **kwargs), metrics()), n_boot=200)
    assert list(card["finding"]) == [f.name for f in LESION_FINDINGS]
    assert dict(zip(card["finding"], card["verdict"])) == expected
    assert (card["section"] == "new (not in the paper)").all() and (card["n_seeds"] == 4).all()
    more = card.set_index("finding").loc["lesion_downstream_more_specific", "value"]
    assert more == pytest.approx(kwargs["spec_down"] - kwargs["spec_up"], abs=0.05)


def test_findings_without_valid_trained_models_are_not_applicable():
    card = lesion_findings(lesion_table(lesions(), metrics(valid=False)), n_boot=50)
    assert (card["verdict"] == "not applicable").all()


def test_an_empty_table_keeps_its_columns():
    assert list(lesion_table({}, metrics()).columns) == LESION_COLUMNS
    assert lesion_summary(lesion_table({}, metrics())).empty


def test_one_trained_seed_gives_a_value_but_no_interval_or_verdict():
    one = {m: v for m, v in lesions(spec_down=2.0).items() if m.endswith("seed=0")}
    card = lesion_findings(lesion_table(one, metrics()), n_boot=50)
    assert (card["verdict"] == "not applicable").all() and card["ci_low"].isna().all()
    assert card.set_index("finding").loc["lesion_downstream_specific", "value"] == pytest.approx(2.0)
