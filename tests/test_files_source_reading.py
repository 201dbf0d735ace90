"""``source: {kind: files}``: reading every format into SiteData, and every refused input."""

from __future__ import annotations

import shutil
import warnings

import attrs
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from files_source_network import SITES, YAML, daily_weather, write_config, write_network

from s1da.components.preprocessing.sentinel1 import Sentinel1Preprocessing
from s1da.components.sources.site_files import SiteFilesError, SiteFilesOptions, site_files_data
from s1da.containers import schema
from s1da.framework.config import ConfigError

START, RUN_START, END = "2019-04-01", "2019-05-01", "2019-07-31"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return write_network(tmp_path_factory.mktemp("files_source_pristine"))


@pytest.fixture
def network(pristine, tmp_path):
    """A private copy of the files, free to be damaged by the test."""
    return shutil.copytree(pristine, tmp_path / "network")


def options_for(directory, **changes) -> SiteFilesOptions:
    options = schema.load(write_config(directory, directory))["source"]["parameters"]
    return attrs.evolve(options, **changes)


def build(directory, **changes):
    return site_files_data(options_for(directory, **changes), start=START, end=END, seed=1, run_start=RUN_START)


@pytest.fixture(scope="module")
def site_data(pristine):
    return build(pristine)


# ------------------------------------------------------------------------------------------ reading
def test_site_table_texture_and_explicit_soil_parameters(site_data):
    sites = site_data.sites
    assert site_data.site_ids.tolist() == SITES["site"].tolist()
    # loam and sandy loam from the docs/model/gleam.md a.11 table, the explicit values for beta
    np.testing.assert_allclose(sites["w_sat"].values, [0.435, 0.45, 0.416])
    np.testing.assert_allclose(sites["w_wp"].values, [0.139, 0.14, 0.087])
    assert sites["site_name"].values.tolist() == ["alpha", "beta", "gamma"]
    assert (sites["lai_p01"] < sites["lai_p99"]).all()  # DD-1 percentiles from the daily LAI
    for name in ("f_T", "w_sat", "lai_p01"):
        assert sites[name].attrs["units"] and sites[name].attrs["long_name"]


def test_forcing_from_csv_and_netcdf_is_converted_to_model_units(site_data):
    days = pd.date_range(START, END, freq="D")
    for site in SITES["site"]:
        expected = daily_weather(site, pd.date_range("2019-03-25", "2019-08-10", freq="D")).loc[days]
        got = site_data.forcing.sel(site=site)
        # site 3: mm, K and MJ m-2 d-1 headers rounded in the CSV; 7 and 11: NetCDF kg m-2 s-1, degC, W m-2
        np.testing.assert_allclose(got["precipitation"].values, expected["precipitation"].values, atol=1e-3)
        np.testing.assert_allclose(got["air_temperature"].values, expected["air_temperature"].values, atol=1e-3)
        np.testing.assert_allclose(got["net_radiation"].values, expected["net_radiation"].values, atol=1e-3)
    assert site_data.forcing["precipitation"].attrs["units"] == "mm d-1"
    assert site_data.forcing["net_radiation"].attrs["units"] == "W m-2"


def test_lai_is_daily_and_passes_through_the_dekad_values(site_data, pristine):
    lai = site_data.forcing["lai"]
    assert np.isfinite(lai.values).all() and (lai.values >= 0).all()
    observed = pd.read_csv(pristine / "lai" / "beta_lai.csv", parse_dates=["time"]).set_index("time")["lai [m2 m-2]"]
    inside = observed.loc[START:END]
    np.testing.assert_allclose(lai.sel(site=7, time=inside.index).values, inside.values, atol=1e-9)


