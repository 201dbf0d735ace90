"""The few primitives that let one process function run on numpy arrays and on numba scalars.

Every GLEAM process (``thermodynamics`` ... ``soil``) is written once, in terms of arithmetic,
``np.exp``/``np.log``/``np.log1p``/``np.sqrt`` (which numpy applies to arrays and numba to
scalars) and the primitives below.  Layered quantities are indexed *layer
first*: ``moisture[l]`` is a ``(member, site)`` array in numpy and a float in numba; functions
return new values instead of writing into their arguments.

* ``maximum``/``minimum``/``clip``: ``np.maximum``/``np.minimum`` for arrays, ``a if a > b
  else b`` for numba scalars, which is exactly the processor's max instruction (``maxsd``; with
  ``>=`` it would be a compare and a select, because the two differ for NaN).  The inputs are
  finite (the forcing is checked), so the two paths differ at most in the sign of a zero tie;
* ``where(condition, a, b)``: ``np.where`` for arrays; ``a if condition else b`` in numba.
* a value that depends on a per-point index (the soil's extraction order) is a chain of
  ``where`` (``soil.of_layer``), never an index into an array, so the compiled kernel keeps the
  soil storages in registers.
* ``anywhere(condition)``: whether any point needs a value (numpy: any; numba: the scalar), so a
  costly term can be skipped where nothing uses it, with identical results where it is used.

:func:`jitable` marks a process function: a plain Python function for Python callers, and
(when numba is installed) compiled by numba wherever a compiled function calls it, so
``kernel_numba`` compiles exactly these functions (numba's ``register_jitable``): each once per
signature, inlined by LLVM; the few composing functions LLVM would not inline are inlined by
numba before typing (``inline=True``; inlining everything that way made the first compilation
take ~150 CPU-seconds instead of ~8).  Without numba
everything here is pure numpy.
"""

from __future__ import annotations

import numpy as np

try:
    from numba import types as _types
    from numba.extending import overload as _overload
    from numba.extending import register_jitable as _register_jitable
except ImportError:  # the optional `fast` extra is not installed: pure numpy
    _register_jitable = None

NUMBA_INSTALLED = _register_jitable is not None


def jitable(function=None, *, inline=False):
    """Mark ``function`` as a process function that numba may compile (unchanged for Python).

    ``inline=True`` (``@jitable(inline=True)``) makes numba inline the function's body into its
    callers before typing; for the few composing functions whose calls LLVM does not inline by
    itself (they are large).  Everything else is compiled once per signature and inlined by LLVM.
    """
    if function is None:
        return lambda function: jitable(function, inline=inline)
    if NUMBA_INSTALLED:
        _register_jitable(inline="always" if inline else "never")(function)
    function.__gleam_process__ = True
    return function


def where(condition, if_true, if_false):
    """``if_true`` where ``condition`` else ``if_false`` (numpy arrays or numba scalars)."""
    return np.where(condition, if_true, if_false)


def anywhere(condition) -> bool:
    """True if ``condition`` holds at any point."""
    return bool(np.any(condition))


def maximum(a, b):
    """Elementwise max (``np.maximum`` for arrays; a compare and select for numba scalars)."""
    return np.maximum(a, b)


def minimum(a, b):
    """Elementwise min (``np.minimum`` for arrays; a compare and select for numba scalars)."""
    return np.minimum(a, b)


def clip(value, low, high):
    """``min(max(value, low), high)``, for arrays and scalars."""
    return minimum(maximum(value, low), high)


jitable(clip)

if NUMBA_INSTALLED:

    def _scalar(value) -> bool:
        return isinstance(value, (_types.Number, _types.Boolean))

    @_overload(where)
    def _where_scalar(condition, if_true, if_false):
        if _scalar(condition) and _scalar(if_true) and _scalar(if_false):
            return lambda condition, if_true, if_false: if_true if condition else if_false
        return None

    @_overload(maximum)
    def _maximum_scalar(a, b):
        if _scalar(a) and _scalar(b):
            return lambda a, b: a if a > b else b  # x86 maxsd(a, b) exactly: one instruction
        return None

    @_overload(minimum)
    def _minimum_scalar(a, b):
        if _scalar(a) and _scalar(b):
            return lambda a, b: a if a < b else b  # minsd(a, b)
        return None

    @_overload(anywhere)
    def _anywhere_scalar(condition):
        if _scalar(condition):
            return lambda condition: bool(condition)
        return None
