"""Faults around the store through the real CLI in subprocesses: what s1da refuses to replace,
one writer at a time, read-only and full disks, and the one-line errors of the CLI.

Every case asserts the exact outcome: refused with exit status 2 and nothing touched, or
detected and named, or resumed to a store bit-identical to an uninterrupted run.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from faults_common import SMALL_YAML, assert_user_error, reference_run, s1da, s1da_here, snapshot, write_config
from test_experiment_end_to_end import assert_stores_identical

from fault_cli import CRASH_AFTER_BLOCKS, ENOSPC_AFTER_WRITES, HOLD_AFTER_BLOCKS, HOLD_FILE
from s1da.containers import cli
from s1da.framework.lock import lock_path
from s1da.framework.outputs import REPORT_MARKER
from s1da.framework.store import EnsembleStore


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run of the small experiment."""
    config, store, _ = reference_run(tmp_path_factory)
    return config, store


def foreign_folder(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "thesis.tex").write_text("months of work")
    (path / "data").mkdir()
    (path / "data" / "field.csv").write_text("time,value\n2018-01-01,1\n")
    return path


# ------------------------------------------------------------------------------------------------
# never delete what s1da did not write
# ------------------------------------------------------------------------------------------------
def test_overwrite_refuses_a_foreign_folder(tmp_path):
    config = write_config(tmp_path / "config")
    target = foreign_folder(tmp_path / "work")
    before = snapshot(tmp_path)
    result = s1da("run", config, "--output", target, "--overwrite", "--no-progress")
    assert_user_error(result, f"refusing to replace {target}", "does not hold an s1da store", "nothing was touched")
    assert snapshot(tmp_path) == before


def test_overwrite_refuses_the_working_directory(tmp_path):
    config = write_config(tmp_path)
    before = snapshot(tmp_path)
    result = s1da("run", config.name, "--output", ".", "--overwrite", "--no-progress", cwd=tmp_path)
    assert_user_error(result, "refusing to replace .", "the current working directory")
    assert snapshot(tmp_path) == before


def test_overwrite_refuses_the_config_folder_and_folders_containing_the_working_directory(tmp_path):
    config = write_config(tmp_path / "experiments")
    (tmp_path / "experiments" / "notes.md").write_text("keep me")
    inner = tmp_path / "outer" / "inner"
    inner.mkdir(parents=True)
    before = snapshot(tmp_path)
    result = s1da("run", config, "--output", config.parent, "--overwrite", "--no-progress", cwd=inner)
    assert_user_error(result, "refusing to replace", f"the protected folder {config.parent}")
    result = s1da("run", config, "--output", tmp_path / "outer", "--overwrite", "--no-progress", cwd=inner)
    assert_user_error(result, "it contains the current working directory")
    assert snapshot(tmp_path) == before


def test_overwrite_refuses_a_file(tmp_path):
    config = write_config(tmp_path)
    target = tmp_path / "results.zarr"
    target.write_text("not a folder")
    result = s1da("run", config, "--output", target, "--overwrite", "--no-progress")
    assert_user_error(result, "is not a folder holding an s1da store")
    assert target.read_text() == "not a folder"


def test_report_output_refuses_foreign_folders_and_the_working_directory(reference, tmp_path):
    _, store = reference
    target = foreign_folder(tmp_path / "figures")
    before = snapshot(tmp_path)
    result = s1da("report", store, "--output", target)
    assert_user_error(result, f"refusing to replace {target}", f"no {REPORT_MARKER} marker file")
    result = s1da("report", store, "--output", ".", cwd=tmp_path)
    assert_user_error(result, "the current working directory")
    result = s1da("report", store, "--output", store)
    assert_user_error(result, f"the protected folder {store}")
    assert snapshot(tmp_path) == before


def test_report_replaces_an_earlier_report_only(reference, tmp_path, capsys):
    _, store = reference
    target = tmp_path / "report"
    assert s1da_here(capsys, "report", store, "--output", target).returncode == 0
    assert (target / REPORT_MARKER).is_file()
    (target / "stale.png").write_bytes(b"old figure")
    again = s1da_here(capsys, "report", store, "--output", target)
    assert again.returncode == 0, again.stderr
    assert not (target / "stale.png").exists() and (target / "index.html").is_file()
    assert (target / "summary.md").read_text().startswith("# s1da report: ref.zarr")


