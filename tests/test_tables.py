"""The tidy tables: one row per observation, validity from the accuracy cutoff, exact columns."""
import numpy as np
import pandas as pd
import pytest

from unitclust import tables
from unitclust.config import expand_sweeps


def _metrics(acc_by_model: dict, diverged=()) -> pd.DataFrame:
    records = {}
    for model, acc in acc_by_model.items():
        trained = not model.startswith("untrained")
        records[model] = {"trained": trained, "test_acc": acc, "diverged": model in diverged,
                          "hparams": {"l2": 1e-5, "l1": 0.0, "dropout": 0.5} if trained else {}}
    return tables.metrics_table(records, accuracy_cutoff=0.8)


def test_metrics_validity_follows_cutoff_divergence_and_untrained():
    m = _metrics({"l2=1e-05_l1=0_drop=0.5/seed=0": 0.95, "l2=1e-05_l1=0_drop=0.5/seed=1": 0.5,
                  "l2=1e-05_l1=0_drop=0.5/seed=2": 0.99, "untrained/seed=0": 0.1},
                 diverged={"l2=1e-05_l1=0_drop=0.5/seed=2"})
    assert list(m.columns) == tables.METRIC_COLUMNS
    assert m.set_index("model")["valid"].to_dict() == {
        "l2=1e-05_l1=0_drop=0.5/seed=0": True, "l2=1e-05_l1=0_drop=0.5/seed=1": False,
        "l2=1e-05_l1=0_drop=0.5/seed=2": False, "untrained/seed=0": True}
    assert tables.n_excluded(m) == 2
    untrained = m[m["model"] == "untrained/seed=0"].iloc[0]
    assert np.isnan(untrained["l2"]) and untrained["setting"] == "untrained" and untrained["seed"] == 0


def test_sweeps_table_lists_each_setting_once_per_sweep_and_shares_the_base():
    settings, rows = expand_sweeps({
        "l2": {"l2": [1e-5, 1e-3], "l1": 0, "dropout": 0},
        "dropout": {"l2": 1e-5, "l1": 0, "dropout": [0.0, 0.5]},
    })
    df = tables.sweeps_table(rows)
    assert list(df.columns) == tables.SWEEP_COLUMNS
    assert len(df) == 4 and len(settings) == 3  # l2=1e-5, drop=0 belongs to both sweeps
    shared = df[df["setting"] == "l2=1e-05_l1=0_drop=0"]
    assert sorted(shared["sweep"]) == ["dropout", "l2"]
    assert df.set_index(["sweep", "setting"])["parameter"].to_dict()[("dropout", "l2=1e-05_l1=0_drop=0.5")] == "dropout"


def test_cluster_similarity_table_one_row_per_ordered_pair_and_layer():
    mat = np.array([[1.0, 0.3], [0.3, 1.0]])
    p = np.array([[np.nan, 0.01], [0.01, np.nan]])
    matrices = {"l2=1e-05_l1=0_drop=0/seed=0": {("element_sim", "layer1"): (mat, ["a", "b"], None, None),
                                                ("element_sim", "layer2"): (mat * 0.5, ["a", "b"], mat * 0.2, p)},
                "untrained/seed=0": {("element_sim", "layer1"): (mat, ["a", "b"], None, None)}}
    metrics = _metrics({"l2=1e-05_l1=0_drop=0/seed=0": 0.5, "untrained/seed=0": 0.1})
    df = tables.cluster_similarity_table(matrices, metrics)
    assert list(df.columns) == tables.CLUSTER_SIMILARITY_COLUMNS
    assert len(df) == 3 * 4
    row = df[(df["layer"] == 2) & (df["measure_a"] == "b") & (df["measure_b"] == "a")].iloc[0]
    assert row["similarity"] == pytest.approx(0.15) and not row["valid"] and row["trained"]
    assert row["chance_mean"] == pytest.approx(0.06) and row["p_value"] == 0.01 and row["metric"] == "element_sim"
    assert df[df["layer"] == 1]["p_value"].isna().all()
    assert df[df["setting"] == "untrained"]["valid"].all()


def test_modularity_table_reads_cluster_attributes_and_marks_failed_matrices_invalid():
    attrs = {"q": 0.3, "q_init": 0.25, "q_mc_only": np.nan, "n_clusters": 2.5, "n_unused": 1, "status": "ok"}
    clusters = {"l2=1e-05_l1=0_drop=0/seed=0": {"layer1": {
        "cov": (np.array([0, 1, -1]), attrs),
        "hess": (np.array([-1, -1, -1]), {**attrs, "q": np.nan, "status": "all_unused"})}}}
    metrics = _metrics({"l2=1e-05_l1=0_drop=0/seed=0": 0.95})
    table = tables.modularity_table(clusters, metrics)
    assert list(table.columns) == tables.MODULARITY_COLUMNS
    df = table.set_index("measure")
    assert df.loc["cov", "family"] == "upstream" and df.loc["hess", "family"] == "downstream"
    assert df.loc["cov", "valid"] and not df.loc["hess", "valid"]
    assert df.loc["cov", "n_units"] == 3 and df.loc["cov", "q"] == 0.3


def test_history_table_stacks_models_with_their_identity():
    h = pd.DataFrame({"epoch": [1, 2], "train_loss": [1.0, 0.5], "train_acc": [0.5, 0.7], "val_loss": [1.1, 0.6],
                      "val_acc": [0.4, 0.6], "lr": [1e-3, 1e-3], "seconds": [0.1, 0.1]})
    df = tables.history_table({"l2=1e-05_l1=0_drop=0/seed=3": h, "l2=0.01_l1=0_drop=0/seed=0": h.iloc[:1]})
    assert list(df.columns) == tables.HISTORY_COLUMNS
    assert len(df) == 3 and set(df["seed"]) == {0, 3}
    assert list(tables.history_table({}).columns) == tables.HISTORY_COLUMNS
