"""One writer per store: a lock file beside the store naming the process that writes it.

``quickstart.zarr`` is guarded by ``quickstart.zarr.s1da-lock`` in the same folder (beside the
store, not inside it, so that replacing the store with ``--overwrite`` keeps the lock held).
The file holds JSON: the writer's ``pid``, ``host``, the start time of that process (to tell a
reused pid from the writer) and the time the lock was taken.

* Acquiring is atomic: the record is written to a private temporary file and hard-linked to
  the lock name, which fails when the name exists, so two writers can never both hold it and
  the lock file is never seen half-written.
* A lock whose process is gone (same host, pid not running or running a different process) is
  *stale*: it is taken over, and the caller is told.  A lock held on another host cannot be
  checked from here and is always respected.
* The lock is released (the file removed, if it is still ours) when the ``with`` block ends,
  also by an exception or ``SystemExit``; a SIGKILL leaves a stale lock that the next writer
  takes over.

Only the process that drives a run holds the lock; workers that write regions of the store on
its behalf do not take it.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

LOCK_SUFFIX = ".s1da-lock"


class LockError(RuntimeError):
    """The store is being written by another process (the message names it)."""


def lock_path(store: str | Path) -> Path:
    store = Path(store).absolute()
    return store.with_name(store.name + LOCK_SUFFIX)


def _process_start(pid: int) -> str | None:
    """Start time of ``pid`` in clock ticks since boot (Linux), None where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[19] if len(fields) > 19 else None  # field 22 of proc(5): starttime


def _running(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    current = _process_start(pid)
    return started is None or current is None or current == started


def describe(holder: dict[str, Any]) -> str:
    return f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')} (since {holder.get('since', '?')})"


class WriterLock:
    """``with WriterLock(store) as lock:`` holds the store's lock for the block.

    ``lock.took_over`` describes the stale holder that was replaced, or is None.
    """

    def __init__(self, store: str | Path):
        self.path = lock_path(store)
        self.record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "process_start": _process_start(os.getpid()),
            "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        self.took_over: str | None = None
        self._held = False

    def _read(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}  # unreadable: treated as a holder we cannot check

    def _link(self) -> bool:
        """Create the lock file atomically; False when it already exists."""
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(self.record))
        try:
            os.link(temporary, self.path)
            return True
        except FileExistsError:
            return False
        finally:
            temporary.unlink(missing_ok=True)

    def _is_stale(self, holder: dict[str, Any]) -> bool:
        if not holder or holder.get("host") != self.record["host"] or not isinstance(holder.get("pid"), int):
            return False
        return not _running(holder["pid"], holder.get("process_start"))

    def acquire(self) -> WriterLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):  # a stale lock is moved aside (atomic) before linking ours
            if self._link():
                self._held = True
                return self
            holder = self._read()
            if holder is None:
                continue  # released meanwhile
            if not self._is_stale(holder):
                who = describe(holder) if holder else "a process whose lock file is unreadable"
                raise LockError(
                    f"{self.path.with_suffix('')} is being written by {who}; wait for it to finish "
                    f"(if that process is gone, delete {self.path})"
                )
            aside = self.path.with_name(f".{self.path.name}.stale-{os.getpid()}")
            try:
                os.rename(self.path, aside)
            except FileNotFoundError:
                continue  # another writer moved it first
            aside.unlink(missing_ok=True)
            self.took_over = describe(holder)
        raise LockError(f"could not take the lock {self.path}: other writers keep taking it")

    def release(self) -> None:
        if not self._held:
            return
        self._held = False
        holder = self._read()
        if holder and holder.get("pid") == self.record["pid"] and holder.get("host") == self.record["host"]:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()
