"""The settings model (unitclust.settings): one home for the defaults, merging and error wording."""
import copy
from pathlib import Path

import pytest
import yaml

from unitclust.settings import (
    MERGED,
    PER_EXPERIMENT,
    SCALARS,
    SECTIONS,
    SWEEPS,
    ClusteringOptions,
    ModelOptions,
    Settings,
    TrainingOptions,
    checked,
    merge,
    with_defaults,
)

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
# Defaults that depend on another key: the schema shows the paper's case (an MLP on MNIST).
CONDITIONAL = {("dataset", "data_dir"): "data/mnist", ("model", "hidden"): [64, 64]}


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_schema_defaults_are_the_settings_defaults(section):
    props = SCHEMA["properties"][section]["properties"]
    defaults = SECTIONS[section]().as_dict()
    assert set(props) == set(defaults), f"{section}: schema keys and option fields differ"
    for key, spec in props.items():
        expected = CONDITIONAL.get((section, key), defaults[key])
        if "default" in spec or expected is not None:
            assert spec.get("default") == expected, f"{section}.{key}: schema {spec.get('default')} vs {expected}"


def test_schema_defaults_of_the_table_and_seeds():
    assert SCHEMA["properties"]["sweeps"]["default"] == SWEEPS
    for key, value in SCALARS.items():
        assert SCHEMA["properties"][key]["default"] == value


def test_the_per_experiment_sections_are_the_schema_s():
    entry = SCHEMA["properties"]["experiments"]["additionalProperties"]["properties"]
    assert set(entry) == set(PER_EXPERIMENT) and set(MERGED) <= set(PER_EXPERIMENT)


def test_config_yaml_is_the_defaults():
    """config.yaml (the paper's table, commented) changes nothing the defaults do not already say."""
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    assert checked(cfg, SCHEMA) == with_defaults({})


def test_with_defaults_fills_every_section_and_leaves_the_input_alone():
    cfg = {"training": {"lr": 0.5}, "model": {"type": "cnn"}, "dataset": {"name": "digits"}}
    before = copy.deepcopy(cfg)
    out = with_defaults(cfg)
    assert cfg == before
    assert out["training"] == {**TrainingOptions().as_dict(), "lr": 0.5}
    assert out["model"]["hidden"] == [] and out["dataset"]["data_dir"] == "data/digits"
    assert set(SECTIONS) | set(SCALARS) | {"sweeps"} <= set(out)
    assert with_defaults(out) == out


def test_of_accepts_a_mapping_an_instance_or_none_and_names_an_unknown_key():
    assert ClusteringOptions.of(None) == ClusteringOptions()
    c = ClusteringOptions.of({"mc_steps": 7})
    assert c.mc_steps == 7 and c.method == "paper" and ClusteringOptions.of(c, seed=3).seed == 3
    assert ModelOptions.of({"hidden": [8, 4]}).hidden == (8, 4)
    assert ModelOptions.of({"hidden": [8, 4]}).as_dict()["hidden"] == [8, 4]
    with pytest.raises(ValueError, match="unknown clustering option.*mcsteps.*allowed: .*mc_steps"):
        ClusteringOptions.of({"mcsteps": 7})


def test_options_are_frozen():
    with pytest.raises(AttributeError):
        TrainingOptions().lr = 1.0


def test_settings_from_config_and_own_checkpoints():
    s = Settings.from_config(with_defaults({"clustering": {"restarts": 4}}))
    assert s.clustering.restarts == 4 and s.checkpoints is None
    assert s.clustering.algorithm() == {"method": "paper", "mc_steps": 5000, "target_entropy": 0.15, "restarts": 4}
    own = Settings.from_config(with_defaults({"checkpoints": {"files": "*.pt", "layers": ["relu1"],
                                                              "kwargs": {"b": 1, "a": 2}}}))
    assert own.checkpoints.as_params() == {"factory": None, "kwargs": {"a": 2, "b": 1}, "layers": ["relu1"],
                                           "input_shape": None, "format": "auto"}
    assert list(own.checkpoints.as_params()["kwargs"]) == ["a", "b"]


def test_training_protocol_leaves_out_the_split_and_the_machine():
    p = TrainingOptions().protocol()
    assert "val_fraction" not in p and "threads" not in p and "device" not in p and p["patience"] == 6


def test_merge_replaces_sections_except_training_and_analysis():
    top = {"training": {"lr": 1.0, "patience": 2}, "model": {"hidden": [4]}, "experiments": {"a": {}},
           "checkpoints": {"files": "x"}}
    cfg = merge(top, {"training": {"lr": 2.0}, "model": {"type": "cnn"}})
    assert cfg == {"training": {"lr": 2.0, "patience": 2}, "model": {"type": "cnn"}}
    assert top["training"]["lr"] == 1.0


@pytest.mark.parametrize("cfg,where,message", [
    ({"training": {"lr": -1}}, None, "Invalid configuration at 'training.lr'"),
    ({"training": {"lr": -1}}, ("of experiment 'x'", "experiments.x."),
     "Invalid configuration of experiment 'x' at 'experiments.x.training.lr'"),
    ({"similarity": {"abs": "averaged"}}, None, "Invalid configuration at 'similarity.abs': this key was renamed"),
    ({"compare": {"alpha": 0.9}}, ("of variant 'v' (robustness.variants.v)", ""),
     "Invalid configuration of variant 'v' (robustness.variants.v) at 'compare.alpha': this key was removed"),
    ({"clustering": {"mcsteps": 3}}, None, "Invalid configuration at 'clustering.mcsteps': unknown key"),
])
def test_checked_names_the_key_and_where_it_is(cfg, where, message):
    with pytest.raises(ValueError) as info:
        checked(cfg, SCHEMA, where)
    assert str(info.value).startswith(message), str(info.value)


def test_checkpoint_defaults_are_the_schema_s():
    from unitclust.settings import CheckpointOptions

    props = SCHEMA["properties"]["checkpoints"]["properties"]
    defaults = CheckpointOptions().as_dict()
    assert set(props) == set(defaults)
    assert {k: v["default"] for k, v in props.items() if "default" in v} == {"kwargs": {}, "format": "auto"}
    assert defaults["kwargs"] == {} and defaults["format"] == "auto"