# ------------------------------------------------------------------------------------------------
# report on what is not a complete store
# ------------------------------------------------------------------------------------------------
def test_report_and_inspect_refuse_a_missing_path_a_non_store_and_a_truncated_root(reference, tmp_path):
    _, store = reference
    missing = tmp_path / "missing.zarr"
    for command in ("report", "inspect"):
        extra = ("--output", tmp_path / "r") if command == "report" else ()
        assert_user_error(s1da(command, missing, *extra), f"{missing} is not an s1da store")
    plain = foreign_folder(tmp_path / "plain")
    assert_user_error(s1da("report", plain, "--output", tmp_path / "r"), f"{plain} is not an s1da store")
    truncated = tmp_path / "truncated.zarr"
    shutil.copytree(store, truncated)
    metadata = (truncated / "zarr.json").read_bytes()
    (truncated / "zarr.json").write_bytes(metadata[: len(metadata) // 2])
    assert_user_error(s1da("report", truncated, "--output", tmp_path / "r"), f"{truncated} is truncated or corrupt")
    assert_user_error(s1da("inspect", truncated), f"{truncated} is truncated or corrupt")
    assert not (tmp_path / "r").exists()


def test_report_of_an_incomplete_store_needs_partial_and_says_partial(reference, tmp_path, capsys):
    config, _ = reference
    store = tmp_path / "killed.zarr"
    killed = s1da("run", config, "--output", store, "--no-progress", env={CRASH_AFTER_BLOCKS: "9"})
    assert killed.returncode == -signal.SIGKILL
    refused = s1da_here(capsys, "report", store, "--output", tmp_path / "r")
    assert_user_error(refused, f"{store} is not complete and intact", "group da_wcm is incomplete", "--partial")
    assert not (tmp_path / "r").exists()
    partial = s1da_here(capsys, "report", store, "--output", tmp_path / "r", "--partial")
    assert partial.returncode == 0, partial.stderr
    summary = (tmp_path / "r" / "summary.md").read_text()
    assert summary.splitlines()[0] == "# PARTIAL s1da report: killed.zarr"
    assert "<title>PARTIAL s1da report: killed.zarr</title>" in (tmp_path / "r" / "index.html").read_text()


# ------------------------------------------------------------------------------------------------
# configuration errors: one line, nothing written
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  members: 4", "  members: 1", "key 'experiment.members'"),
        ("  seed: 11", "  seed: -3", "key 'experiment.seed'"),
        ("  end: 2018-06-09", "  end: 2018-04-12", "calibrating operator 'wcm' needs at least 8 Sentinel-1 observations"),
    ],
    ids=["one-member", "negative-seed", "period-too-short-to-calibrate"],
)
def test_config_errors_are_one_line_and_write_nothing(tmp_path, old, new, message):
    config = write_config(tmp_path, SMALL_YAML.replace(old, new))
    result = s1da("run", config, "--output", tmp_path / "never.zarr", "--no-progress")
    assert_user_error(result, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == [config.name]


def test_an_internal_error_keeps_its_traceback(monkeypatch):
    def broken(args):
        raise RuntimeError("a bug, not a user error")

    parsed = cli.parser().parse_args(["inspect", "x"])
    monkeypatch.setattr(cli, "parser", lambda: type("P", (), {"parse_args": lambda self, argv: parsed})())
    parsed.handler = broken
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["inspect", "x"])
    assert cli.user_error_message(OSError(errno.ENOSPC, "No space left on device", "/x/c/0")) == (
        "No space left on device: /x/c/0"
    )
    assert cli.user_error_message(KeyError("internal")) is None


