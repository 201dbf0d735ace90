"""Tests of s1da.framework.metrics (docs/model/validation.md e)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from s1da.framework import metrics

X = np.array([1.0, 2.0, 3.0, 4.0])
Y = np.array([2.0, 1.0, 4.0, 3.0])


# --- golden values on hand-computed arrays --------------------------------------------------------
def test_golden_tiny_arrays():
    # x - y = (-1, 1, -1, 1): bias 0, RMSD 1, ubRMSD 1.
    # anomalies x: (-1.5, -0.5, 0.5, 1.5), y: (-0.5, -1.5, 1.5, 0.5); sum xy = 0.75+0.75+0.75+0.75 = 3,
    # sum x^2 = sum y^2 = 5 => R = 0.6
    assert metrics.pearson_r(X, Y, min_samples=1) == pytest.approx(0.6)
    assert metrics.rmsd(X, Y, min_samples=1) == pytest.approx(1.0)
    assert metrics.bias(X, Y, min_samples=1) == pytest.approx(0.0)
    assert metrics.ubrmsd(X, Y, min_samples=1) == pytest.approx(1.0)
    assert metrics.variance_ratio(X, Y, min_samples=1) == pytest.approx(1.0)
    # shifted and scaled simulation: x' = 2x + 1 => bias = mean(2x + 1 - y) = 6 - 2.5 = 3.5
    assert metrics.bias(2 * X + 1, Y, min_samples=1) == pytest.approx(3.5)
    assert metrics.variance_ratio(2 * X + 1, Y, min_samples=1) == pytest.approx(4.0)
    # rmsd: differences (1, 4, 3, 6) -> sqrt((1 + 16 + 9 + 36)/4) = sqrt(15.5)
    assert metrics.rmsd(2 * X + 1 - 1, Y + 0, min_samples=1) == pytest.approx(math.sqrt(((2 * X - Y) ** 2).mean()))
    assert metrics.rmsd(np.array([2.0, 5.0, 7.0, 9.0]), np.array([1.0, 1.0, 4.0, 3.0]), min_samples=1) == pytest.approx(
        math.sqrt(15.5)
    )


def test_missing_values_are_skipped_pairwise():
    x = np.array([1.0, np.nan, 2.0, 3.0, 4.0, 100.0])
    y = np.array([2.0, 5.0, 1.0, 4.0, 3.0, np.inf])
    assert metrics.pearson_r(x, y, min_samples=1) == pytest.approx(0.6)
    assert metrics.rmsd(x, y, min_samples=1) == pytest.approx(1.0)
    assert metrics.matched_count(x, y) == 4
    np.testing.assert_array_equal(metrics.matched_mask(x, y), [True, False, True, True, True, False])


def test_vectorised_over_sites_and_axis_argument():
    x = np.stack([X, 2 * X, -X], axis=1)  # (time, site)
    y = np.stack([Y, Y, Y], axis=1)
    r = metrics.pearson_r(x, y, min_samples=1)
    np.testing.assert_allclose(r, [0.6, 0.6, -0.6])
    np.testing.assert_allclose(metrics.pearson_r(x.T, y.T, axis=1, min_samples=1), r)
    np.testing.assert_allclose(metrics.pearson_r(x.T, y.T, axis=-1, min_samples=1), r)
    # extra leading axis (run, time, site)
    stacked = np.stack([x, x + 1])
    assert metrics.rmsd(stacked, np.stack([y, y]), axis=1, min_samples=1).shape == (2, 3)


def test_min_samples_gives_nan():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    y = x + rng.normal(size=(40, 3))
    x[:15, 1] = np.nan  # 25 matched days at site 1
    y[:, 2] = np.nan  # none at site 2
    for function in (metrics.pearson_r, metrics.rmsd, metrics.bias, metrics.ubrmsd, metrics.variance_ratio):
        result = function(x, y)  # default 30 (DD-25)
        assert np.isfinite(result[0]) and np.isnan(result[1]) and np.isnan(result[2]), function.__name__
        assert np.isfinite(function(x, y, min_samples=25)[1])


def test_constant_series_give_nan_correlation():
    assert np.isnan(metrics.pearson_r(np.ones(40), np.arange(40.0)))
    # a constant whose mean is not exact in floating point is still constant
    assert np.isnan(metrics.pearson_r(np.full(37, 0.1), np.arange(37.0)))
    assert metrics.variance_ratio(np.full(37, 0.1), np.arange(37.0)) == 0.0
    assert np.isnan(metrics.variance_ratio(np.arange(40.0), np.ones(40)))


def test_shape_and_argument_errors():
    with pytest.raises(ValueError, match="shapes differ"):
        metrics.pearson_r(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        metrics.rmsd(np.zeros((5, 2)), np.zeros((5, 2)), axis=2)
    with pytest.raises(ValueError, match="scalars"):
        metrics.bias(1.0, 2.0)
    with pytest.raises(ValueError, match="min_samples"):
        metrics.rmsd(X, Y, min_samples=0)
    with pytest.raises(ValueError, match="different shapes"):
        metrics.matched_mask(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        metrics.matched_mask()
    with pytest.raises(ValueError, match="shapes differ"):
        metrics.delta_r(np.zeros(3), np.zeros(4))


# --- network summaries ----------------------------------------------------------------------------
def test_delta_r_and_percent_improved():
    r_da = np.array([0.7, 0.5, np.nan, 0.6, 0.2])
    r_ol = np.array([0.6, 0.55, 0.4, 0.6, 0.1])
    delta = metrics.delta_r(r_da, r_ol)
    np.testing.assert_allclose(delta, [0.1, -0.05, np.nan, 0.0, 0.1])
    # finite sites: 4, improved (> 0): 2
    assert metrics.percent_improved(delta) == pytest.approx(50.0)
    assert metrics.network_mean(delta) == pytest.approx((0.1 - 0.05 + 0.0 + 0.1) / 4)
    assert np.isnan(metrics.percent_improved(np.array([np.nan, np.nan])))
    np.testing.assert_allclose(metrics.percent_improved(np.array([[0.1, -0.1], [0.2, np.nan]]), axis=1), [50.0, 100.0])


def test_increment_summaries():
    increments = np.array([[np.nan, 0.01], [-0.03, np.nan], [0.02, -0.01]])  # (time, site)
    assert metrics.mean_absolute_increment(increments) == pytest.approx((0.01 + 0.03 + 0.02 + 0.01) / 4)
    assert metrics.mean_signed_increment(increments) == pytest.approx((0.01 - 0.03 + 0.02 - 0.01) / 4)
    np.testing.assert_allclose(metrics.mean_absolute_increment(increments, axis=0), [0.025, 0.01])
    assert np.isnan(metrics.mean_absolute_increment(np.full(3, np.nan)))


# --- property tests -------------------------------------------------------------------------------
series = hnp.arrays(
    np.float64, st.integers(3, 60), elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
)


@given(x=series, data=st.data())
def test_properties_of_the_scores(x, data):
    y = data.draw(hnp.arrays(np.float64, x.shape, elements=st.floats(-1e3, 1e3, allow_nan=False)))
    assume(np.ptp(x) > 1e-3 and np.ptp(y) > 1e-3)
    r = metrics.pearson_r(x, y, min_samples=1)
    assert -1.0 <= r <= 1.0
    # R of a series with itself is 1
    assert metrics.pearson_r(x, x, min_samples=1) == pytest.approx(1.0, abs=1e-9)
    # invariant to positive affine transforms of either series
    a = data.draw(st.floats(0.1, 10.0))
    b = data.draw(st.floats(-100.0, 100.0))
    assert metrics.pearson_r(a * x + b, y, min_samples=1) == pytest.approx(r, abs=1e-6)
    assert metrics.pearson_r(x, -a * y + b, min_samples=1) == pytest.approx(-r, abs=1e-6)
    # RMSD^2 = bias^2 + ubRMSD^2
    rmsd = metrics.rmsd(x, y, min_samples=1)
    assert rmsd**2 == pytest.approx(metrics.bias(x, y, min_samples=1) ** 2 + metrics.ubrmsd(x, y, min_samples=1) ** 2, rel=1e-9, abs=1e-9)
    # symmetry
    assert metrics.rmsd(y, x, min_samples=1) == pytest.approx(rmsd)
    assert metrics.bias(y, x, min_samples=1) == pytest.approx(-metrics.bias(x, y, min_samples=1))
    assert metrics.ubrmsd(x + b, y, min_samples=1) == pytest.approx(metrics.ubrmsd(x, y, min_samples=1), rel=1e-6, abs=1e-6)


@given(
    values=hnp.arrays(np.float64, (35, 4), elements=st.floats(-10, 10, allow_nan=False)),
    holes=hnp.arrays(np.bool_, (35, 4)),
)
def test_vectorised_equals_per_site_loop(values, holes):
    x = np.where(holes, np.nan, values)
    y = np.cos(values) + values / 3
    r = metrics.pearson_r(x, y, min_samples=5)
    for site in range(4):
        keep = np.isfinite(x[:, site])
        if keep.sum() < 5 or np.ptp(x[keep, site]) == 0:
            assert np.isnan(r[site])
        elif np.ptp(x[keep, site]) > 1e-6:
            assert r[site] == pytest.approx(np.corrcoef(x[keep, site], y[keep, site])[0, 1], abs=1e-9)


# --- score_table ----------------------------------------------------------------------------------
def _dataarray(values, name="surface_soil_moisture", units="m3 m-3", start="2017-01-01"):
    time = np.datetime64(start) + np.arange(values.shape[0]).astype("timedelta64[D]")
    return xr.DataArray(
        values,
        dims=("time", "site"),
        coords={"time": time, "site": np.arange(values.shape[1])},
        name=name,
        attrs={"units": units, "long_name": name.replace("_", " ")},
    )


def test_score_table_uses_the_common_mask():
    rng = np.random.default_rng(3)
    truth = 0.25 + 0.05 * rng.standard_normal((60, 3))
    insitu = truth + 0.01 * rng.standard_normal((60, 3))
    open_loop = truth + 0.03 * rng.standard_normal((60, 3)) + 0.02
    da = truth + 0.02 * rng.standard_normal((60, 3))
    da[:20, 0] = np.nan  # DA gap at site 0 must also remove these days from the OL score
    table = metrics.score_table(
        {"open_loop": _dataarray(open_loop), "da_wcm": _dataarray(da)},
        _dataarray(insitu, name="insitu_soil_moisture"),
    )
    assert table["r"].dims == ("run", "site")
    assert list(table["run"].values) == ["open_loop", "da_wcm"]
    np.testing.assert_array_equal(table["n_samples"].values, [40, 60, 60])
    mask = np.isfinite(da[:, 0])
    assert table["r"].sel(run="open_loop", site=0) == pytest.approx(
        metrics.pearson_r(open_loop[mask, 0], insitu[mask, 0])
    )
    assert table["rmsd"].sel(run="open_loop", site=1) == pytest.approx(metrics.rmsd(open_loop[:, 1], insitu[:, 1]))
    for name in ("r", "rmsd", "bias", "ubrmsd", "n_samples"):
        assert {"units", "long_name"} <= set(table[name].attrs)
    assert table["rmsd"].attrs["units"] == "m3 m-3" and table["r"].attrs["units"] == "1"
    np.testing.assert_allclose(table["rmsd"] ** 2, table["bias"] ** 2 + table["ubrmsd"] ** 2, rtol=1e-9)
    # min_samples applies to the common mask
    strict = metrics.score_table({"ol": _dataarray(open_loop), "da": _dataarray(da)}, _dataarray(insitu), min_samples=50)
    assert np.isnan(strict["r"].sel(site=0)).all() and np.isfinite(strict["r"].sel(site=1)).all()


def test_score_table_intersects_time_and_accepts_transposed_input():
    values = 0.2 + 0.01 * np.arange(80.0)[:, None] * np.ones((1, 2))
    reference = _dataarray(values[:50])
    longer = _dataarray(values + 0.01).transpose("site", "time")
    table = metrics.score_table({"run": longer}, reference)
    assert int(table["n_samples"][0]) == 50
    np.testing.assert_allclose(table["bias"].values, 0.01)


def test_score_table_errors():
    good = _dataarray(np.ones((40, 2)))
    with pytest.raises(ValueError, match="at least one simulation"):
        metrics.score_table({}, good)
    with pytest.raises(ValueError, match="'da' is in 'dB'"):
        metrics.score_table({"da": _dataarray(np.ones((40, 2)), units="dB")}, good)
    with pytest.raises(ValueError, match="dims"):
        metrics.score_table({"da": good.rename(site="station")}, good)
    with pytest.raises(TypeError, match="DataArray"):
        metrics.score_table({"da": np.ones((40, 2))}, good)
    with pytest.raises(ValueError, match="share no 'time'"):
        metrics.score_table({"da": _dataarray(np.ones((40, 2)), start="2019-01-01")}, good)
    with pytest.raises(ValueError, match="'site' coordinate"):
        metrics.score_table({"da": good.assign_coords(site=[5, 6])}, good)
    no_units = good.copy()
    no_units.attrs = {}
    with pytest.raises(ValueError, match="units"):
        metrics.score_table({"da": no_units}, no_units)
