"""docs/model/validation.md e steps 1-5 on acquisition tables: each pure step and its invariants."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from s1da.components.preprocessing import sentinel1 as pp
from s1da.components.sources import sentinel1 as s1

ORBITS = (15, 88, 117)


def synthetic_table(n_sites: int = 3, n_days: int = 120, seed: int = 0, per_orbit_offset=(0.0, 1.5, -2.0)):
    """Acquisitions every 2 days cycling through 3 orbits, with orbit offsets and noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n_days // 2):
        day = pd.Timestamp("2020-01-01") + pd.Timedelta(days=2 * k)
        orbit_index = k % 3
        for s in range(n_sites):
            value = -11.0 + s + per_orbit_offset[orbit_index] + rng.normal(0, 0.8)
            rows.append((f"site{s}", day + pd.Timedelta(hours=5 + 12 * (orbit_index == 1)), value,
                         ORBITS[orbit_index], 35.0 + orbit_index))
    table = pd.DataFrame(rows, columns=["site", "time", "backscatter", "orbit", "incidence_angle"])
    table["orbit"] = table["orbit"].astype("Int64")
    return table


def synthetic_forcing(table: pd.DataFrame, seed: int = 1) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    days = pd.date_range(table["time"].min().floor("D"), table["time"].max().floor("D"), freq="D")
    sites = np.unique(table["site"])
    shape = (len(days), len(sites))
    return xr.Dataset(
        {
            "air_temperature": (("time", "site"), rng.uniform(-4, 20, shape)),
            "precipitation": (("time", "site"), rng.choice([0.0, 5.0, 45.0], shape, p=[0.6, 0.3, 0.1])),
            "snow_water_equivalent": (("time", "site"), rng.choice([0.0, 3.0], shape, p=[0.9, 0.1])),
        },
        coords={"time": days, "site": sites},
    )


# ---------------------------------------------------------------------------------------------
# step 1 and 5: linear averaging, Jensen
# ---------------------------------------------------------------------------------------------
@given(hnp.arrays(float, st.integers(1, 12), elements=st.floats(-30, 5)))
def test_sentinel1_jensen_linear_mean_at_least_db_mean(values):
    linear = pp.linear_mean_db(values)
    assert linear >= values.mean() - 1e-9
    assert values.min() - 1e-9 <= linear <= values.max() + 1e-9


def test_sentinel1_linear_mean_golden_and_nan():
    # mean of 0.1 and 0.01 is 0.055 -> 10 log10(0.055)
    assert pp.linear_mean_db([-10.0, -20.0]) == pytest.approx(10 * np.log10(0.055))
    np.testing.assert_allclose(pp.linear_mean_db([[-10.0, np.nan], [np.nan, np.nan]], axis=1), [-10.0, np.nan])
    np.testing.assert_allclose(pp.linear_to_db(pp.db_to_linear([-7.5, 3.0])), [-7.5, 3.0])


def test_sentinel1_spatial_average_footprint_samples():
    time = pd.Timestamp("2020-01-01 05:00")
    table = pd.DataFrame({
        "site": ["A", "A", "A", "B", "A"],
        "time": [time, time, time, time, time + pd.Timedelta(days=6)],
        "backscatter": [-10.0, -20.0, np.nan, -8.0, -9.0],
        "orbit": pd.array([15, 15, 15, 15, 15], dtype="Int64"),
        "incidence_angle": [38.0, 40.0, 39.0, 41.0, 38.0],
    })
    before = table.copy()
    out = pp.spatial_average(table)
    pd.testing.assert_frame_equal(table, before)  # pure: input untouched
    assert len(out) == 3
    first = out[(out.site == "A") & (out.time == time)].iloc[0]
    assert first["backscatter"] == pytest.approx(pp.linear_mean_db([-10.0, -20.0]))
    assert first["samples"] == 2 and first["incidence_angle"] == pytest.approx(39.0)
    assert out.attrs["steps"][-1]["step"] == "spatial_average"


