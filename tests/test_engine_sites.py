"""One engine for every run: a site network gives one store, bit for bit, however it runs.

Serial, a LocalCluster with one or two workers, other ``--sites-per-task``, the CLI's
``--workers``, a real ``dask scheduler`` + ``dask worker`` processes joined with
``--scheduler``, a worker SIGKILLed mid-run and a killed-and-resumed run all end with the same
values and attributes in every group.
"""

import signal
import subprocess
import sys
import time

import distributed
import numpy as np
import pytest
from engine_fixtures import dask_cluster, s1da_cli
from test_experiment_end_to_end import assert_stores_identical
from tiny_experiment import TINY_YAML, write_tiny_config

from fault_cli import CRASH_AFTER_BLOCKS

from s1da.containers.assembly import build_experiment
from s1da.framework.store import EnsembleStore
from s1da.framework.store_regions import TaskRecords
from s1da.framework.tasks import ChunkRun

ENGINE_YAML = TINY_YAML.replace("end: 2018-07-31", "end: 2018-06-30")
# WCM from one start instead of 16 (the chunking, not the fit, is under test here)
ENGINE_YAML = (
    ENGINE_YAML[: ENGINE_YAML.index("  svr:")]
    + "    start_values: [[0.05], [0.5], [-20.0], [40.0]]\n"
    + ENGINE_YAML[ENGINE_YAML.index("filter:") :]
)


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return write_tiny_config(tmp_path_factory.mktemp("config"), ENGINE_YAML)


@pytest.fixture(scope="module")
def serial(config, tmp_path_factory):
    """The reference: in-process, all sites in one task."""
    path = tmp_path_factory.mktemp("serial") / "serial.zarr"
    return build_experiment(config, progress=False).run(path)


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as client:
            yield client


@pytest.mark.parametrize("sites_per_task", [1, 2])
def test_a_cluster_with_other_chunks_writes_the_serial_store(config, serial, client, tmp_path, sites_per_task):
    store = build_experiment(config, progress=False).run(tmp_path / "cluster.zarr", client=client, sites_per_task=sites_per_task)
    assert_stores_identical(serial, store)
    assert not store.has_group("tasks")  # the per-task records go once the store is finished
    chunks = store._group("open_loop", mode="r")["surface_soil_moisture"].chunks
    assert chunks[2] == sites_per_task  # store chunks are aligned with the tasks


def test_cli_workers_flag(config, serial, tmp_path):
    result = s1da_cli("run", str(config), "--output", str(tmp_path / "w.zarr"), "--workers", "1", "--sites-per-task", "2")
    assert result.returncode == 0, result.stderr
    assert "dashboard" in result.stderr
    assert_stores_identical(serial, EnsembleStore.open(tmp_path / "w.zarr"))


def test_killed_and_resumed_with_several_tasks(config, serial, tmp_path):
    """Killed inside the second task's open loop (the first task finished): resumed, identical."""
    output = str(tmp_path / "killed.zarr")
    killed = s1da_cli("run", str(config), "--output", output, "--no-progress", "--sites-per-task", "2", env={CRASH_AFTER_BLOCKS: "12"})
    assert killed.returncode == -signal.SIGKILL
    records = TaskRecords(EnsembleStore.open(output))
    assert records.status(0)["complete"] and not records.status(1)["complete"]
    resumed = s1da_cli("run", str(config), "--output", output, "--no-progress", "--sites-per-task", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert "stored chunking of 2 sites per task" in resumed.stderr
    assert_stores_identical(serial, EnsembleStore.open(output))


def test_scheduler_and_a_worker_killed_mid_run(config, serial, tmp_path):
    """Joined with --scheduler, one of the two workers SIGKILLed once a task has recorded
    progress: dask reschedules that task, which continues from its checkpoint."""
    with dask_cluster(2, tmp_path) as (address, workers):
        output = tmp_path / "victim.zarr"
        command = [sys.executable, "-m", "s1da.containers.cli", "run", str(config), "--output", str(output), "--scheduler", address, "--sites-per-task", "1", "--no-progress"]
        run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait_for_task_progress(output, run)
        workers[0].send_signal(signal.SIGKILL)
        assert workers[0].wait() == -signal.SIGKILL
        _, stderr = run.communicate(timeout=600)
        assert run.returncode == 0, stderr
        assert "joined" in stderr and "dashboard" in stderr
    assert_stores_identical(serial, EnsembleStore.open(output))


def _wait_for_task_progress(output, run, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert run.poll() is None, run.communicate()[1]
        try:
            records = TaskRecords(EnsembleStore.open(output))
            if records.exists() and any(records.status(i).get("days_done", 0) > 0 for i in range(3)):
                return
        except Exception:  # the store is being created
            pass
        time.sleep(0.05)
    raise AssertionError("no task recorded progress")


def test_chunk_run_steps_one_day_at_a_time(config, serial):
    """The day-level API: the open loop of site 1 alone, stepped day by day, is the stored one."""
    experiment = build_experiment(config, progress=False)
    chunk = experiment.for_sites(np.array([1]))
    spin_up = ChunkRun.initial(chunk, chunk.spinup_days)
    while not spin_up.finished:
        spin_up.step_day(outputs=False)
    run = ChunkRun(chunk, chunk.period, spin_up.checkpoint())
    days = [run.step_day()["surface_soil_moisture"] for _ in range(len(chunk.period))]
    assert run.finished
    with pytest.raises(IndexError, match="ended"):
        run.step_day()
    stored = serial.read("open_loop")["surface_soil_moisture"].isel(site=[1]).values
    np.testing.assert_array_equal(np.stack(days), stored)
