"""Fault injection into the store through the real CLI in subprocesses: SIGKILLs at random
points, and damaged chunks, checkpoints, groups and metadata.

Every case asserts the exact outcome: the damage is detected and named (``s1da inspect``
exits 1 naming group, array and chunk; ``s1da report`` refuses with exit 2), and a resume
ends in a store bit-identical to an uninterrupted run.  Runs and resumes are subprocesses
(they are killed, and hold locks); the read-only ``inspect`` and ``report`` calls run the same
CLI entry point in the test process, which keeps the suite fast.
"""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest
from faults_common import assert_user_error, reference_run, s1da, s1da_here
from test_experiment_end_to_end import assert_stores_identical

from fault_cli import CRASH_AFTER_BLOCKS, KILL_AFTER_WRITES
from s1da.framework.lock import lock_path
from s1da.framework.store import EnsembleStore

TASK_RECORD = "tasks/task_00000"
"""Where the engine keeps the progress and checkpoints of the (only) task of an unfinished run."""
N_KILLS = 10
KILL_SEED = 20261201


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run of the small experiment, and how many files it wrote."""
    config, store, writes = reference_run(tmp_path_factory)
    return config, EnsembleStore.open(store), writes


def kill_points(total: int) -> list[int]:
    return sorted(np.random.default_rng(KILL_SEED).choice(np.arange(1, total), N_KILLS, replace=False).tolist())


@pytest.mark.parametrize("index", range(N_KILLS))
def test_sigkill_at_a_random_write_resumes_bit_identical(reference, tmp_path, index):
    config, reference_store, total = reference
    point = kill_points(total)[index]
    output = tmp_path / "killed.zarr"
    killed = s1da("run", config, "--output", output, "--no-progress", env={KILL_AFTER_WRITES: str(point)})
    assert killed.returncode == -signal.SIGKILL, (point, killed.stderr)
    assert lock_path(output).exists()  # a SIGKILL cannot release the lock: the resume takes it over
    resumed = s1da("run", config, "--output", output, "--no-progress")
    assert resumed.returncode == 0, (point, resumed.stderr)
    assert "took over the stale lock of pid" in resumed.stderr
    assert_stores_identical(reference_store, EnsembleStore.open(output))
    assert not lock_path(output).exists()


# ------------------------------------------------------------------------------------------------
# damage to a finished store
# ------------------------------------------------------------------------------------------------
def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))


def damage(store: Path, how: str) -> str:
    """Damage a copy of the reference; returns the line ``s1da inspect`` must print."""
    if how == "flipped byte in a run group":
        flip_byte(store / "da_wcm" / "surface_soil_moisture" / "c" / "3" / "0" / "0")
        return "da_wcm/surface_soil_moisture: chunk c/3/0/0 is corrupt"
    if how == "deleted chunk in a run group":
        (store / "open_loop" / "total_water_storage" / "c" / "5" / "0" / "0").unlink()
        return "open_loop/total_water_storage: chunk c/5/0/0 is missing"
    if how == "flipped byte in calibration":
        flip_byte(store / "calibration" / "wcm_B" / "c" / "0")
        return "calibration/wcm_B: chunk c/0 is corrupt"
    if how == "deleted chunk in calibration":
        (store / "calibration" / "wcm_simulated_backscatter" / "c" / "0" / "0").unlink()
        return "calibration/wcm_simulated_backscatter: chunk c/0/0 is missing"
    if how == "flipped byte in the spin-up checkpoint":
        flip_byte(store / "spinup_state" / "model__soil_moisture" / "c" / "0" / "0" / "0")
        return "spinup_state/model__soil_moisture: chunk c/0/0/0 is corrupt"
    if how == "deleted group":
        shutil.rmtree(store / "da_wcm")
        return "group da_wcm is missing"
    if how == "truncated group zarr.json":
        metadata = (store / "observations" / "zarr.json").read_bytes()
        (store / "observations" / "zarr.json").write_bytes(metadata[: len(metadata) // 3])
        return "observations: zarr.json is unreadable or truncated"
    raise AssertionError(how)


DAMAGES = {
    # one store per family of damage, one damage per group, so that each is named on its own
    "flipped bytes and truncated metadata": [
        "flipped byte in a run group", "flipped byte in calibration", "flipped byte in the spin-up checkpoint",
        "truncated group zarr.json",
    ],
    "deleted chunks and groups": ["deleted chunk in a run group", "deleted chunk in calibration", "deleted group"],
}


@pytest.mark.parametrize("family", DAMAGES)
def test_damage_is_named_by_inspect_refused_by_report_and_repaired_by_a_resume(reference, tmp_path, capsys, family):
    config, reference_store, _ = reference
    store = tmp_path / "damaged.zarr"
    shutil.copytree(reference_store.path, store)
    expected = {how: damage(store, how) for how in DAMAGES[family]}
    groups = {how: line.split("/")[0].split(":")[0].replace("group ", "").split()[0] for how, line in expected.items()}

    inspect = s1da_here(capsys, "inspect", store)
    assert inspect.returncode == 1, inspect.stdout
    assert f"DAMAGED: {', '.join(sorted(groups.values()))}" in inspect.stdout
    for how, line in expected.items():
        assert line in inspect.stdout, how
    report = s1da_here(capsys, "report", store, "--output", tmp_path / "report")
    assert_user_error(report, "is not complete and intact", "--partial")
    assert not (tmp_path / "report").exists()

    resumed = s1da("run", config, "--output", store, "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    for how, group in groups.items():
        assert f"{store}: {group} failed verification" in resumed.stderr or f"group {group} is missing" in resumed.stderr, how
    assert_stores_identical(reference_store, EnsembleStore.open(store))
    assert s1da_here(capsys, "inspect", store).returncode == 0


# ------------------------------------------------------------------------------------------------
# damage to the checkpoint a resume starts from
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def interrupted(reference, tmp_path_factory):
    """A run killed after its 11th block (the 4th of ``da_wcm``): two checkpoint slots exist."""
    config, _, _ = reference
    store = tmp_path_factory.mktemp("interrupted") / "killed.zarr"
    killed = s1da("run", config, "--output", store, "--no-progress", env={CRASH_AFTER_BLOCKS: "11"})
    assert killed.returncode == -signal.SIGKILL
    # one task (in-process: all sites); its record holds the progress and the checkpoint slots
    attributes = json.loads((store / TASK_RECORD / "zarr.json").read_text())["attributes"]
    assert (attributes["stage"], attributes["days_done"], attributes["restart_slot"]) == ("da_wcm", 30, "restart_slot0")
    return store


@pytest.mark.parametrize(
    ("slot_damage", "fallback"),
    [
        ("flipped byte", "resuming from the other slot, restart_slot1, after 20 days"),
        ("deleted chunk", "resuming from the other slot, restart_slot1, after 20 days"),
        ("both slots", "the run starts again from its beginning"),
    ],
)
def test_a_damaged_checkpoint_is_never_resumed_from(reference, interrupted, tmp_path, capsys, slot_damage, fallback):
    config, reference_store, _ = reference
    store = tmp_path / "killed.zarr"
    shutil.copytree(interrupted, store)
    chunk = Path("model__soil_moisture") / "c" / "0" / "0" / "0"
    if slot_damage == "deleted chunk":
        (store / TASK_RECORD / "restart_slot0" / chunk).unlink()
    else:
        flip_byte(store / TASK_RECORD / "restart_slot0" / chunk)
    if slot_damage == "both slots":
        flip_byte(store / TASK_RECORD / "restart_slot1" / "perturber__ar_state" / "c" / "0" / "0" / "0")

    inspect = s1da_here(capsys, "inspect", store)
    assert inspect.returncode == 1
    assert f"{TASK_RECORD}/restart_slot0/model__soil_moisture: chunk c/0/0/0 is" in inspect.stdout

    resumed = s1da("run", config, "--output", store, "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    assert "checkpoint restart_slot0 fails verification" in resumed.stderr and fallback in resumed.stderr
    assert_stores_identical(reference_store, EnsembleStore.open(store))
