"""The local cluster's workers start with the engine's environment (framework/engine.py).

glibc reads its ``MALLOC_*`` settings once, when a process starts, so they must be in the
environment the nanny spawns the worker with; a value set later (dask's ``env=``) would come
too late.  dask's own default trim threshold (65536) would pin glibc's mmap threshold at
128 KiB and map every day's temporary arrays anew (docs/scale.md, "Worker memory").
"""

import os

from s1da.framework.engine import WORKER_ENVIRONMENT, WORKER_MALLOC, _executor


def _environment(names):
    return {name: os.environ.get(name) for name in names}


def test_local_workers_start_with_the_engines_allocator_and_thread_settings(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")  # what an earlier cluster of this process leaves behind
    names = sorted({**WORKER_MALLOC, **WORKER_ENVIRONMENT})
    with _executor(workers=1, scheduler=None, client=None) as client:
        seen = list(client.run(_environment, names).values())
    assert seen == [{**WORKER_ENVIRONMENT, **WORKER_MALLOC}]
    assert int(WORKER_MALLOC["MALLOC_MMAP_THRESHOLD_"]) <= 32 * 2**20  # glibc ignores larger values on 64-bit
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "65536"  # the client's own environment is given back