def test_sentinel1_daily_average_several_acquisitions():
    table = pd.DataFrame({
        "site": ["A", "A", "A", "B"],
        "time": pd.to_datetime(["2020-01-01 05:00", "2020-01-01 17:00", "2020-01-03 05:00", "2020-01-01 05:00"]),
        "backscatter": [-10.0, -14.0, -9.0, -12.0],
        "orbit": pd.array([15, 88, 15, 15], dtype="Int64"),
        "incidence_angle": [36.0, 42.0, 36.0, 40.0],
    })
    ds = pp.daily_average(table)
    assert ds.backscatter.dims == ("time", "site")
    assert list(ds.time.dt.day.values) == [1, 3] and list(ds.site.values) == ["A", "B"]
    assert ds.backscatter.sel(site="A").values[0] == pytest.approx(pp.linear_mean_db([-10.0, -14.0]))
    assert ds.backscatter.sel(site="A").values[0] >= -12.0  # Jensen: >= dB mean
    assert ds.orbit.sel(site="A").values.tolist() == [pp.UNKNOWN_ORBIT, 15]
    assert ds.acquisition_count.sel(site="A").values.tolist() == [2, 1]
    assert np.isnan(ds.backscatter.sel(site="B").values[1]) and ds.acquisition_count.sel(site="B").values[1] == 0
    for name in ds.data_vars:
        assert ds[name].attrs["units"] and ds[name].attrs["long_name"]
    days = pd.date_range("2019-12-31", periods=5, freq="D")
    on_calendar = pp.daily_average(table, days=days, sites=["A", "B", "C"])
    assert on_calendar.backscatter.shape == (5, 3) and int(on_calendar.backscatter.count()) == 3
    with pytest.raises(ValueError, match="outside the requested axes"):
        pp.daily_average(table, days=days[:1])


# ---------------------------------------------------------------------------------------------
# step 2: masks
# ---------------------------------------------------------------------------------------------
def test_sentinel1_masks_each_reason():
    days = pd.date_range("2020-01-01", periods=5, freq="D")
    table = pd.DataFrame({"site": "A", "time": days + pd.Timedelta(hours=6),
                          "backscatter": [-10.0, -10.0, -10.0, -10.0, np.inf],
                          "orbit": pd.array([15] * 5, dtype="Int64"), "incidence_angle": 38.0})
    forcing = xr.Dataset(
        {"air_temperature": (("time", "site"), [[5.0], [1.4], [5.0], [5.0], [5.0]]),
         "precipitation": (("time", "site"), [[40.0], [0.0], [40.1], [0.0], [0.0]]),
         "snow_water_equivalent": (("time", "site"), [[0.0], [0.0], [0.0], [0.5], [0.0]])},
        coords={"time": days, "site": ["A"]},
    )
    reasons = pp.acquisition_masks(table, forcing)
    assert reasons["frozen"].tolist() == [False, True, False, False, False]
    assert reasons["heavy_rain"].tolist() == [False, False, True, False, False]  # 40 mm kept, > 40 masked
    assert reasons["snow"].tolist() == [False, False, False, True, False]
    assert reasons["non_finite"].tolist() == [False, False, False, False, True]
    kept = pp.apply_masks(table, forcing)
    assert len(kept) == 1 and kept["time"].iloc[0].day == 1
    assert kept.attrs["steps"][-1] == {"step": "masks", "removed": 4, "remaining": 1, "non_finite": 1, "frozen": 1,
                                       "heavy_rain": 1, "snow": 1}
    # missing forcing values mask; missing forcing days are an error
    forcing["air_temperature"][0, 0] = np.nan
    assert pp.apply_masks(table, forcing).empty
    with pytest.raises(pp.ForcingCoverageError, match="site 'A' on 2020-01-05"):
        pp.apply_masks(table, forcing.isel(time=slice(0, 4)))
    with pytest.raises(pp.ForcingCoverageError, match="no site 'A'"):
        pp.apply_masks(table, forcing.assign_coords(site=["Z"]))


