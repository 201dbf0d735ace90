"""Experiment configuration: YAML loading and validation that names the key and the file.

The framework knows no concrete component, so this module only offers the machinery: a
:class:`Section` schema of plain fields, and :func:`build_parameters`, which checks a component's
section against that component's attrs parameter class (its fields *are* the schema: unknown
keys, missing required keys and values its validators reject are errors naming the key).
The containers declare which sections and kinds exist.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
import yaml

from s1da.framework.conform import annotations_of, conform, describe, shown


class ConfigError(ValueError):
    """A configuration problem, naming the offending key and the file."""

    def __init__(self, message: str, *, key: str | None = None, file: str | Path | None = None):
        where = []
        if key:
            where.append(f"key '{key}'")
        if file:
            where.append(f"in {file}")
        super().__init__(f"{' '.join(where)}: {message}" if where else message)
        self.detail = message
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
    return " or ".join(describe(t) for t in types)


def check_value(value: Any, field: Field, key: str, file: str | Path | None) -> Any:
    types = field.types if isinstance(field.types, tuple) else (field.types,)
    # YAML gives ints where floats are meant; bools are ints in Python but never numbers here.
    if float in types and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(value, bool) and bool not in types:
        raise ConfigError(f"expected {_type_name(field.types)}, got {shown(value)}", key=key, file=file)
    if not isinstance(value, types):
        raise ConfigError(f"expected {_type_name(field.types)}, got {shown(value)}", key=key, file=file)
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


def _message(error: Exception) -> str:
    """An exception's own sentence, without the attrs ``Attribute(...)`` objects validators attach."""
    if error.args and isinstance(error.args[0], str):
        return error.args[0]
    return str(error)


def build_parameters(cls: type, data: Any, prefix: str, file: str | Path | None) -> Any:
    """Instantiate the attrs parameter class ``cls`` from a config mapping, naming bad keys.

    Every value is type-checked and converted against the field's annotation first
    (:mod:`s1da.framework.conform`); nested parameter groups (attrs classes, by annotation or
    default) are built from nested mappings the same way, so that ``model.soil.drainage_rate``
    is checked as strictly as ``model.kernel``.  Then the class is built and each field's
    validators run one by one, so that a failing validator, cross-field ones included
    (attrs runs validators once every field is set), is blamed on its own key.
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
    hints = annotations_of(cls)

    def nested(group: type, value: Any, key: str) -> Any:
        return build_parameters(group, value, key, file)

    values = {}
    for name, value in data.items():
        field = fields[name]
        hint = hints.get(field.name)
        group = _nested_class(field)
        if group is not None and isinstance(value, Mapping):
            hint = group
        values[name] = conform(value, hint, f"{prefix}.{name}", file, nested, ConfigError)
    return _instantiate(cls, values, fields, prefix, file)


def _converted(field: attrs.Attribute, value: Any) -> Any:
    converter = field.converter
    if converter is None:
        return value
    if isinstance(converter, attrs.Converter):
        return value if (converter.takes_self or converter.takes_field) else converter.converter(value)
    return converter(value)


def _default(field: attrs.Attribute) -> Any:
    if isinstance(field.default, attrs.Factory):
        return None if field.default.takes_self else field.default.factory()
    return field.default


def _instantiate(cls: type, values: dict[str, Any], fields: Mapping[str, attrs.Attribute], prefix: str, file) -> Any:
    """``cls(**values)``, each field's converter and validators first run apart so errors name their key.

    Validators see an instance holding every field (attrs runs them once all fields are set, so
    a validator may compare fields); what only ``__attrs_post_init__`` checks is blamed on the
    section.
    """
    shell = object.__new__(cls)
    for field in attrs.fields(cls):
        name = field.alias or field.name
        try:
            value = _converted(field, values[name]) if name in values else _default(field)
        except (TypeError, ValueError) as error:
            raise ConfigError(_message(error), key=f"{prefix}.{name}", file=file) from error
        object.__setattr__(shell, field.name, value)
    for name, field in fields.items():
        if field.validator is None:
            continue
        try:
            field.validator(shell, field, getattr(shell, field.name))
        except (TypeError, ValueError) as error:
            raise ConfigError(_message(error), key=f"{prefix}.{name}", file=file) from error
    try:
        return cls(**values)
    except (TypeError, ValueError) as error:  # a check across fields in __attrs_post_init__
        raise ConfigError(_message(error), key=prefix, file=file) from error


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads ``1e-3`` (no dot) as a string; every number a scientist writes is a float here."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, with errors that name the file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(f"cannot read the configuration: {error.strerror}", file=path) from error
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as error:
        raise ConfigError(f"not valid YAML: {error}", file=path) from error
    if not isinstance(data, Mapping):
        raise ConfigError("the top level must be a mapping", file=path)
    return dict(data)


def parse_yaml_value(text: str, key: str, file: str | Path | None) -> Any:
    """One value written in YAML syntax (a command-line override)."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as error:
        raise ConfigError(f"not a valid YAML value: {text!r}", key=key, file=file) from error


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
