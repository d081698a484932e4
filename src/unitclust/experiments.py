"""Experiments: several studies side by side, each with its own results tree (docs/experiments.md).

An experiment is an architecture with its sweeps, seeds and untrained seeds, or a set of the
user's own checkpoints.  The config either lists them under ``experiments`` (each entry's keys
replace the top-level ones; ``training`` and ``analysis`` are merged key by key) or, as in the
paper's single-study config, has none: the top-level keys then form one experiment named after
its architecture (``mlp_64-64``), so changing the architecture never overwrites earlier results.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from .config import Setting, check_settings, expand_sweeps
from .settings import Settings, checked, merge, with_defaults

CHECKPOINT_PREFIX = "checkpoint="
_STEM = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass
class Experiment:
    """One study: its name, full single-experiment config and the models it analyses."""

    name: str
    config: dict
    settings: dict[str, Setting] = field(default_factory=dict)
    sweep_rows: list[dict] = field(default_factory=list)
    checkpoints: dict[str, str] = field(default_factory=dict)  # model id -> the user's file
    variant_of: str | None = None  # the base experiment of an analysis variant (unitclust.variants)
    owners: dict[str, str] = field(default_factory=dict)  # stage -> experiment whose tree holds its files

    @cached_property
    def options(self) -> Settings:
        """The option objects of every section of this experiment's config (:mod:`unitclust.settings`)."""
        return Settings.from_config(self.config)

    def owner(self, stage: str) -> str:
        """The experiment whose results tree holds this experiment's per-model files of ``stage``."""
        return self.owners.get(stage, self.name)

    @property
    def dataset(self) -> str:
        return self.config["dataset"]["name"]

    @property
    def own(self) -> bool:
        """True for an experiment of the user's own checkpoints (no training, no sweeps)."""
        return "checkpoints" in self.config

    @property
    def trained_models(self) -> list[str]:
        if self.own:
            return list(self.checkpoints)
        return [f"{s}/seed={seed}" for s in self.settings for seed in range(self.config["seeds"])]

    @property
    def untrained_models(self) -> list[str]:
        return [] if self.own else [f"untrained/seed={s}" for s in range(self.config["untrained_seeds"])]

    @property
    def models(self) -> list[str]:
        return self.trained_models + self.untrained_models


def arch_name(model: dict) -> str:
    """A directory name for an architecture: ``mlp_64-64``, ``cnn_c16-32_k3_p2`` (+ ``_h64`` dense layers)."""
    hidden = "-".join(str(h) for h in model.get("hidden", []))
    if model.get("type", "mlp") == "cnn":
        channels = "-".join(str(c) for c in model["channels"])
        return f"cnn_c{channels}_k{model['kernel']}_p{model['pool']}" + (f"_h{hidden}" if hidden else "")
    return f"mlp_{hidden}"


def checkpoint_files(name: str, spec: dict, workdir: str | Path = ".") -> dict[str, str]:
    """Model id (``checkpoint=<file stem>/seed=0``) -> file, for every file the glob matches."""
    pattern = spec["files"]
    root = Path(workdir)
    matches = sorted(glob.glob(pattern if Path(pattern).is_absolute() else str(root / pattern), recursive=True))
    files = [m for m in matches if Path(m).is_file()]
    if not files:
        raise ValueError(f"experiment '{name}': checkpoints.files '{pattern}' matches no file "
                         f"(relative paths start at {root.resolve()}); check the glob")
    out: dict[str, str] = {}
    for f in files:
        stem = Path(f).stem
        if not _STEM.match(stem):
            raise ValueError(f"experiment '{name}': checkpoint file name '{Path(f).name}' may contain only letters, "
                             "digits, '_', '.' and '-' (it names the model's results folder); rename it")
        model_id = f"{CHECKPOINT_PREFIX}{stem}/seed=0"
        if model_id in out:
            raise ValueError(f"experiment '{name}': two checkpoints share the file name '{stem}' "
                             f"({out[model_id]} and {f}); their results would collide, rename one")
        out[model_id] = str(Path(f).resolve().relative_to(root.resolve())) if not Path(pattern).is_absolute() else f
    return out


def resolve(config: dict, schema: dict | None = None, workdir: str | Path = ".") -> dict[str, Experiment]:
    """Every experiment of a config as written: each single-experiment config validated against
    ``schema`` (when given; errors name the experiment) and with its defaults filled
    (:func:`unitclust.settings.checked`)."""

    def check(cfg, where=None):
        return checked(cfg, schema, where) if schema is not None else with_defaults(cfg)

    entries = config.get("experiments") or {}
    if entries:
        configs = {name: check(merge(config, entry), (f"of experiment '{name}'", f"experiments.{name}."))
                   for name, entry in entries.items()}
    else:
        cfg = check({k: v for k, v in config.items() if k != "experiments"})
        configs = {"checkpoints" if "checkpoints" in cfg else arch_name(cfg["model"]): cfg}
    experiments = {}
    for name, cfg in configs.items():
        exp = Experiment(name, cfg)
        if exp.own:
            exp.checkpoints = checkpoint_files(name, cfg["checkpoints"], workdir)
        else:
            exp.settings, exp.sweep_rows = expand_sweeps(cfg["sweeps"])
            try:
                check_settings(exp.settings)
            except ValueError as exc:
                raise ValueError(f"experiment '{name}': {exc}") from None
        experiments[name] = exp
    datasets_of(experiments)
    return experiments


def datasets_of(experiments: dict[str, Experiment]) -> dict[str, dict]:
    """Dataset name -> its config section; two experiments may share a dataset only with equal settings."""
    out: dict[str, dict] = {}
    for exp in experiments.values():
        ds = exp.config["dataset"]
        if ds["name"] in out and out[ds["name"]] != ds:
            raise ValueError(f"experiments disagree about dataset '{ds['name']}': {out[ds['name']]} vs {ds} "
                             f"(experiment '{exp.name}'); give every experiment the same dataset settings")
        out[ds["name"]] = ds
    return out
