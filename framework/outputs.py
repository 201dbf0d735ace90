"""What s1da may replace: only what s1da wrote.

``--overwrite`` replaces a store and ``report --output`` a report folder.  Before anything is
deleted, :func:`check_replaceable` makes sure the path holds an s1da store (its root
``zarr.json`` carries the s1da attributes) or an s1da report (it holds the
:data:`REPORT_MARKER` file that every report writes), or is an empty folder.  Anything else is
refused with :class:`OutputError` and left untouched; so are the current working directory,
the home folder, the file-system root, every folder the caller protects (the configuration's
folder, the store a report is read from) and every folder containing one of them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

REPORT_MARKER = ".s1da-report"
"""File written into every report folder; only a folder holding it is replaced by a new report."""

STORE_MARKER = "s1da_store"
"""Root attribute of every store (format version of the layout)."""


class OutputError(RuntimeError):
    """An output path that s1da refuses to replace (the message says why; nothing was touched)."""


def root_attributes(path: str | Path) -> dict | None:
    """Attributes in a folder's root ``zarr.json``; None when absent or unreadable."""
    try:
        metadata = json.loads((Path(path) / "zarr.json").read_text())
    except (OSError, ValueError):
        return None
    attributes = metadata.get("attributes") if isinstance(metadata, dict) else None
    return attributes if isinstance(attributes, dict) else None


def is_s1da_store(path: str | Path) -> bool:
    """True when ``path`` is a folder whose root attributes are those of an s1da store."""
    attributes = root_attributes(path)
    if attributes is None:
        return False
    return STORE_MARKER in attributes or {"s1da_version", "seed_entropy"} <= set(attributes)


def is_s1da_report(path: str | Path) -> bool:
    return (Path(path) / REPORT_MARKER).is_file()


def _default_protected() -> list[Path]:
    protected = [Path.cwd(), Path(Path.cwd().anchor)]
    home = os.environ.get("HOME")
    if home:
        protected.append(Path(home))
    return protected


def _protection(target: Path, protected: Iterable[Path]) -> str | None:
    for folder in protected:
        folder = Path(folder).resolve()
        if target == folder:
            return f"it is {_name_of(folder)}"
        if target in folder.parents:
            return f"it contains {_name_of(folder)}"
    return None


def _name_of(folder: Path) -> str:
    if folder == Path.cwd().resolve():
        return f"the current working directory ({folder})"
    if folder == Path(folder.anchor):
        return "the file-system root"
    return f"the protected folder {folder}"


def check_replaceable(
    path: str | Path, kind: Literal["store", "report"], *, protected: Iterable[str | Path] = ()
) -> None:
    """Raise :class:`OutputError` unless ``path`` may be deleted to write a new ``kind`` there."""
    path = Path(path)
    target = path.resolve()
    what = "an s1da store" if kind == "store" else "an s1da report"
    reason = _protection(target, [*_default_protected(), *(Path(p) for p in protected)])
    if reason:
        raise OutputError(f"refusing to replace {path}: {reason}; nothing was touched")
    if not path.exists() and not path.is_symlink():
        return
    if path.is_symlink() or not path.is_dir():
        raise OutputError(f"refusing to replace {path}: it is not a folder holding {what}; nothing was touched")
    if not any(path.iterdir()):
        return
    holds = is_s1da_store(path) if kind == "store" else is_s1da_report(path)
    if not holds:
        marker = "s1da root attributes in its zarr.json" if kind == "store" else f"no {REPORT_MARKER} marker file"
        detail = f"no {marker}" if kind == "store" else marker
        raise OutputError(
            f"refusing to replace {path}: the folder is not empty and does not hold {what} ({detail}); "
            "nothing was touched (choose another path or empty it yourself)"
        )
