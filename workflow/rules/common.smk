# Helpers, configuration loading and validation shared by all rule files.
import re
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(workflow.basedir) / "src"))  # the package from this checkout (see README)
from unitclust.config import Setting, fmt
from unitclust.experiments import datasets_of, resolve
from unitclust.settings import Settings, checked
from unitclust.variants import add_variants, file_stage, variants_of


# A --configfile replaces config.yaml; unset keys take the defaults of unitclust.settings (the paper's values).
if not config:

    configfile: "config.yaml"


SCHEMA = yaml.safe_load((Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml").read_text())
# Every config is validated once (the top level, then each experiment's and each analysis variant's
# merged config), before any job; the defaults are then filled into `config` (the report reads it).
try:
    config.update(checked(config, SCHEMA))
    SETTINGS = Settings.from_config(config)
    EXPERIMENTS = resolve(config, SCHEMA)
    DATASETS = datasets_of(EXPERIMENTS)
    EXPERIMENTS = add_variants(EXPERIMENTS, config["robustness"], SCHEMA, basedir=workflow.basedir)
except ValueError as _exc:
    raise WorkflowError(str(_exc) if str(_exc).startswith("Invalid configuration") else
                        f"Invalid configuration: {_exc}")
# the experiments of the config itself (not analysis variants): summary tables and figures
BASES = {name: e for name, e in EXPERIMENTS.items() if e.variant_of is None}
OWN = {name for name, e in EXPERIMENTS.items() if e.own}
# Parsing the workflow imports neither torch nor the user's code: the user's models are loaded and
# checked by one check_checkpoints job per such experiment, which every training job waits for.
OWN_CHECKS = [f"results/{EXPERIMENTS[n].dataset}/{n}/checks/checkpoints.json" for n in sorted(OWN)]

# Results of experiment E on dataset D live in results/D/E (R below, with wildcards).
R = "results/{dataset}/{experiment}"
SUMMARY = "results/summary"

# Per-stage version stamps: bump one when that stage's numerics change, so exactly the
# affected outputs rerun (Snakemake sees params changes, not edits to src/unitclust).
# train 2: subnormal floats flushed to zero, fused Adam, per-epoch history (results may differ in the last bits)
# similarity 2: subnormal floats flushed to zero; compare 2: element-centric similarity in closed form
STAGE_VERSION = {"data": 1, "train": 2, "similarity": 2, "cluster": 1, "compare": 2, "lesion": 1}


SETTING = r"l2=[^/_]+_l1=[^/_]+_drop=[^/_]+"


wildcard_constraints:
    dataset=r"[A-Za-z0-9_]+",
    experiment=r"[A-Za-z0-9][A-Za-z0-9_.-]*(\+[A-Za-z0-9][A-Za-z0-9_.-]*)?",
    setting=SETTING,
    seed=r"\d+",
    strength=r"[0-9][0-9.e+-]*",
    name=r"[A-Za-z0-9_.-]+",
    model=rf"(untrained|{SETTING}|checkpoint=[A-Za-z0-9_.-]+)/seed=\d+",


def exp(wildcards):
    """The experiment a job belongs to (its dataset wildcard must be the experiment's)."""
    e = EXPERIMENTS.get(wildcards.experiment)
    if e is None or e.dataset != wildcards.dataset:
        raise WorkflowError(f"no experiment '{wildcards.experiment}' on dataset '{wildcards.dataset}' in the config "
                            f"(experiments: {', '.join(f'{n} ({x.dataset})' for n, x in EXPERIMENTS.items())})")
    return e


def options(section, exclude=()):
    """Params function: the job's experiment's options of one config section, as a dict
    (unitclust.settings); ``exclude``: keys that do not change the job's result (editing them reruns nothing)."""
    return lambda wildcards: getattr(exp(wildcards).options, section).as_dict(exclude)


def option(section, key):
    """Params function: one option of the job's experiment, e.g. option("training", "device")."""
    return lambda wildcards: getattr(getattr(exp(wildcards).options, section), key)


def data_file(wildcards):
    return f"results/{wildcards.dataset}/data.npz"


def setting_params(wildcards):
    """The regularization setting of the {setting} wildcard: {l2, l1, dropout}."""
    return Setting.from_id(wildcards.setting).as_dict()


def model_path(e, model, name):
    """File ``name`` of model ``model`` of experiment ``e`` (a variant reads the files of every
    stage it shares from its base experiment's tree)."""
    return f"results/{e.dataset}/{e.owner(file_stage(name, model))}/models/{model}/{name}"


def model_files(name, which="models"):
    """Input function: file ``name`` of every model (``which``: models | trained_models) of the job's experiment."""

    def get(wildcards):
        e = exp(wildcards)
        return [model_path(e, m, name) for m in getattr(e, which)]

    return get


def model_file(name):
    """Input function of a per-model job: file ``name`` of the job's model."""
    return lambda wildcards: model_path(exp(wildcards), wildcards.model, name)


def seed_blocks(untrained=False):
    """The complete blocks of ``training.models_per_job`` consecutive seeds (0..k-1, k..2k-1, ...) among
    the trained (``untrained=True``: untrained) models of each experiment: {(first, last): regex of the
    experiments}.  A block's models are made by one job (train.smk); the other seeds by one job each."""
    blocks = {}
    for name, e in EXPERIMENTS.items():
        k = e.options.training.models_per_job
        n = 0 if e.own else e.config["untrained_seeds" if untrained else "seeds"]
        for first in range(0, n - k + 1, k) if k > 1 else ():
            blocks.setdefault((first, first + k - 1), []).append(name)
    return {b: "|".join(re.escape(n) for n in names) for b, names in blocks.items()}


def model_blocks():
    """The blocks of seed_blocks() for the per-model analysis rules: (name, first, last, experiments
    regex, regex of the {group} wildcard: a setting, or ``untrained``)."""
    return [(f"{prefix}_{first}_{last}", first, last, experiments, group)
            for untrained, prefix, group in ((False, "seeds", SETTING), (True, "untrained_seeds", "untrained"))
            for (first, last), experiments in seed_blocks(untrained).items()]


def stage_resources(stage, **own):
    """The resources of a block's jobs: their own, then what the profile's set-resources gives the
    stage (``train``, ``init_untrained``, ``similarity``, ...), since the names of the block
    rules depend on the config's seeds, which a profile cannot know."""
    given = workflow.resource_settings.overwrite_resources.get(stage, {})
    return {**own, **{k: getattr(v, "raw", v) for k, v in given.items()}}


def block_files(name, first, last):
    """Input function of a block job: file ``name`` of the models {group}/seed=first..last."""
    return lambda wildcards: [model_path(exp(wildcards), f"{wildcards.group}/seed={s}", name)
                              for s in range(first, last + 1)]


def block_outputs(name, first, last, group="{group}"):
    """Output patterns of a block job: file ``name`` of the models group/seed=first..last (``group``: a
    wildcard pattern such as ``{setting}``, or ``untrained``)."""
    return [f"{R}/models/{group}/seed={s}/{name}" for s in range(first, last + 1)]


# a training job's options: threads and models_per_job say how it runs, not what it computes
TRAINING_PARAMS = options("training", exclude=("threads", "models_per_job"))


def block_ids(first, last):
    """Params function of a block job: the model ids {group}/seed=first..last."""
    return lambda wildcards: [f"{wildcards.group}/seed={s}" for s in range(first, last + 1)]


def experiment_root(e):
    return f"results/{e.dataset}/{e.name}"


N_NULL = SETTINGS.significance.n_null
LESIONS = SETTINGS.lesion.n_random > 0  # lesion tests of every experiment of the config (not of analysis variants)


def null_similarity(wildcards):
    """The similarity options the nulls are measured with (a cluster-job parameter only when there are nulls)."""
    return options("similarity")(wildcards) if N_NULL else {}

TABLES = ["sweeps", "metrics", "history", "modularity", "cluster_similarity"]
OWN_TABLES = ["metrics", "modularity", "cluster_similarity"]


def example_models(e):
    """Fig. 3's example row: seed 0 at up to 4 evenly spaced strengths of the example sweep."""
    rows = sorted((r for r in e.sweep_rows if r["sweep"] == SETTINGS.plots.example_sweep),
                  key=lambda r: r["value"])
    if not rows:
        return [], []
    picks = sorted({round(i * (len(rows) - 1) / 3) for i in range(4)})
    chosen = [rows[i] for i in picks]
    return [f"{r['setting']}/seed=0" for r in chosen], [f"{r['parameter']}={r['value']:.3g}" for r in chosen]


def example_files(name):
    def get(wildcards):
        e = exp(wildcards)
        return [model_path(e, m, name) for m in example_models(e)[0]]

    return get


FIGURES = ["fig3", "fig4", "figS1", "figS2", "figS3", "figS4", "figS5", "training_curves"]
OWN_FIGURES = ["fig4", "figS2"]  # the others are drawn against regularization sweeps
SUMMARY_FIGURES = ["q_by_experiment", "q_by_depth"]


def figure_outputs(name):
    return {
        "pdf": f"{R}/figures/{name}.pdf",
        "png": report(f"{R}/figures/{name}.png", caption=f"../report/{name}.rst", category="Figures",
                      subcategory="{experiment}", labels={"figure": name}),
    }


EXTRA_METRICS = [m for m in SETTINGS.compare.metrics if m != "element_sim"]


def experiment_targets(e):
    own = e.own
    figures = (OWN_FIGURES if own else FIGURES) + [f"{f}_{m}" for m in EXTRA_METRICS
                                                  for f in (("fig4",) if own else ("fig4", "figS5"))]
    figures += ["fig3_z"] if N_NULL and not own else []
    tables = OWN_TABLES if own else TABLES + ["findings"]
    if LESIONS:
        tables += ["lesion", "lesion_summary", "lesion_findings"]
        figures += ["lesion_z"]
    root = experiment_root(e)
    return [f"{root}/tables/{t}.csv" for t in tables] + [f"{root}/figures/{f}.{ext}" for f in figures
                                                          for ext in ("pdf", "png")]


def robustness_inputs(wildcards):
    """findings.csv of the job's experiment and of each of its analysis variants, base first."""
    e = exp(wildcards)
    names = [e.name] + list(variants_of(EXPERIMENTS, e.name).values())
    return [f"results/{e.dataset}/{n}/tables/findings.csv" for n in names]


def robustness_labels(wildcards):
    return [SETTINGS.robustness.base] + list(variants_of(EXPERIMENTS, wildcards.experiment))


def all_targets():
    summary = [f"{SUMMARY}/tables/modularity.csv"] + [f"{SUMMARY}/figures/{f}.{ext}" for f in SUMMARY_FIGURES
                                                      for ext in ("pdf", "png")]
    targets = [t for e in BASES.values() for t in experiment_targets(e)]
    for e in EXPERIMENTS.values():  # a variant's tables and scorecard; its figures only on request
        if e.variant_of is not None:
            targets += [f"{experiment_root(e)}/tables/{t}.csv" for t in TABLES + ["findings"]]
            targets.append(f"{experiment_root(BASES[e.variant_of])}/tables/robustness.csv")
    if SETTINGS.planted.strengths:  # networks with planted modules, on the dataset of the config's top level
        planted = f"results/planted/{SETTINGS.dataset.name}"
        targets += [f"{planted}/tables/planted_recovery.csv"] + [f"{planted}/figures/planted.{ext}"
                                                               for ext in ("pdf", "png")]
    return list(dict.fromkeys(targets)) + summary