def test_linear_and_db_sentinel1_files_give_the_same_db_values(pristine):
    """Without the orbit-bias step the daily values are the files' values in dB (docs/model/validation.md e.1)."""
    options = options_for(pristine)
    sentinel1 = attrs.evolve(options.sentinel1, preprocessing=Sentinel1Preprocessing(bias_correction=False))
    data = site_files_data(attrs.evolve(options, sentinel1=sentinel1), start=START, end=END, run_start=RUN_START)
    linear = pd.read_csv(pristine / "s1" / "alpha.csv")
    times = pd.to_datetime(linear["time"]).dt.tz_localize(None).dt.floor("D")
    expected = pd.Series(10 * np.log10(linear["backscatter"].to_numpy()), index=times).loc[START:END]
    got = data.observations["backscatter"].sel(site=3).to_series().dropna()
    assert len(got) > 0.9 * len(expected)  # a few days may be masked (rain > 40 mm, frost)
    np.testing.assert_allclose(got.values, expected.loc[got.index].values, atol=1e-9)
    beta = pd.read_csv(pristine / "s1" / "beta.csv")
    beta_expected = pd.Series(beta["backscatter [dB]"].to_numpy(), index=pd.to_datetime(beta["time"]).dt.floor("D"))
    got = data.observations["backscatter"].sel(site=7).to_series().dropna()
    np.testing.assert_allclose(got.values, beta_expected.loc[got.index].values, atol=1e-9)
    assert set(np.unique(data.observations["orbit"].values)) <= {-1, 15, 88}


def test_orbit_bias_correction_equalises_orbit_means(site_data):
    """docs/model/validation.md e.4: after the correction every orbit's mean equals the site mean."""
    obs = site_data.observations
    for site in site_data.site_ids:
        values = obs["backscatter"].sel(site=site).values
        orbits = obs["orbit"].sel(site=site).values
        valid = np.isfinite(values)
        means = [values[valid & (orbits == o)].mean() for o in (15, 88)]
        assert means[0] == pytest.approx(means[1], abs=1e-9)


def test_insitu_is_the_daily_mean_of_the_station(site_data, pristine):
    insitu = site_data.insitu
    assert insitu.dims == ("time", "site") and insitu.attrs["units"] == "m3 m-3"
    lines = (next((pristine / "ismn" / "gamma").glob("*.stm"))).read_text().splitlines()[1:]
    records = pd.Series(
        [float(line.split()[2]) for line in lines],
        index=pd.to_datetime([" ".join(line.split()[:2]) for line in lines], format="%Y/%m/%d %H:%M"),
    )
    daily = records.groupby(records.index.floor("D")).mean().loc[START:END]
    np.testing.assert_allclose(insitu.sel(site=11).values, daily.values, atol=1e-12)


def test_paths_are_relative_to_a_relative_base_dir_from_the_working_directory(pristine, monkeypatch):
    monkeypatch.chdir(pristine.parent)
    data = build(pristine, base_dir=pristine.name)
    assert data.site_ids.tolist() == [3, 7, 11]
    monkeypatch.chdir(pristine)
    assert build(pristine, base_dir=None).site_ids.tolist() == [3, 7, 11]


def test_one_netcdf_forcing_file_for_every_site(network):
    """A pattern without placeholders is one file; its 'site' dimension is matched by id."""
    pieces = [xr.open_dataset(network / "forcing" / f"{site}.nc").load() for site in (7, 11)]
    shared = xr.concat(pieces, dim=pd.Index([7, 11], name="site"))
    shared.to_netcdf(network / "all_forcing.nc")
    options = options_for(network)
    options = attrs.evolve(options, sites="sites_7_11.csv", forcing=attrs.evolve(options.forcing, path="all_forcing.nc"))
    SITES[SITES["site"] != 3].to_csv(network / "sites_7_11.csv", index=False)
    data = site_files_data(options, start=START, end=END, run_start=RUN_START)
    np.testing.assert_allclose(data.forcing["net_radiation"].values, shared["net_radiation"].sel(time=slice(START, END)).values.T)


