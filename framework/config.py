"""Experiment configuration: YAML loading and validation that names the key and the file.

The framework knows no concrete component, so this module only offers the machinery: a
:class:`Section` schema of plain fields, and :func:`build_parameters`, which checks a component's
section against that component's attrs parameter class (its fields *are* the schema: unknown
keys, missing required keys and values its validators reject are errors naming the key).
The containers declare which sections and kinds exist.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
import yaml


class ConfigError(ValueError):
    """A configuration problem, naming the offending key and the file."""

    def __init__(self, message: str, *, key: str | None = None, file: str | Path | None = None):
        where = []
        if key:
            where.append(f"key '{key}'")
        if file:
            where.append(f"in {file}")
        super().__init__(f"{' '.join(where)}: {message}" if where else message)
        self.key = key
        self.file = str(file) if file else None


_MISSING = object()


@attrs.frozen
class Field:
    """One plain configuration value: its type(s), default and an optional check."""

    types: type | tuple[type, ...]
    default: Any = _MISSING
    check: Callable[[Any], str | None] | None = None
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is _MISSING


def positive(value: Any) -> str | None:
    return None if value > 0 else "must be positive"


def non_negative(value: Any) -> str | None:
    return None if value >= 0 else "must be non-negative"


def _type_name(types: type | tuple[type, ...]) -> str:
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(t.__name__ for t in types)


def check_value(value: Any, field: Field, key: str, file: str | Path | None) -> Any:
    types = field.types if isinstance(field.types, tuple) else (field.types,)
    # YAML gives ints where floats are meant; bools are ints in Python but never numbers here.
    if float in types and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(value, bool) and bool not in types:
        raise ConfigError(f"expected {_type_name(field.types)}, got a boolean {value!r}", key=key, file=file)
    if not isinstance(value, types):
        raise ConfigError(
            f"expected {_type_name(field.types)}, got {type(value).__name__} {value!r}", key=key, file=file
        )
    if field.check is not None and (problem := field.check(value)):
        raise ConfigError(f"{problem} (got {value!r})", key=key, file=file)
    return value


@attrs.frozen
class Section:
    """A mapping of plain fields; unknown keys are errors."""

    fields: Mapping[str, Field]

    def resolve(self, data: Any, prefix: str, file: str | Path | None) -> dict[str, Any]:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError(f"expected a mapping, got {type(data).__name__}", key=prefix, file=file)
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise ConfigError(
                f"unknown key (allowed: {', '.join(sorted(self.fields))})", key=f"{prefix}.{unknown[0]}", file=file
            )
        resolved = {}
        for name, field in self.fields.items():
            key = f"{prefix}.{name}"
            if name in data:
                resolved[name] = check_value(data[name], field, key, file)
            elif field.required:
                raise ConfigError("required key is missing", key=key, file=file)
            else:
                resolved[name] = field.default
        return resolved


def _nested_class(field: attrs.Attribute) -> type | None:
    """The attrs class of a field whose default is built by that class (a nested parameter group)."""
    default = field.default
    if isinstance(default, attrs.Factory) and isinstance(default.factory, type) and attrs.has(default.factory):
        return default.factory
    if default is not attrs.NOTHING and attrs.has(type(default)):
        return type(default)
    return None


def build_parameters(cls: type, data: Any, prefix: str, file: str | Path | None) -> Any:
    """Instantiate the attrs parameter class ``cls`` from a config mapping, naming bad keys.

    Nested parameter groups (fields whose default is another attrs class) are built from nested
    mappings the same way, so that ``model.soil.drainage_rate`` is checked as strictly as
    ``model.kernel``.
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"expected a mapping, got {type(data).__name__}", key=prefix, file=file)
    fields = {(field.alias or field.name): field for field in attrs.fields(cls) if field.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown key (allowed: {', '.join(sorted(fields))})", key=f"{prefix}.{unknown[0]}", file=file
        )
    missing = [name for name, field in fields.items() if field.default is attrs.NOTHING and name not in data]
    if missing:
        raise ConfigError("required key is missing", key=f"{prefix}.{missing[0]}", file=file)
    values = {}
    for name, value in data.items():
        nested = _nested_class(fields[name])
        if nested is not None and isinstance(value, Mapping):
            value = build_parameters(nested, value, f"{prefix}.{name}", file)
        elif isinstance(value, list):  # YAML sequences become tuples: parameter classes are frozen
            value = tuple(tuple(item) if isinstance(item, list) else item for item in value)
        values[name] = value
    try:
        return cls(**values)
    except (TypeError, ValueError) as error:
        # attrs validators name the attribute in their message; find which key it was.
        message = str(error)
        culprit = next((name for name in values if f"'{name}'" in message or f"{name} " in message), None)
        key = f"{prefix}.{culprit}" if culprit else prefix
        raise ConfigError(message, key=key, file=file) from error


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, with errors that name the file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(f"cannot read the configuration: {error.strerror}", file=path) from error
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"not valid YAML: {error}", file=path) from error
    if not isinstance(data, Mapping):
        raise ConfigError("the top level must be a mapping", file=path)
    return dict(data)


def parse_date(value: Any, key: str, file: str | Path | None) -> _dt.date:
    """YAML dates come as ``datetime.date`` or ISO strings."""
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(f"expected a date YYYY-MM-DD, got {value!r}", key=key, file=file)
