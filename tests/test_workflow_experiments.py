"""Several experiments in one run (tests/configs/experiments.yaml): a deep MLP, a conv net and the
test's own checkpoints (a state dict and a TorchScript file of a tanh/ReLU net) on digits.
Checks values: layer sizes, eq. 8, accuracies of the imported models, the cross-experiment table
and figures, that editing one experiment reruns nothing of the others, and that bad own-model
input fails before any job."""
import json
import shutil
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml
from support.workflow_helpers import (
    ROOT,
    copy_project,
    copy_run,
    planned_jobs,
    snakemake,
)

from unitclust.clustering.objective import adjacency, modularity, modularity_matrix
from unitclust.measures import MEASURES

CONFIG = ROOT / "tests" / "configs" / "experiments.yaml"
D = "results/digits"
LAYERS = {"deep": [10, 10, 10], "conv": [4, 6], "own": [16, 12]}

OWN_NET = textwrap.dedent('''
    import torch
    from torch import nn


    class Net(nn.Module):
        def __init__(self, width=16):
            super().__init__()
            self.fc1, self.act1 = nn.Linear(64, width), nn.Tanh()
            self.fc2, self.act2 = nn.Linear(width, 12), nn.ReLU()
            self.out = nn.Linear(12, 10)

        def forward(self, x):
            return self.out(self.act2(self.fc2(self.act1(self.fc1(x)))))


    def build(width=16):
        return Net(width)
''')


