"""Check and convert one YAML value against a type annotation of a parameter class.

Strict where YAML is ambiguous for a scientist: a string is never a number (``tol: "1e-3"`` or
``inflation: big`` are errors at load time, not at calibration), a boolean is never a number,
an integer is accepted where a float is meant, and YAML sequences become tuples (parameter
classes are frozen).  Nested attrs classes are built by the caller (``build_parameters``),
which hands them in as ``nested``.  Errors are :class:`~s1da.framework.config.ConfigError`
naming the full key path, e.g. ``operators.wcm.lower_bounds[2]``.
"""

from __future__ import annotations

import datetime as dt
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

_SEQUENCES = (tuple, list, Sequence, typing.Sequence)
_MAPPINGS = (dict, Mapping, typing.Mapping)


def describe(hint: Any) -> str:
    """An annotation in words (for 'expected ...')."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(arg) for arg in args)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(arg) for arg in args)
    if hint in _SEQUENCES or origin in _SEQUENCES:
        if args and (len(args) == 1 or args[-1] is Ellipsis):
            return f"a list, each {describe(args[0])}"
        return f"a list of {len(args)} values" if args else "a list"
    if hint in _MAPPINGS or origin in _MAPPINGS:
        return "a mapping"
    return {
        type(None): "null",
        bool: "true or false",
        int: "an integer",
        float: "a number",
        str: "a string",
        dt.date: "a date YYYY-MM-DD",
        Path: "a path",
    }.get(hint, getattr(hint, "__name__", str(hint)))


def shown(value: Any) -> str:
    """A value as the message shows it: 'the string 'big'', 'the boolean true'."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, (list, tuple)):
        return f"the list {list(value)!r}"
    if isinstance(value, Mapping):
        return "a mapping"
    return f"{type(value).__name__} {value!r}"


def _plain(hint: Any, value: Any) -> tuple[bool, Any]:
    """(accepted, converted) for the scalar annotations."""
    if hint is type(None):
        return value is None, value
    if hint is bool:
        return isinstance(value, bool), value
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ok, float(value) if ok else value
    if hint is str:
        return isinstance(value, str), value
    if hint is Path:
        return isinstance(value, (str, Path)), value
    if hint is dt.date:
        return isinstance(value, (str, dt.date)), value  # ISO strings are parsed by the component
    if isinstance(hint, type):
        return isinstance(value, hint), value
    return True, value  # an annotation we cannot check (a TypeVar, a string we could not resolve)


def _frozen(value: Any) -> Any:
    return tuple(_frozen(item) for item in value) if isinstance(value, (list, tuple)) else value


def conform(
    value: Any, hint: Any, key: str, file: Any, nested: Callable[[type, Any, str], Any], error: type[Exception]
) -> Any:
    """``value`` checked against ``hint`` (converted where lossless); ``error`` names ``key``."""
    if hint is Any or hint is None or isinstance(hint, (str, typing.TypeVar)):
        return _frozen(value) if isinstance(value, list) else value
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        groups = [arg for arg in args if isinstance(arg, type) and attrs.has(arg)]
        if isinstance(value, Mapping) and len(groups) == 1:  # an optional group: its own errors name the nested key
            return conform(value, groups[0], key, file, nested, error)
        for option in sorted(args, key=lambda arg: arg is not type(None)):  # None first: no coercion
            try:
                return conform(value, option, key, file, nested, error)
            except error:
                continue
        raise error(f"expected {describe(hint)}, got {shown(value)}", key=key, file=file)
    if origin is typing.Literal:
        if value in args and not (isinstance(value, bool) and not any(isinstance(arg, bool) for arg in args)):
            return value
        raise error(f"expected {describe(hint)}, got {shown(value)}", key=key, file=file)
    if isinstance(hint, type) and attrs.has(hint):
        if isinstance(value, hint):
            return value
        if isinstance(value, Mapping):
            return nested(hint, value, key)
        raise error(f"expected a mapping of the options of {hint.__name__}, got {shown(value)}", key=key, file=file)
    if hint in _SEQUENCES or origin in _SEQUENCES:
        return _sequence(value, hint, args, key, file, nested, error)
    if hint in _MAPPINGS or origin in _MAPPINGS:
        if not isinstance(value, Mapping):
            raise error(f"expected a mapping, got {shown(value)}", key=key, file=file)
        return value
    accepted, converted = _plain(hint, value)
    if not accepted:
        raise error(f"expected {describe(hint)}, got {shown(value)}", key=key, file=file)
    return converted


def _sequence(value, hint, args, key, file, nested, error) -> tuple:
    if not isinstance(value, (list, tuple)):
        raise error(f"expected {describe(hint)}, got {shown(value)}", key=key, file=file)
    if not args:
        return _frozen(value)
    if len(args) == 1 or args[-1] is Ellipsis:
        item_hints = [args[0]] * len(value)
    else:
        if len(value) != len(args):
            raise error(f"expected {describe(hint)}, got {len(value)} values", key=key, file=file)
        item_hints = list(args)
    return tuple(conform(item, item_hint, f"{key}[{index}]", file, nested, error) for index, (item, item_hint) in enumerate(zip(value, item_hints)))


def annotations_of(cls: type) -> dict[str, Any]:
    """The resolved annotations of an attrs class by field name (unresolvable ones left as strings)."""
    try:
        return typing.get_type_hints(cls)
    except Exception:  # one unresolvable private annotation must not cost the checks of the others
        namespace = vars(sys.modules[cls.__module__])
        hints = {}
        for field in attrs.fields(cls):
            hint = field.type
            if isinstance(hint, str):
                try:
                    hint = eval(hint, namespace)  # noqa: S307 - an annotation of the class's own source
                except Exception:
                    pass
            hints[field.name] = hint
        return hints
