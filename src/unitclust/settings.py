"""The workflow's options: one frozen object per config section, the one home of the defaults.

Each section of the config (docs/configuration.md) is a frozen dataclass here whose field
defaults are the paper's values (docs/science.md).  The JSON schema
(``workflow/schemas/config.schema.yaml``) checks types and ranges; its ``default`` entries must
equal these (``tests/test_settings.py`` checks it).  :func:`load_config` validates a config once,
fills the defaults and says which sections each experiment may set (:data:`PER_EXPERIMENT`) and
which of them merge key by key (:data:`MERGED`).  The workflow's rules pass each job the dict of
its stage's options (:meth:`Options.as_dict`); :mod:`unitclust.steps` turns it back into the
object with :meth:`Options.of`.  Imports neither torch nor jsonschema at module level.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(frozen=True)
class Options:
    """Base of the per-section option objects."""

    section: ClassVar[str] = ""

    @classmethod
    def of(cls, value=None, **overrides):
        """The options from an instance, a mapping (missing keys take the defaults) or None (all defaults);
        ``overrides`` replace single fields.  An unknown key is an error that names it."""
        if isinstance(value, cls):
            values = dataclasses.asdict(value)
        else:
            values = dict(value or {})
        values.update(overrides)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown {cls.section} option(s) {', '.join(unknown)} "
                             f"(allowed: {', '.join(sorted(names))})")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})

    def as_dict(self, exclude=()) -> dict:
        """Plain values (tuples as lists) for a rule's params, a YAML file or JSON; without the ``exclude`` keys."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
                if k not in exclude}


@dataclass(frozen=True)
class DatasetOptions(Options):
    section: ClassVar[str] = "dataset"
    name: str = "mnist"
    data_dir: str | None = None  # None: data/<name>
    download: bool = False


@dataclass(frozen=True)
class ModelOptions(Options):
    section: ClassVar[str] = "model"
    type: str = "mlp"
    hidden: tuple[int, ...] | None = None  # None: (64, 64) for an MLP, () for a conv net
    channels: tuple[int, ...] = (16, 32)
    kernel: int = 3
    pool: int = 2

    def architecture(self) -> dict:
        """The keys that define the network (what a train job needs; a conv net's keys do not rerun an MLP)."""
        if self.type == "cnn":
            return {"type": "cnn", "channels": list(self.channels), "kernel": self.kernel, "pool": self.pool,
                    "hidden": list(self.hidden or ())}
        return {"type": "mlp", "hidden": list(self.hidden if self.hidden is not None else MLP_HIDDEN)}


MLP_HIDDEN = (64, 64)


@dataclass(frozen=True)
class TrainingOptions(Options):
    section: ClassVar[str] = "training"
    lr: float = 1e-3
    batch_size: int = 200
    max_epochs: int = 500
    lr_factor: float = 0.25
    lr_patience: int = 3
    patience: int = 6
    val_fraction: float = 0.1
    monitor: str = "objective"  # objective (CE + penalty) | cross_entropy
    threads: int = 1
    device: str = "auto"
    models_per_job: int = 9  # paired seeds trained (untrained seeds initialised) one after another per job

    PROTOCOL: ClassVar[tuple[str, ...]] = ("lr", "batch_size", "max_epochs", "lr_factor", "lr_patience", "patience",
                                           "monitor")

    def protocol(self) -> dict:
        """The options of the training protocol itself (:class:`unitclust.training.TrainConfig`)."""
        return {k: getattr(self, k) for k in self.PROTOCOL}


@dataclass(frozen=True)
class SimilarityOptions(Options):
    section: ClassVar[str] = "similarity"
    abs_placement: str = "averaged"
    normalization: str = "max"
    eps: float = 1e-12
    batch_size: int = 1000
    max_positions: int = 32
    seed: int = 0
    method: str = "auto"


@dataclass(frozen=True)
class ClusteringOptions(Options):
    section: ClassVar[str] = "clustering"
    method: str = "paper"
    mc_steps: int = 5000
    target_entropy: float = 0.15
    restarts: int = 1
    seed: int = 0
    mc_only_fraction: float = 0.05
    mc_only_steps: int = 1000

    def algorithm(self) -> dict:
        """The keyword arguments of :func:`unitclust.clustering.cluster.cluster_matrix`."""
        return {k: getattr(self, k) for k in ("method", "mc_steps", "target_entropy", "restarts")}


@dataclass(frozen=True)
class CompareOptions(Options):
    section: ClassVar[str] = "compare"
    unused: str = "singletons"
    metrics: tuple[str, ...] = ("element_sim",)
    n_perm: int = 0
    seed: int = 0


@dataclass(frozen=True)
class SignificanceOptions(Options):
    section: ClassVar[str] = "significance"
    n_null: int = 0


@dataclass(frozen=True)
class LesionOptions(Options):
    """Lesion tests of the clusters (:mod:`unitclust.lesion`); ``n_random`` 0: none."""

    section: ClassVar[str] = "lesion"
    n_random: int = 0
    mode: str = "zero"
    seed: int = 0
    batch_size: int = 1000


@dataclass(frozen=True)
class PlantedOptions(Options):
    """Networks with planted modules (:mod:`unitclust.planted`); no ``strengths``: none."""

    section: ClassVar[str] = "planted"
    strengths: tuple[float, ...] = ()
    modules: int = 4
    hidden: tuple[int, ...] = (64, 64)
    seeds: int = 3
    sides: str = "same"
    methods: tuple[str, ...] = ("paper", "leiden")

    def check(self) -> None:
        if min(self.hidden) < self.modules:
            raise ValueError(f"Invalid configuration at 'planted.hidden': every hidden layer needs at least "
                             f"planted.modules = {self.modules} units, got {list(self.hidden)}")


