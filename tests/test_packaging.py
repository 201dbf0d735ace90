"""The distribution installs everything under the single import name ``s1da``."""

import site
from importlib.metadata import distributions
from pathlib import Path

from conftest import REPO_ROOT

ROOTS = ("framework", "components", "containers")


def installed():
    """The installed distribution (not an ``s1da.egg-info`` a build may leave in the source tree)."""
    (found,) = [dist for dist in distributions(name="s1da", path=site.getsitepackages())]
    return found


def test_nothing_generic_lands_in_site_packages():
    tops = {Path(str(path)).parts[0] for path in installed().files}
    assert not tops & set(ROOTS), tops


def test_every_source_package_is_importable_as_s1da():
    import importlib

    for root in ROOTS:
        for init in sorted((REPO_ROOT / root).rglob("__init__.py")):
            relative = init.parent.relative_to(REPO_ROOT)
            module = "s1da." + ".".join(relative.parts)
            assert importlib.import_module(module).__name__ == module


def test_console_script_is_declared():
    entry_points = {entry.name: entry.value for entry in installed().entry_points}
    assert entry_points["s1da"] == "s1da.containers.cli:main"
