"""The Zarr ensemble store: layout, CF attributes, progress, checkpoints and refusal paths."""

import json

import numpy as np
import pytest
import xarray as xr

from s1da.framework.store import EnsembleStore, IncompleteStoreError, StoreError

TIMES = np.arange(np.datetime64("2018-01-01"), np.datetime64("2018-01-11"))
COORDS = {
    "member": ("member", np.arange(3), {"standard_name": "realization", "long_name": "ensemble member", "units": "1"}),
    "site": ("site", np.array([4, 9]), {"long_name": "site identifier", "units": "1"}),
    "lat": ("site", np.array([45.0, 60.0]), {"standard_name": "latitude", "long_name": "latitude", "units": "degrees_north"}),
}


def new_store(tmp_path):
    store = EnsembleStore.create(tmp_path / "s.zarr", {"seed_entropy": "42", "s1da_version": "test"})
    store.create_run(
        "open_loop",
        times=TIMES,
        coords=COORDS,
        variables={"surface_soil_moisture": ("time", "member", "site")},
        chunk_days=4,
    )
    return store


def test_template_has_cf_metadata_and_named_dimensions(tmp_path):
    store = new_store(tmp_path)
    ds = store.read("open_loop", allow_incomplete=True)
    variable = ds["surface_soil_moisture"]
    assert variable.dims == ("time", "member", "site")
    assert variable.attrs["units"] == "m3 m-3" and variable.attrs["long_name"]
    assert ds["member"].attrs["standard_name"] == "realization"
    assert "lat" in ds.coords and ds["lat"].attrs["units"] == "degrees_north"
    assert np.isnan(variable.values).all()  # nothing written yet
    assert store.attributes["seed_entropy"] == "42"


def test_incomplete_groups_are_refused_and_reported(tmp_path):
    store = new_store(tmp_path)
    store.write_block("open_loop", 0, {"surface_soil_moisture": np.ones((4, 3, 2))})
    store.save_progress("open_loop", 4, {"w": np.zeros(2)})
    with pytest.raises(IncompleteStoreError, match="open_loop is incomplete"):
        store.read("open_loop")
    with pytest.raises(IncompleteStoreError, match="4 of 10 days"):
        store.finish_run("open_loop")
    with pytest.raises(IncompleteStoreError, match="unfinished groups"):
        store.mark_complete()
    assert "INCOMPLETE (4/10 days)" in store.describe()
    assert not store.is_complete


def test_progress_and_checkpoint_alternate_slots(tmp_path):
    store = new_store(tmp_path)
    assert store.load_progress("open_loop") == (0, None)
    for block, start in enumerate(range(0, 10, 4)):
        end = min(start + 4, 10)
        store.write_block("open_loop", start, {"surface_soil_moisture": np.full((end - start, 3, 2), block)})
        store.save_progress("open_loop", end, {"w": np.full(2, block)})
        days, checkpoint = store.load_progress("open_loop")
        assert days == end and (checkpoint["w"] == block).all()
    store.finish_run("open_loop")
    store.mark_complete()
    ds = store.read("open_loop")
    np.testing.assert_array_equal(ds["surface_soil_moisture"].values[:, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1, 2, 2])
    assert store.is_complete and "complete: yes" in store.describe()


def test_existing_store_is_not_replaced_without_overwrite(tmp_path):
    new_store(tmp_path)
    with pytest.raises(StoreError, match="already exists"):
        EnsembleStore.create(tmp_path / "s.zarr", {})
    EnsembleStore.create(tmp_path / "s.zarr", {}, overwrite=True)


def test_truncated_root_is_a_clear_error(tmp_path):
    store = new_store(tmp_path)
    (store.path / "zarr.json").write_text('{"zarr_format": 3, "node_ty')
    with pytest.raises(StoreError, match="truncated or corrupt"):
        EnsembleStore.open(store.path)
    with pytest.raises(StoreError, match="not an s1da store"):
        EnsembleStore.open(tmp_path / "missing.zarr")


def test_static_group_requires_cf_attributes(tmp_path):
    store = new_store(tmp_path)
    bare = xr.Dataset({"r": ("site", [0.5, 0.6])})
    with pytest.raises(StoreError, match="lacks CF attributes"):
        store.write_dataset("validation", bare)
    assert not store.has_group("validation")
    bare["r"].attrs = {"units": "1", "long_name": "correlation"}
    store.write_dataset("validation", bare)
    assert store.group_complete("validation")
    with pytest.raises(StoreError, match="already complete"):
        store.write_dataset("validation", bare)


def test_states_round_trip(tmp_path):
    store = new_store(tmp_path)
    arrays = {"model__w": np.random.default_rng(0).random((3, 2, 6)), "perturber__day": np.array(7)}
    store.write_state("spinup_state", arrays)
    restored = store.read_state("spinup_state")
    for key, values in arrays.items():
        np.testing.assert_array_equal(restored[key], values)


def test_root_attributes_are_json(tmp_path):
    store = new_store(tmp_path)
    meta = json.loads((store.path / "zarr.json").read_text())
    assert meta["attributes"]["complete"] is False


def test_ensemble_mean_reads_chunk_by_chunk(tmp_path):
    store = new_store(tmp_path)
    values = np.random.default_rng(1).random((10, 3, 2))
    store.write_block("open_loop", 0, {"surface_soil_moisture": values[:4]})
    store.write_block("open_loop", 4, {"surface_soil_moisture": values[4:]})
    store.save_progress("open_loop", 10, None)
    store.finish_run("open_loop")
    mean = store.ensemble_mean("open_loop", "surface_soil_moisture")
    assert mean.dims == ("time", "site") and mean.attrs["units"] == "m3 m-3"
    np.testing.assert_allclose(mean.values, values.mean(axis=1), rtol=0, atol=1e-15)
