"""Lesion tests and planted modules end to end: added to the tiny run, they recompute nothing else,
their numbers are those of a direct computation, and strong planted modules are found exactly."""
import h5py
import numpy as np
import pytest
import torch

from support.workflow_helpers import TINY_RESULTS, copy_run, planned_rules, snakemake, write_config
from unitclust import io
from unitclust.checkpoints import analysed_layers, model_from_checkpoint
from unitclust.data import load_dataset, to_tensors
from unitclust.lesion import lesion_statistics
from unitclust.lesion_summary import LESION_FINDINGS

pytestmark = pytest.mark.e2e
R = TINY_RESULTS
PLANTED = "results/planted/digits"
NEW_RULES = {"lesion", "table_lesion", "lesion_z", "planted", "table_planted", "planted_figure"}


@pytest.fixture(scope="module")
def lesioned(tiny, tmp_path_factory):
    work = copy_run(tiny, tmp_path_factory.mktemp("lesion") / "run")
    cfg = write_config(work, "lesion.yaml", lesion__n_random=15, planted__strengths=[0.0, 1.0], planted__seeds=1,
                       planted__hidden=[12, 12], planted__modules=3)
    plan = planned_rules(snakemake(work, "-n", config=cfg).stdout) - {"all"}
    snakemake(work, "--cores", "2", config=cfg)
    return work, plan


def test_only_the_new_stages_run(lesioned):
    _, plan = lesioned
    assert plan == NEW_RULES, sorted(plan ^ NEW_RULES)


def direct_accuracy(model, module, x, y, units):
    """Accuracy with ``units`` of ``module`` zeroed, one plain forward pass (no batching of groups)."""
    def zero(_, __, out):
        out = out.clone()
        out[:, units] = 0
        return out

    handle = dict(model.named_modules())[module].register_forward_hook(zero)
    try:
        with torch.no_grad():
            return int((model.eval()(x).argmax(1) == y).sum()) / len(y)
    finally:
        handle.remove()


def test_lesion_numbers_are_a_direct_computation(lesioned):
    work, _ = lesioned
    table = io.read_table(work / R / "tables/lesion.csv")
    model_id = "l2=1e-05_l1=0_drop=0.3/seed=0"
    ckpt = io.load_checkpoint(work / R / "models" / model_id / "model.pt")
    model = model_from_checkpoint(ckpt)
    modules, _ = analysed_layers(model, ckpt)
    x, y = to_tensors(load_dataset(work / "results/digits/data.npz"), "test")
    with h5py.File(work / R / "models" / model_id / "clusters.h5") as f:
        labels = f["layer2/osens"][()]
    with h5py.File(work / R / "models" / model_id / "lesion.h5") as f:
        groups = f["layer2/groups"]
        units, sizes, acc, class_acc = (groups[k][()] for k in ("units", "sizes", "acc", "class_acc"))
        intact_class = groups["intact_class_acc"][()]
        random_group = f["layer2/osens/random_group"][()]
        intact = f["layer2"].attrs["intact_acc"]
    rows = table[(table["model"] == model_id) & (table["layer"] == 2) & (table["measure"] == "osens")]
    assert sorted(rows["cluster"]) == sorted(np.unique(labels[labels >= 0]))
    assert intact == pytest.approx(direct_accuracy(model, modules[1], x, y, []))
    for r in rows.itertuples():
        members = np.flatnonzero(labels == r.cluster)
        assert r.size == len(members)
        assert r.acc == pytest.approx(direct_accuracy(model, modules[1], x, y, members), abs=1e-12)
        ri = random_group[list(rows["cluster"]).index(r.cluster)]
        for g in ri[:3]:  # the random groups are what they say they are
            assert acc[g] == pytest.approx(direct_accuracy(model, modules[1], x, y, units[g, :sizes[g]]), abs=1e-12)
            assert sizes[g] == r.size and np.all(labels[units[g, :sizes[g]]] >= 0)
        gi = np.flatnonzero((sizes == len(members)) & (units[:, :len(members)] == members).all(1))[0]
        st = lesion_statistics(intact, intact_class, acc[gi], class_acc[gi], acc[ri], class_acc[ri])
        assert r.drop == pytest.approx(intact - r.acc) and r.drop_z == pytest.approx(st["drop_z"], nan_ok=True)
        assert r.spec_p == pytest.approx(st["spec_p"]) and r.n_random == 15


def test_lesion_tables_and_figure(lesioned):
    work, _ = lesioned
    table = io.read_table(work / R / "tables/lesion.csv")
    findings = io.read_table(work / R / "tables/lesion_findings.csv")
    summary = io.read_table(work / R / "tables/lesion_summary.csv")
    models = io.read_table(work / R / "tables/metrics.csv")["model"]
    assert set(table["model"]) == set(models)
    assert list(findings["finding"]) == [f.name for f in LESION_FINDINGS]
    assert set(summary["n_models"][summary["trained"]]) == {3}
    assert (table["drop_p"].between(1 / 16, 1) & table["spec_p"].between(1 / 16, 1)).all()
    assert (work / R / "figures/lesion_z.png").stat().st_size > 10_000


def test_strong_planted_modules_are_found_exactly(lesioned):
    work, _ = lesioned
    rec = io.read_table(work / PLANTED / "tables/planted_recovery.csv")
    assert set(rec["strength"]) == {0.0, 1.0} and set(rec["method"]) == {"paper", "leiden"}
    strong = rec[(rec["strength"] == 1.0) & rec["measure"].isin(["isens", "isens_norm", "osens", "osens_norm"])]
    assert len(strong) == 2 * 4 * 2 and (strong["element_sim"] == 1.0).all() and (strong["nmi"] > 0.999).all()
    assert (strong["n_clusters_found"] == 3).all()
    assert rec[rec["strength"] == 0.0]["element_sim"].mean() < 0.7
    assert (work / PLANTED / "figures/planted.png").stat().st_size > 10_000


def test_a_lesion_option_reruns_only_the_lesion_stage(lesioned):
    work, _ = lesioned
    other = write_config(work, "lesion_mean.yaml", lesion__n_random=15, lesion__mode="mean",
                         planted__strengths=[0.0, 1.0], planted__seeds=1, planted__hidden=[12, 12], planted__modules=3)
    assert planned_rules(snakemake(work, "-n", config=other).stdout) - {"all"} == {"lesion", "table_lesion", "lesion_z"}
