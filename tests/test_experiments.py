"""Experiments as a dimension of the workflow (unitclust.experiments): naming, merging, own checkpoints."""
import copy

import pytest

from unitclust.experiments import arch_name, checkpoint_files, datasets_of, resolve
from unitclust.settings import ModelOptions, merge, with_defaults

BASE = {"dataset": {"name": "digits", "data_dir": "data/digits", "download": False},
        "model": {"type": "mlp", "hidden": [64, 64], "channels": [16, 32], "kernel": 3, "pool": 2},
        "training": {"lr": 1e-3, "max_epochs": 500}, "analysis": {"accuracy_cutoff": 0.8},
        "sweeps": {"l2": {"l2": [1e-5, 1e-3], "l1": 0, "dropout": 0}}, "seeds": 2, "untrained_seeds": 3,
        "similarity": {"batch_size": 1000}}


def test_arch_names():
    assert arch_name({"type": "mlp", "hidden": [64, 64]}) == "mlp_64-64"
    assert arch_name({"hidden": [64] * 5}) == "mlp_64-64-64-64-64"
    assert arch_name({"type": "cnn", "channels": [16, 32], "kernel": 3, "pool": 2, "hidden": []}) == "cnn_c16-32_k3_p2"
    assert arch_name({"type": "cnn", "channels": [8], "kernel": 5, "pool": 1, "hidden": [32]}) == "cnn_c8_k5_p1_h32"


def test_architecture_keeps_only_what_defines_the_network():
    assert ModelOptions.of(BASE["model"]).architecture() == {"type": "mlp", "hidden": [64, 64]}
    cnn = ModelOptions.of({**BASE["model"], "type": "cnn", "hidden": []})
    assert cnn.architecture() == {"type": "cnn", "channels": [16, 32], "kernel": 3, "pool": 2, "hidden": []}
    assert ModelOptions.of({"type": "cnn"}).architecture()["hidden"] == []


def test_single_experiment_config_is_one_experiment_named_after_its_architecture():
    exps = resolve(copy.deepcopy(BASE))
    assert list(exps) == ["mlp_64-64"]
    e = exps["mlp_64-64"]
    assert e.dataset == "digits" and not e.own
    assert len(e.trained_models) == 2 * 2 and e.untrained_models == [f"untrained/seed={s}" for s in range(3)]
    assert e.trained_models[0] == "l2=1e-05_l1=0_drop=0/seed=0"


def test_entries_replace_top_level_keys_and_merge_training_and_analysis():
    entry = {"model": {"hidden": [256, 256]}, "seeds": 3, "training": {"max_epochs": 7},
             "analysis": {"accuracy_cutoff": 0.5}}
    cfg = merge({**BASE, "experiments": {"wide": entry}}, entry)
    assert cfg["model"] == {"hidden": [256, 256]}  # replaced (the schema then fills its defaults)
    assert cfg["seeds"] == 3 and cfg["untrained_seeds"] == 3
    assert cfg["training"] == {"lr": 1e-3, "max_epochs": 7}
    assert cfg["analysis"] == {"accuracy_cutoff": 0.5}
    assert "experiments" not in cfg
    assert BASE["training"] == {"lr": 1e-3, "max_epochs": 500}  # the top level is not modified


def test_several_experiments_each_with_its_defaults_filled():
    config = {**copy.deepcopy(BASE),
              "experiments": {"paper": {}, "deep": {"model": {"type": "mlp", "hidden": [8] * 5}}}}
    exps = resolve(config)
    assert list(exps) == ["paper", "deep"]
    assert exps["deep"].config["training"]["patience"] == 6 and exps["deep"].options.training.max_epochs == 500
    assert exps["deep"].config["model"]["hidden"] == [8] * 5 and exps["paper"].config["model"]["hidden"] == [64, 64]


def test_conditional_defaults():
    config = {"model": {"type": "cnn"}, "dataset": {"name": "cifar10"},
              "experiments": {"a": {"model": {"type": "cnn", "hidden": [5]}, "dataset": {"name": "mnist"}},
                              "b": {"model": {"hidden": [4]}}}}
    top = with_defaults(config)
    assert top["model"]["hidden"] == [] and top["dataset"]["data_dir"] == "data/cifar10"
    assert "hidden" not in config["model"]  # the config as written is not modified
    exps = resolve(config)
    assert exps["a"].config["model"]["hidden"] == [5] and exps["a"].config["dataset"]["data_dir"] == "data/mnist"
    assert exps["b"].config["model"] == {**ModelOptions().as_dict(), "hidden": [4]}
    assert exps["b"].config["dataset"]["data_dir"] == "data/cifar10"


def test_experiments_must_agree_about_a_shared_dataset():
    config = {**copy.deepcopy(BASE), "experiments": {"a": {}, "b": {"dataset": {"name": "digits", "data_dir": "x",
                                                                                "download": False}}}}
    with pytest.raises(ValueError, match="disagree about dataset 'digits'"):
        datasets_of(resolve(config))


def test_bad_sweep_value_names_the_experiment():
    config = {**copy.deepcopy(BASE), "experiments": {"bad": {"sweeps": {"s": {"l2": 0, "l1": 0, "dropout": 1.5}}}}}
    with pytest.raises(ValueError, match="experiment 'bad'.*dropout"):
        resolve(config)


def test_checkpoint_files(tmp_path):
    (tmp_path / "ckpts").mkdir()
    for name in ("b.pt", "a.pt", "notes.txt"):
        (tmp_path / "ckpts" / name).write_bytes(b"x")
    files = checkpoint_files("own", {"files": "ckpts/*.pt"}, tmp_path)
    assert files == {"checkpoint=a/seed=0": "ckpts/a.pt", "checkpoint=b/seed=0": "ckpts/b.pt"}
    with pytest.raises(ValueError, match=r"experiment 'own': checkpoints.files 'none/\*.pt' matches no file"):
        checkpoint_files("own", {"files": "none/*.pt"}, tmp_path)
    (tmp_path / "ckpts" / "sub").mkdir()
    (tmp_path / "ckpts" / "sub" / "a.pt").write_bytes(b"x")
    with pytest.raises(ValueError, match="share the file name 'a'"):
        checkpoint_files("own", {"files": "ckpts/**/*.pt"}, tmp_path)
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "a b.pt").write_bytes(b"x")
    with pytest.raises(ValueError, match="may contain only"):
        checkpoint_files("own", {"files": "odd/*.pt"}, tmp_path)


def test_own_checkpoint_experiment_has_no_sweeps_or_untrained(tmp_path):
    (tmp_path / "m1.pt").write_bytes(b"x")
    config = {**copy.deepcopy(BASE), "experiments": {"own": {"checkpoints": {"files": "*.pt", "layers": ["r"]}}}}
    e = resolve(config, workdir=tmp_path)["own"]
    assert e.own and e.trained_models == ["checkpoint=m1/seed=0"] and e.untrained_models == []
    assert e.settings == {}
