"""numba's on-disk cache of the compiled kernel, keyed on every GLEAM module it compiles.

numba keys a cached function on its own source file only: ``kernel_numba.py``.  But the kernel
compiles the process functions of the other modules of this package (``pointwise.jitable``), so
an edit of, say, ``soil.py`` would leave a stale machine code in the cache.  The locators
registered here (for functions of ``kernel_numba.py`` only) add a digest of the sources of every
module of the package to numba's stamp, so any such edit recompiles.  Import this module before
the kernel's functions are decorated.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from numba.core import caching

PACKAGE = Path(__file__).resolve().parent
COMPILED_MODULE = PACKAGE / "kernel_numba.py"


def package_sources() -> list[Path]:
    """The package's modules, whose code the compiled kernel may run."""
    return sorted(PACKAGE.glob("*.py"))


def sources_digest(paths=None) -> str:
    """sha256 over the names and contents of ``paths`` (default: :func:`package_sources`)."""
    digest = hashlib.sha256()
    for path in package_sources() if paths is None else paths:
        digest.update(Path(path).name.encode() + b"\0" + Path(path).read_bytes() + b"\0")
    return digest.hexdigest()


def _keyed_on_the_package(locator_class):
    """``locator_class`` for the functions of ``kernel_numba.py``, stamped with the package digest."""

    class PackageLocator(locator_class):
        @classmethod
        def from_function(cls, py_func, py_file):
            if Path(py_file).resolve() != COMPILED_MODULE:
                return None
            return super().from_function(py_func, py_file)

        def get_source_stamp(self):
            return super().get_source_stamp(), sources_digest()

    PackageLocator.__name__ = PackageLocator.__qualname__ = f"GleamPackage{locator_class.__name__}"
    return PackageLocator


def register() -> None:
    """Put the package-keyed locators first in numba's list (once)."""
    classes = caching.CacheImpl._locator_classes
    if not any(getattr(c, "__name__", "").startswith("GleamPackage") for c in classes):
        classes[:0] = [_keyed_on_the_package(c) for c in list(classes)]
