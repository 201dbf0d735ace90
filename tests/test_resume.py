"""A run killed part-way (a real subprocess, SIGKILL) resumes to a bit-identical store."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_experiment_end_to_end import assert_stores_identical
from tiny_experiment import TINY_YAML, write_tiny_config

from fault_cli import CRASH_AFTER_BLOCKS

from s1da.framework.store import EnsembleStore

FAULT_CLI = Path(__file__).with_name("fault_cli.py")


def s1da(*args, env=None):
    command = [sys.executable, str(FAULT_CLI), *args]
    return subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    directory = tmp_path_factory.mktemp("reference")
    config = write_tiny_config(directory)
    result = s1da("run", str(config), "--output", str(directory / "ref.zarr"), "--no-progress")
    assert result.returncode == 0, result.stderr
    return config, EnsembleStore.open(directory / "ref.zarr")


# 7 blocks per run: 3 dies inside the open loop, 9 inside the first DA run, 20 in the last one
@pytest.mark.parametrize("crash_after", [3, 9, 20])
def test_killed_run_resumes_bit_identical(reference, tmp_path, crash_after):
    config, reference_store = reference
    output = tmp_path / "killed.zarr"
    killed = s1da("run", str(config), "--output", str(output), "--no-progress", env={CRASH_AFTER_BLOCKS: str(crash_after)})
    assert killed.returncode == -signal.SIGKILL
    partial = EnsembleStore.open(output)
    assert not partial.is_complete
    inspect = s1da("inspect", str(output))
    assert inspect.returncode == 1 and "INCOMPLETE" in inspect.stdout

    resumed = s1da("run", str(config), "--output", str(output), "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stderr
    assert_stores_identical(reference_store, EnsembleStore.open(output))


def test_finished_store_is_not_overwritten_without_flag(reference):
    config, reference_store = reference
    again = s1da("run", str(config), "--output", str(reference_store.path), "--no-progress")
    assert again.returncode == 2 and "--overwrite" in again.stderr
    assert s1da("inspect", str(reference_store.path)).returncode == 0


def test_help_lists_the_commands():
    result = s1da("--help")
    assert result.returncode == 0
    for command in ("run", "inspect", "report"):
        assert command in result.stdout


def test_cli_reports_a_bad_config_without_a_traceback(tmp_path):
    config = write_tiny_config(tmp_path, TINY_YAML.replace("  members: 8", "  members: 8\n  memebers: 8"))
    result = s1da("run", str(config), "--output", str(tmp_path / "never.zarr"), "--no-progress")
    assert result.returncode == 2
    assert "key 'experiment.memebers'" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "never.zarr").exists()
