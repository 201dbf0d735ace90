"""Spen Farm source: real forcing / in situ, semi-real pseudo-observations, and a short DA run."""

from pathlib import Path

import attrs
import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from conftest import SHARED_DATA

from s1da.components.gleam.sites import REQUIRED, statics_from_sites
from s1da.components.operators.wcm import water_cloud_backscatter
from s1da.components.sources.cosmos_uk import read_cosmos_daily
from s1da.components.sources.spen_farm import (
    COSMOS_FILE,
    LandCoverFractions,
    PseudoObservationOptions,
    SpenFarmDataError,
    SpenFarmSourceOptions,
    acquisition_calendar,
    acquisition_pattern,
    crop_lai_climatology,
    observation_noise,
    resolve_data_directory,
    spen_farm_site_data,
)
from s1da.containers import schema
from s1da.containers.assembly import build_experiment
from s1da.framework.config import ConfigError

START, END = "2017-01-01", "2019-12-31"


@pytest.fixture(scope="module")
def data_directory():
    """Module-scoped twin of the ``shared_data`` fixture (same path, same skip)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside the repository")
    return SHARED_DATA


@pytest.fixture(scope="module")
def site_data(data_directory):
    options = SpenFarmSourceOptions(data_directory=str(data_directory))
    return spen_farm_site_data(options, start=START, end=END, seed=11)


def test_shared_data_fixture_agrees(shared_data, data_directory):
    assert shared_data.resolve() == data_directory.resolve()


def test_site_data_is_valid(site_data, data_directory):
    times = site_data.times
    assert times[0] == np.datetime64(START) and times[-1] == np.datetime64(END)
    assert np.all(np.diff(times).astype(int) == 1)
    assert site_data.site_ids.tolist() == [0]
    assert float(site_data.sites["lat"][0]) == pytest.approx(53.867)
    assert float(site_data.sites["lon"][0]) == pytest.approx(-1.328)
    for name in REQUIRED + ("w_r", "lai_p01", "lai_p99"):
        assert name in site_data.sites, name
    statics = statics_from_sites(site_data.sites)  # GLEAM accepts the table
    assert statics.lai_p01[0] < statics.lai_p99[0]
    forcing = site_data.forcing
    assert "vod" not in forcing  # LAI fallback, DD-1
    for name in ("precipitation", "air_temperature", "net_radiation", "lai"):
        assert np.isfinite(forcing[name].values).all(), name
        assert forcing[name].attrs["units"]
    # the documented filling: exactly the days whose COSMOS value is missing
    raw = pd.read_csv(data_directory / COSMOS_FILE, index_col=0, parse_dates=True).loc[START:END]
    missing = raw.index[raw["PRECIPITATION_LEVEL2_TOTAL"].isna()].strftime("%Y-%m-%d").tolist()
    assert forcing.attrs["filled_precipitation_days"] == missing and len(missing) == 35
    assert forcing.attrs["filled_net_radiation_days"] == ["2019-09-05"]
    # net radiation MJ m-2 d-1 -> W m-2 on an unfilled day
    day = raw.index[raw["RN_LEVEL2_TOTAL"].notna()][100]
    value = forcing["net_radiation"].sel(time=day).item()
    assert value == pytest.approx(raw.loc[day, "RN_LEVEL2_TOTAL"] * 1e6 / 86400)
    doy = pd.DatetimeIndex(times).day_of_year.to_numpy()
    np.testing.assert_allclose(forcing["lai"].values[:, 0], crop_lai_climatology(doy))


def test_insitu_is_the_tdt_mean(site_data, data_directory):
    cosmos = read_cosmos_daily(data_directory / COSMOS_FILE, START, END, gap_fill="midas")
    insitu = site_data.insitu.values[:, 0]
    both = np.isfinite(cosmos["tdt1_vwc"].values) & np.isfinite(cosmos["tdt2_vwc"].values)
    np.testing.assert_allclose(insitu[both], (cosmos["tdt1_vwc"].values[both] + cosmos["tdt2_vwc"].values[both]) / 2)
    assert site_data.insitu.attrs["units"] == "m3 m-3"
    assert 0.05 < np.nanmin(insitu) and np.nanmax(insitu) < 0.5


def test_observations_follow_calendar_and_masks(site_data, data_directory):
    obs = site_data.observations
    assert "semi-real" in obs.attrs["kind"]
    backscatter = obs["backscatter"].values[:, 0]
    orbit = obs["orbit"].values[:, 0]
    assert np.isnan(backscatter[orbit == 0]).all()
    assert np.isfinite(backscatter).sum() > 0.8 * (orbit > 0).sum() > 0
    # 4 acquisitions every 6 days (MNI 2017 pattern, S1A + S1B)
    assert (orbit > 0).sum() == pytest.approx(len(orbit) * 4 / 6, abs=4)
    assert set(np.unique(orbit[orbit > 0])) == {44, 95, 117, 168}
    temperature = site_data.forcing["air_temperature"].values[:, 0]
    precipitation = site_data.forcing["precipitation"].values[:, 0]
    assert np.isnan(backscatter[(temperature < 1.5) | (precipitation > 40.0)]).all()
    assert obs["masked"].values[:, 0].sum() > 0
    assert np.isnan(backscatter[obs["masked"].values[:, 0]]).all()


def test_pseudo_observations_are_wcm_of_cosmos_plus_keyed_noise(site_data, data_directory):
    settings = PseudoObservationOptions()
    cosmos = read_cosmos_daily(data_directory / COSMOS_FILE, START, END, gap_fill="midas")
    times = site_data.times
    clean = water_cloud_backscatter(
        cosmos["cosmos_vwc"].values, site_data.forcing["lai"].values[:, 0],
        settings.wcm_a, settings.wcm_b, settings.wcm_c, settings.wcm_d, settings.incidence_angle_deg,
    )
    expected = clean + observation_noise(11, times, settings.noise_sd_db)
    backscatter = site_data.observations["backscatter"].values[:, 0]
    ok = np.isfinite(backscatter)
    np.testing.assert_allclose(backscatter[ok], expected[ok])
    residual = backscatter[ok] - clean[ok]
    assert 0.5 < residual.std() < 0.9  # noise_sd_db = 0.7


def test_pseudo_observations_reproducible_from_seed(site_data, data_directory):
    options = SpenFarmSourceOptions(data_directory=str(data_directory))
    again = spen_farm_site_data(options, start=START, end=END, seed=11)
    np.testing.assert_array_equal(again.observations["backscatter"].values, site_data.observations["backscatter"].values)
    other = spen_farm_site_data(options, start=START, end=END, seed=12)
    a, b = other.observations["backscatter"].values, site_data.observations["backscatter"].values
    assert np.array_equal(np.isnan(a), np.isnan(b)) and not np.allclose(a[np.isfinite(a)], b[np.isfinite(b)])
    # a date's observation does not depend on the period asked for
    short = spen_farm_site_data(options, start="2018-03-01", end="2018-09-30", seed=11)
    np.testing.assert_array_equal(
        short.observations["backscatter"].values,
        site_data.observations["backscatter"].sel(time=slice("2018-03-01", "2018-09-30")).values,
    )


def test_acquisition_pattern_and_twelve_day_cycle(data_directory):
    anchor, pattern = acquisition_pattern(data_directory / "mni_munich_2017_sar_homework/multi.csv")
    assert anchor == np.datetime64("2017-03-24")
    assert pattern["phase"].tolist() == [0, 1, 2, 5]
    days = np.arange(np.datetime64("2018-01-01"), np.datetime64("2019-01-01"))
    six = acquisition_calendar(days, anchor, pattern, 6)
    twelve = acquisition_calendar(days, anchor, pattern, 12)
    assert (twelve > 0).sum() == pytest.approx((six > 0).sum() / 2, abs=4)
    assert np.all(six[twelve > 0] == twelve[twelve > 0])


def _write_config(directory: Path, data_directory: Path, **source) -> Path:
    config = {
        "experiment": {
            "name": "spen_short", "seed": 5, "members": 8, "spinup_start": "2017-10-01",
            "start": "2018-01-01", "end": "2018-06-30", "chunk_days": 61, "min_samples": 30,
        },
        "source": {"kind": "spen_farm", "data_directory": str(data_directory), **source},
        "model": {"kind": "gleam", "state_vector": "top"},
        "perturbation": {"kind": "forcing", "precipitation_relative_sd": 0.3, "air_temperature_sd": 2.5,
                         "net_radiation_relative_sd": 0.3, "correlation_time": 1.0},
        "operators": {"wcm": {"kind": "wcm", "incidence_angle_deg": 40.0}},
        "filter": {"kind": "denkf", "inflation": 1.0},
    }
    path = directory / "spen.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.filterwarnings("ignore:wcm. .* calibration warnings")
def test_short_da_run_through_the_containers(tmp_path, data_directory):
    experiment = build_experiment(_write_config(tmp_path, data_directory), progress=False)
    assert "semi-real" in experiment.data.description
    store = experiment.run(tmp_path / "spen.zarr")
    assert store.is_complete
    open_loop = store.read("open_loop")["surface_soil_moisture"].mean("member").values
    da = store.read("da_wcm")
    da_mean = da["surface_soil_moisture"].mean("member").values
    assert np.isfinite(da_mean).all()
    analysed = np.isfinite(da["analysis_increment_surface"].values)
    assert analysed.sum() > 30
    assert np.abs(da_mean - open_loop).max() > 1e-4  # DA changes the surface soil moisture
    validation = store.read("validation/insitu")
    assert np.isfinite(validation["r"].values).all()  # 181 TDT days >= min_samples


def test_missing_data_directory_is_named(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(SpenFarmDataError, match="data_directory .*nowhere"):
        resolve_data_directory(str(missing))
    with pytest.raises(SpenFarmDataError, match="data_directory"):
        spen_farm_site_data(SpenFarmSourceOptions(data_directory=str(missing)), start=START, end=END, seed=1)


def test_missing_calendar_file_is_named(data_directory):
    options = SpenFarmSourceOptions(
        data_directory=str(data_directory), pseudo_observations=PseudoObservationOptions(calendar_file="no/multi.csv")
    )
    with pytest.raises(SpenFarmDataError, match="calendar_file.*no/multi.csv"):
        spen_farm_site_data(options, start="2018-01-01", end="2018-01-31", seed=1)


def test_gap_policy_none_refuses_gaps(data_directory):
    options = SpenFarmSourceOptions(data_directory=str(data_directory), gap_fill="none")
    with pytest.raises(SpenFarmDataError, match="gap_fill.*PRECIPITATION_LEVEL2_TOTAL.*2017-10-13"):
        spen_farm_site_data(options, start="2017-10-01", end="2017-10-31", seed=1)
    ok = spen_farm_site_data(options, start="2018-01-01", end="2018-01-31", seed=1)  # no gaps there
    assert ok.forcing.attrs["filled_precipitation_days"] == []


def test_period_outside_the_file_is_refused(data_directory):
    options = SpenFarmSourceOptions(data_directory=str(data_directory))
    with pytest.raises(SpenFarmDataError, match="2021"):
        spen_farm_site_data(options, start="2021-01-01", end="2022-03-01", seed=1)
    with pytest.raises(SpenFarmDataError, match="before start"):
        spen_farm_site_data(options, start="2018-02-01", end="2018-01-01", seed=1)


@pytest.mark.parametrize(
    "source, key",
    [
        ({"texture": "moon dust"}, "source.texture"),
        ({"gap_fill": "guess"}, "source.gap_fill"),
        ({"fractions": {"tall": 0.5, "short": 0.85}}, "source.fractions"),
        ({"fractions": {"tall": -0.1}}, "source.fractions.tall"),
        ({"pseudo_observations": {"noise_sd_db": -1.0}}, "source.pseudo_observations.noise_sd_db"),
        ({"pseudo_observations": {"repeat_cycle_days": 7}}, "source.pseudo_observations.repeat_cycle_days"),
        ({"pseudo_observations": {"incidence_angle_deg": 95.0}}, "source.pseudo_observations.incidence_angle_deg"),
        ({"pseudo_observations": {"wcm_e": 1.0}}, "source.pseudo_observations.wcm_e"),
        ({"max_interpolation_days": 0}, "source.max_interpolation_days"),
        ({"colour": "red"}, "source.colour"),
    ],
)
def test_bad_options_name_the_key(tmp_path, source, key):
    path = _write_config(tmp_path, tmp_path, **source)
    with pytest.raises(ConfigError) as caught:
        schema.load(path)
    assert f"key '{key}'" in str(caught.value) and str(path) in str(caught.value)


def test_options_defaults_are_consistent():
    options = SpenFarmSourceOptions()
    assert options.data_directory == "../shared/data"
    fractions = attrs.asdict(options.fractions)
    assert sum(fractions.values()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="sum to one"):
        LandCoverFractions(tall=0.3)


PATTERN = pd.DataFrame({"phase": [0, 1, 2, 5], "relative_orbit": [95, 117, 44, 168]})


@given(offset=st.integers(-3000, 3000), cycle=st.sampled_from([6, 12]))
def test_calendar_is_periodic_with_fixed_acquisitions_per_cycle(offset, cycle):
    anchor = np.datetime64("2017-03-24")
    days = anchor + np.arange(offset, offset + 4 * cycle)
    orbit = acquisition_calendar(days, anchor, PATTERN, cycle)
    np.testing.assert_array_equal(orbit[:cycle], orbit[cycle : 2 * cycle])
    assert (orbit[:cycle] > 0).sum() == 4
    assert set(orbit[orbit > 0]) == {95, 117, 44, 168}


@given(seed=st.integers(0, 2**32), sd=st.floats(0.0, 2.0))
def test_noise_scales_with_sd_and_is_keyed(seed, sd):
    days = np.arange(np.datetime64("2018-12-20"), np.datetime64("2019-01-10"))
    unit = observation_noise(seed, days, 1.0)
    np.testing.assert_allclose(observation_noise(seed, days, sd), sd * unit)
    np.testing.assert_array_equal(observation_noise(seed, days[5:], 1.0), unit[5:])
