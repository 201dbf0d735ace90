"""The twin's OSSE calibration: speckle of a multi-look average, real-data preprocessing, statistics."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from s1da.components.sources.twin import TruthBackscatterParameters, build_network, simulate_backscatter
from s1da.components.sources.twin_osse import COLLAPSED_SPREAD, PAPER, osse_statistics, osse_table
from s1da.components.sources.twin_sentinel1 import acquisition_table, observe_backscatter, speckle_sd_db


def test_speckle_sd_golden_values():
    # single look: 10 log10 of an exponential variable has SD (10 / ln 10) pi / sqrt(6) = 5.57 dB
    np.testing.assert_allclose(speckle_sd_db(1), 10 / np.log(10) * np.pi / np.sqrt(6), rtol=1e-12)
    # many looks: about 4.34 / sqrt(L); a 1 km average of ~2,000 looks is below 0.1 dB
    np.testing.assert_allclose(speckle_sd_db(2000), 10 / np.log(10) / np.sqrt(2000), rtol=1e-3)
    assert speckle_sd_db(2000) < 0.1


def test_speckle_sd_matches_simulated_gamma_average():
    rng = np.random.default_rng(1)
    looks = 50
    average = rng.gamma(looks, 1.0 / looks, size=200_000)
    np.testing.assert_allclose(np.std(10 * np.log10(average)), speckle_sd_db(looks), rtol=0.01)


@pytest.fixture(scope="module")
def simulated():
    network = build_network(6, "2016-01-01", "2018-01-01", 5)
    truth = xr.full_like(network.lai, 0.2) + 0.05 * np.sin(np.arange(len(network.times)) / 20.0)[:, None]
    quiet = TruthBackscatterParameters(speckle_scale=0.0, structure_noise_sd=0.0)
    return network, simulate_backscatter(network, truth, quiet, apply_masks=False)


def test_twin_s1_goes_through_the_real_preprocessing(simulated):
    network, raw = simulated
    table = acquisition_table(raw)
    assert len(table) == int(network.calendar["acquired"].values.sum())
    processed = observe_backscatter(network, raw)
    assert processed["backscatter"].attrs["units"] == "dB"
    values = processed["backscatter"].values
    masked = network.masks()["any"].values
    assert np.isnan(values[masked]).all()
    # after orbit normalisation every orbit's mean is the site's mean (they differed by the
    # offsets and the incidence-angle effect before); the masks and the outlier screen ran first
    raw_values = raw["backscatter_unmasked"].values
    for index in range(network.n_sites):
        kept = np.isfinite(values[:, index])
        orbits = processed["orbit"].values[kept, index]
        after = [values[kept, index][orbits == o].mean() for o in np.unique(orbits)]
        before = [raw_values[kept, index][orbits == o].mean() for o in np.unique(orbits)]
        assert np.ptp(after) < 1e-9 < 0.05 < np.ptp(before)
    steps = [step["step"] for step in __import__("json").loads(processed.attrs["preprocessing_steps"])]
    assert steps == ["spatial_average", "masks", "outliers", "orbit_bias"]


def test_sensing_depth_is_a_truth_parameter(simulated):
    network, _ = simulated
    truth = xr.full_like(network.lai, 0.25)
    shallow = simulate_backscatter(network, truth, TruthBackscatterParameters(sensing_depth=0.05))
    deep = simulate_backscatter(network, truth, TruthBackscatterParameters(sensing_depth=0.10))
    np.testing.assert_allclose(deep["sensed_soil_moisture"].values, 0.25)
    assert not np.allclose(shallow["sensed_soil_moisture"].values, 0.25)
    with pytest.raises(ValueError, match="sensing_depth"):
        TruthBackscatterParameters(sensing_depth=0.2)
    with pytest.raises(ValueError, match="record_start"):
        TruthBackscatterParameters(record_start="not a date")
    with pytest.raises(ValueError, match="soil_sensitivity"):
        TruthBackscatterParameters(soil_sensitivity=(10.0, 5.0))
    with pytest.raises(ValueError, match="looks"):
        TruthBackscatterParameters(looks=0.5)


class FakeStore:
    def __init__(self, groups):
        self.groups = groups

    def has_group(self, name):
        return name in self.groups

    def read(self, name):
        return self.groups[name]


def _fake_store(n_time=200, n_site=4, n_member=16, spread=0.01):
    rng = np.random.default_rng(3)
    times = pd.date_range("2018-01-01", periods=n_time)
    sites = np.arange(n_site)
    on_s1 = (np.arange(n_time) % 3 == 0)[:, None] & np.ones(n_site, bool)
    sm = 0.25 + 0.05 * np.sin(np.arange(n_time) / 15.0)[:, None] + np.zeros(n_site)
    s1 = np.where(on_s1, -10 + 10 * (sm - 0.25) + rng.normal(0, 0.5, sm.shape), np.nan)
    members = sm[:, None, :] + spread * rng.standard_normal((n_time, n_member, n_site))
    members[:, :, 0] = sm[:, None, 0] + 0.0005 * rng.standard_normal((n_time, n_member))  # collapsed site
    dims = ("time", "site")
    coords = {"time": times, "site": sites}
    return FakeStore(
        {
            "observations": xr.Dataset({"backscatter": (dims, s1)}, coords=coords),
            "calibration": xr.Dataset({"wcm_simulated_backscatter": (dims, -10 + 10 * (sm - 0.25))}, coords=coords),
            "open_loop": xr.Dataset({"surface_soil_moisture": (("time", "member", "site"), members)}, coords=coords),
            "truth": xr.Dataset({"surface_soil_moisture": (dims, sm), "s1_noise_variance": ("site", np.full(n_site, 0.25))}, coords=coords),
        }
    ), on_s1, s1, sm


def test_osse_statistics_from_a_store():
    store, on_s1, s1, sm = _fake_store()
    stats = osse_statistics(store, min_samples=10)
    np.testing.assert_allclose(stats["s1_temporal_sd"].values, np.nanstd(s1, axis=0, ddof=1))
    simulated = -10 + 10 * (sm - 0.25)
    rmsd = np.sqrt(np.nanmean((simulated - s1) ** 2, axis=0))
    np.testing.assert_allclose(stats["wcm_fit_rmsd"].values, rmsd)
    assert stats["collapsed_spread_share"].values[0] == 1.0
    np.testing.assert_allclose(stats["collapsed_spread_share"].values[1:], 0.0, atol=0.05)
    np.testing.assert_allclose(stats["open_loop_spread_s1_days"].values[1:], 0.01, rtol=0.3)
    np.testing.assert_allclose(stats.attrs["share_collapsed_s1_days"], 0.25, atol=0.02)
    assert stats.attrs["n_s1_days"] == int(on_s1.sum())
    assert (stats["r_open_loop_s1"].values > 0.3).all()
    np.testing.assert_allclose(stats["r_open_loop_truth"].values[1:], 1.0, atol=0.05)
    for name in stats.data_vars:
        assert {"units", "long_name"} <= set(stats[name].attrs)
    rows = {row[0]: row for row in osse_table(stats)}
    assert rows["temporal SD of S1"][2] == PAPER["s1_temporal_sd"]
    assert COLLAPSED_SPREAD == 0.002


def test_bootstrap_interval_covers_the_mean_and_shrinks_with_sites():
    from s1da.components.sources.twin_osse import bootstrap_interval

    rng = np.random.default_rng(0)
    small = rng.normal(0.01, 0.02, 30)
    large = rng.normal(0.01, 0.02, 600)
    low, high = bootstrap_interval(small, np.mean, n_resamples=500)
    assert low < small.mean() < high
    wide, narrow = high - low, np.subtract(*bootstrap_interval(large, np.mean, n_resamples=500)[::-1])
    assert narrow < wide
    # normal theory: half-width about 1.96 SD / sqrt(n)
    np.testing.assert_allclose(wide / 2, 1.96 * small.std(ddof=1) / np.sqrt(30), rtol=0.25)
    assert np.isnan(bootstrap_interval(np.full(3, np.nan), np.mean)[0])


def test_results_table_reads_the_tidy_validation_tables():
    from s1da.components.sources.twin_osse import results_table

    cell = {"mean_delta_r": 0.01, "mean_delta_r_low": 0.004, "mean_delta_r_high": 0.016, "percent_improved": 70.0,
            "percent_improved_low": 55.0, "percent_improved_high": 85.0}
    network = xr.Dataset(
        {name: (("reference", "run"), np.full((2, 1), value)) for name, value in cell.items()},
        coords={"reference": ["insitu", "truth"], "run": ["da_wcm"]},
    )
    increments = xr.Dataset({"mean_abs_increment": (("run", "site"), [[0.001, 0.003]])}, coords={"run": ["da_wcm"], "site": [0, 1]})
    store = FakeStore({"validation": xr.Dataset(), "validation/network": network, "validation/increments": increments})
    row = results_table(store)["wcm"]
    assert row["mean_delta_r_insitu"] == 0.01 and row["mean_delta_r_truth_ci"] == (0.004, 0.016)
    assert row["percent_improved_insitu_ci"] == (55.0, 85.0)
    assert row["mean_abs_increment"] == pytest.approx(0.002)
    assert 0.001 <= row["mean_abs_increment_ci"][0] <= row["mean_abs_increment_ci"][1] <= 0.003
