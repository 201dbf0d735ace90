"""s1da.framework: interfaces and machinery.  Knows no concrete component."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("s1da")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"
