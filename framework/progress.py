"""Progress bars for the long stages of a run: one switch for the whole call tree.

The stages that take seconds to minutes (building a twin, the truth run, verifying a store,
validation, writing the report) sit deep below the functions a user calls, in components that
know nothing of the command line.  Instead of a ``progress`` argument threaded through every
layer, :func:`showing` switches bars on for the code it wraps (a :class:`contextvars.ContextVar`,
so threads and dask workers that did not ask for bars show none), and :func:`bar` gives a
:class:`tqdm.tqdm` that is silent unless it is switched on.  Bars go to standard error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from tqdm.auto import tqdm

_SHOWING: ContextVar[bool] = ContextVar("s1da_progress", default=False)


@contextmanager
def showing(enabled: bool = True) -> Iterator[None]:
    """Show (or, with ``enabled=False``, hide) the bars of :func:`bar` inside the ``with`` block."""
    token = _SHOWING.set(bool(enabled))
    try:
        yield
    finally:
        _SHOWING.reset(token)


def is_showing() -> bool:
    """Whether bars are switched on here (see :func:`showing`)."""
    return _SHOWING.get()


def bar(total: int | None = None, desc: str = "", unit: str = "it", **kwargs) -> tqdm:
    """A tqdm bar (use it as a context manager) that draws only when :func:`showing` is on."""
    return tqdm(total=total, desc=desc, unit=unit, disable=not _SHOWING.get(), leave=kwargs.pop("leave", True), **kwargs)