def test_forcing_gaps_need_an_explicit_fill(network):
    path = network / "forcing" / "3.csv"
    frame = pd.read_csv(path)
    frame.drop(index=[40, 41]).to_csv(path, index=False)
    with pytest.raises(SiteFilesError, match=r"site 3 \(alpha\): forcing file .*3\.csv.*missing on 2 day"):
        build(network)
    options = options_for(network)
    data = site_files_data(attrs.evolve(options, forcing=attrs.evolve(options.forcing, fill="linear")),
                           start=START, end=END, run_start=RUN_START)
    assert '"3": {"precipitation": ["2019-05-04", "2019-05-05"]' in data.forcing.attrs["filled_days"]


def test_selection_drops_sites_with_a_warning(pristine):
    selection = attrs.evolve(options_for(pristine).selection, min_backscatter_observations=40)
    with pytest.warns(UserWarning, match=r"1 site\(s\) dropped .*site 7 \(beta\): \d+ in-situ days, \d+ S1 observations"):
        data = build(pristine, selection=selection)
    assert data.site_ids.tolist() == [3, 11]
    assert data.insitu["site"].values.tolist() == [3, 11]
    assert data.observations["site"].values.tolist() == [3, 11]
    assert data.forcing.sizes["site"] == 2


def test_without_insitu_only_the_sentinel1_requirement_applies(pristine):
    options = options_for(pristine)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = build(pristine, insitu=attrs.evolve(options.insitu, path=None),
                     selection=attrs.evolve(options.selection, min_insitu_days=10_000))
    assert data.insitu is None and data.site_ids.size == 3


# ------------------------------------------------------------------------------------------ refused
def test_missing_file_names_the_site_and_the_path(network):
    (network / "forcing" / "7.nc").unlink()
    with pytest.raises(SiteFilesError, match=r"site 7 \(beta\): forcing: no file matches .*forcing/7\.\*"):
        build(network)
    (network / "lai" / "gamma_lai.csv").unlink()
    shutil.copy(network / "forcing" / "3.csv", network / "forcing" / "7.csv")
    with pytest.raises(SiteFilesError, match=r"site 11 \(gamma\): LAI: file not found: .*lai/gamma_lai\.csv"):
        build(network)


def test_ambiguous_pattern_is_refused(network):
    shutil.copy(network / "forcing" / "7.nc", network / "forcing" / "7.csv")
    with pytest.raises(SiteFilesError, match=r"site 7 \(beta\): forcing: 2 files"):
        build(network)


def test_forcing_with_an_unknown_unit_names_site_file_and_column(network):
    path = network / "forcing" / "3.csv"
    text = path.read_text().replace("net_radiation [MJ m-2 d-1]", "net_radiation [langley]")
    path.write_text(text)
    with pytest.raises(SiteFilesError, match=r"site 3 \(alpha\): forcing file .*3\.csv.*'net_radiation'.*'langley'"):
        build(network)


def test_forcing_not_covering_the_period_names_site_and_file(network):
    path = network / "forcing" / "3.csv"
    frame = pd.read_csv(path)
    frame[frame["time"] <= "2019-07-15"].to_csv(path, index=False)
    with pytest.raises(SiteFilesError, match=r"site 3 \(alpha\): forcing file .*3\.csv.*2019-04-01\.\.2019-07-31"):
        build(network)


def test_sentinel1_file_mixing_db_and_linear_is_refused(network):
    path = network / "s1" / "alpha.csv"
    frame = pd.read_csv(path)
    frame.loc[5:10, "units"] = "dB"
    frame.loc[5:10, "backscatter"] = -12.0
    frame.to_csv(path, index=False)
    with pytest.raises(SiteFilesError, match=r"site 3 \(alpha\): Sentinel-1 file .*alpha\.csv.*mixes dB and linear"):
        build(network)


def test_sentinel1_without_a_unit_is_refused(network):
    path = network / "s1" / "beta.csv"
    path.write_text(path.read_text().replace("backscatter [dB]", "backscatter"))
    with pytest.raises(SiteFilesError, match=r"site 7 \(beta\): Sentinel-1 file .*has no unit"):
        build(network)


