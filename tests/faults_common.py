"""Shared pieces of the fault-injection tests: the smallest experiment with several blocks per
run, a runner of the real CLI in a subprocess (through ``fault_cli.py``) and folder snapshots."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

FAULT_CLI = Path(__file__).with_name("fault_cli.py")

SMALL_YAML = """
experiment:
  name: faults
  seed: 11
  members: 4
  spinup_start: 2018-03-20
  start: 2018-04-01
  end: 2018-06-09
  chunk_days: 10
  min_samples: 5
source:
  kind: twin
  n_sites: 2
  truth_spinup_years: 0
model:
  kind: gleam
perturbation:
  kind: forcing
operators:
  wcm:
    kind: wcm
filter:
  kind: denkf
"""
"""Two sites, four members, 70 days in blocks of 10: seven blocks in each of two runs."""


def write_config(directory: Path, text: str = SMALL_YAML, name: str = "faults.yaml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text)
    return path


def s1da(*args: str, cwd: Path | None = None, env: dict | None = None, wait: bool = True):
    """``s1da ARGS`` in a subprocess with the test hooks of ``fault_cli.py`` (set through ``env``)."""
    command = [sys.executable, str(FAULT_CLI), *map(str, args)]
    environment = {**os.environ, **(env or {})}
    if not wait:
        return subprocess.Popen(command, cwd=cwd, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=600)


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry below ``folder`` with the hash of its content ('dir' for folders)."""
    entries = {}
    for path in sorted(Path(folder).rglob("*")):
        key = str(path.relative_to(folder))
        entries[key] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return entries


def assert_user_error(result, *fragments: str) -> str:
    """Exit status 2 and one line ``s1da: ...`` naming every fragment, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("s1da: ")]
    assert len(lines) >= 1, result.stderr
    message = lines[-1]
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def reference_run(tmp_path_factory) -> tuple[Path, Path, int]:
    """``(config, store, files written)`` of one uninterrupted run, shared by the fault modules."""
    directory = tmp_path_factory.getbasetemp() / "faults_reference"
    count = directory / "writes"
    if not count.exists():
        config = write_config(directory)
        shutil.rmtree(directory / "ref.zarr", ignore_errors=True)
        result = s1da("run", config, "--output", directory / "ref.zarr", "--no-progress", env={"S1DA_TEST_COUNT_WRITES": str(count)})
        assert result.returncode == 0, result.stderr
    return directory / "faults.yaml", directory / "ref.zarr", int(count.read_text())


def s1da_here(capsys, *args: str) -> SimpleNamespace:
    """``s1da ARGS`` through the CLI's entry point in this process (for read-only commands)."""
    from s1da.containers import cli

    code = cli.main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=captured.out, stderr=captured.err)
