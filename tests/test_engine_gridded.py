"""Gridded stores: (time, [member,] y, x) maps with lat(y), lon(x) and a CF grid mapping,
masked cells NaN, the same store for any tiling and worker count, and the output policy."""

import signal
import threading
import time

import distributed
import numpy as np
import pytest
import xarray as xr
from dependency_injector import providers
from engine_fixtures import GRID_SHAPE, LAND_CELLS, dask_cluster, regrid
from test_experiment_end_to_end import assert_stores_identical
from tiny_experiment import TINY_YAML, write_tiny_config

from s1da.containers.assembly import build_container
from s1da.framework import store_regions
from s1da.framework.output_policy import OutputPolicy
from s1da.framework.store import EnsembleStore
from s1da.framework.store_regions import TaskRecords

GRID_YAML = (
    TINY_YAML.replace("n_sites: 3", "n_sites: 12")
    .replace("end: 2018-07-31", "end: 2018-05-31")
    .replace("members: 8", "members: 6")
)
# WCM only, from one start instead of 16 (the tiling, not the fit, is under test here)
GRID_YAML = (
    GRID_YAML[: GRID_YAML.index("  svr:")]
    + "    start_values: [[0.05], [0.5], [-20.0], [40.0]]\n"
    + GRID_YAML[GRID_YAML.index("filter:") :]
)


@pytest.fixture(scope="module")
def gridded_data(tmp_path_factory):
    container = build_container(write_tiny_config(tmp_path_factory.mktemp("grid"), GRID_YAML), progress=False)
    return regrid(container.data.site_data())


def grid_experiment(directory, data, **changes):
    container = build_container(write_tiny_config(directory, GRID_YAML), progress=False)
    container.data.site_data.override(providers.Object(data))
    experiment = container.experiment()
    for name, value in changes.items():
        setattr(experiment, name, value)
    return experiment


@pytest.fixture(scope="module")
def serial(gridded_data, tmp_path_factory):
    directory = tmp_path_factory.mktemp("serial")
    return grid_experiment(directory, gridded_data).run(directory / "serial.zarr")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as client:
            yield client


def test_runs_are_maps_with_cf_coordinates_and_masked_cells(serial):
    ds = xr.open_zarr(str(serial.path), group="open_loop", consolidated=False)
    assert ds["surface_soil_moisture_mean"].dims == ("time", "y", "x")
    assert ds["layer_soil_moisture_std"].dims == ("time", "layer", "y", "x")
    assert "precipitation" not in ds and ds["surface_soil_moisture"].dims == ("time", "member", "y", "x")  # grid default
    assert ds["surface_soil_moisture_mean"].dtype == np.float32
    assert ds["lat"].dims == ("y",) and ds["lon"].dims == ("x",) and ds["lat"].attrs["units"] == "degrees_north"
    assert ds["crs"].attrs["grid_mapping_name"] == "latitude_longitude" and "EPSG\",4326" in ds["crs"].attrs["crs_wkt"]
    assert ds["surface_soil_moisture_mean"].encoding.get("grid_mapping", ds["surface_soil_moisture_mean"].attrs.get("grid_mapping")) == "crs"
    assert ds["surface_soil_moisture_mean"].attrs["cell_methods"] == "member: mean"
    field = ds["surface_soil_moisture_mean"].isel(time=0).values.ravel()
    assert np.isfinite(field[LAND_CELLS]).all()
    assert np.isnan(np.delete(field, LAND_CELLS)).all()
    observations = xr.open_zarr(str(serial.path), group="observations", consolidated=False)
    assert observations["backscatter"].dims == ("time", "y", "x") and observations.sizes["y"] == GRID_SHAPE[0]


def test_validation_and_calibration_score_the_land_cells(serial):
    calibration = serial.read("calibration")
    np.testing.assert_array_equal(calibration["site"].values.astype(int), LAND_CELLS)
    assert serial.group_complete("validation")
    tree = xr.open_datatree(str(serial.path), group="validation", engine="zarr", consolidated=False)
    site_tables = [node for node in tree.subtree if "site" in node.dims]
    assert site_tables
    for node in site_tables:
        np.testing.assert_array_equal(node["site"].values.astype(int), LAND_CELLS)


