"""numba's cache of the compiled GLEAM kernel is keyed on every module of the package, not only
on ``kernel_numba.py``: an edit of a process module (e.g. ``soil.py``) must recompile."""

import shutil
import sys

import pytest

kernel_numba = pytest.importorskip("s1da.components.gleam.kernel_numba", exc_type=ImportError)
from s1da.components.gleam import GleamParameters, compiled_cache  # noqa: E402  (needs numba)
from s1da.components.gleam.kernel import day_options  # noqa: E402

RECORD = GleamParameters().record()
DAYS = kernel_numba.days_kernel(RECORD.soil, day_options(RECORD, False, False, False), True)
"""The compiled loop of one option combination (each is its own function to numba's cache)."""


def test_the_kernel_cache_is_stamped_with_every_module_it_compiles():
    locator = DAYS._cache._impl.locator
    assert type(locator).__name__.startswith("GleamPackage")
    assert locator.get_source_stamp()[1] == compiled_cache.sources_digest()
    covered = {path.name for path in compiled_cache.package_sources()}
    used = {
        module.__file__.rsplit("/", 1)[-1]
        for name, module in sys.modules.items()
        if name.startswith("s1da.components.gleam.") and getattr(module, "__file__", None)
    }
    assert {"kernel.py", "pointwise.py", "soil.py", "snow.py"} <= used <= covered


def test_an_edit_of_a_process_module_changes_the_stamp(tmp_path):
    copies = []
    for path in compiled_cache.package_sources():
        copies.append(tmp_path / path.name)
        shutil.copy(path, copies[-1])
    before = compiled_cache.sources_digest(copies)
    assert before == compiled_cache.sources_digest()
    soil = tmp_path / "soil.py"
    soil.write_text(soil.read_text().replace("TIE_TOLERANCE = 1e-12", "TIE_TOLERANCE = 1e-11"))
    assert compiled_cache.sources_digest(copies) != before


def test_functions_of_other_files_keep_numba_s_own_locators():
    assert compiled_cache._keyed_on_the_package(type(DAYS._cache._impl.locator).__mro__[1]).from_function(
        compiled_cache.sources_digest, compiled_cache.__file__
    ) is None


def test_each_option_combination_has_its_own_loop_and_cache_key():
    other = kernel_numba.days_kernel(RECORD.soil, day_options(RECORD, True, False, False), True)
    assert other is not DAYS
    assert kernel_numba.days_kernel(RECORD.soil, day_options(RECORD, False, False, False), True) is DAYS
    assert DAYS._cache._impl.locator.get_source_stamp() == other._cache._impl.locator.get_source_stamp()
    assert DAYS._cache._cache_path == other._cache._cache_path  # one index, keyed on the closure's values
