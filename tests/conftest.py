"""Shared test configuration: hypothesis profiles, the location of ../shared/data, hiding numba.

``S1DA_HIDE_NUMBA=1`` makes ``import numba`` raise ImportError for the whole session, as on a
machine without the optional ``fast`` extra; ``.ci/run`` runs the suite a second time that way.
This file is the only place that reads the switch.
"""

import importlib.abc
import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=40,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))



class NumbaBlocker(importlib.abc.MetaPathFinder):
    """A meta-path finder that refuses ``numba`` and its submodules (ModuleNotFoundError, as when absent)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "numba" or fullname.startswith("numba."):
            raise ModuleNotFoundError(f"No module named {fullname!r} (hidden by the test suite)", name=fullname)
        return None


def _forget_numba_modules():
    """Names of numba and of the s1da modules that imported it, removed from ``sys.modules``."""
    return [
        name for name in list(sys.modules)
        if name == "numba" or name.startswith("numba.") or name.endswith("kernel_numba")
    ]


NUMBA_HIDDEN = os.environ.get("S1DA_HIDE_NUMBA", "") not in ("", "0")
if NUMBA_HIDDEN:
    sys.meta_path.insert(0, NumbaBlocker())
    for _name in _forget_numba_modules():
        del sys.modules[_name]
    # and in every process the tests start: a stub numba that fails to import comes first on their
    # path, so a cluster run computes what the serial run does.  PYTHONPATH reaches new interpreters
    # (CLI subprocesses, `dask worker`); multiprocessing's spawn and forkserver (dask's LocalCluster
    # workers) instead replace the child's sys.path by this process's, so the stub goes there too
    # (harmless here: the blocker above refuses numba first).
    _HIDDEN_PATH = str(Path(__file__).resolve().parent / "numba_hidden")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [_HIDDEN_PATH, os.environ.get("PYTHONPATH", "")]))
    sys.path.insert(0, _HIDDEN_PATH)


@pytest.fixture
def without_numba(monkeypatch):
    """Within one test, ``import numba`` raises ImportError (restored afterwards)."""
    monkeypatch.setattr(sys, "meta_path", [NumbaBlocker()] + sys.meta_path)
    for name in _forget_numba_modules():
        monkeypatch.delitem(sys.modules, name)
    # `from . import kernel_numba` would find a package attribute left by an earlier import
    gleam = sys.modules.get("s1da.components.gleam")
    if gleam is not None and hasattr(gleam, "kernel_numba"):
        monkeypatch.delattr(gleam, "kernel_numba")
    yield


REPO_ROOT = Path(__file__).resolve().parents[1]
# ../shared/data beside the repository (as in CI); S1DA_SHARED_DATA overrides it (e.g. in a worktree)
SHARED_DATA = Path(os.environ.get("S1DA_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture
def shared_data() -> Path:
    """Path to ../shared/data; the test is skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside the repository")
    return SHARED_DATA
