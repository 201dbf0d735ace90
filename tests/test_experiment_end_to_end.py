"""End to end on a tiny twin network: structure, CF metadata, closure, DA effect, reproducibility."""

import numpy as np
import pytest
import zarr
from tiny_experiment import TINY_YAML, write_tiny_config

from s1da.components.operators import WaterCloudModel
from s1da.containers.assembly import build_experiment
from s1da.framework.experiment import operator_dataset
from s1da.framework.store import EnsembleStore

GROUPS = ("open_loop", "da_wcm", "da_svr", "calibration", "validation", "observations", "insitu", "truth")


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tiny")
    experiment = build_experiment(write_tiny_config(directory), progress=False)
    return experiment.run(directory / "tiny.zarr")


def test_store_structure_and_cf_attributes(tiny_store):
    assert tiny_store.is_complete
    status = tiny_store.groups()
    for group in GROUPS:
        assert status[group]["complete"], group
    root = tiny_store.attributes
    assert root["seed_entropy"] == "7" and root["s1da_version"] and "kind: gleam" in root["config"]
    for group in GROUPS:
        ds = tiny_store.read(group)
        for name, variable in {**ds.data_vars, **ds.coords}.items():
            if name in ds.dims and name != "time":
                continue
            if name == "time":
                assert variable.attrs.get("standard_name") == "time" or "units" in variable.encoding
                continue
            assert variable.attrs.get("units") is not None, (group, name)
            assert variable.attrs.get("long_name"), (group, name)
    open_loop = tiny_store.read("open_loop")
    assert open_loop["surface_soil_moisture"].dims == ("time", "member", "site")
    assert open_loop["member"].attrs["standard_name"] == "realization"
    assert {"lat", "lon"} <= set(open_loop.coords)


@pytest.mark.parametrize("run", ["open_loop", "da_wcm", "da_svr"])
def test_water_balance_closes_from_the_store(tiny_store, run):
    ds = tiny_store.read(run).load()
    storage = ds["total_water_storage"].values
    net = (ds["precipitation"] - ds["total_evaporation"] - ds["deep_drainage"] - ds["surface_runoff"]).values
    if "analysis_increment" in ds:
        net = net + np.nan_to_num(ds["analysis_increment"].values)
    residual = np.diff(storage, axis=0) - net[1:]
    assert np.abs(residual).max() < 1e-9


def test_da_runs_analyse_and_stay_within_bounds(tiny_store):
    for run in ("da_wcm", "da_svr"):
        ds = tiny_store.read(run)
        analysed = np.isfinite(ds["analysis_increment_surface"].values)
        assert analysed.sum() > 10
        sm = ds["layer_soil_moisture"].values
        assert np.isfinite(sm).all() and (sm >= 0).all() and (sm <= 0.6).all()


def test_analysis_moves_toward_the_observations(tiny_store):
    """Innovation variance decreases from forecast to analysis (WCM re-predicted from the store)."""
    operator = WaterCloudModel.from_dataset(operator_dataset(tiny_store.read("calibration").load(), "wcm"))
    da = tiny_store.read("da_wcm").load()
    obs = tiny_store.read("observations")["backscatter"].values
    lai = tiny_store.read("observations")["lai"].values
    forecast = da["forecast_surface_soil_moisture"].mean("member").values
    analysis = da["analysis_surface_soil_moisture"].mean("member").values
    days = np.isfinite(forecast) & np.isfinite(obs)
    forecast_innovation = (obs - operator.predict({"soil_moisture": np.nan_to_num(forecast), "lai": lai}))[days]
    analysis_innovation = (obs - operator.predict({"soil_moisture": np.nan_to_num(analysis), "lai": lai}))[days]
    assert np.mean(analysis_innovation**2) < np.mean(forecast_innovation**2)


def test_same_seed_gives_a_bit_identical_store(tiny_store, tmp_path):
    again = build_experiment(write_tiny_config(tmp_path), progress=False).run(tmp_path / "again.zarr")
    assert_stores_identical(tiny_store, again)


