"""s1da.framework: interfaces and machinery.  Knows no concrete component."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("s1da")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

_READING = ("open_store", "ensemble_mean", "ensemble_spread", "site_series")


def __getattr__(name: str):
    """``from s1da.framework import open_store`` without importing xarray for ``s1da --version``."""
    if name in _READING:
        from s1da.framework import reading

        return getattr(reading, name)
    raise AttributeError(f"module 's1da.framework' has no attribute {name!r}")
