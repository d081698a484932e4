"""Training jobs: a block of seeds in one process makes the same models as one job per seed."""
import json

import pytest
import torch

from unitclust import io, steps

ARCH = {"type": "mlp", "hidden": [12, 10]}
TRAINING = {"max_epochs": 4, "models_per_job": 3}
VOLATILE = {"wall_time_s", "train_seconds", "lease", "git_hash", "git_dirty", "created", "host"}


@pytest.fixture
def data_path(digits_npz):
    return digits_npz


def _files(folder, seeds, history=True):
    out = [[folder / f"seed={s}" / name for s in seeds] for name in ("model.pt", "metrics.json", "history.csv")]
    return out if history else out[:2]


def _stable(metrics_path):
    return {k: v for k, v in json.loads(metrics_path.read_text()).items() if k not in VOLATILE}


@pytest.mark.parametrize(("setting", "trained"), [({"l2": 1e-4, "l1": 1e-4, "dropout": 0.3}, True),
                                                  ({"l2": 0.0, "l1": 0.0, "dropout": 0.0}, False)])
def test_a_block_makes_the_models_of_single_jobs(tmp_path, data_path, setting, trained):
    seeds = [4, 5]
    block = _files(tmp_path / "block", seeds, history=trained)
    got = steps.train_many(data_path, *block, arch=ARCH, setting=setting, seeds=seeds, training=TRAINING,
                           trained=trained)
    assert [m["hparams"]["seed"] for m in got] == seeds
    for i, seed in enumerate(seeds):
        single = [f[0] for f in _files(tmp_path / "single", [seed], history=trained)]
        steps.train_one(data_path, *single, arch=ARCH, setting=setting, seed=seed, training=TRAINING,
                        trained=trained)
        a, b = io.load_checkpoint(block[0][i]), io.load_checkpoint(single[0])
        assert a["hparams"] == b["hparams"] and a["training"] == b["training"]
        assert "models_per_job" not in a["training"]  # how jobs run is not part of the model
        for k, v in a["state_dict"].items():
            assert torch.equal(v, b["state_dict"][k]), (seed, k)
        assert _stable(block[1][i]) == _stable(single[1])
        if trained:
            strip = [line.rsplit(",", 1)[0] for line in block[2][i].read_text().splitlines()]  # not the seconds
            assert strip == [line.rsplit(",", 1)[0] for line in single[2].read_text().splitlines()]
    # the two seeds are different models
    w = [io.load_checkpoint(p)["state_dict"]["linears.0.weight"] for p in block[0]]
    assert not torch.equal(w[0], w[1])


def test_the_block_log_names_each_seed_and_sums_up(tmp_path, data_path, capsys):
    steps.train_many(data_path, *_files(tmp_path, [0, 1], history=False), arch=ARCH,
                     setting={"l2": 0.0, "l1": 0.0, "dropout": 0.0}, seeds=[0, 1], training={}, trained=False)
    out = capsys.readouterr().out
    assert "--- seed 0 (1 of 2) ---" in out and "--- seed 1 (2 of 2) ---" in out
    assert "2 models (seeds 0-1) in one process: test accuracy min" in out


@pytest.mark.parametrize(("seeds", "n_paths", "message"), [([], 0, "at least one"), ([1, 1], 2, "distinct"),
                                                         ([0, 1], 1, "2 seeds but model_paths has 1")])
def test_block_arguments_are_checked(tmp_path, seeds, n_paths, message):
    paths = [tmp_path / f"m{i}" for i in range(n_paths)]
    metrics = [tmp_path / f"j{i}" for i in range(len(seeds))]
    with pytest.raises(ValueError, match=message):
        steps.train_many(tmp_path / "missing.npz", paths, metrics, arch=ARCH, setting={}, seeds=seeds, training={})
    assert not any(p.exists() for p in paths + metrics)
