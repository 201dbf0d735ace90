"""Stands in for numba in the subprocesses of a ``S1DA_HIDE_NUMBA=1`` test session.

``tests/conftest.py`` puts the folder above this one first on ``PYTHONPATH`` (for new interpreters:
``dask worker`` and ``s1da`` subprocesses) and on the test process's ``sys.path`` (which
multiprocessing's spawn hands to dask's LocalCluster workers) when numba is hidden, so that the
processes the tests start see no numba either: importing this package fails exactly as when numba
is not installed.
"""

raise ModuleNotFoundError("No module named 'numba' (hidden by the test suite)", name="numba")