def test_lai_gap_names_the_site_and_the_dates(network):
    path = network / "lai" / "beta_lai.csv"
    frame = pd.read_csv(path)
    frame[(frame["time"] < "2019-05-10") | (frame["time"] > "2019-06-20")].to_csv(path, index=False)
    with pytest.raises(SiteFilesError, match=r"site 7 \(beta\): LAI file .*beta_lai\.csv.*gap longer than 32 d.*2019-05-0\d to 2019-06-2\d"):
        build(network)


def test_lai_not_covering_the_period_is_an_error(network):
    path = network / "lai" / "alpha_lai.csv"
    frame = pd.read_csv(path)
    frame[frame["time"] >= "2019-04-10"].to_csv(path, index=False)
    with pytest.raises(SiteFilesError, match=r"site 3 \(alpha\): LAI file .*no daily LAI on \d+ day\(s\) between 2019-04-01"):
        build(network)


def test_lai_with_a_wrong_unit_is_refused(network):
    path = network / "lai" / "gamma_lai.csv"
    path.write_text(path.read_text().replace("lai [m2 m-2]", "lai [percent]"))
    with pytest.raises(SiteFilesError, match=r"site 11 \(gamma\): LAI file .*'percent' is not m2 m-2"):
        build(network)


def test_no_site_passing_the_selection_is_an_error(pristine):
    selection = attrs.evolve(options_for(pristine).selection, min_insitu_days=200)
    with pytest.raises(SiteFilesError, match=r"no site meets the selection \(>= 200 in-situ days.*site 3 \(alpha\)"):
        build(pristine, selection=selection)


def test_broken_ismn_file_names_the_site(network):
    station = next((network / "ismn" / "alpha").glob("*.stm"))
    lines = station.read_text().splitlines()
    lines[20] = "2019/03/30 05:00 0.2"
    station.write_text("\n".join(lines))
    with pytest.raises(SiteFilesError, match=r"site 3 \(alpha\): in-situ \(ISMN\) file .*:21: expected"):
        build(network)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("texture", "peat", r"site 3 \(alpha\): unknown soil texture 'peat'"),
        ("f_B", "0.5", r"site 3 \(alpha\).*must sum to one"),
        ("lat", "95", r"site 3 \(alpha\): lat = 95.0 outside"),
        ("site", "-3", r"row 2: site '-3' is not a non-negative integer"),
    ],
)
def test_bad_site_table_rows_name_the_site(network, column, value, message):
    table = SITES.copy().astype(object)
    table.loc[0, column] = value
    table.to_csv(network / "sites.csv", index=False)
    with pytest.raises(SiteFilesError, match=message):
        build(network)


def test_site_table_with_an_unknown_column_is_refused(network):
    SITES.assign(elevation=100.0).to_csv(network / "sites.csv", index=False)
    with pytest.raises(SiteFilesError, match=r"unknown column\(s\) \['elevation'\]"):
        build(network)


def test_missing_soil_parameters_without_texture_are_refused(network):
    SITES.assign(texture="").to_csv(network / "sites.csv", index=False)
    with pytest.raises(SiteFilesError, match=r"site 3 \(alpha\): w_sat is missing and no texture"):
        build(network)


# ------------------------------------------------------------------------------------------ YAML
def test_unknown_option_key_names_the_key_and_the_file(tmp_path):
    text = YAML.replace("    max_depth: 0.1\n", "    max_depth: 0.1\n    maximum_depth: 0.05\n")
    path = write_config(tmp_path, tmp_path, text)
    with pytest.raises(ConfigError, match=r"key 'source\.insitu\.maximum_depth' in .*files_tiny\.yaml: unknown key"):
        schema.load(path)


