"""Corrupt files, diverged models and all-dead layers through every stage (pipeline level, no Snakemake)."""
import math
import threading

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from unitclust import io, steps
from unitclust.measures import MEASURES
from unitclust.models import build_model
from unitclust.tables import metrics_table, modularity_table, n_excluded


@pytest.fixture
def data_path(digits_npz):
    return digits_npz


def _checkpoint(path, model, trained=True):
    hp = {**model.hparams(), "l2": 0.0, "l1": 0.0, "seed": 0, "trained": trained}
    io.save_checkpoint(path, {"state_dict": model.state_dict(), "hparams": hp})


def _run_stages(tmp_path, data_path, model, model_id):
    ck, sim, clu, cmp = (tmp_path / n for n in ("model.pt", "similarity.h5", "clusters.h5", "cmp.h5"))
    _checkpoint(ck, model)
    steps.similarity_one(ck, data_path, sim, model_id=model_id, device="cpu")
    steps.cluster_one(sim, clu, model_id=model_id,
                      clustering={"mc_steps": 100, "mc_only_fraction": 1.0, "mc_only_steps": 50})
    steps.compare_one(clu, cmp, model_id=model_id)
    return sim, clu, cmp


def test_diverged_model_is_recorded_through_every_stage(tmp_path, data_path):
    model = build_model({"type": "mlp", "hidden": [8, 6]}, 64, 10, 0.0, seed=0)
    with torch.no_grad():
        model.linears[1].weight[0, 0] = float("nan")
    sim, clu, cmp = _run_stages(tmp_path, data_path, model, "l2=1_l1=0_drop=0/seed=0")
    with h5py.File(sim) as f:
        assert f.attrs["status"] == "diverged" and np.isnan(f["layer1/cov"][()]).all()
    attrs, layers = io.read_h5_matrices(clu)
    labels, a = layers["layer2"]["hess"]
    assert a["status"] == "diverged" and math.isnan(a["q"]) and (labels == -1).all()
    with h5py.File(cmp) as f:
        assert f["layer1"].shape == (8, 8)
    mod = modularity_table({"l2=1_l1=0_drop=0/seed=0": layers},
                           pd.DataFrame({"model": ["l2=1_l1=0_drop=0/seed=0"], "valid": [False]}))
    assert not mod["valid"].any() and set(mod["status"]) == {"diverged"}


def test_all_dead_layer_gives_recorded_outcome(tmp_path, data_path):
    model = build_model({"type": "mlp", "hidden": [8, 6]}, 64, 10, 0.0, seed=0)
    with torch.no_grad():
        model.linears[0].bias.fill_(-1e6)  # layer 1 never fires
    sim, clu, cmp = _run_stages(tmp_path, data_path, model, "untrained/seed=0")
    _, layers = io.read_h5_matrices(clu)
    for m in ("cov", "cov_norm", "isens", "isens_norm"):
        labels, a = layers["layer1"][m]
        assert a["status"] == "all_unused" and math.isnan(a["q"]) and a["n_unused"] == 8
    with h5py.File(cmp) as f:
        assert np.isfinite(f["layer1"][()]).all()


def test_nan_in_an_ok_similarity_file_is_a_clear_error(tmp_path):
    path = tmp_path / "similarity.h5"
    with h5py.File(path, "w") as f:
        f.attrs["status"] = "ok"
        S = np.eye(4)
        S[0, 1] = S[1, 0] = np.nan
        for m in MEASURES:
            f.create_dataset(f"layer1/{m}", data=S)
    with pytest.raises(ValueError, match=r"similarity.h5:layer1/cov"):
        steps.cluster_one(path, tmp_path / "c.h5", model_id="untrained/seed=0", clustering={"mc_steps": 10})
    assert not (tmp_path / "c.h5").exists()


def test_truncated_hdf5_names_file_and_fix(tmp_path):
    path = tmp_path / "similarity.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("layer1/cov", data=np.ones((64, 64)))
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ValueError, match=r"similarity.h5.*Delete it and rerun"):
        io.read_h5_matrices(path)


def test_truncated_checkpoint_names_file_and_fix(tmp_path):
    path = tmp_path / "model.pt"
    _checkpoint(path, build_model({"type": "mlp", "hidden": [3]}, 4, 2, 0.0, seed=0))
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"model.pt.*Delete it and rerun"):
        io.load_checkpoint(path)


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError):
        with io.atomic_path(target) as tmp:
            open(tmp, "w").write("half")
            raise RuntimeError("crash")
    assert list(tmp_path.iterdir()) == []


def test_concurrent_writers_never_collide(tmp_path):
    target = tmp_path / "same.json"

    def write(i):
        for _ in range(20):
            io.write_json(target, {"writer": i, "payload": list(range(2000))})

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(io.read_json(target)["payload"]) == 2000
    assert [p.name for p in tmp_path.iterdir()] == ["same.json"]


def test_excluded_count_counts_trained_invalid_only():
    recs = {"l2=1_l1=0_drop=0/seed=0": {"test_acc": 0.5, "hparams": {}},
            "l2=1_l1=0_drop=0/seed=1": {"test_acc": 0.95, "hparams": {}},
            "l2=1_l1=0_drop=0/seed=2": {"test_acc": 0.95, "diverged": True, "hparams": {}},
            "untrained/seed=0": {"test_acc": 0.1, "trained": False}}
    df = metrics_table(recs, accuracy_cutoff=0.8)
    assert df["valid"].tolist() == [False, True, False, True]
    assert n_excluded(df) == 2


def test_nulls_leave_the_real_clustering_unchanged_and_are_bit_identical(tmp_path, data_path):
    """cluster_one with n_null = 0 (no nulls) and with n_null = 2 gives the same labels and Q*;
    the nulls' Q* are finite, seeded and identical on a rerun; the table summarizes them."""
    model = build_model({"type": "mlp", "hidden": [8, 6]}, 64, 10, 0.0, seed=0)
    ck, sim = tmp_path / "model.pt", tmp_path / "similarity.h5"
    _checkpoint(ck, model)
    steps.similarity_one(ck, data_path, sim, model_id="m/seed=0", device="cpu")
    outs = {}
    for name, n in (("off", 0), ("on", 2), ("again", 2)):
        outs[name] = tmp_path / f"{name}.h5"
        steps.cluster_one(sim, outs[name], model_id="m/seed=0", clustering={"mc_steps": 100}, n_null=n, model_path=ck,
                          data_path=data_path, null_similarity={"abs_placement": "averaged"})
    off, on, again = (io.read_h5_matrices(outs[k])[1] for k in ("off", "on", "again"))
    for layer in off:
        for m in MEASURES:
            assert np.array_equal(off[layer][m][0], on[layer][m][0])
            assert off[layer][m][1]["q"] == on[layer][m][1]["q"]
            assert "null_q" not in off[layer][m][1]
            nq = on[layer][m][1]["null_q"]
            assert nq.shape == (2,) and np.isfinite(nq).all()
            assert np.array_equal(nq, again[layer][m][1]["null_q"])
    metrics = pd.DataFrame({"model": ["m/seed=0"], "valid": [True]})
    table = modularity_table({"m/seed=0": on}, metrics)
    assert table["z"].notna().all() and table["percentile"].between(0, 100).all()
    assert modularity_table({"m/seed=0": off}, metrics)["z"].isna().all()
