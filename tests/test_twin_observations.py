"""Tests of the twin's truth run, Sentinel-1 calendar, truth backscatter, masks and in-situ data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from s1da.components.sources.twin import (
    InsituParameters,
    SurfaceLayerParameters,
    TruthBackscatterParameters,
    build_network,
    run_truth,
    simulate_backscatter,
    simulate_insitu,
)
from s1da.components.sources.twin_sentinel1 import truth_backscatter_db
from s1da.components.sources.twin_surface_layer import shallow_soil_moisture
from s1da.framework.interfaces import LandModel

LAYER_DEPTH = 100.0  # mm


class BucketModel(LandModel):
    """A two-layer bucket standing in for GLEAM: P in, Priestley-Taylor-like E out, drainage."""

    def __init__(self, statics: xr.Dataset):
        self.statics = statics
        self.w_sat = statics["w_sat"].values
        self.w_fc = statics["w_fc"].values
        self.w_wp = statics["w_wp"].values

    def initial_state(self, n_members):
        top = np.broadcast_to(self.w_fc, (n_members, len(self.w_fc))).copy()
        return {"layers": np.stack([top, top], axis=-1)}

    def step(self, state, forcing):
        layers = state["layers"].copy()
        storage_before = layers.sum(-1) * LAYER_DEPTH
        stress = np.clip((layers[..., 0] - self.w_wp) / (self.w_fc - self.w_wp), 0, 1)
        potential = np.maximum(forcing["net_radiation"], 0.0) * 86400 / 2.45e6
        evaporation = np.minimum(stress * potential, np.maximum(layers[..., 0] - self.w_wp, 0) * LAYER_DEPTH)
        top = layers[..., 0] * LAYER_DEPTH - evaporation + forcing["precipitation"]
        to_second = np.maximum(top - self.w_fc * LAYER_DEPTH, 0.0)
        second = layers[..., 1] * LAYER_DEPTH + to_second
        drainage = np.maximum(second - self.w_fc * LAYER_DEPTH, 0.0) * 0.5
        layers = np.stack([top - to_second, second - drainage], axis=-1) / LAYER_DEPTH
        fluxes = {
            "total_water_storage": layers.sum(-1) * LAYER_DEPTH,
            "precipitation": forcing["precipitation"],
            "total_evaporation": evaporation,
            "deep_drainage": drainage,
            "surface_runoff": np.zeros_like(drainage),
        }
        assert np.allclose(fluxes["total_water_storage"] - storage_before, forcing["precipitation"] - evaporation - drainage)
        return {"layers": layers}, fluxes

    def surface_soil_moisture(self, state):
        return state["layers"][..., 0]

    def analysis_variables(self, state):
        return np.moveaxis(state["layers"][..., :1], 0, 1)

    def set_analysis_variables(self, state, values):
        raise NotImplementedError


@pytest.fixture(scope="module")
def network():
    return build_network(25, "2020-06-01", "2022-06-01", 99)


@pytest.fixture(scope="module")
def truth(network):
    return run_truth(network, BucketModel, spinup_years=1)


@pytest.fixture(scope="module")
def observations(network, truth):
    return simulate_backscatter(network, truth["surface_soil_moisture"])


# --- truth run ---------------------------------------------------------------------------------


def test_twin_run_truth_shapes_and_bounds(network, truth):
    sm = truth["surface_soil_moisture"]
    assert sm.dims == ("time", "site") and sm.shape == (len(network.times), network.n_sites)
    assert sm.attrs["units"] == "m3 m-3" and "lat" in sm.coords
    assert (sm.values > 0).all() and (sm.values <= network.sites["truth_w_sat"].values).all()
    layers = truth["state_layers"]
    assert layers.dims == ("time", "site", "layers_dim2") and layers.shape[-1] == 2
    np.testing.assert_array_equal(layers.values[..., 0], sm.values)
    assert "flux_deep_drainage" in truth and truth["flux_deep_drainage"].dims == ("time", "site")


def test_twin_run_truth_uses_truth_statics_and_true_forcing(network):
    received = {}

    def factory(statics):
        received["statics"] = statics
        return BucketModel(statics)

    run_truth(network, factory, spinup_years=0)
    np.testing.assert_array_equal(received["statics"]["w_fc"].values, network.sites["truth_w_fc"].values)
    model_run = run_truth(network, BucketModel, spinup_years=0, statics="model")
    truth_run = run_truth(network, BucketModel, spinup_years=0)
    assert not np.array_equal(model_run["surface_soil_moisture"].values, truth_run["surface_soil_moisture"].values)


def test_twin_run_truth_spinup_changes_initial_days(network, truth):
    cold = run_truth(network, BucketModel, spinup_years=0)
    first = slice(0, 5)
    assert not np.allclose(cold["surface_soil_moisture"].values[first], truth["surface_soil_moisture"].values[first])


def test_twin_run_truth_rejects_bad_arguments(network):
    with pytest.raises(ValueError, match="spinup_years"):
        run_truth(network, BucketModel, spinup_years=-1)
    with pytest.raises(KeyError, match="perturbed"):
        run_truth(network, BucketModel, statics="perturbed")
    with pytest.raises(TypeError, match="LandModel"):
        run_truth(network, lambda statics: object())


def test_twin_run_truth_rejects_bad_model_output(network):
    class NaNModel(BucketModel):
        def surface_soil_moisture(self, state):
            values = super().surface_soil_moisture(state).copy()
            values[:, 3] = np.nan
            return values

    class WrongShape(BucketModel):
        def surface_soil_moisture(self, state):
            return super().surface_soil_moisture(state)[0]

    site = network.site_ids[3]
    with pytest.raises(ValueError, match=rf"non-finite surface soil moisture .* sites \[{site}\]"):
        run_truth(network, NaNModel, spinup_years=0)
    with pytest.raises(ValueError, match="shaped"):
        run_truth(network, WrongShape, spinup_years=0)


# --- Sentinel-1 calendar -------------------------------------------------------------------------


def test_twin_calendar_repeat_and_orbits():
    net = build_network(30, "2021-01-01", "2023-01-01", 5)
    calendar, orbits = net.calendar, net.orbits
    assert (orbits["n_orbits"] >= 2).all() and (orbits["n_orbits"] <= 5).all()
    for site in net.site_ids:
        used = orbits["relative_orbit"].sel(site=site).values
        used = used[used > 0]
        directions = set(orbits["orbit_direction"].sel(site=site).values.tolist()) - {""}
        assert directions == {"ascending", "descending"}
        for orbit in used:
            days = net.times[calendar["relative_orbit"].sel(site=site).values == orbit]
            gaps = np.diff(days).astype("timedelta64[D]").astype(int)
            in_s1b_era = days[1:] <= pd.Timestamp("2021-12-23")
            assert set(gaps[in_s1b_era].tolist()) <= {6}
            after = days[:-1] > pd.Timestamp("2021-12-23")
            assert set(gaps[after].tolist()) == {12}
    platform = calendar["platform"]
    assert (platform.where(calendar["acquired"], 0) > 0).sum() == calendar["acquired"].sum()
    assert ((platform == 2).sel(time=slice("2022-01-01", None)) == 0).all()  # no S1B after its failure


def test_twin_calendar_empty_before_sentinel1():
    net = build_network(3, "2013-01-01", "2014-10-03", 5)
    assert not net.calendar["acquired"].any()


def test_twin_incidence_angles_per_orbit(network):
    cal = network.calendar
    angles = cal["incidence_angle"].values[cal["acquired"].values]
    assert ((angles >= 30) & (angles <= 45)).all()
    assert np.isnan(cal["incidence_angle"].values[~cal["acquired"].values]).all()


# --- truth backscatter and masks -----------------------------------------------------------------


def test_twin_backscatter_only_on_acquisitions(network, observations):
    acquired = network.calendar["acquired"].values
    assert np.isnan(observations["backscatter"].values[~acquired]).all()
    assert (observations["orbit"].values[~acquired] == 0).all()
    values = observations["backscatter"].values[np.isfinite(observations["backscatter"].values)]
    assert values.size > 0 and (values > -30).all() and (values < 0).all()
    assert observations["backscatter"].attrs["units"] == "dB"


def test_twin_masks_remove_frozen_snow_heavy_rain(network, observations):
    masks = network.masks()
    forcing = network.true_forcing
    expected = (forcing["air_temperature"] < 1.5) | (forcing["snow_water_equivalent"] > 0) | (forcing["precipitation"] > 40)
    xr.testing.assert_equal(masks["any"].drop_vars(["lat", "lon"]), expected.drop_vars(["lat", "lon"]))
    acquired = network.calendar["acquired"].values
    masked = masks["any"].values & acquired
    assert masked.any() and (~masked & acquired).any()
    assert np.isnan(observations["backscatter"].values[masked]).all()
    assert np.isfinite(observations["backscatter_unmasked"].values[masked]).all()
    assert np.isfinite(observations["backscatter"].values[~masked & acquired]).all()
    np.testing.assert_array_equal(observations["masked"].values, masked)
    unmasked = simulate_backscatter(network, observations["surface_layer_soil_moisture"] * 0 + 0.2, apply_masks=False)
    assert np.isfinite(unmasked["backscatter"].values[masked]).all()


def test_twin_backscatter_reproducible_and_subset_independent(network, truth, observations):
    again = simulate_backscatter(network, truth["surface_soil_moisture"])
    xr.testing.assert_identical(again, observations)
    pick = network.site_ids[[3, 7]]
    part = simulate_backscatter(network.select_sites(pick), truth["surface_soil_moisture"].sel(site=pick))
    xr.testing.assert_identical(part, observations.sel(site=pick))


def test_twin_truth_backscatter_is_not_a_wcm_of_the_10cm_layer(network, truth):
    quiet = TruthBackscatterParameters(speckle_scale=0.0, structure_noise_sd=0.0)
    clean = simulate_backscatter(network, truth["surface_soil_moisture"], quiet, apply_masks=False)
    incidence = network.calendar["incidence_angle"].values
    wcm_10cm = truth_backscatter_db(truth["surface_soil_moisture"].values, network.lai.values, incidence, network.sites)
    noise_free = clean["backscatter_noise_free"].values
    correlations = []
    for site in range(network.n_sites):
        ok = np.isfinite(noise_free[:, site])
        correlations.append(np.corrcoef(noise_free[ok, site], wcm_10cm[ok, site])[0, 1])
    assert np.median(correlations) < 0.99
    # speckle and orbit offsets on top
    noisy = simulate_backscatter(network, truth["surface_soil_moisture"], apply_masks=False)
    residual = (noisy["backscatter"] - clean["backscatter"]).values
    spread = np.nanstd(residual)
    assert 0.5 < spread < 1.5


def test_twin_orbit_offsets_differ_between_orbits(network, truth):
    quiet = TruthBackscatterParameters(speckle_scale=0.0, structure_noise_sd=0.0)
    clean = simulate_backscatter(network, truth["surface_soil_moisture"], quiet, apply_masks=False)
    offset = (clean["backscatter"] - clean["backscatter_noise_free"]).values
    site = 0
    slots = network.calendar["orbit_slot"].values[:, site]
    expected = network.orbits["orbit_offset"].values[site]
    for slot in np.unique(slots[slots >= 0]):
        np.testing.assert_allclose(offset[slots == slot, site], expected[slot], atol=1e-9)


def test_twin_backscatter_rejects_bad_soil_moisture(network, truth):
    sm = truth["surface_soil_moisture"]
    bad = sm.copy()
    bad[5, 4] = np.nan
    with pytest.raises(ValueError, match=rf"non-finite values at sites \[{network.site_ids[4]}\]"):
        simulate_backscatter(network, bad)
    with pytest.raises(ValueError, match="outside"):
        simulate_backscatter(network, sm * 100)
    with pytest.raises(ValueError, match="shaped"):
        simulate_backscatter(network, sm.values[:, :3])
    with pytest.raises(ValueError, match="site ids"):
        simulate_backscatter(network, sm.assign_coords(site=sm["site"].values + 1000))
    with pytest.raises(ValueError, match="dims"):
        simulate_backscatter(network, sm.rename(site="station"))
    with pytest.raises(ValueError, match="time coordinate"):
        simulate_backscatter(network, sm.assign_coords(time=sm["time"].values + np.timedelta64(1, "D")))


@pytest.mark.parametrize(
    "kwargs", [{"speckle_scale": -1.0}, {"structure_noise_sd": float("inf")}, {"structure_noise_autocorrelation": 1.0}]
)
def test_twin_backscatter_parameters_validated(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        TruthBackscatterParameters(**kwargs)


# --- surface layer proxy -------------------------------------------------------------------------


@given(
    data=hnp.arrays(np.float64, (30, 3), elements=st.floats(0.0, 1.0)),
    rain=hnp.arrays(np.float64, (30, 3), elements=st.floats(0.0, 120.0)),
)
def test_twin_shallow_layer_within_bounds(data, rain):
    residual, saturation = np.array([0.02, 0.05, 0.1]), np.array([0.38, 0.45, 0.48])
    theta10 = residual + (saturation - residual) * data
    shallow = shallow_soil_moisture(theta10, rain, residual, saturation)
    assert (shallow >= residual - 1e-15).all() and (shallow <= saturation + 1e-15).all()


@given(data=hnp.arrays(np.float64, (20, 2), elements=st.floats(0.0, 1.0)))
def test_twin_shallow_layer_drier_without_rain(data):
    residual, saturation = np.array([0.03, 0.1]), np.array([0.4, 0.46])
    theta10 = residual + (saturation - residual) * data
    shallow = shallow_soil_moisture(theta10, np.zeros_like(theta10), residual, saturation)
    assert (shallow <= theta10 + 1e-15).all()


@pytest.mark.parametrize("kwargs", [{"drying_time": 0.0}, {"drying_depth": 1.5}, {"layer_depth": -5.0}])
def test_twin_surface_layer_parameters_validated(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        SurfaceLayerParameters(**kwargs)


# --- in situ -------------------------------------------------------------------------------------


def test_twin_insitu_has_gaps_and_tracks_truth(network, truth):
    insitu = simulate_insitu(network, truth["surface_soil_moisture"])
    assert insitu.dims == ("time", "site") and insitu.attrs["units"] == "m3 m-3"
    values = insitu.values
    missing = np.isnan(values)
    assert 0.02 < missing.mean() < 0.6
    # outages of a week or more exist somewhere
    longest = 0
    for site in range(values.shape[1]):
        run = 0
        for gap in missing[:, site]:
            run = run + 1 if gap else 0
            longest = max(longest, run)
    assert longest >= 7
    finite = values[~missing]
    assert (finite >= 0.01).all() and (finite <= 0.6).all()
    r = [
        np.corrcoef(values[~missing[:, s], s], truth["surface_soil_moisture"].values[~missing[:, s], s])[0, 1]
        for s in range(values.shape[1])
    ]
    assert np.median(r) > 0.6 and max(r) < 0.9999
    frozen = network.true_forcing["air_temperature"].values < 0
    assert missing[frozen].all()


def test_twin_insitu_reproducible_and_subset_independent(network, truth):
    full = simulate_insitu(network, truth["surface_soil_moisture"])
    xr.testing.assert_identical(full, simulate_insitu(network, truth["surface_soil_moisture"]))
    pick = network.site_ids[[1, 9]]
    part = simulate_insitu(network.select_sites(pick), truth["surface_soil_moisture"].sel(site=pick))
    xr.testing.assert_identical(part, full.sel(site=pick))


def test_twin_insitu_without_gaps_or_noise(network, truth):
    clean = InsituParameters(noise_sd=0.0, outages_per_year=0.0, dropout_probability=0.0, frozen_threshold=-100.0)
    insitu = simulate_insitu(network, truth["surface_soil_moisture"], clean)
    assert np.isfinite(insitu.values).all()
    deep = network.sites["insitu_sensor_depth"].values > 0.075
    expected = network.sites["insitu_bias"].values + network.sites["insitu_scale"].values * truth["surface_soil_moisture"].values
    np.testing.assert_allclose(insitu.values[:, deep], np.clip(expected, 0.01, 0.6)[:, deep])


@pytest.mark.parametrize("kwargs", [{"noise_sd": -0.1}, {"noise_autocorrelation": 1.0}, {"outages_per_year": float("nan")}])
def test_twin_insitu_parameters_validated(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        InsituParameters(**kwargs)


def test_twin_insitu_rejects_bad_soil_moisture(network, truth):
    bad = truth["surface_soil_moisture"].values.copy()
    bad[0, 0] = -0.1
    with pytest.raises(ValueError, match=rf"outside \[0, 1\] m3 m-3 at sites \[{network.site_ids[0]}\]"):
        simulate_insitu(network, bad)


def test_twin_observation_outputs_have_cf_metadata(network, truth, observations):
    insitu = simulate_insitu(network, truth["surface_soil_moisture"])
    for dataset in (truth, observations, insitu.to_dataset()):
        for name in dataset.data_vars:
            assert {"units", "long_name"} <= set(dataset[name].attrs), name
        assert {"time", "site", "lat", "lon"} <= set(dataset.coords)