# ------------------------------------------------------------------------------------------------
# one writer
# ------------------------------------------------------------------------------------------------
def wait_for(path: Path, process: subprocess.Popen, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the first writer never reached its hold point"
        time.sleep(0.1)


def test_a_second_writer_is_refused_naming_the_first_also_with_overwrite(reference, tmp_path):
    config, reference_store = reference
    other_seed = write_config(tmp_path, SMALL_YAML.replace("  seed: 11", "  seed: 12"), name="other.yaml")
    store = tmp_path / "shared.zarr"
    flag = tmp_path / "holding"
    first = s1da("run", config, "--output", store, "--no-progress", env={HOLD_AFTER_BLOCKS: "2", HOLD_FILE: str(flag)}, wait=False)
    try:
        wait_for(flag, first)
        before = snapshot(store)
        holder = f"is being written by pid {first.pid} on host"
        assert_user_error(s1da("run", config, "--output", store, "--no-progress"), holder)
        assert_user_error(s1da("run", other_seed, "--output", store, "--overwrite", "--no-progress"), holder)
        assert snapshot(store) == before
    finally:
        first.send_signal(signal.SIGTERM)  # unwinds and releases the lock
        first.communicate(timeout=60)
    assert first.returncode == 128 + signal.SIGTERM
    assert not lock_path(store).exists()
    resumed = s1da("run", config, "--output", store, "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    assert "took over" not in resumed.stderr
    assert_stores_identical(EnsembleStore.open(reference_store), EnsembleStore.open(store))
    assert not lock_path(store).exists()


# ------------------------------------------------------------------------------------------------
# read-only output and full disk
# ------------------------------------------------------------------------------------------------
def _can_mount() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--mount", "--map-root-user", "true"], capture_output=True)
    return probe.returncode == 0


def run_in_mount(folder: Path, mount: str, *args: str) -> subprocess.CompletedProcess:
    """``s1da ARGS`` in a private mount namespace where ``folder`` is ``mount`` (a shell snippet)."""
    import shlex
    import sys

    from faults_common import FAULT_CLI

    command = " ".join(shlex.quote(str(a)) for a in (sys.executable, FAULT_CLI, *args))
    script = f"{mount} && exec {command}"
    return subprocess.run(["unshare", "--mount", "--map-root-user", "sh", "-c", script],
                          capture_output=True, text=True, timeout=600)


def test_a_read_only_output_folder_is_one_line(tmp_path):
    config = write_config(tmp_path / "config")
    folder = tmp_path / "readonly"
    folder.mkdir()
    target = folder / "out.zarr"
    if os.geteuid() != 0:
        folder.chmod(0o555)
        result = s1da("run", config, "--output", target, "--no-progress")
        folder.chmod(0o755)
        fragment = "Permission denied"
    elif _can_mount():
        quoted = str(folder)
        result = run_in_mount(folder, f"mount --bind '{quoted}' '{quoted}' && mount -o remount,bind,ro '{quoted}'",
                              "run", config, "--output", target, "--no-progress")
        fragment = "Read-only file system"
    else:
        pytest.skip("running as root without mount namespaces: no way to make a folder read-only")
    assert_user_error(result, fragment, str(folder))
    assert list(folder.iterdir()) == []


def test_a_full_disk_stops_with_one_line_and_the_run_resumes_bit_identically(reference, tmp_path):
    config, reference_store = reference
    store = tmp_path / "full.zarr"
    result = s1da("run", config, "--output", store, "--no-progress", env={ENOSPC_AFTER_WRITES: "400"})
    assert_user_error(result, "No space left on device", str(store))
    assert not EnsembleStore.open(store).is_complete
    assert not lock_path(store).exists()
    resumed = s1da("run", config, "--output", store, "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    assert_stores_identical(EnsembleStore.open(reference_store), EnsembleStore.open(store))


def test_a_real_full_disk_is_one_line(tmp_path):
    if not _can_mount():
        pytest.skip("no mount namespaces here: the simulated ENOSPC above covers the full disk")
    config = write_config(tmp_path / "config")
    disk = tmp_path / "disk"
    disk.mkdir()
    result = run_in_mount(disk, f"mount -t tmpfs -o size=256k tmpfs '{disk}'",
                          "run", config, "--output", disk / "out.zarr", "--no-progress")
    assert_user_error(result, "No space left on device")
    assert list(disk.iterdir()) == []  # the tmpfs vanished with the namespace; the folder is untouched