def test_missing_pattern_and_bad_values_are_config_errors(tmp_path):
    text = YAML.replace("  lai:\n    path: lai/{{name}}_lai.csv\n", "")
    with pytest.raises(ConfigError, match=r"'lai' needs a 'path'"):
        schema.load(write_config(tmp_path, tmp_path, text))
    text = YAML.replace("    path: forcing/{{site}}.*\n", "    path: forcing/{{site}}.*\n    fill: nearest\n")
    with pytest.raises(ConfigError, match=r"key 'source\.forcing\.fill'"):
        schema.load(write_config(tmp_path, tmp_path, text))
    text = YAML.replace("    path: forcing/{{site}}.*\n", "    path: forcing/{{site}}.*\n    columns: {{precipitation: P}}\n")
    with pytest.raises(ConfigError, match=r"key 'source\.forcing\.columns'.*missing: \['air_temperature', 'net_radiation'\]"):
        schema.load(write_config(tmp_path, tmp_path, text))


# ------------------------------------------------------------------------------------------ shared files
def test_one_csv_per_kind_for_every_site(network, pristine):
    """Patterns without placeholders: one forcing, S1 and LAI CSV with a 'site' column (ids or names)."""
    forcing = pd.read_csv(network / "forcing" / "3.csv")
    shared = pd.concat([forcing.assign(site=site) for site in (3, 7, 11)])
    shared.to_csv(network / "all_forcing.csv", index=False)
    lai = pd.concat([pd.read_csv(network / "lai" / f"{name}_lai.csv").assign(site=name) for name in SITES["name"]])
    lai.to_csv(network / "all_lai.csv", index=False)
    beta = pd.read_csv(network / "s1" / "beta.csv")
    pd.concat([beta.assign(site=site) for site in (3, 7, 11)]).to_csv(network / "all_s1.csv", index=False)
    options = options_for(network)
    options = attrs.evolve(
        options,
        forcing=attrs.evolve(options.forcing, path="all_forcing.csv"),
        lai=attrs.evolve(options.lai, path="all_lai.csv"),
        sentinel1=attrs.evolve(options.sentinel1, path="all_s1.csv"),
    )
    data = site_files_data(options, start=START, end=END, run_start=RUN_START)
    reference = build(pristine)
    for site in (3, 7, 11):
        np.testing.assert_allclose(data.forcing["net_radiation"].sel(site=site), reference.forcing["net_radiation"].sel(site=3))
        np.testing.assert_allclose(data.forcing["lai"].sel(site=site), reference.forcing["lai"].sel(site=site))
        np.testing.assert_allclose(data.observations["backscatter"].sel(site=site), reference.observations["backscatter"].sel(site=7))
    pd.concat([forcing.assign(site=site) for site in (3, 7)]).to_csv(network / "all_forcing.csv", index=False)
    with pytest.raises(SiteFilesError, match=r"site 11 \(gamma\): forcing file .*all_forcing\.csv: no rows of this site"):
        site_files_data(options, start=START, end=END, run_start=RUN_START)


# ------------------------------------------------------------------------------------------ properties
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subset=st.lists(st.sampled_from([0, 1, 2]), min_size=1, max_size=3, unique=True))
def test_a_site_gets_the_same_data_whatever_other_sites_are_read(pristine, site_data, subset):
    """docs/architecture.md "Scaling": any subset (and order) of the site table reproduces the same numbers."""
    directory = pristine / "subsets"
    directory.mkdir(exist_ok=True)
    table = f"sites_{'_'.join(map(str, subset))}.csv"
    SITES.iloc[subset].to_csv(directory / table, index=False)
    data = build(pristine, sites=str(directory / table))
    ids = SITES["site"].iloc[subset].tolist()
    assert data.site_ids.tolist() == ids
    xr.testing.assert_identical(data.forcing.drop_attrs(), site_data.forcing.sel(site=ids).drop_attrs())
    xr.testing.assert_identical(data.observations.drop_attrs(), site_data.observations.sel(site=ids).drop_attrs())
    xr.testing.assert_identical(data.insitu, site_data.insitu.sel(site=ids))
    xr.testing.assert_identical(data.sites.drop_vars("texture", errors="ignore"),
                                site_data.sites.sel(site=ids).drop_vars("texture", errors="ignore"))
