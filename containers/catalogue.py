"""What each registered kind accepts, read from its attrs parameter class (for ``s1da kinds``).

Every option is described by its key path, its type (from the annotation), its default, its
units (``metadata={"units": ...}``) and its one-line doc (``metadata={"doc": ...}``); nested
parameter groups are expanded as ``group.key``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from s1da.containers.registry import LAYERS, Component, Registry
from s1da.framework.conform import annotations_of, describe

NO_DEFAULT = object()


@attrs.frozen
class Option:
    """One YAML key of a kind."""

    key: str
    type: str
    default: Any
    units: str
    doc: str

    @property
    def required(self) -> bool:
        return self.default is NO_DEFAULT


def _default(field: attrs.Attribute) -> Any:
    if field.default is attrs.NOTHING:
        return NO_DEFAULT
    if isinstance(field.default, attrs.Factory):
        return field.default.factory() if not field.default.takes_self else NO_DEFAULT
    return field.default


def _allowed(validator: Any) -> tuple | None:
    """The values an ``attrs.validators.in_`` (possibly inside ``and_``/a list) allows."""
    if validator is None:
        return None
    if isinstance(getattr(validator, "options", None), (tuple, list, set, frozenset)):
        return tuple(validator.options)
    for inner in getattr(validator, "_validators", ()):
        if (found := _allowed(inner)) is not None:
            return found
    return None


def options(cls: type, prefix: str = "") -> Iterator[Option]:
    """The options of a parameter class, nested groups expanded."""
    hints = annotations_of(cls)
    for field in attrs.fields(cls):
        if not field.init:
            continue
        key = prefix + (field.alias or field.name)
        default = _default(field)
        if attrs.has(type(default)):
            yield from options(type(default), key + ".")
            continue
        hint = hints.get(field.name, field.type)
        allowed = _allowed(field.validator)
        kind = describe(hint) if not isinstance(hint, str) else hint
        yield Option(
            key=key,
            type=f"one of {', '.join(map(str, allowed))}" if allowed else kind,
            default=default,
            units=str(field.metadata.get("units", "")),
            doc=str(field.metadata.get("doc", "")),
        )


def _shown_default(option: Option) -> str:
    if option.required:
        return "required"
    value = option.default
    if isinstance(value, tuple):
        value = list(value)
    return f"default {value!r}"


def describe_component(component: Component) -> list[str]:
    lines = [f"  {component.kind}  ({component.distribution} {component.version})  {component.summary}"]
    for option in options(component.parameters):
        units = f" [{option.units}]" if option.units else ""
        doc = f"  {option.doc}" if option.doc else ""
        lines.append(f"      {option.key}: {option.type}, {_shown_default(option)}{units}{doc}")
    return lines


def describe_kinds(registry: Registry, layer: str | None = None, kind: str | None = None) -> str:
    """Every kind of every layer (or of one layer, or one kind) with its options."""
    lines = []
    for name, meaning in LAYERS.items():
        if layer is not None and name != layer:
            continue
        section = "operators.<label>" if name == "operator" else name
        lines.append(f"{section}: {meaning}")
        for each, component in registry.kinds(name).items():
            if kind is None or each == kind:
                lines.extend(describe_component(component))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
