"""Expanding the hyperparameter table (paper Table 1, docs/science.md §1) into models.

A sweep fixes ``l2``, ``l1`` and ``dropout``; each may be a number, a list of
numbers, or ``{logspace: [a, b, n]}`` / ``{linspace: [a, b, n]}`` (numpy
semantics).  A sweep expands to the Cartesian product of its three value lists.
Settings that coincide across sweeps (equal to 6 significant digits) collapse
to one model, which then belongs to every sweep that names it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PARAMS = ("l2", "l1", "dropout")


@dataclass(frozen=True)
class Setting:
    """One regularization setting; ``id`` is its directory name."""

    l2: float
    l1: float
    dropout: float

    @property
    def id(self) -> str:
        return f"l2={fmt(self.l2)}_l1={fmt(self.l1)}_drop={fmt(self.dropout)}"

    def as_dict(self) -> dict:
        return {"l2": self.l2, "l1": self.l1, "dropout": self.dropout}

    @classmethod
    def from_id(cls, setting_id: str) -> Setting:
        """The setting a directory name (:attr:`id`) stands for."""
        fields = dict(part.split("=") for part in setting_id.split("_"))
        return cls(float(fields["l2"]), float(fields["l1"]), float(fields["drop"]))


def fmt(value: float) -> str:
    """Canonical short text for a hyperparameter value (6 significant digits)."""
    return format(float(value), ".6g")


def expand_values(spec) -> list[float]:
    """A number, a list, or a ``{logspace|linspace: [a, b, n]}`` mapping -> list of floats."""
    if isinstance(spec, dict):
        (kind, args), = spec.items()
        a, b, n = args
        fn = {"logspace": np.logspace, "linspace": np.linspace}[kind]
        return [float(v) for v in fn(float(a), float(b), int(n))]
    if isinstance(spec, (list, tuple)):
        return [float(v) for v in spec]
    return [float(spec)]


def sweep_parameter(name: str, sweep: dict) -> str:
    """The hyperparameter a sweep varies: the one with most values (ties: the sweep's name if it is one)."""
    counts = {p: len(expand_values(sweep[p])) for p in PARAMS}
    best = max(counts.values())
    candidates = [p for p in PARAMS if counts[p] == best]
    return name if name in candidates else candidates[0]


def expand_sweeps(sweeps: dict) -> tuple[dict[str, Setting], list[dict]]:
    """Return ``({setting id: Setting}, sweep rows)``.

    Each sweep row is ``{"sweep", "parameter", "value", "setting", "l2", "l1", "dropout"}``;
    rows are unique per (sweep, setting).  Settings are in first-seen order.
    """
    settings: dict[str, Setting] = {}
    rows: list[dict] = []
    for name, sweep in sweeps.items():
        values = {p: expand_values(sweep[p]) for p in PARAMS}
        param = sweep_parameter(name, sweep)
        seen = set()
        for l2 in values["l2"]:
            for l1 in values["l1"]:
                for p in values["dropout"]:
                    s = Setting(float(fmt(l2)), float(fmt(l1)), float(fmt(p)))
                    settings.setdefault(s.id, s)
                    if s.id in seen:
                        continue
                    seen.add(s.id)
                    rows.append({"sweep": name, "parameter": param, "value": getattr(s, param),
                                 "setting": s.id, **s.as_dict()})
    return settings, rows


def check_settings(settings: dict[str, Setting]) -> None:
    """Semantic checks the JSON schema cannot express (ranges of expanded values)."""
    for s in settings.values():
        if not (0.0 <= s.dropout < 1.0):
            raise ValueError(f"config key sweeps.*.dropout: value {s.dropout} is outside the allowed range [0, 1)")
        for p in ("l2", "l1"):
            v = getattr(s, p)
            if not (np.isfinite(v) and v >= 0.0):
                raise ValueError(f"config key sweeps.*.{p}: value {v} must be a finite number >= 0")


# Keys renamed since an earlier release: old dotted key -> new dotted key.
RENAMED_KEYS = {"similarity.abs": "similarity.abs_placement"}
# Keys removed since an earlier release: old dotted key -> why (docs/science.md).
REMOVED_KEYS = {
    "compare.alpha": "element-centric similarity of two partitions does not depend on alpha (science.md §5)",
    "compare.r": "element-centric similarity of two partitions does not depend on r (science.md §5)",
}


def _at(key: str, where: tuple[str, str] | None) -> str:
    """The start of an error message naming ``key``, placed by ``where`` = (what, key prefix) when given."""
    what, prefix = where or ("", "")
    return f"Invalid configuration {what + ' ' if what else ''}at '{prefix}{key}'"


def renamed_key_error(config: dict, where: tuple[str, str] | None = None) -> str | None:
    """A message telling exactly what to change when ``config`` uses a renamed key."""
    for old, new in RENAMED_KEYS.items():
        *parents, leaf = old.split(".")
        node = config
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and leaf in node:
            return (f"{_at(old, where)}: this key was renamed to '{new}'; "
                    f"write '{new.rsplit('.', 1)[1]}: {node[leaf]}' instead")
    for old, why in REMOVED_KEYS.items():
        section, leaf = old.split(".")
        node = config.get(section)
        if isinstance(node, dict) and leaf in node:
            return f"{_at(old, where)}: this key was removed ({why}); delete it"
    return None


def describe_config_error(config: dict, schema: dict, where: tuple[str, str] | None = None) -> str | None:
    """One readable line for the most relevant schema violation of ``config`` (None if valid).

    Names the offending key as a dotted path and adds what the schema allows; ``where`` =
    (what, key prefix) places a part of a larger config, e.g. ("of experiment 'x'", "experiments.x.").
    """
    import jsonschema

    renamed = renamed_key_error(config, where)
    if renamed:
        return renamed

    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is None:
        return None
    path = [str(p) for p in error.absolute_path]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = list(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in known]
        key = ".".join(path + extra[:1])
        return f"{_at(key, where)}: unknown key (allowed keys here: {', '.join(known)})"
    key = ".".join(path) or "<top level>"
    allowed = None
    for node in (error.schema, error.parent.schema if error.parent is not None else None):
        if isinstance(node, dict):
            if "enum" in node:
                allowed = "one of " + ", ".join(map(str, node["enum"]))
            allowed = allowed or node.get("description")
        if allowed:
            break
    msg = f"{_at(key, where)}: {error.message}"
    return msg + (f" (allowed: {allowed})" if allowed else "")