@pytest.mark.parametrize("cells_per_task", [4, 9])
def test_any_tiling_on_a_cluster_gives_the_serial_store(gridded_data, serial, client, tmp_path, cells_per_task):
    store = grid_experiment(tmp_path, gridded_data).run(tmp_path / "tiles.zarr", client=client, sites_per_task=cells_per_task)
    assert_stores_identical(serial, store)
    side = int(np.sqrt(cells_per_task))
    assert store._group("da_wcm", mode="r")["surface_soil_moisture_mean"].chunks[-2:] == (side, side)


def test_one_local_worker_gives_the_serial_store(gridded_data, serial, tmp_path):
    store = grid_experiment(tmp_path, gridded_data).run(tmp_path / "one.zarr", workers=1, sites_per_task=6)
    assert_stores_identical(serial, store)


def test_ensemble_mean_fluxes_close_the_water_balance(gridded_data, tmp_path):
    """Storage change = P - E - D - Q (+ increment) from the stored float32 means: the mean is
    linear (float64 means close to 1e-9, see test_engine_policy)."""
    policy = OutputPolicy(members=[0, 2], statistics=["mean", "std"], quantiles=[0.1, 0.9], dtype="float32")
    store = grid_experiment(tmp_path, gridded_data, output=policy).run(tmp_path / "policy.zarr")
    for run in ("open_loop", "da_wcm"):
        ds = store.read(run).load()
        assert ds.sizes["member"] == 2 and ds["surface_soil_moisture_quantile"].dims == ("time", "quantile", "y", "x")
        storage = ds["total_water_storage_mean"].values.astype("float64")
        net = sum(sign * ds[f"{name}_mean"].values.astype("float64") for sign, name in ((1, "precipitation"), (-1, "total_evaporation"), (-1, "deep_drainage"), (-1, "surface_runoff")))
        if "analysis_increment_mean" in ds:
            net = net + np.nan_to_num(ds["analysis_increment_mean"].values.astype("float64"))
        residual = (np.diff(storage, axis=0) - net[1:])[:, *np.divmod(LAND_CELLS, GRID_SHAPE[1])]
        assert np.abs(residual).max() < 1e-3  # float32 rounding of storages of ~1000 mm


def test_joined_cluster_with_a_worker_killed_mid_run(gridded_data, serial, tmp_path):
    """A real ``dask scheduler`` + two ``dask worker`` processes, joined by address; one worker
    is SIGKILLed once a task has recorded progress.  Dask reschedules its task, which continues
    from its checkpoint, and the store is the serial one."""
    output = tmp_path / "joined.zarr"
    with dask_cluster(2, tmp_path) as (address, workers):
        killer = threading.Thread(target=_kill_after_first_progress, args=(output, workers[0]), daemon=True)
        killer.start()
        store = grid_experiment(tmp_path, gridded_data).run(output, scheduler=address, sites_per_task=4)
        killer.join(timeout=60)
        assert workers[0].poll() == -signal.SIGKILL
    assert_stores_identical(serial, store)


def _kill_after_first_progress(output, worker, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            records = TaskRecords(EnsembleStore.open(output))
            if records.exists() and any(records.status(i).get("days_done", 0) > 0 for i in range(int(records.plan()["n_tasks"]))):
                worker.send_signal(signal.SIGKILL)
                return
        except Exception:  # the store or its records are being created
            pass
        time.sleep(0.05)


def test_interrupted_and_resumed_with_another_chunking(gridded_data, serial, tmp_path, monkeypatch):
    """Stopped after a few block writes (tiles of 4 cells), resumed asking for tiles of 9: the
    stored plan is kept, finished tasks are skipped, and the store is the serial one."""
    original = store_regions.write_region
    writes = {"n": 0}

    def write_then_stop(store, name, *args, **kwargs):
        original(store, name, *args, **kwargs)
        writes["n"] += 1
        if writes["n"] == 14:
            raise KeyboardInterrupt("stopped by the test")

    monkeypatch.setattr(store_regions, "write_region", write_then_stop)
    with pytest.raises(KeyboardInterrupt):
        grid_experiment(tmp_path, gridded_data).run(tmp_path / "resumed.zarr", sites_per_task=4)
    records = TaskRecords(EnsembleStore.open(tmp_path / "resumed.zarr"))
    finished = [records.status(i)["complete"] for i in range(int(records.plan()["n_tasks"]))]
    assert any(finished) and not all(finished)
    monkeypatch.setattr(store_regions, "write_region", original)
    store = grid_experiment(tmp_path, gridded_data).run(tmp_path / "resumed.zarr", sites_per_task=9)
    assert_stores_identical(serial, store)
