"""The attrs validators of every component's parameter class, written once.

Each takes the attrs ``(instance, attribute, value)`` triple and raises a ValueError that names
the attribute, the rule and the offending value; the config loader (``framework/config.py``)
prefixes the YAML key path and the file.  Booleans are not numbers here (YAML ``yes`` is a
mistake, not 1), and NaN fails every rule.
"""

from __future__ import annotations

import math
import numbers


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def finite_positive(instance, attribute, value) -> None:
    """A finite number > 0."""
    if not (_is_real(value) and math.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be finite and > 0, got {value!r}")


def finite_non_negative(instance, attribute, value) -> None:
    """A finite number >= 0."""
    if not (_is_real(value) and math.isfinite(value) and value >= 0):
        raise ValueError(f"{attribute.name} must be finite and >= 0, got {value!r}")


def non_negative(instance, attribute, value) -> None:
    """A number >= 0, infinity allowed (e.g. an infinite correlation time)."""
    if not (_is_real(value) and value >= 0):
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


def unit_interval(instance, attribute, value) -> None:
    """A number in (0, 1] (a forgetting factor, a weight)."""
    if not (_is_real(value) and 0 < value <= 1):
        raise ValueError(f"{attribute.name} must be in (0, 1], got {value!r}")


def positive_int(instance, attribute, value) -> None:
    """An integer >= 1."""
    if not (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1):
        raise ValueError(f"{attribute.name} must be an integer >= 1, got {value!r}")