@dataclass(frozen=True)
class AnalysisOptions(Options):
    section: ClassVar[str] = "analysis"
    accuracy_cutoff: float = 0.8
    n_boot: int = 2000
    bootstrap_seed: int = 0


@dataclass(frozen=True)
class RobustnessOptions(Options):
    section: ClassVar[str] = "robustness"
    base: str = "paper_text"
    variants: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PlotOptions(Options):
    section: ClassVar[str] = "plots"
    dpi: int = 150
    example_sweep: str = "dropout"
    example_measure: str = "cov_norm"


@dataclass(frozen=True)
class CheckpointOptions(Options):
    """An experiment of the user's own checkpoints (``files`` and ``layers`` are required by the schema)."""

    section: ClassVar[str] = "checkpoints"
    files: str = ""
    layers: tuple[str, ...] = ()
    factory: str | None = None
    kwargs: dict = field(default_factory=dict)
    input_shape: tuple[int, ...] | None = None
    format: str = "auto"

    def as_params(self) -> dict:
        """What the check and import jobs need, in a fixed key order (reordering the YAML reruns nothing)."""
        return {"factory": self.factory, "kwargs": dict(sorted(self.kwargs.items())), "layers": list(self.layers),
                "input_shape": list(self.input_shape) if self.input_shape is not None else None,
                "format": self.format}


SECTIONS: dict[str, type[Options]] = {c.section: c for c in (
    DatasetOptions, ModelOptions, TrainingOptions, SimilarityOptions, ClusteringOptions, CompareOptions,
    SignificanceOptions, LesionOptions, PlantedOptions, AnalysisOptions, RobustnessOptions, PlotOptions)}
# The paper's Table 1 and its seeds (docs/science.md §1).
SWEEPS = {"l2": {"l2": {"logspace": [-5, -1, 9]}, "l1": 0, "dropout": 0},
          "l1": {"l2": 1.0e-5, "l1": {"logspace": [-5, -2, 7]}, "dropout": 0},
          "dropout": {"l2": 1.0e-5, "l1": 0, "dropout": {"linspace": [0.05, 0.7, 14]}}}
SCALARS = {"seeds": 9, "untrained_seeds": 100}
# Keys an `experiments` entry may set; every other key is shared by all experiments.
PER_EXPERIMENT = ("dataset", "model", "sweeps", "seeds", "untrained_seeds", "training", "analysis", "checkpoints")
MERGED = ("training", "analysis")  # merged key by key into the top level; the other keys replace it


@dataclass(frozen=True)
class Settings:
    """Every section's options of one single-experiment config (with its defaults filled)."""

    dataset: DatasetOptions
    model: ModelOptions
    training: TrainingOptions
    similarity: SimilarityOptions
    clustering: ClusteringOptions
    compare: CompareOptions
    significance: SignificanceOptions
    lesion: LesionOptions
    planted: PlantedOptions
    analysis: AnalysisOptions
    robustness: RobustnessOptions
    plots: PlotOptions
    checkpoints: CheckpointOptions | None = None  # only in an experiment of the user's own checkpoints

    @classmethod
    def from_config(cls, cfg: dict) -> Settings:
        own = CheckpointOptions.of(cfg["checkpoints"]) if "checkpoints" in cfg else None
        return cls(**{name: opts.of(cfg.get(name)) for name, opts in SECTIONS.items()}, checkpoints=own)


def with_defaults(cfg: dict) -> dict:
    """A copy of a (valid) single-experiment or top-level config with every default filled in: each
    section's missing keys, the paper's sweeps and seeds, and the defaults that depend on other keys
    (a dataset's ``data_dir`` is ``data/<name>``; a conv net's ``hidden`` is empty, an MLP's 64-64)."""
    out = copy.deepcopy(cfg)
    for name, opts in SECTIONS.items():
        out[name] = opts.of(out.get(name)).as_dict()
    if "checkpoints" in out:
        out["checkpoints"] = CheckpointOptions.of(out["checkpoints"]).as_dict()
    dataset, model = out["dataset"], out["model"]
    if dataset["data_dir"] is None:
        dataset["data_dir"] = f"data/{dataset['name']}"
    if model["hidden"] is None:
        model["hidden"] = [] if model["type"] == "cnn" else list(MLP_HIDDEN)
    out.setdefault("sweeps", copy.deepcopy(SWEEPS))
    for key, value in SCALARS.items():
        out.setdefault(key, value)
    return out


def merge(base: dict, entry: dict) -> dict:
    """The single-experiment config of one ``experiments`` entry on top of the top level (both as
    written; defaults are filled afterwards)."""
    cfg = {k: copy.deepcopy(v) for k, v in base.items() if k not in ("experiments", "checkpoints")}
    for key, value in entry.items():
        if key in MERGED:
            cfg[key] = {**cfg.get(key, {}), **copy.deepcopy(value)}
        else:
            cfg[key] = copy.deepcopy(value)
    return cfg


def checked(cfg: dict, schema: dict, where: tuple[str, str] | None = None) -> dict:
    """``cfg`` validated against ``schema`` (one readable ValueError naming the key; ``where`` =
    (what, key prefix) places it, e.g. ("of experiment 'x'", "experiments.x.")) with its defaults filled."""
    from .config import describe_config_error

    problem = describe_config_error(cfg, schema, where)
    if problem:
        raise ValueError(problem)
    out = with_defaults(cfg)
    PlantedOptions.of(out["planted"]).check()
    return out
