"""Tests of the synthetic twin network: reproducibility, subsets, physical ranges, metadata."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st

from s1da.components.sources.twin import (
    ForcingErrorParameters,
    TwinNetwork,
    WeatherParameters,
    build_network,
)
from s1da.components.sources.twin_land_cover import LAND_COVER_SHARES, draw_land_cover
from s1da.components.sources.twin_random import Substream, yearly_draws
from s1da.components.sources.twin_soils import SOIL_TEXTURES, draw_soils, soil_parameters
from s1da.components.sources.twin_weather import toa_insolation
from s1da.framework.randomness import Purpose

START, END, SEED = "2017-01-01", "2020-01-01", 20220101


@pytest.fixture(scope="module")
def network() -> TwinNetwork:
    return build_network(40, START, END, SEED)


def _datasets(net: TwinNetwork) -> dict[str, xr.Dataset]:
    return {
        "sites": net.sites,
        "true_forcing": net.true_forcing,
        "model_forcing": net.model_forcing,
        "lai": net.lai.to_dataset(),
        "vod": net.vod.to_dataset(),
        "calendar": net.calendar,
        "orbits": net.orbits,
    }


# --- reproducibility and keyed streams -------------------------------------------------------


def test_twin_reproducible_bit_for_bit(network):
    again = build_network(40, START, END, SEED)
    for name, dataset in _datasets(network).items():
        xr.testing.assert_identical(dataset, _datasets(again)[name])
    assert again.entropy == network.entropy == SEED


def test_twin_other_seed_gives_other_network(network):
    other = build_network(40, START, END, SEED + 1)
    assert not np.array_equal(other.true_forcing["precipitation"].values, network.true_forcing["precipitation"].values)
    assert not np.array_equal(other.sites["lat"].values, network.sites["lat"].values)


def test_twin_subset_of_sites_gives_identical_values():
    full = build_network(10, "2018-01-01", "2019-01-01", 7)
    subset = build_network(None, "2018-01-01", "2019-01-01", 7, site_ids=[2, 5])
    for name, dataset in _datasets(subset).items():
        xr.testing.assert_identical(dataset, _datasets(full)[name].sel(site=[2, 5]))
    for name, dataset in _datasets(full.select_sites([5, 2])).items():
        xr.testing.assert_identical(dataset, _datasets(full)[name].sel(site=[5, 2]))


def test_twin_draws_keyed_by_date_not_by_period():
    """LAI has no recursion: the same date gives the same value whatever the period."""
    long = build_network(5, "2017-01-01", "2020-01-01", 3)
    short = build_network(5, "2018-03-01", "2019-06-01", 3)
    xr.testing.assert_identical(long.lai.sel(time=short.lai["time"]), short.lai)


def test_twin_yearly_draws_rejects_unknown_kind():
    with pytest.raises(ValueError, match="unknown draw kind"):
        yearly_draws(1, np.array([0]), Purpose.TWIN_WEATHER, Substream.CLOUDINESS, pd.date_range("2020-01-01", periods=3), "cauchy")


# --- statics ---------------------------------------------------------------------------------


def test_twin_sites_on_european_gradient(network):
    lat, lon = network.sites["lat"].values, network.sites["lon"].values
    assert ((lat >= 36) & (lat <= 65)).all() and ((lon >= -9) & (lon <= 30)).all()
    assert lat.min() < 42 and lat.max() > 58  # the gradient is covered


def test_twin_fractions_sum_to_one(network):
    fractions = np.stack([network.sites[f].values for f in ("f_T", "f_H", "f_B", "f_W")])
    assert ((fractions >= 0) & (fractions <= 1)).all()
    np.testing.assert_allclose(fractions.sum(axis=0), 1.0, atol=1e-12)


def test_twin_tree_cover_has_most_tall_vegetation(network):
    is_tree = network.sites["land_cover"].values == "tree_cover"
    f_T = network.sites["f_T"].values
    assert f_T[is_tree].min() > f_T[~is_tree].max()


def test_twin_land_cover_proportions_match_paper():
    classes = draw_land_cover(5, np.arange(3000))["land_cover"].values
    for name, share in LAND_COVER_SHARES.items():
        assert abs((classes == name).mean() - share) < 0.03, name


def test_twin_soil_parameters_ordered(network):
    sites = network.sites
    for prefix in ("", "truth_"):
        w = [sites[f"{prefix}{n}"].values for n in ("w_r", "w_wp", "w_c", "w_fc", "w_sat")]
        for lower, upper in zip(w[:-1], w[1:]):
            assert (lower < upper).all()
        assert (w[-1] < 0.7).all() and (w[0] > 0).all()
    assert set(sites["texture"].values.tolist()) <= set(SOIL_TEXTURES)
    assert len(set(draw_soils(1, np.arange(300))["texture"].values.tolist())) >= 9  # varied


def test_twin_model_soil_is_table_and_truth_differs(network):
    table = soil_parameters(network.sites["texture"].values)
    model = network.model_statics()
    truth = network.truth_statics()
    for name, values in table.items():
        np.testing.assert_array_equal(model[name].values, values)
        assert not np.array_equal(truth[name].values, values)
    for name in ("f_T", "f_H", "f_B", "f_W", "vod_p01", "vod_p99", "lai_p01", "lai_p99", "texture"):
        np.testing.assert_array_equal(truth[name].values, model[name].values)


def test_twin_soil_parameters_reject_unknown_texture():
    with pytest.raises(KeyError, match="loamy clay"):
        soil_parameters(np.array(["loam / silt", "loamy clay"]))


# --- weather -----------------------------------------------------------------------------------


def test_twin_forcing_ranges(network):
    for forcing in (network.true_forcing, network.model_forcing):
        for name in ("precipitation", "air_temperature", "net_radiation"):
            assert np.isfinite(forcing[name].values).all(), name
        assert (forcing["precipitation"].values >= 0).all()
        assert forcing["precipitation"].max() < 300
        assert (forcing["air_temperature"] > -45).all() and (forcing["air_temperature"] < 45).all()
        assert (forcing["net_radiation"] > -120).all() and (forcing["net_radiation"] < 350).all()


def test_twin_wet_day_fraction_follows_climate(network):
    wet = (network.true_forcing["precipitation"] > 0).mean("time").values
    lat = network.sites["lat"].values
    assert ((wet > 0.08) & (wet < 0.7)).all()
    assert wet[lat < 41].mean() < wet[lat > 50].mean() - 0.1
    annual = network.true_forcing["precipitation"].sum("time").values / 3
    assert ((annual > 250) & (annual < 1500)).all()


def test_twin_net_radiation_seasonal(network):
    monthly = network.true_forcing["net_radiation"].groupby("time.month").mean()
    summer, winter = monthly.sel(month=[6, 7]).mean("month"), monthly.sel(month=[12, 1]).mean("month")
    assert (summer > winter + 50).all()
    north = network.sites["lat"] > 58
    assert north.any() and (winter.where(north, drop=True) < 0).all()
    south = network.sites["lat"] < 42
    assert (winter.where(south, drop=True) > 0).all()


def test_twin_temperature_seasonal_and_latitudinal(network):
    annual = network.true_forcing["air_temperature"].mean("time").values
    lat = network.sites["lat"].values
    assert np.corrcoef(annual, lat)[0, 1] < -0.9
    monthly = network.true_forcing["air_temperature"].groupby("time.month").mean()
    assert (monthly.sel(month=7) > monthly.sel(month=1) + 8).all()


@given(lat=st.floats(-89.9, 89.9), doy=st.integers(1, 366))
def test_twin_toa_insolation_bounds(lat, doy):
    value = toa_insolation(np.array([lat]), np.array([doy]))[0, 0]
    assert 0 <= value <= 1367 * 1.034 * 1.0001  # never above the solar constant at perihelion


def test_twin_toa_insolation_golden():
    # FAO-56 example 8: 20 deg S, 3 September -> Ra = 32.2 MJ m-2 d-1 = 372.7 W m-2
    value = toa_insolation(np.array([-20.0]), np.array([246]))[0, 0]
    assert value == pytest.approx(32.2e6 / 86400, rel=0.005)


# --- model forcing errors ----------------------------------------------------------------------


def test_twin_model_forcing_is_imperfect(network):
    true, model = network.true_forcing, network.model_forcing
    for name in ("precipitation", "air_temperature", "net_radiation"):
        r = np.corrcoef(true[name].values.ravel(), model[name].values.ravel())[0, 1]
        assert 0.5 < r < 0.999, name
    missed = ((true["precipitation"] > 0) & (model["precipitation"] == 0)).sum()
    false_alarm = ((true["precipitation"] == 0) & (model["precipitation"] > 0)).sum()
    assert missed > 0 and false_alarm > 0
    ratio = model["precipitation"].sum("time") / true["precipitation"].sum("time")
    assert np.corrcoef(ratio.values, network.sites["precipitation_bias_factor"].values)[0, 1] > 0.8


def test_twin_perfect_forcing_error_is_identity():
    net = build_network(3, "2019-01-01", "2019-03-01", 1, forcing_error=ForcingErrorParameters.perfect())
    for name in ("precipitation", "air_temperature", "net_radiation"):
        np.testing.assert_array_equal(net.model_forcing[name].values, net.true_forcing[name].values)


@pytest.mark.parametrize(
    "kwargs",
    [{"bias_log_sd": -0.1}, {"miss_probability": 1.5}, {"amount_noise": float("nan")}, {"false_alarm_mean": 0.0}],
)
def test_twin_forcing_error_parameters_validated(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        ForcingErrorParameters(**kwargs)


@pytest.mark.parametrize("kwargs", [{"wet_day_persistence": 1.0}, {"amount_shape": 0.0}, {"cloudiness_sd": -1.0}])
def test_twin_weather_parameters_validated(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        WeatherParameters(**kwargs)


# --- vegetation ----------------------------------------------------------------------------------


def test_twin_lai_and_vod_ranges(network):
    assert (network.lai.values >= 0).all() and (network.lai.values < 8).all()
    assert (network.vod.values > 0).all() and (network.vod.values < 2).all()
    assert (network.sites["vod_p01"] < network.sites["vod_p99"]).all()
    assert (network.sites["lai_p01"] < network.sites["lai_p99"]).all()


def test_twin_lai_seasonality_by_class_and_climate(network):
    lai = network.lai
    cover = network.sites["land_cover"].values
    monthly = lai.groupby("time.month").mean()
    crops = cover == "cropland"
    assert crops.any()
    # crops: a growing-season peak far above the winter bare soil
    assert (monthly.isel(site=crops).max("month") > 4 * monthly.isel(site=crops).sel(month=1)).all()
    # forests are greener than crops in winter
    trees = cover == "tree_cover"
    assert monthly.isel(site=trees).sel(month=1).mean() > monthly.isel(site=crops).sel(month=1).mean()
    # green-up later in the north: day on which deciduous-type LAI passes half its amplitude
    temperate = (cover != "cropland") & (network.sites["mediterranean_index"].values == 0)
    clim = lai.isel(site=temperate).groupby("time.dayofyear").mean()
    half = clim.min("dayofyear") + 0.5 * (clim.max("dayofyear") - clim.min("dayofyear"))
    green_up = (clim > half).argmax("dayofyear").values
    lat = network.sites["lat"].values[temperate]
    assert np.corrcoef(green_up, lat)[0, 1] > 0.5


# --- arguments and metadata ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((0, START, END, 1), {}, "n_sites"),
        ((-3, START, END, 1), {}, "n_sites"),
        ((2.5, START, END, 1), {}, "n_sites"),
        ((2, START, END, -1), {}, "seed"),
        ((2, START, END, 1.5), {}, "seed"),
        ((2, END, START, 1), {}, "start must precede end"),
        ((2, START, START, 1), {}, "start must precede end"),
        ((2, "2017-01-01 06:00", END, 1), {}, "whole days"),
        ((2, "not a date", END, 1), {}, "start/end must be dates"),
        ((None, START, END, 1), {"site_ids": [1, 1]}, "unique"),
        ((None, START, END, 1), {"site_ids": [-1]}, "non-negative"),
        ((None, START, END, 1), {"site_ids": []}, "non-empty"),
        ((None, START, END, 1), {"site_ids": [0.5]}, "integers"),
    ],
)
def test_twin_build_network_rejects_bad_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_network(*args, **kwargs)


def test_twin_select_unknown_site_and_forcing(network):
    with pytest.raises(KeyError, match="999"):
        network.select_sites([1, 999])
    with pytest.raises(KeyError, match="perturbed"):
        network.forcing_day(0, "perturbed")


def test_twin_forcing_day(network):
    day = network.forcing_day(10)
    assert set(day) == {"precipitation", "air_temperature", "net_radiation", "lai", "vod"}
    assert all(v.shape == (network.n_sites,) for v in day.values())
    np.testing.assert_array_equal(network.forcing_day(10, "true")["precipitation"], network.true_forcing["precipitation"].values[10])


def test_twin_every_variable_has_cf_metadata(network):
    for name, dataset in _datasets(network).items():
        for var in dataset.data_vars:
            assert "units" in dataset[var].attrs and "long_name" in dataset[var].attrs, (name, var)
        for coord in ("lat", "lon"):
            assert coord in dataset.coords and dataset[coord].attrs["units"].startswith("degrees"), (name, coord)


def test_twin_paper_sized_network_builds():
    """The paper-sized network builds (timing is in benchmarks/twin.md, never asserted)."""
    net = build_network(139, "2017-01-01", "2020-01-01", 1)
    assert net.true_forcing["precipitation"].shape == (1095, 139)


@pytest.fixture(scope="module")
def small_network() -> TwinNetwork:
    return build_network(4, "2019-01-01", "2019-07-01", 11)


@given(
    bias=st.floats(0.0, 1.0),
    miss=st.floats(0.0, 1.0),
    false_alarm=st.floats(0.0, 1.0),
    noise=st.floats(0.0, 2.0),
)
def test_twin_model_precipitation_non_negative_and_no_rain_from_nothing(small_network, bias, miss, false_alarm, noise):
    from s1da.components.sources.twin_forcing_error import degrade_forcing, draw_forcing_biases

    parameters = ForcingErrorParameters(
        bias_log_sd=bias, miss_probability=miss, false_alarm_probability=false_alarm, amount_noise=noise
    )
    site_ids = small_network.site_ids
    biases = draw_forcing_biases(small_network.entropy, site_ids, parameters).assign_coords(site=site_ids)
    model = degrade_forcing(small_network.true_forcing, small_network.entropy, parameters, biases)
    precipitation = model["precipitation"].values
    assert np.isfinite(precipitation).all() and (precipitation >= 0).all()
    if false_alarm == 0:
        assert (precipitation[small_network.true_forcing["precipitation"].values == 0] == 0).all()
