"""Analysis variants: loading, merging and which stages a variant shares with its base."""
from pathlib import Path

import pytest
import yaml

from unitclust.experiments import Experiment
from unitclust.settings import with_defaults
from unitclust.variants import add_variants, apply_variant, file_stage, load_variant, stage_owners, variants_of

ROOT = Path(__file__).resolve().parents[1]
BASE = {"dataset": {"name": "digits"}, "model": {"hidden": [8]},
        "training": {"monitor": "objective", "val_fraction": 0.1, "lr": 1e-3},
        "similarity": {"normalization": "max"}, "clustering": {"mc_steps": 10}, "significance": {"n_null": 0},
        "compare": {"unused": "singletons"}, "analysis": {"accuracy_cutoff": 0.8}}


def owners(**overrides):
    return stage_owners("E", BASE, "E+v", apply_variant(BASE, overrides))


@pytest.mark.parametrize("overrides,first_own", [
    ({}, None),
    ({"analysis": {"accuracy_cutoff": 0.5}}, None),
    ({"compare": {"unused": "shared"}}, "compare"),
    ({"clustering": {"mc_steps": 20}}, "cluster"),
    ({"similarity": {"normalization": "sqrt"}, "compare": {"unused": "shared"}}, "similarity"),
    ({"training": {"monitor": "cross_entropy"}}, "train"),
])
def test_a_variant_shares_every_stage_before_the_first_it_changes(overrides, first_own):
    got = owners(**overrides)
    stages = ["train", "similarity", "cluster", "compare"]
    expected = {s: ("E+v" if first_own and stages.index(s) >= stages.index(first_own) else "E") for s in stages}
    assert {s: got[s] for s in stages} == expected


def test_untrained_models_do_not_depend_on_how_the_trained_ones_are_trained():
    got = owners(training={"monitor": "cross_entropy"})
    assert got["untrained:train"] == got["untrained:similarity"] == "E"
    assert owners(training={"val_fraction": 0.2})["untrained:train"] == "E+v"
    assert file_stage("model.pt", "untrained/seed=3") == "untrained:train"
    assert file_stage("clusters.h5", "l2=1e-05_l1=0_drop=0.1/seed=0") == "cluster"


def test_apply_variant_merges_sections_key_by_key_and_copies():
    cfg = apply_variant(BASE, {"training": {"monitor": "cross_entropy"}})
    assert cfg["training"] == {"monitor": "cross_entropy", "val_fraction": 0.1, "lr": 1e-3}
    assert BASE["training"]["monitor"] == "objective"


def test_released_code_config_loads_as_a_variant():
    spec = load_variant("released_code", "workflow/configs/released-code.yaml", ROOT)
    assert spec == {"training": {"monitor": "cross_entropy"}, "similarity": {"normalization": "sqrt"},
                    "compare": {"unused": "shared"}}


@pytest.mark.parametrize("name,spec,message", [
    ("v", {"model": {"hidden": [4]}}, "may change only training, similarity, clustering, compare, analysis"),
    ("v", {"sweeps": {}}, "robustness.variants.v sets sweeps"),
    ("v", "missing.yaml", "no file 'missing.yaml'"),
    ("v", ["a"], "expected a mapping of config sections"),
    ("v", {"compare": "shared"}, "robustness.variants.v.compare: expected a mapping"),
    ("a/b", {}, "may contain only letters"),
])
def test_bad_variants_name_the_key(tmp_path, name, spec, message):
    with pytest.raises(ValueError, match=None) as err:
        load_variant(name, spec, tmp_path)
    assert message in str(err.value)


def test_bad_yaml_file(tmp_path):
    (tmp_path / "v.yaml").write_text("training: [unclosed\n")
    with pytest.raises(ValueError, match="is not valid YAML"):
        load_variant("v", "v.yaml", tmp_path)


def test_add_variants_gives_each_sweep_experiment_a_sibling():
    base = Experiment("E", with_defaults(BASE), settings={"s": None}, sweep_rows=[{"sweep": "l2"}])
    own = Experiment("mine", with_defaults({**BASE, "checkpoints": {"files": "x", "layers": ["r"]}}))
    out = add_variants({"E": base, "mine": own}, {"variants": {"v": {"compare": {"unused": "shared"}}}})
    assert list(out) == ["E", "mine", "E+v"]
    v = out["E+v"]
    assert v.variant_of == "E" and v.settings == base.settings and v.owner("similarity") == "E"
    assert v.owner("compare") == "E+v" and v.config["compare"]["unused"] == "shared"
    assert variants_of(out, "E") == {"v": "E+v"} and variants_of(out, "mine") == {}


def test_schema_default_has_no_variants():
    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    rob = schema["properties"]["robustness"]["properties"]
    assert rob["variants"]["default"] == {} and rob["base"]["default"] == "paper_text"


def test_a_relative_variant_file_is_found_in_the_workflow_folder_too(tmp_path):
    spec = load_variant("released_code", "workflow/configs/released-code.yaml", tmp_path, basedir=ROOT)
    assert spec["training"] == {"monitor": "cross_entropy"}
    (tmp_path / "workflow/configs").mkdir(parents=True)
    (tmp_path / "workflow/configs/released-code.yaml").write_text("compare: {unused: shared}\n")
    assert load_variant("v", "workflow/configs/released-code.yaml", tmp_path, ROOT) == {"compare": {"unused": "shared"}}
