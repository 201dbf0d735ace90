"""GLEAM's physics exists once: every process function is defined in one process module, and the
compiled kernel runs those same functions (it defines none of its own)."""

import ast
import importlib

import pytest

from conftest import REPO_ROOT
from s1da.components.gleam import kernel

GLEAM = REPO_ROOT / "components" / "gleam"
LAYOUT_FUNCTIONS = {"_in_range", "_forcing_at", "_site_at", "_specialised_days", "days", "days_kernel", "_pool"}
"""What kernel_numba may define: reading points out of arrays, the loop per option combination
and the thread pool, no physics."""
COMPILED_ONLY = {"kernel_numba", "compiled_cache"}
"""Modules of the compiled path (they need numba and hold no process function)."""


def _definitions(path):
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def _process_functions():
    """(module, name) of every function marked ``@jitable``."""
    found = []
    for path in sorted(GLEAM.glob("*.py")):
        if path.stem in COMPILED_ONLY:
            continue
        module = importlib.import_module(f"s1da.components.gleam.{path.stem}")
        for name, value in vars(module).items():
            if getattr(value, "__gleam_process__", False) and value.__module__ == module.__name__:
                found.append((path.stem, name))
    return found


def test_each_process_function_is_defined_once():
    functions = _process_functions()
    names = [name for _, name in functions]
    assert len(names) > 25
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    for module, name in functions:  # and no other module defines a function of that name
        others = [path.stem for path in GLEAM.glob("*.py") if path.stem != module and name in _definitions(path)]
        assert not others, f"{name} of {module}.py is also defined in {others}"


def test_the_daily_step_is_composed_of_the_process_modules():
    composed = {"snow_swe_forced", "snow_temperature_index", "gash_interception", "saturation_thresholds",
                "vegetation_stress", "bare_soil_stress", "transpiration_tall", "stressed_evaporation",
                "fraction_water_balance", "equilibrium_evaporation", "latent_heat_of_vaporisation_ratio"}
    for name in composed:
        assert getattr(kernel, name).__gleam_process__, name


def test_the_compiled_kernel_defines_no_physics():
    assert _definitions(GLEAM / "kernel_numba.py") <= LAYOUT_FUNCTIONS | {"__init__", "_new_state_buffers", "_out", "_site", "step"}
    numba_kernel = pytest.importorskip("s1da.components.gleam.kernel_numba", exc_type=ImportError)
    assert numba_kernel.gleam_day is kernel.gleam_day
