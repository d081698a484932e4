# Helpers, configuration loading and validation shared by all rule files.
import sys
from pathlib import Path

import yaml
from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "src"))  # the package from this checkout (see README)
from unitclust.config import check_settings, describe_config_error, expand_sweeps


# A --configfile replaces config.yaml; unset keys take the schema's defaults (the paper's values).
if not config:

    configfile: "config.yaml"


SCHEMA = Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml"
_problem = describe_config_error(config, yaml.safe_load(SCHEMA.read_text()))
if _problem:
    raise WorkflowError(_problem)
validate(config, str(SCHEMA))  # fills in defaults
SETTINGS, SWEEP_ROWS = expand_sweeps(config["sweeps"])
try:
    check_settings(SETTINGS)
except ValueError as _exc:
    raise WorkflowError(f"Invalid configuration: {_exc}")

DATASET = config["dataset"]["name"]
R = f"results/{DATASET}"
SEEDS = list(range(config["seeds"]))
UNTRAINED = list(range(config["untrained_seeds"]))
TRAINED_MODELS = [f"{s}/seed={seed}" for s in SETTINGS for seed in SEEDS]
UNTRAINED_MODELS = [f"untrained/seed={seed}" for seed in UNTRAINED]
MODELS = TRAINED_MODELS + UNTRAINED_MODELS

# Per-stage version stamps: bump one when that stage's numerics change, so exactly the
# affected outputs rerun (Snakemake sees params changes, not edits to src/unitclust).
# train 2: subnormal floats flushed to zero, fused Adam, per-epoch history (results may differ in the last bits)
# similarity 2: subnormal floats flushed to zero; compare 2: element-centric similarity in closed form
STAGE_VERSION = {"data": 1, "train": 2, "similarity": 2, "cluster": 1, "compare": 2}


wildcard_constraints:
    setting=r"l2=[^/_]+_l1=[^/_]+_drop=[^/_]+",
    seed=r"\d+",
    model=r"(untrained|l2=[^/_]+_l1=[^/_]+_drop=[^/_]+)/seed=\d+",


def setting_value(name):
    """Params function: a hyperparameter parsed from the {setting} wildcard."""
    key = {"l2": "l2", "l1": "l1", "dropout": "drop"}[name]

    def get(wildcards):
        fields = dict(part.split("=") for part in wildcards.setting.split("_"))
        return float(fields[key])

    return get


def training_params():
    t = config["training"]
    return {k: t[k] for k in ("lr", "batch_size", "max_epochs", "lr_factor", "lr_patience",
                              "patience", "val_fraction", "monitor")}


def model_files(name, models=None):
    return [f"{R}/models/{m}/{name}" for m in (MODELS if models is None else models)]


N_NULL = config["significance"]["n_null"]
# the similarity options the nulls are measured with (only a cluster-job parameter when there are nulls)
NULL_SIMILARITY = ({k: config["similarity"][k] for k in ("abs_placement", "normalization", "eps", "batch_size")}
                   if N_NULL else {})
TABLES = ["sweeps", "metrics", "history", "modularity", "cluster_similarity"]



def example_models():
    """Fig. 3's example row: seed 0 at up to 4 evenly spaced strengths of the example sweep."""
    rows = sorted((r for r in SWEEP_ROWS if r["sweep"] == config["plots"]["example_sweep"]),
                  key=lambda r: r["value"])
    if not rows:
        return [], []
    picks = sorted({round(i * (len(rows) - 1) / 3) for i in range(4)})
    chosen = [rows[i] for i in picks]
    return [f"{r['setting']}/seed=0" for r in chosen], [f"{r['parameter']}={r['value']:.3g}" for r in chosen]


EXAMPLE_MODELS, EXAMPLE_TITLES = example_models()
FIGURES = ["fig3", "fig4", "figS1", "figS2", "figS3", "figS4", "figS5", "training_curves"]


def figure_outputs(name):
    return {
        "pdf": f"{R}/figures/{name}.pdf",
        "png": report(f"{R}/figures/{name}.png", caption=f"../report/{name}.rst", category="Figures",
                      labels={"figure": name}),
    }


EXTRA_METRICS = [m for m in config["compare"]["metrics"] if m != "element_sim"]
METRIC_FIGURES = [f"{f}_{m}" for m in EXTRA_METRICS for f in ("fig4", "figS5")] + (["fig3_z"] if N_NULL else [])


def all_targets():
    figures = FIGURES + METRIC_FIGURES
    return [f"{R}/tables/{t}.csv" for t in TABLES + ["findings"]] + [f"{R}/figures/{f}.{ext}" for f in figures for ext in ("pdf", "png")]
