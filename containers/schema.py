"""What an experiment YAML may say, checked before anything is built.

Top-level sections: ``experiment`` (plain fields below), and the component sections ``source``,
``model``, ``perturbation``, ``filter`` and ``operators`` (a mapping of run label to operator).
Each component section names its ``kind``; the rest of the section is checked against the
attrs parameter class of that kind (unknown keys, missing keys and rejected values are errors
naming the key and the file).  ``resolve`` returns plain values for the containers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import yaml

from s1da.containers.registry import registry
from s1da.framework.config import (
    ConfigError,
    Field,
    Section,
    build_parameters,
    load_yaml,
    parse_yaml_value,
    parse_date,
    positive,
)
from s1da.framework.output_policy import OutputPolicy
from s1da.framework.randomness import new_entropy

EXPERIMENT = Section(
    {
        "name": Field(str, doc="label of the experiment"),
        "seed": Field(
            (int, type(None)),
            default=None,
            check=lambda value: None if value is None or value >= 0 else "must be a non-negative integer (SeedSequence entropy)",
            doc="entropy of the SeedSequence; drawn and recorded if absent",
        ),
        "members": Field(
            int,
            default=32,
            check=lambda value: None if value >= 2 else "an ensemble needs at least 2 members",
            doc="ensemble size",
        ),
        "spinup_start": Field((str, dt.date), doc="first day of the perturbed spin-up"),
        "start": Field((str, dt.date), doc="first day of the open loop and DA runs"),
        "end": Field((str, dt.date), doc="last day (inclusive)"),
        "chunk_days": Field(int, default=32, check=positive, doc="days per store chunk and checkpoint"),
        "min_samples": Field(int, default=30, check=positive, doc="matched days a site needs to be scored (DD-25)"),
        "sites_per_task": Field(
            (int, type(None)), default=None, check=lambda v: None if v is None else positive(v),
            doc="sites (grid: cells of a square tile) per task and store chunk; null = the engine's default",
        ),
    }
)

SECTIONS = ("experiment", "source", "model", "perturbation", "filter", "operators", "output", "bmi")
"""``bmi`` holds the options of the BMIs (:mod:`s1da.containers.bmi`); ``s1da run`` ignores it."""


def _component(section: Any, family: str, prefix: str, file: str | Path) -> dict[str, Any]:
    if not isinstance(section, Mapping):
        raise ConfigError("expected a mapping with a 'kind'", key=prefix, file=file)
    kinds = registry().kinds(family)
    kind = section.get("kind")
    if kind is None:
        raise ConfigError(f"required key is missing (one of {', '.join(sorted(kinds))})", key=f"{prefix}.kind", file=file)
    if kind not in kinds:
        raise ConfigError(f"unknown kind {kind!r} (allowed: {', '.join(sorted(kinds))})", key=f"{prefix}.kind", file=file)
    options = {key: value for key, value in section.items() if key != "kind"}
    built = build_parameters(kinds[kind].parameters, options, prefix, file)
    return {"kind": kind, "parameters": built}


def resolve(data: Mapping[str, Any], file: str | Path) -> dict[str, Any]:
    """Check a loaded YAML mapping; return the resolved configuration."""
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"unknown section (allowed: {', '.join(SECTIONS)})", key=unknown[0], file=file)
    for required in ("experiment", "source", "model", "perturbation", "filter"):
        if required not in data:
            raise ConfigError("required section is missing", key=required, file=file)
    experiment = EXPERIMENT.resolve(data["experiment"], "experiment", file)
    for key in ("spinup_start", "start", "end"):
        experiment[key] = parse_date(experiment[key], f"experiment.{key}", file)
    if not experiment["spinup_start"] <= experiment["start"] <= experiment["end"]:
        raise ConfigError("need spinup_start <= start <= end", key="experiment.start", file=file)
    if experiment["seed"] is None:
        experiment["seed"] = new_entropy()
    if not isinstance(data.get("bmi", {}), Mapping):
        raise ConfigError("expected a mapping (options of s1da.containers.bmi)", key="bmi", file=file)
    operators = data.get("operators") or {}
    if not isinstance(operators, Mapping):
        raise ConfigError("expected a mapping of run label to operator", key="operators", file=file)
    resolved_operators = {}
    for label, section in operators.items():
        if not isinstance(label, str) or not label.isidentifier():
            raise ConfigError("run labels must be identifiers (they name store groups da_<label>)", key=f"operators.{label}", file=file)
        resolved_operators[label] = _component(section, "operator", f"operators.{label}", file)
    return {
        "experiment": experiment,
        "source": _component(data["source"], "source", "source", file),
        "model": _component(data["model"], "model", "model", file),
        "perturbation": _component(data["perturbation"], "perturbation", "perturbation", file),
        "filter": _component(data["filter"], "filter", "filter", file),
        "operators": resolved_operators,
        "output": None if data.get("output") is None else build_parameters(OutputPolicy, data["output"], "output", file),
    }


def load(path: str | Path, *, seed: int | None = None, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Load and resolve an experiment YAML; ``seed`` replaces a missing seed (resuming).

    ``overrides`` are ``key.path=value`` strings (``s1da run --set``) applied before the checks.
    """
    data = apply_overrides(load_yaml(path), overrides, path)
    if seed is not None and isinstance(data.get("experiment"), Mapping) and data["experiment"].get("seed") is None:
        data["experiment"] = {**data["experiment"], "seed": int(seed)}
    try:
        return resolve(data, path)
    except ConfigError as error:  # a value that came from the command line is blamed on --set
        key = error.key or ""
        culprit = next((item for item in overrides if key == item.partition("=")[0] or key.startswith(item.partition("=")[0] + ".")), None)
        if culprit is None:
            raise
        raise ConfigError(error.detail, key=error.key, file=f"--set {culprit}") from error


