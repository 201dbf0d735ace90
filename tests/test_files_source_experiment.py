"""``source: {kind: files}`` end to end: the YAML switches the same containers to real-format files."""

from __future__ import annotations

import numpy as np
import pytest
from files_source_network import write_config, write_network

from s1da.containers.assembly import build_experiment

GROUPS = ("observations", "insitu", "spinup_state", "open_loop", "calibration", "da_wcm", "validation")


@pytest.fixture(scope="module")
def files_store(tmp_path_factory):
    directory = write_network(tmp_path_factory.mktemp("files_source_experiment"))
    experiment = build_experiment(write_config(directory, directory), progress=False)
    return experiment, experiment.run(directory / "files.zarr")


def test_the_store_of_a_files_experiment_is_complete(files_store):
    experiment, store = files_store
    assert store.is_complete
    status = store.groups()
    for group in GROUPS:
        assert status[group]["complete"], group
    assert "truth" not in status  # real data have no truth
    assert "kind: files" in store.attributes["config"]
    assert "s1da site files: 3 sites" in store.attributes["source"]
    open_loop = store.read("open_loop")
    assert open_loop["site"].values.tolist() == [3, 7, 11]
    np.testing.assert_allclose(open_loop["lat"].values, [45.1, 48.3, 52.0])
    assert open_loop.sizes["time"] == 92 and open_loop.sizes["member"] == 8
    assert np.isfinite(open_loop["surface_soil_moisture"].values).all()


def test_files_are_what_reaches_the_filter_and_the_validation(files_store):
    experiment, store = files_store
    period = experiment.period.astype("datetime64[ns]")
    observations = store.read("observations").load()
    expected = experiment.data.observations["backscatter"].sel(time=period)
    np.testing.assert_array_equal(observations["backscatter"].values, expected.values)
    assert (observations["backscatter"].notnull().sum("time") >= 20).all()
    da = store.read("da_wcm")
    analysed = np.isfinite(da["analysis_increment_surface"].values)
    np.testing.assert_array_equal(analysed, np.isfinite(expected.values))  # every observation is assimilated
    insitu = store.read("insitu")["insitu_soil_moisture"].values
    np.testing.assert_array_equal(insitu, experiment.data.insitu.sel(time=period).values)
    validation = store.read("validation/insitu").load()
    assert (validation["n_samples"].values >= 10).all()
    assert np.isfinite(validation["r"].values).all()


def test_forward_simulation_is_stored_under_the_real_site_ids(files_store):
    _, store = files_store
    calibration = store.read("calibration")
    assert calibration["site"].values.tolist() == [3, 7, 11]
    assert np.isfinite(calibration["wcm_simulated_backscatter"].values).any()
