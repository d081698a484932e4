"""Expanding the hyperparameter table and rejecting bad configs with a readable message."""
import copy
from pathlib import Path

import pytest
import yaml

from unitclust.config import Setting, check_settings, describe_config_error, expand_sweeps, expand_values, fmt

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
PAPER = yaml.safe_load((ROOT / "config.yaml").read_text())


def test_expand_values_forms():
    assert expand_values(0.5) == [0.5]
    assert expand_values([1, 2]) == [1.0, 2.0]
    assert expand_values({"logspace": [-2, 0, 3]}) == pytest.approx([0.01, 0.1, 1.0])
    assert expand_values({"linspace": [0.05, 0.7, 14]})[-1] == pytest.approx(0.7)


def test_paper_table_has_30_settings_and_three_sweeps():
    settings, rows = expand_sweeps(PAPER["sweeps"])
    assert len(settings) == 30
    per_sweep = {s: sum(r["sweep"] == s for r in rows) for s in ("l2", "l1", "dropout")}
    assert per_sweep == {"l2": 9, "l1": 7, "dropout": 14}
    assert {r["parameter"] for r in rows if r["sweep"] == "dropout"} == {"dropout"}
    drops = sorted(r["value"] for r in rows if r["sweep"] == "dropout")
    assert drops[0] == pytest.approx(0.05) and drops[-1] == pytest.approx(0.7)
    assert "l2=1e-05_l1=0_drop=0.15" in settings  # linspace rounding noise is gone from the id


def test_duplicate_settings_collapse_but_keep_sweep_membership():
    sweeps = {"a": {"l2": [1e-5, 1e-3], "l1": 0, "dropout": 0},
              "b": {"l2": 1e-5, "l1": 0, "dropout": [0, 0.5]}}
    settings, rows = expand_sweeps(sweeps)
    assert len(settings) == 3  # (1e-5, 0, 0) is shared
    shared = Setting(1e-5, 0, 0).id
    assert sorted(r["sweep"] for r in rows if r["setting"] == shared) == ["a", "b"]


def test_setting_id_roundtrip():
    s = Setting(3.16228e-05, 0.0, 0.5)
    assert s.id == "l2=3.16228e-05_l1=0_drop=0.5"
    assert fmt(0.15000000000000002) == "0.15"


def test_paper_config_is_valid():
    assert describe_config_error(PAPER, SCHEMA) is None


def _with(path, value):
    cfg = copy.deepcopy(PAPER)
    node = cfg
    for key in path[:-1]:
        node = node.setdefault(key, {})
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return cfg


_DELETE = object()
BAD = [  # (path, value, text the message must contain)
    (("sweeps", "dropout", "dropout"), 1.2, "sweeps.dropout.dropout"),
    (("sweeps", "dropout", "dropout"), [0.1, 1.0], "sweeps.dropout.dropout"),
    (("sweeps", "l2", "l2"), -1e-3, "sweeps.l2.l2"),
    (("sweeps", "l1", "l1"), "a lot", "sweeps.l1.l1"),
    (("sweeps", "l1", "l1"), [], "sweeps.l1.l1"),
    (("sweeps", "l2", "l2"), {"logspace": [-5, -1]}, "sweeps.l2.l2"),
    (("sweeps", "l2", "l2"), {"geomspace": [-5, -1, 3]}, "sweeps.l2.l2"),
    (("sweeps", "l2", "l1"), _DELETE, "sweeps.l2"),
    (("sweeps",), {}, "sweeps"),
    (("dataset", "name"), "imagenet", "dataset.name"),
    (("seeds",), 0, "seeds"),
    (("seeds",), 2.5, "seeds"),
    (("untrained_seeds",), -1, "untrained_seeds"),
    (("model", "hidden"), [64, 0], "model.hidden.1"),
    (("model", "hidden"), [], "model.hidden"),
    (("bogus",), 1, "bogus"),
    (("training", "lr"), 0, "training.lr"),
    (("training", "batch_size"), "200", "training.batch_size"),
    (("training", "device"), "tpu", "training.device"),
    (("similarity", "abs_placement"), "both", "similarity.abs_placement"),
    (("clustering", "method"), "louvain", "clustering.method"),
    (("clustering", "speling"), 3, "speling"),
    (("analysis", "accuracy_cutoff"), 1.5, "analysis.accuracy_cutoff"),
]


@pytest.mark.parametrize("path,value,key", BAD, ids=[".".join(b[0]) + "=" + repr(b[1])[:20] for b in BAD])
def test_bad_config_names_the_key(path, value, key):
    msg = describe_config_error(_with(path, value), SCHEMA)
    assert msg is not None, "config should have been rejected"
    assert key in msg, msg


def test_enum_error_lists_allowed_values():
    msg = describe_config_error(_with(("dataset", "name"), "imagenet"), SCHEMA)
    assert "digits" in msg and "mnist" in msg and "fashion_mnist" in msg and "cifar10" in msg


def test_check_settings_rejects_out_of_range_expanded_values():
    with pytest.raises(ValueError, match="dropout"):
        check_settings({"x": Setting(0.0, 0.0, 1.0)})


@pytest.mark.parametrize("key", ["alpha", "r"])
def test_removed_compare_keys_say_so(key):
    cfg = copy.deepcopy(PAPER)
    cfg["compare"][key] = 0.5
    problem = describe_config_error(cfg, SCHEMA)
    assert problem.startswith(f"Invalid configuration at 'compare.{key}': this key was removed")
    assert "delete it" in problem
