"""Every process a test starts sees numba exactly when the test process does.

With ``S1DA_HIDE_NUMBA=1`` (tests/conftest.py) a dask worker that still imported numba would run
the compiled WCM fit while the serial reference runs scipy's TRF, and the engine's "same store
however it runs" tests would compare two different solvers.  dask's LocalCluster starts its
workers with multiprocessing's spawn, which replaces the child's ``sys.path`` by the parent's;
a CLI subprocess gets only the environment.  Both routes are checked, in either pass.
"""

import subprocess
import sys

import distributed


def numba_importable() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def test_dask_workers_and_subprocesses_see_numba_as_the_tests_do():
    expected = numba_importable()
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as client:
            assert list(client.run(numba_importable).values()) == [expected]
    probe = "import sys\ntry:\n    import numba\nexcept ImportError:\n    sys.exit(3)\n"
    assert subprocess.run([sys.executable, "-c", probe]).returncode == (0 if expected else 3)