def write_own_models(work: Path) -> dict[str, float]:
    """The factory file and two briefly trained nets (state dict, TorchScript); their test accuracies."""
    import importlib.util

    import torch
    import torch.nn.functional as F

    from unitclust.data import load_digits_dataset, to_tensors

    (work / "own_net.py").write_text(OWN_NET)
    spec = importlib.util.spec_from_file_location("own_net_for_test", work / "own_net.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    arrays = load_digits_dataset()
    x, y = to_tensors(arrays, "train")
    xt, yt = to_tensors(arrays, "test")
    (work / "own_models").mkdir(exist_ok=True)
    accs = {}
    for i, name in enumerate(("net_a", "net_b")):
        torch.manual_seed(i)
        net = mod.build()
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        for _ in range(60):
            opt.zero_grad()
            F.cross_entropy(net(x), y).backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            accs[name] = float((net(xt).argmax(1) == yt).float().mean())
        if name == "net_a":
            torch.save(net.state_dict(), work / "own_models" / f"{name}.pt")
        else:
            torch.jit.script(net).save(str(work / "own_models" / f"{name}.pt"))
    return accs


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    work = copy_project(tmp_path_factory.mktemp("experiments"))
    shutil.copy(CONFIG, work / "experiments.yaml")
    accs = write_own_models(work)
    snakemake(work, "--cores", "2", config=work / "experiments.yaml")
    return work, accs


def test_every_experiment_has_its_own_tree_and_layer_sizes(run):
    work, _ = run
    for name, widths in LAYERS.items():
        root = work / D / name
        assert (root / "tables" / "modularity.csv").exists(), name
        for sim in root.glob("models/*/seed=*/similarity.h5"):
            with h5py.File(sim) as f:
                assert [f[f"layer{i}"]["cov"].shape[0] for i in range(1, len(widths) + 1)] == widths, sim
                assert f"layer{len(widths) + 1}" not in f
                for layer in f.values():
                    for m in MEASURES:
                        S = layer[m][()]
                        assert np.isfinite(S).all() and np.allclose(S, S.T), (sim, m)
    own = sorted(p.parent.name for p in (work / D / "own/models").glob("*/seed=0"))
    assert own == ["checkpoint=net_a", "checkpoint=net_b"]
    assert not (work / D / "own/tables/sweeps.csv").exists()  # no sweep figures or scorecard for own models
    assert (work / D / "own/figures/fig4.png").exists() and (work / D / "own/figures/figS2.png").exists()


def test_conv_layers_sample_positions_and_use_torch_func(run):
    work, _ = run
    with h5py.File(work / D / "conv/models/l2=1e-05_l1=0_drop=0.3/seed=0/similarity.h5") as f:
        assert f.attrs["method"] == "auto"
        assert f["layer1/cov"].attrs["max_positions"] == 8
    metrics = json.loads((work / D / "conv/models/l2=1e-05_l1=0_drop=0/seed=0/metrics.json").read_text())
    assert metrics["hparams"]["type"] == "cnn" and metrics["test_acc"] > 0.5


def test_imported_models_keep_their_accuracy_and_layer_names(run):
    work, accs = run
    for name, acc in accs.items():
        d = work / D / f"own/models/checkpoint={name}/seed=0"
        metrics = json.loads((d / "metrics.json").read_text())
        assert metrics["test_acc"] == pytest.approx(acc, abs=1e-6), name
        assert metrics["hparams"]["layers"] == ["act1", "act2"]
        with h5py.File(d / "similarity.h5") as f:
            assert [f[g].attrs["module"] for g in ("layer1", "layer2")] == ["act1", "act2"]
    table = pd.read_csv(work / D / "own/tables/metrics.csv")
    assert set(table["setting"]) == {"checkpoint=net_a", "checkpoint=net_b"} and table["trained"].all()


def test_every_q_is_eq8_in_every_experiment(run):
    work, _ = run
    checked = 0
    for clusters in (work / D).glob("*/models/*/seed=*/clusters.h5"):
        with h5py.File(clusters.with_name("similarity.h5")) as fs, h5py.File(clusters) as fc:
            for layer in fc:
                for m in MEASURES:
                    labels, attrs = fc[layer][m][()], fc[layer][m].attrs
                    A, used = adjacency(fs[layer][m][()])
                    q = modularity(modularity_matrix(A[np.ix_(used, used)]), labels[used]) if used.any() else 0.0
                    assert attrs["q"] == pytest.approx(q, abs=1e-12), (clusters, layer, m)
                    checked += 1
    # deep 3 models x 3 layers, conv 2 x 2, own 2 x 2; 8 measures each
    assert checked == (9 + 4 + 4) * 8


def test_lesion_tests_of_every_experiment(run):
    """Conv layers (channels are the units) and the user's own modules are lesioned like the MLP."""
    work, _ = run
    for name, widths in LAYERS.items():
        table = pd.read_csv(work / D / name / "tables/lesion.csv")
        assert sorted(table["layer"].unique()) == list(range(1, len(widths) + 1)), name
        for layer, width in enumerate(widths, start=1):
            sizes = table[(table["layer"] == layer)].groupby(["model", "measure"])["size"].sum()
            assert (sizes <= width).all() and (sizes > 0).all(), (name, layer)
        assert table["drop_p"].between(1 / 5, 1).all() and (table["n_random"] == 4).all()
        assert (work / D / name / "figures/lesion_z.png").exists()
    own = pd.read_csv(work / D / "own/tables/lesion.csv")
    assert set(own["setting"]) == {"checkpoint=net_a", "checkpoint=net_b"}


def test_summary_table_and_figures_across_experiments(run):
    work, _ = run
    table = pd.read_csv(work / "results/summary/tables/modularity.csv")
    assert list(table["experiment"].unique()) == ["deep", "conv", "own"]
    assert table.groupby("experiment")["n_layers"].first().to_dict() == {k: len(v) for k, v in LAYERS.items()}
    assert sorted(table[table["experiment"] == "deep"]["depth"].unique()) == [1, 2, 3]
    per_exp = {e: pd.read_csv(work / D / e / "tables/modularity.csv") for e in LAYERS}
    for e, df in per_exp.items():
        sub = table[table["experiment"] == e].reset_index(drop=True)
        assert np.allclose(sub["q"], df["q"], equal_nan=True), e
    for fig in ("q_by_experiment", "q_by_depth"):
        assert (work / f"results/summary/figures/{fig}.png").stat().st_size > 1000


def test_editing_one_experiment_reruns_nothing_of_the_others(run, tmp_path):
    work, _ = run
    copy = copy_run(work, tmp_path / "copy")
    cfg = yaml.safe_load((copy / "experiments.yaml").read_text())
    assert snakemake(copy, "-n", config=copy / "experiments.yaml").stdout.count("rule ") == 0
    cfg["experiments"]["deep"]["model"]["hidden"] = [10, 8, 10]
    (copy / "experiments.yaml").write_text(yaml.safe_dump(cfg))
    jobs = planned_jobs(snakemake(copy, "-n", config=copy / "experiments.yaml").stdout)
    outputs = [out for _, out in jobs]
    assert any(out.startswith(f"{D}/deep/models/") for out in outputs)
    assert all(out.startswith((f"{D}/deep/", "results/summary/")) for out in outputs), outputs


def _own_files(work: Path):
    """The factory file and one untrained checkpoint of it in ``work``; the module."""
    import importlib.util

    import torch

    (work / "own_net.py").write_text(OWN_NET)
    (work / "own_models").mkdir()
    spec = importlib.util.spec_from_file_location("own_net_bad", work / "own_net.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    torch.save(mod.build().state_dict(), work / "own_models" / "m.pt")
    return mod


@pytest.mark.parametrize("change, message", [
    ({"factory": "no_such_module:build"}, "cannot import 'no_such_module'"),
    ({"factory": "own_net.py:missing"}, "has no callable 'missing'"),
    ({"layers": ["act1", "act9"]}, "has no layer 'act9'"),
    ({"kwargs": {"width": 20}}, "does not load into the module"),
    ({"input_shape": [1, 8, 8]}, "fails on inputs of shape [2, 1, 8, 8]"),
    ({"factory": None}, "checkpoints.factory is missing"),
])
def test_bad_own_models_are_named_with_what_to_do(tmp_path, monkeypatch, change, message):
    from unitclust.external import check_model

    _own_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    spec = {**yaml.safe_load(CONFIG.read_text())["experiments"]["own"]["checkpoints"], "kwargs": {}, **change}
    with pytest.raises(ValueError) as err:
        check_model("own_models/m.pt", spec, (1, 8, 8), tmp_path)
    assert message in str(err.value)


@pytest.mark.parametrize("change, message", [
    ({"layers": ["act1", "act9"]}, "experiment 'own', checkpoint own_models/m.pt: the model has no layer 'act9'"),
    ({"files": "own_models/*.pth"}, "checkpoints.files 'own_models/*.pth' matches no file"),
])
def test_bad_own_models_fail_before_any_job(tmp_path, change, message):
    work = copy_project(tmp_path / "bad")
    _own_files(work)
    cfg = yaml.safe_load(CONFIG.read_text())
    cfg["experiments"] = {"own": cfg["experiments"]["own"]}
    cfg["experiments"]["own"]["checkpoints"].update(change)
    (work / "bad.yaml").write_text(yaml.safe_dump(cfg))
    if "files" in change:  # no file to check: the config is wrong before any job
        proc = snakemake(work, "-n", config=work / "bad.yaml", check=False)
        assert proc.returncode != 0 and message in proc.stderr + proc.stdout, proc.stderr[-2000:]
        assert not (work / "results").exists()
        return
    # the check is a job (parsing imports no user code); it runs before any training and fails with the message
    cfg["experiments"]["paper"] = {"model": {"hidden": [8]}}
    (work / "bad.yaml").write_text(yaml.safe_dump(cfg))
    proc = snakemake(work, "--cores", "2", "--show-failed-logs", config=work / "bad.yaml", check=False)
    assert proc.returncode != 0 and message in proc.stderr + proc.stdout, proc.stderr[-2000:]
    assert not list((work / "results").rglob("model.pt")) and not list((work / "results").rglob("logs/train"))
    assert not (work / "results/digits/own/checks/checkpoints.json").exists()


@pytest.mark.parametrize("entry, message", [
    ({"model": {"hidden": [8, 0]}}, "Invalid configuration of experiment 'wide' at 'experiments.wide.model.hidden.1'"),
    ({"modle": {"hidden": [8]}}, "Invalid configuration at 'experiments.wide.modle': unknown key"),
    ({"model": {"type": "cnn", "channels": []}}, "experiments.wide.model.channels"),
    ({"sweeps": {"s": {"l2": 0, "l1": 0, "dropout": 1.5}}}, "experiments.wide.sweeps.s.dropout"),
])
def test_bad_experiment_entries_name_the_experiment_and_key(tmp_path, entry, message):
    cfg = yaml.safe_load(CONFIG.read_text())
    cfg["experiments"] = {"deep": cfg["experiments"]["deep"], "wide": entry}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg))
    proc = snakemake(tmp_path, "-n", config=tmp_path / "bad.yaml", check=False, snakefile=ROOT / "Snakefile")
    assert proc.returncode != 0 and message in proc.stderr + proc.stdout, proc.stderr[-2000:]
