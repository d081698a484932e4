"""Analysis variants: the same experiment under other analysis choices, for the robustness table.

A variant (``robustness.variants``: name -> a YAML file or an inline mapping) overrides some
options of every regularization-sweep experiment: ``E`` gets a sibling experiment ``E+name``
with its own results tree, scorecard and tables.  Only the stages whose options differ are
recomputed: each stage's per-model files (``model.pt`` ... ``cluster_similarity.h5``) are read
from the base experiment's tree as long as every option that stage and the stages before it
depend on is equal (:data:`STAGE_SECTIONS`), e.g. a variant that changes only ``compare.unused``
shares the base's training, similarity and clustering and recomputes the comparison and later.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import yaml

from .settings import checked, with_defaults

# Sections a variant may change (the others define the experiment itself, or are drawn once).
VARIANT_SECTIONS = ("training", "similarity", "clustering", "compare", "analysis")
# The per-model stages in DAG order and the options each depends on, cumulatively ("section" or
# "section.key"); an untrained model's first stage (init) needs only its architecture and split.
STAGES = ("train", "similarity", "cluster", "compare")
STAGE_SECTIONS = {"train": ("dataset", "model", "training", "checkpoints"), "similarity": ("similarity",),
                  "cluster": ("clustering", "significance"), "compare": ("compare",)}
INIT_SECTIONS = ("dataset", "model", "training.val_fraction")
UNTRAINED = "untrained/"
# The stage that writes each per-model file.
FILE_STAGE = {"model.pt": "train", "metrics.json": "train", "history.csv": "train",
              "similarity.h5": "similarity", "clusters.h5": "cluster", "cluster_similarity.h5": "compare",
              "lesion.h5": "lesion"}  # lesion tests: only of the experiments of the config, in their own tree
SEPARATOR = "+"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def load_variant(name: str, spec, workdir: str | Path = ".", basedir: str | Path | None = None) -> dict:
    """A variant's overrides: ``spec`` is a mapping, or the path of a YAML file holding one, e.g.
    ``workflow/configs/released-code.yaml``; a relative path is looked up in ``workdir``, then in
    ``basedir`` (the workflow's folder, where the shipped configs are)."""
    where = f"robustness.variants.{name}"
    if not _NAME.match(name):
        raise ValueError(f"{where}: a variant name may contain only letters, digits, '_', '.' and '-' "
                         "(it names a results folder)")
    if isinstance(spec, str):
        roots = [Path(workdir)] + ([Path(basedir)] if basedir is not None else [])
        found = [p for p in ([Path(spec)] if Path(spec).is_absolute() else [r / spec for r in roots]) if p.is_file()]
        if not found:
            raise ValueError(f"{where}: no file '{spec}' (relative paths start at "
                             f"{' or '.join(str(r.resolve()) for r in roots)}); "
                             "give the path of a YAML file of options, or the options themselves")
        path = found[0]
        try:
            spec = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"{where}: '{spec}' is not valid YAML: {exc}") from None
    if not isinstance(spec, dict):
        raise ValueError(f"{where}: expected a mapping of config sections, got {type(spec).__name__}")
    extra = sorted(set(spec) - set(VARIANT_SECTIONS))
    if extra:
        raise ValueError(f"{where} sets {', '.join(extra)}: a variant may change only "
                         f"{', '.join(VARIANT_SECTIONS)} (a different dataset, model or sweep is an experiment)")
    for section, value in spec.items():
        if not isinstance(value, dict):
            raise ValueError(f"{where}.{section}: expected a mapping of options, got {value!r}")
    return copy.deepcopy(spec)


def apply_variant(base: dict, overrides: dict) -> dict:
    """The variant's config: ``base`` (a validated experiment config) with each overridden section
    merged key by key."""
    cfg = copy.deepcopy(base)
    for section, values in overrides.items():
        cfg[section] = {**cfg.get(section, {}), **copy.deepcopy(values)}
    return cfg


def _option(cfg: dict, key: str):
    section, _, name = key.partition(".")
    value = cfg.get(section)
    return value.get(name) if name and isinstance(value, dict) else value


def stage_owners(base_name: str, base: dict, name: str, cfg: dict) -> dict[str, str]:
    """For each stage, the experiment whose tree holds its per-model files: the base's as long as
    every option this stage and the earlier ones depend on is equal, the variant's own after.
    Keys are the stage names for trained models and ``untrained:<stage>`` for untrained ones."""
    owners = {}
    for prefix, first in (("", STAGE_SECTIONS["train"]), ("untrained:", INIT_SECTIONS)):
        same, seen = True, ()
        for stage in STAGES:
            seen += first if stage == "train" else STAGE_SECTIONS[stage]
            same = same and all(_option(base, k) == _option(cfg, k) for k in seen)
            owners[prefix + stage] = base_name if same else name
    return owners


def file_stage(file: str, model: str) -> str:
    """The owner key of a per-model file of ``model`` (see :func:`stage_owners`)."""
    return ("untrained:" if model.startswith(UNTRAINED) else "") + FILE_STAGE[file]


def variant_name(experiment: str, variant: str) -> str:
    return f"{experiment}{SEPARATOR}{variant}"


def add_variants(experiments: dict, robustness: dict, schema: dict | None = None, workdir: str | Path = ".",
                 basedir: str | Path | None = None) -> dict:
    """``experiments`` plus, for every regularization-sweep experiment and every variant of
    ``robustness["variants"]``, its variant experiment, whose config is validated against ``schema``
    (when given; errors name the variant) and has its defaults filled."""
    from .experiments import Experiment

    def check(cfg, v):
        where = (f"of variant '{v}' (robustness.variants.{v})", "")
        return checked(cfg, schema, where) if schema is not None else with_defaults(cfg)

    specs = {v: load_variant(v, spec, workdir, basedir) for v, spec in (robustness.get("variants") or {}).items()}
    out = dict(experiments)
    for base in experiments.values():
        if base.own:
            continue
        for v, overrides in specs.items():
            name = variant_name(base.name, v)
            cfg = check(apply_variant(base.config, overrides), v)
            out[name] = Experiment(name, cfg, settings=base.settings, sweep_rows=base.sweep_rows, variant_of=base.name,
                                   owners=stage_owners(base.name, base.config, name, cfg))
    return out


def variants_of(experiments: dict, base: str) -> dict[str, str]:
    """Variant label -> experiment name, for the variants of experiment ``base``."""
    return {e.name.split(SEPARATOR, 1)[1]: e.name for e in experiments.values() if e.variant_of == base}
