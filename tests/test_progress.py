"""Progress bars: every long stage of ``s1da run`` shows one, ``--no-progress`` hides them all.

Issue 13 asks for progress on every stage that takes more than about two seconds; besides the
experiment's own stages (spin-up, runs, calibration) these are the twin's truth run, the
store's verification, the validation tables and the report's figures.
"""

from __future__ import annotations

import io
import sys

import pytest

from s1da.containers.cli import main
from s1da.framework import progress
from tiny_experiment import write_tiny_config

LONG_STAGES = ("twin: truth run", "verifying", "validation", "report: figures")


def test_bars_are_silent_unless_switched_on(capsys):
    with progress.bar(3, "hidden stage") as shown:
        shown.update(3)
    assert "hidden stage" not in capsys.readouterr().err
    with progress.showing():
        assert progress.is_showing()
        with progress.bar(3, "shown stage") as shown:
            shown.update(3)
        with progress.showing(False), progress.bar(3, "inner hidden") as shown:
            shown.update(3)
    assert not progress.is_showing()
    err = capsys.readouterr().err
    assert "shown stage" in err and "3/3" in err
    assert "inner hidden" not in err


@pytest.fixture(scope="module")
def shown_run(tmp_path_factory):
    """One tiny run with bars on; its standard error and paths."""
    directory = tmp_path_factory.mktemp("progress")
    config = write_tiny_config(directory)
    capture = pytest.MonkeyPatch()
    err = io.StringIO()
    capture.setattr(sys, "stderr", err)
    try:
        status = main(["run", str(config), "--output", str(directory / "tiny.zarr"), "--report", str(directory / "report")])
    finally:
        capture.undo()
    assert status == 0
    return directory, err.getvalue()


def test_every_long_stage_of_a_run_shows_a_bar(shown_run):
    _, err = shown_run
    missing = [stage for stage in LONG_STAGES if stage not in err]
    assert not missing, f"no progress bar for {missing}"
    for stage in ("tiny: spin-up", "tiny: open_loop", "calibrate svr", "tiny: da_wcm"):
        assert stage in err


def test_calibration_warnings_reach_the_user_as_one_line_each(shown_run):
    _, err = shown_run
    lines = [line for line in err.splitlines() if "calibration warning(s)" in line]
    assert lines and all(line.startswith("s1da: warning: wcm: ") for line in lines)
    assert "UserWarning" not in err and "operators = self._calibrate" not in err


def test_no_progress_hides_the_bars_of_report_and_inspect(shown_run, capsys):
    directory, _ = shown_run
    assert main(["report", str(directory / "tiny.zarr"), "--output", str(directory / "report2"), "--no-progress"]) == 0
    assert main(["inspect", str(directory / "tiny.zarr"), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "%|" not in captured.err
    assert "validation: complete (tables:" in captured.out
    assert main(["inspect", str(directory / "tiny.zarr")]) == 0
    assert "verifying tiny.zarr" in capsys.readouterr().err