@given(st.integers(0, 10_000))
def test_sentinel1_masking_is_idempotent(seed):
    table = synthetic_table(n_sites=2, n_days=40, seed=seed)
    forcing = synthetic_forcing(table, seed=seed + 1)
    once = pp.apply_masks(table, forcing)
    twice = pp.apply_masks(once, forcing)
    pd.testing.assert_frame_equal(once, twice)
    assert twice.attrs["steps"][-1]["removed"] == 0


# ---------------------------------------------------------------------------------------------
# step 3: outliers
# ---------------------------------------------------------------------------------------------
def test_sentinel1_outliers_single_pass_per_site_and_orbit():
    rng = np.random.default_rng(3)
    values = rng.normal(-10, 0.5, 60)
    values[7] = 20.0  # gross outlier
    table = pd.DataFrame({"site": "A", "time": pd.date_range("2020-01-01", periods=60, freq="D"),
                          "backscatter": values, "orbit": pd.array([15] * 60, dtype="Int64"),
                          "incidence_angle": 38.0})
    # an orbit with a different mean is not an outlier group of its own site/orbit
    other = table.assign(orbit=pd.array([88] * 60, dtype="Int64"), backscatter=values * 0 - 3.0 + rng.normal(0, .5, 60),
                         time=table["time"] + pd.Timedelta(hours=12))
    both = pd.concat([table, other], ignore_index=True)
    out = pp.remove_outliers(both)
    assert len(out) == 119 and 20.0 not in out["backscatter"].to_numpy()
    # single pass: values that become outliers only after removing the first are kept
    group = both[both.orbit == 15]["backscatter"].drop(index=7)
    assert ((group - group.mean()).abs() <= 5 * group.std()).all() or len(out) == 119
    assert out.attrs["steps"][-1]["removed"] == 1


@given(hnp.arrays(float, st.integers(3, 40), elements=st.floats(-25, 0)), st.floats(1.0, 6.0))
def test_sentinel1_outliers_match_definition(values, n_sd):
    table = pd.DataFrame({"site": "A", "time": pd.date_range("2020-01-01", periods=len(values), freq="D"),
                          "backscatter": values, "orbit": pd.array([1] * len(values), dtype="Int64"),
                          "incidence_angle": 38.0})
    out = pp.remove_outliers(table, n_sd=n_sd)
    sd = values.std(ddof=1)
    expected = np.abs(values - values.mean()) <= n_sd * sd + pp.OUTLIER_TOLERANCE
    np.testing.assert_array_equal(out["backscatter"].to_numpy(), values[expected])


# ---------------------------------------------------------------------------------------------
# step 4: orbit bias
# ---------------------------------------------------------------------------------------------
@given(st.integers(0, 10_000), st.lists(st.floats(-4, 4), min_size=3, max_size=3))
def test_sentinel1_orbit_means_equal_m_ref_after_correction(seed, offsets):
    table = synthetic_table(n_sites=3, n_days=60, seed=seed, per_orbit_offset=tuple(offsets))
    corrected = pp.correct_orbit_bias(table)
    m_ref = table.groupby("site")["backscatter"].mean()
    orbit_means = corrected.groupby(["site", "orbit"])["backscatter"].mean()
    for (site, _), mean in orbit_means.items():
        assert mean == pytest.approx(m_ref[site], abs=1e-9)
    # site means are unchanged and within-orbit anomalies are untouched
    np.testing.assert_allclose(corrected.groupby("site")["backscatter"].mean(), m_ref, atol=1e-9)
    anomaly = lambda t: t["backscatter"] - t.groupby(["site", "orbit"])["backscatter"].transform("mean")
    np.testing.assert_allclose(anomaly(corrected), anomaly(table), atol=1e-9)


