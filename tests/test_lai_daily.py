"""LAI to daily by cubic spline: exactness, gaps never bridged, clipping, errors, real Budrio LAI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from s1da.components.preprocessing.lai import LAIError, daily_lai


def _ten_daily(n: int = 12, start: str = "2020-03-01") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="10D")


def test_lai_reproduces_a_cubic_exactly():
    dates = _ten_daily()
    x = (dates - dates[0]).days.to_numpy(float)
    cubic = lambda t: 0.5 + 0.02 * t + 3e-4 * t**2 - 2e-6 * t**3  # positive on [0, 110]
    frame = pd.DataFrame({"a": cubic(x), "b": 2 * cubic(x)}, index=dates)
    daily = daily_lai(frame)
    t = np.arange(daily.sizes["time"], dtype=float)
    np.testing.assert_allclose(daily.sel(site="a"), cubic(t), rtol=1e-10)
    np.testing.assert_allclose(daily.sel(site="b"), 2 * cubic(t), rtol=1e-10)
    assert daily.dims == ("time", "site") and daily.attrs["units"] == "m2 m-2" and daily.attrs["long_name"]
    assert daily.sizes["time"] == 111


@given(st.integers(0, 10_000))
def test_lai_vectorised_equals_per_site_and_hits_observations(seed):
    rng = np.random.default_rng(seed)
    dates = _ten_daily(15)
    values = rng.uniform(0.2, 5.0, (15, 4))
    values[rng.random((15, 4)) < 0.2] = np.nan  # different missing patterns per site
    frame = pd.DataFrame(values, index=dates, columns=list("wxyz"))
    together = daily_lai(frame, max_gap_days=25)
    for site in frame.columns:
        alone = daily_lai(frame[[site]], days=together.time.to_index(), max_gap_days=25)
        np.testing.assert_allclose(together.sel(site=site), alone.sel(site=site), equal_nan=True)
        observed = frame[site].dropna()
        got = together.sel(site=site, time=observed.index).values
        np.testing.assert_allclose(got, observed.to_numpy(), rtol=1e-10)
    assert (together.fillna(0) >= 0).all()


def test_lai_long_gaps_are_not_bridged():
    dates = pd.DatetimeIndex(["2020-01-01", "2020-01-11", "2020-01-21", "2020-03-21", "2020-03-31", "2020-04-10"])
    frame = pd.DataFrame({"a": [1.0, 1.2, 1.5, 2.0, 2.5, 2.4], "b": [1.0, 1.1, 1.2, 1.3, 1.4, 1.5]}, index=dates)
    frame.loc["2020-03-21", "b"] = np.nan  # b: 2020-01-21 -> 2020-03-31 also a gap
    daily = daily_lai(frame, max_gap_days=32)
    a = daily.sel(site="a").to_series()
    assert a["2020-01-22":"2020-03-20"].isna().all()
    assert a[:"2020-01-21"].notna().all() and a["2020-03-21":].notna().all()
    assert a["2020-01-21"] == pytest.approx(1.5) and a["2020-03-21"] == pytest.approx(2.0)
    assert any("a: 2020-01-21 to 2020-03-21" in g for g in daily.attrs["gaps_not_bridged"])
    with pytest.raises(LAIError, match=r"site\(s\) \['a'\]: 2020-01-21 to 2020-03-21 \(60 d\)"):
        daily_lai(frame[["a"]], max_gap_days=32, on_gap="raise")
    assert daily_lai(frame, max_gap_days=80).sel(site="a").notnull().all()


def test_lai_clipped_at_zero_and_no_extrapolation():
    dates = _ten_daily(5)
    frame = pd.DataFrame({"a": [0.0, 0.0, 0.0, 3.0, 3.2]}, index=dates)  # spline undershoots before the rise
    raw_min = float(np.min(np.asarray(__import__("scipy").interpolate.CubicSpline(
        (dates - dates[0]).days, frame["a"])(np.arange(41)))))
    assert raw_min < 0
    daily = daily_lai(frame)
    assert float(daily.min()) == 0.0
    wider = pd.date_range("2020-02-20", "2020-05-01", freq="D")
    on_calendar = daily_lai(frame, days=wider)
    series = on_calendar.sel(site="a").to_series()
    assert series[:"2020-02-29"].isna().all() and series["2020-04-11":].isna().all()
    assert series["2020-03-01":"2020-04-10"].notna().all()


def test_lai_single_and_pair_segments():
    dates = pd.DatetimeIndex(["2020-01-01", "2020-03-01", "2020-03-11", "2020-06-01"])
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]}, index=dates)
    daily = daily_lai(frame, max_gap_days=15).sel(site="a").to_series()
    assert daily["2020-01-01"] == 1.0 and np.isnan(daily["2020-01-02"])
    np.testing.assert_allclose(daily["2020-03-01":"2020-03-11"], np.linspace(2.0, 3.0, 11))
    assert daily["2020-06-01"] == 4.0


@pytest.mark.parametrize(("dates", "message"), [
    (["2020-01-11", "2020-01-01", "2020-01-21"], "unsorted date 2020-01-01"),
    (["2020-01-01", "2020-01-01", "2020-01-21"], "duplicate date 2020-01-01"),
])
def test_lai_bad_dates(dates, message):
    with pytest.raises(LAIError, match=message):
        daily_lai(pd.DataFrame({"a": [1.0, 2.0, 3.0]}, index=pd.DatetimeIndex(dates)))


def test_lai_bad_values_and_arguments():
    dates = _ten_daily(3)
    with pytest.raises(LAIError, match=r"site 'a' on 2020-03-11 is -0.5"):
        daily_lai(pd.DataFrame({"a": [1.0, -0.5, 1.0]}, index=dates))
    with pytest.raises(LAIError, match="must be finite"):
        daily_lai(pd.DataFrame({"a": [1.0, np.inf, 1.0]}, index=dates))
    with pytest.raises(ValueError, match="on_gap"):
        daily_lai(pd.DataFrame({"a": [1.0, 1.0, 1.0]}, index=dates), on_gap="bridge")
    with pytest.raises(LAIError, match="dims"):
        daily_lai(xr.DataArray(np.ones((3, 2)), dims=("time", "member"), coords={"time": dates}))


def test_lai_dataarray_input():
    dates = _ten_daily(4)
    array = xr.DataArray(np.array([[1.0, 2.0], [1.5, 2.5], [2.0, 3.0], [2.5, 3.5]]), dims=("time", "site"),
                         coords={"time": dates, "site": ["p", "q"]})
    daily = daily_lai(array)
    np.testing.assert_allclose(daily.sel(site="q") - daily.sel(site="p"), 1.0)


def test_lai_real_budrio_from_s1_dates(shared_data):
    """LAI sampled on the 107 irregular S1 dates, splined to daily, matches the daily LAI file."""
    folder = shared_data / "budrio_italy_swb_wcm"
    raw = pd.read_csv(folder / "data_in_Budrio_2017.tsv", sep="\t")
    sampled = raw.groupby("Date")["LAI[m2/m2]"].first()
    sampled.index = pd.to_datetime(sampled.index)
    daily = daily_lai(sampled.rename("budrio"), max_gap_days=10).sel(site="budrio").to_series()
    reference = pd.read_csv(folder / "LAI_Budrio_2017.csv", header=None)[1]
    reference.index = pd.date_range("2017-01-10", periods=len(reference), freq="D")  # SOURCES.md
    difference = (daily - reference.reindex(daily.index)).abs()
    assert difference.max() < 0.05 and difference.mean() < 0.005
    # a 10-daily subsample of the daily file is also recovered closely
    ten_daily = reference.iloc[::10]
    recovered = daily_lai(ten_daily.rename("budrio")).sel(site="budrio").to_series()
    error = (recovered - reference.reindex(recovered.index)).abs()
    assert error.max() < 0.25 and error.mean() < 0.05
