"""Run the s1da CLI with fault hooks installed, for fault-injection tests in subprocesses.

``python tests/fault_cli.py ARGS...`` behaves like ``s1da ARGS...``, except for these
environment variables (each installs one hook; the hooks live here, in the tests, so the
library carries no fault-injection code):

* ``S1DA_TEST_CRASH_AFTER_BLOCKS=N``: SIGKILL right after the N-th block write of any run group
  (the block's data is on disk but its progress is not yet recorded).
* ``S1DA_TEST_KILL_AFTER_WRITES=N``: SIGKILL right after the N-th file the Zarr store writes
  (chunks, metadata, checkpoints: any point of a run).
* ``S1DA_TEST_COUNT_WRITES=FILE``: write the number of store writes to FILE at exit.
* ``S1DA_TEST_ENOSPC_AFTER_WRITES=N``: every store write after the N-th fails with ENOSPC
  ("No space left on device"), as on a full disk.
* ``S1DA_TEST_HOLD_AFTER_BLOCKS=N`` with ``S1DA_TEST_HOLD_FILE=FILE``: after the N-th block write,
  create FILE and sleep (holding the writer lock) until killed.
"""

from __future__ import annotations

import atexit
import errno
import os
import signal
import sys
import time
from pathlib import Path

CRASH_AFTER_BLOCKS = "S1DA_TEST_CRASH_AFTER_BLOCKS"
KILL_AFTER_WRITES = "S1DA_TEST_KILL_AFTER_WRITES"
COUNT_WRITES = "S1DA_TEST_COUNT_WRITES"
ENOSPC_AFTER_WRITES = "S1DA_TEST_ENOSPC_AFTER_WRITES"
HOLD_AFTER_BLOCKS = "S1DA_TEST_HOLD_AFTER_BLOCKS"
HOLD_FILE = "S1DA_TEST_HOLD_FILE"


def install_block_hook(limit: int, action) -> None:
    """Wrap the engine's region writes so that ``action()`` runs after the ``limit``-th block of a run group."""
    from s1da.framework import store_regions

    original = store_regions.write_region
    written = 0

    def write_region_then_maybe_act(store, name, *args, **kwargs):
        nonlocal written
        result = original(store, name, *args, **kwargs)
        if name == "open_loop" or name.startswith("da_"):
            written += 1
            if written >= limit:
                action()
        return result

    store_regions.write_region = write_region_then_maybe_act


def install_crash_hook(limit: int) -> None:
    install_block_hook(limit, lambda: os.kill(os.getpid(), signal.SIGKILL))


def install_hold_hook(limit: int, flag: Path) -> None:
    def hold():
        flag.write_text(str(os.getpid()))
        while True:
            time.sleep(0.1)

    install_block_hook(limit, hold)


def install_write_hook(kill_after: int | None, enospc_after: int | None, count_file: Path | None) -> None:
    """Wrap the Zarr local store's ``set`` (every file a store writes goes through it)."""
    from zarr.storage import LocalStore

    original = LocalStore.set
    written = 0

    async def set_with_faults(self, key, value, *args, **kwargs):
        nonlocal written
        if enospc_after is not None and written >= enospc_after:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(Path(str(self.root)) / key))
        result = await original(self, key, value, *args, **kwargs)
        written += 1
        if kill_after is not None and written >= kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    LocalStore.set = set_with_faults
    if count_file is not None:
        atexit.register(lambda: count_file.write_text(str(written)))


def _int(name: str) -> int | None:
    return int(os.environ[name]) if os.environ.get(name) else None


if __name__ == "__main__":
    if _int(CRASH_AFTER_BLOCKS):
        install_crash_hook(_int(CRASH_AFTER_BLOCKS))
    if _int(HOLD_AFTER_BLOCKS):
        install_hold_hook(_int(HOLD_AFTER_BLOCKS), Path(os.environ[HOLD_FILE]))
    if any(os.environ.get(name) for name in (KILL_AFTER_WRITES, ENOSPC_AFTER_WRITES, COUNT_WRITES)):
        count = os.environ.get(COUNT_WRITES)
        install_write_hook(_int(KILL_AFTER_WRITES), _int(ENOSPC_AFTER_WRITES), Path(count) if count else None)
    from s1da.containers.cli import main

    sys.exit(main(sys.argv[1:]))
