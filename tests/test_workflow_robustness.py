"""Analysis variants end to end: the released-code config and a compare-only variant run beside the
tiny run, share exactly the stages whose options they do not change, and the robustness table sets
the scorecards side by side."""
import os

import h5py
import pandas as pd
import pytest

from support.workflow_helpers import TINY_RESULTS, copy_run, planned_jobs, snakemake, write_config
from unitclust import io
from unitclust.scorecard import FINDINGS

pytestmark = pytest.mark.e2e
R = TINY_RESULTS
RELEASED, SHARED = f"{R}+released_code", f"{R}+unused_shared"
VARIANTS = {"released_code": "workflow/configs/released-code.yaml", "unused_shared": {"compare": {"unused": "shared"}}}
TARGET = f"{R}/tables/robustness.csv"


@pytest.fixture(scope="module")
def varied(tiny, tmp_path_factory):
    work = copy_run(tiny, tmp_path_factory.mktemp("variants") / "run")
    cfg = write_config(work, "variants.yaml", robustness__variants=VARIANTS)
    before = {p: p.stat().st_mtime_ns for p in (work / R / "models").rglob("*") if p.is_file()}
    plan = planned_jobs(snakemake(work, TARGET, "-n", config=cfg).stdout)
    snakemake(work, TARGET, "--cores", "2", config=cfg)
    return work, plan, before


def test_each_variant_recomputes_only_the_stages_whose_options_it_changes(varied):
    work, plan, _ = varied
    by_tree = {}
    for rule, out in plan:
        tree = out.split("/models/")[0] if "/models/" in out else None
        by_tree.setdefault(tree, set()).add(rule)
    # released code: monitor (retrain the trained models; the untrained share the base's), sqrt, shared
    assert by_tree[RELEASED] == {"train", "similarity", "cluster", "compare"}
    assert not any(rule == "init_untrained" for rule, _ in plan)
    n_trained = sum(1 for rule, out in plan if rule == "train")
    assert n_trained == 3 and sum(1 for r, o in plan if r == "similarity" and o.startswith(RELEASED)) == 3 + 2
    # compare.unused only: nothing is trained, measured or clustered again
    assert by_tree[SHARED] == {"compare"}
    assert R not in by_tree  # the base's own per-model files are all there already


def test_the_base_run_is_untouched_and_variants_read_its_files(varied):
    work, _, before = varied
    after = {p: p.stat().st_mtime_ns for p in before}
    assert after == before
    shared_models = work / SHARED / "models"
    assert not list(shared_models.rglob("model.pt")) and not list(shared_models.rglob("similarity.h5"))
    assert len(list(shared_models.rglob("cluster_similarity.h5"))) == 5
    assert not list((work / RELEASED / "models" / "untrained").rglob("model.pt"))


def test_variant_files_carry_the_variant_options(varied):
    work = varied[0]
    for path in (work / RELEASED / "models").rglob("similarity.h5"):
        with h5py.File(path) as f:
            assert f.attrs["normalization"] == "sqrt"
    for tree in (RELEASED, SHARED):
        for path in (work / tree / "models").rglob("cluster_similarity.h5"):
            with h5py.File(path) as f:
                assert f.attrs["unused"] == "shared"
    for path in (work / RELEASED / "models").rglob("model.pt"):
        assert io.load_checkpoint(path)["training"]["monitor"] == "cross_entropy"


def test_robustness_table_sets_the_scorecards_side_by_side(varied):
    work = varied[0]
    table = pd.read_csv(work / TARGET)
    assert list(table["finding"]) == [f.name for f in FINDINGS]
    labels = ["paper_text", "released_code", "unused_shared"]
    for label, tree in zip(labels, (R, RELEASED, SHARED)):
        card = pd.read_csv(work / tree / "tables/findings.csv")
        pd.testing.assert_series_equal(table[f"value:{label}"], card["value"], check_names=False)
        assert list(table[f"verdict:{label}"]) == list(card["verdict"])
    changes = table[[f"verdict:{label}" for label in labels]].nunique(axis=1) > 1
    assert list(table["verdict_changes"]) == list(changes)
    # the excluded fraction follows each variant's own models (the shared one: the base's exactly)
    excluded = table.set_index("finding").loc["models_below_cutoff"]
    assert excluded["value:unused_shared"] == excluded["value:paper_text"]


@pytest.mark.parametrize("variants,message", [
    ({"v": {"model": {"hidden": [8]}}}, "a variant may change only training, similarity"),
    ({"v": "no/such/file.yaml"}, "robustness.variants.v: no file 'no/such/file.yaml'"),
    ({"v": {"similarity": {"normalization": "cube"}}},
     "Invalid configuration of variant 'v' (robustness.variants.v) at 'similarity.normalization'"),
])
def test_a_bad_variant_is_a_clear_error_before_any_job(tmp_path, variants, message):
    cfg = write_config(tmp_path, "bad.yaml", robustness__variants=variants)
    proc = snakemake(tmp_path, "-n", config=cfg, check=False, snakefile=os.path.join(os.path.dirname(__file__),
                                                                                        "..", "Snakefile"))
    assert proc.returncode != 0 and message in proc.stdout + proc.stderr