def test_sentinel1_orbit_bias_unknown_orbit_group_and_non_finite():
    table = pd.DataFrame({"site": "A", "time": pd.date_range("2020-01-01", periods=4, freq="D"),
                          "backscatter": [-10.0, -12.0, -8.0, -9.0],
                          "orbit": pd.array([15, 15, pd.NA, pd.NA], dtype="Int64"), "incidence_angle": np.nan})
    out = pp.correct_orbit_bias(table)
    np.testing.assert_allclose(out["backscatter"], [-8.75, -10.75, -9.25, -10.25])  # m_ref -9.75; orbit 15: -11; unknown: -8.5
    with pytest.raises(ValueError, match="apply the masks first"):
        pp.correct_orbit_bias(table.assign(backscatter=[-10.0, np.nan, -8.0, -9.0]))


# ---------------------------------------------------------------------------------------------
# whole chain
# ---------------------------------------------------------------------------------------------
def test_sentinel1_no_masked_day_survives_the_chain():
    table = synthetic_table(n_sites=4, n_days=200, seed=5)
    forcing = synthetic_forcing(table, seed=6)
    ds = pp.preprocess(table, forcing)
    reasons_by_day = (
        (forcing.air_temperature < 1.5) | (forcing.precipitation > 40) | (forcing.snow_water_equivalent > 0)
    ).sel(time=ds.time, site=ds.site)
    assert int(ds.backscatter.where(reasons_by_day).count()) == 0
    assert int(ds.backscatter.count()) > 0
    assert ds.backscatter.attrs["units"] == "dB"
    # the chain equals the composition of the pure steps
    manual = pp.daily_average(pp.correct_orbit_bias(pp.remove_outliers(pp.apply_masks(pp.spatial_average(table),
                                                                                        forcing))))
    xr.testing.assert_allclose(ds.backscatter, manual.backscatter)


def test_sentinel1_chain_from_reader(tmp_path):
    lines = ["site,time,VV [dB],orbit"] + [
        f"{s},2020-02-{d:02d}T05:30,{-10 - 0.1 * d - (1.0 if d % 2 else 0.0):.3f},{15 if d % 2 else 88}"
        for s in ("A", "B") for d in range(1, 21)]
    path = tmp_path / "s1.csv"
    path.write_text("\n".join(lines) + "\n")
    table = s1.read_backscatter_csv(path, value_column="VV")
    days = pd.date_range("2020-02-01", periods=20, freq="D")
    forcing = xr.Dataset({"air_temperature": (("time", "site"), np.full((20, 2), 10.0)),
                          "precipitation": (("time", "site"), np.zeros((20, 2)))},
                         coords={"time": days, "site": ["A", "B"]})
    ds = pp.preprocess(table, forcing, days=days)
    assert ds.backscatter.shape == (20, 2) and int(ds.backscatter.count()) == 40
    for site in ("A", "B"):
        series = ds.backscatter.sel(site=site)
        assert float(series.where(ds.orbit.sel(site=site) == 15).mean()) == pytest.approx(
            float(series.where(ds.orbit.sel(site=site) == 88).mean()))


def test_sentinel1_real_budrio_chain(shared_data):
    path = shared_data / "budrio_italy_swb_wcm" / "data_in_Budrio_2017.tsv"
    table = s1.read_backscatter_csv(path, value_column="VV[dB]", time_column="DateTime_sat", site="budrio",
                                    orbit_column="Orb", angle_column="Angle[°]", sep="\t")
    raw = pd.read_csv(path, sep="\t")
    forcing = xr.Dataset(
        {"air_temperature": (("time", "site"), raw[["Temperatura[°C]"]].to_numpy(float)),
         "precipitation": (("time", "site"), raw[["Pioggia[mm]"]].to_numpy(float))},
        coords={"time": pd.to_datetime(raw["Date"]), "site": ["budrio"]},
    )
    ds = pp.preprocess(table, forcing)
    steps = {s["step"]: s for s in json.loads(ds.attrs["preprocessing_steps"])}
    assert steps["masks"]["removed"] + int(ds.backscatter.count()) == 107
    orbit_means = ds.backscatter.to_series().groupby(ds.orbit.to_series()).mean()
    assert orbit_means.max() - orbit_means.min() < 1e-9