def assert_stores_identical(first: EnsembleStore, second: EnsembleStore) -> None:
    a = zarr.open_group(str(first.path), mode="r")
    b = zarr.open_group(str(second.path), mode="r")
    assert dict(a.attrs) == dict(b.attrs)
    arrays_a = dict(a.arrays())
    for name, group in a.groups():
        other = b[name]
        assert dict(group.attrs) == dict(other.attrs), name
        assert sorted(k for k, _ in group.arrays()) == sorted(k for k, _ in other.arrays()), name
        for key, array in group.arrays():
            np.testing.assert_array_equal(array[...], other[key][...], err_msg=f"{name}/{key}")
    assert not arrays_a


def test_stored_innovations_match_observations_and_predictions(tiny_store):
    da = tiny_store.read("da_svr").load()
    obs = tiny_store.read("observations")["backscatter"].values
    expected = obs - da["predicted_backscatter"].mean("member").values
    stored = da["innovation"].values
    analysed = np.isfinite(stored)
    assert analysed.sum() > 10
    np.testing.assert_allclose(stored[analysed], expected[analysed], rtol=0, atol=1e-10)
    assert np.isnan(expected[~analysed & np.isfinite(da["analysis_increment_surface"].values)]).all()
    ratio = da["normalised_innovation"].values[analysed] / stored[analysed]
    assert (ratio > 0).all()  # same sign, divided by a positive spread


def test_stochastic_enkf_draws_keyed_streams_reproducibly(tmp_path):
    """The perturbed-observation EnKF gets one keyed generator per site: same seed, same store."""
    text = TINY_YAML.replace("kind: denkf", "kind: enkf").replace("end: 2018-07-31", "end: 2018-05-31")
    text = text[: text.index("  svr:")] + text[text.index("filter:") :]
    stores = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        experiment = build_experiment(write_tiny_config(tmp_path / name, text), progress=False)
        stores.append(experiment.run(tmp_path / name / "s.zarr"))
    first, second = (store.read("da_wcm").load() for store in stores)
    assert np.isfinite(first["analysis_increment_surface"].values).sum() > 5
    np.testing.assert_array_equal(first["surface_soil_moisture"].values, second["surface_soil_moisture"].values)
    assert stores[0].read("open_loop").attrs["operator"] == "none"


def test_a_subset_of_sites_reproduces_those_sites(tiny_store, tmp_path):
    """docs/architecture.md "Scaling": every random stream is keyed by site, every analysis is local, so a
    run of sites {1, 2} alone gives, bit for bit, what the 3-site run gave for them."""
    text = TINY_YAML.replace("  n_sites: 3", "  n_sites: 3\n  site_ids: [1, 2]")
    subset = build_experiment(write_tiny_config(tmp_path, text), progress=False).run(tmp_path / "subset.zarr")
    for run in ("open_loop", "da_wcm", "da_svr"):
        full = tiny_store.read(run)["surface_soil_moisture"].sel(site=[1, 2]).values
        part = subset.read(run)["surface_soil_moisture"].values
        np.testing.assert_array_equal(part, full, err_msg=run)
    full_obs = tiny_store.read("observations")["backscatter"].sel(site=[1, 2]).values
    np.testing.assert_array_equal(subset.read("observations")["backscatter"].values, full_obs)


def test_groups_open_without_warnings_and_every_dimension_is_named(tiny_store):
    import warnings

    import xarray as xr

    from s1da.framework import ensemble_mean, open_store

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # consolidated metadata is there once the store is finished
        for group in ("open_loop", "da_wcm", "observations", "validation/insitu", "validation/network"):
            xr.open_zarr(tiny_store.path, group=group).close()
        tree = xr.open_datatree(tiny_store.path, engine="zarr")
    assert set(tree["spinup_state"].dims) >= {"member", "site", "layer"}
    assert not [dim for dim in tree["spinup_state"].dims if dim.startswith("model__")]
    frame = tree["validation/insitu"].to_dataset().to_dataframe()
    assert set(frame.index.names) == {"run", "site"} and len(frame) == 3 * 3 and not frame.isna().any().any()
    assert ensemble_mean(open_store(tiny_store.path), "da_svr").sizes["site"] == 3