def apply_overrides(data: dict[str, Any], overrides: Sequence[str], file: str | Path) -> dict[str, Any]:
    """``data`` with each ``key.path=value`` set (value in YAML syntax, e.g. ``[1, 10]``)."""
    for override in overrides:
        key, separator, text = override.partition("=")
        path = key.strip().split(".")
        if not separator or not all(path):
            raise ConfigError(f"--set expects key.path=value, got {override!r}", file=file)
        value = parse_yaml_value(text, key, file)
        target = data
        for depth, name in enumerate(path[:-1]):
            child = target.setdefault(name, {})
            if not isinstance(child, Mapping):
                raise ConfigError(f"--set {override!r}: not a mapping", key=".".join(path[: depth + 1]), file=file)
            target[name] = child = dict(child)
            target = child
        target[path[-1]] = value
    return data


def components_used(resolved: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Kind, distribution and version of every component of a resolved configuration, by key path."""
    records = {}
    for name, section in _component_sections(resolved):
        layer = "operator" if name.startswith("operators.") else name
        records[name] = registry().get(layer, section["kind"]).record()
    return records


def _component_sections(resolved: Mapping[str, Any]):
    for name in ("source", "model", "perturbation", "filter"):
        yield name, resolved[name]
    for label, section in resolved["operators"].items():
        yield f"operators.{label}", section


def as_text(resolved: Mapping[str, Any]) -> str:
    """The resolved configuration as YAML (stored at the store's root)."""

    def plain(value: Any) -> Any:
        if attrs.has(type(value)):
            return {
                (field.alias or field.name): plain(getattr(value, field.name))
                for field in attrs.fields(type(value))
                if field.init
            }
        if isinstance(value, Mapping):
            return {key: plain(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(item) for item in value]
        if isinstance(value, (dt.date, Path)):
            return str(value)
        if hasattr(value, "tolist"):
            return value.tolist()
        return value

    return yaml.safe_dump(plain(resolved), sort_keys=False)
