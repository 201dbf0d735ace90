"""Run the s1da CLI with a fault hook installed, for crash tests in subprocesses.

``python tests/fault_cli.py ARGS...`` behaves like ``s1da ARGS...``, except that when the
environment variable ``S1DA_TEST_CRASH_AFTER_BLOCKS`` is N, the process kills itself with
SIGKILL right after the N-th block write of any run group (open loop or DA) (the block's data is on disk but its
progress is not yet recorded).  The hook lives here, in the tests, so the library carries no
fault-injection code.
"""

from __future__ import annotations

import os
import signal
import sys

CRASH_AFTER_BLOCKS = "S1DA_TEST_CRASH_AFTER_BLOCKS"


def install_crash_hook(limit: int) -> None:
    """Wrap the engine's region writes so that the ``limit``-th block of a run group ends in SIGKILL."""
    from s1da.framework import store_regions

    original = store_regions.write_region
    written = 0

    def write_region_then_maybe_die(store, name, *args, **kwargs):
        nonlocal written
        result = original(store, name, *args, **kwargs)
        if name == "open_loop" or name.startswith("da_"):
            written += 1
            if written >= limit:
                os.kill(os.getpid(), signal.SIGKILL)
        return result

    store_regions.write_region = write_region_then_maybe_die


if __name__ == "__main__":
    if os.environ.get(CRASH_AFTER_BLOCKS):
        install_crash_hook(int(os.environ[CRASH_AFTER_BLOCKS]))
    from s1da.containers.cli import main

    sys.exit(main(sys.argv[1:]))
