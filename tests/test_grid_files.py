"""Gridded real-data reader: small CF grids written here as NetCDF (scipy) and Zarr.

Every bad-input case of the site readers has its grid counterpart: wrong units, gaps, unsorted
or duplicate times, a grid that does not cover the domain, NaN and out-of-range values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from s1da.components.sources.grid_files import GridFilesError, GridFilesOptions, grid_files_data

LAT = 46.0 + 0.01 * np.arange(5)  # cell centres, 5 rows
LON = 7.0 + 0.01 * np.arange(6)  # 6 columns
DAYS = pd.date_range("2018-01-01", "2018-02-14", freq="D")
START, END = "2018-01-05", "2018-02-10"


def _maps():
    y, x = np.meshgrid(np.arange(LAT.size), np.arange(LON.size), indexing="ij")
    land = np.ones((LAT.size, LON.size), dtype=np.int8)
    land[0, 0] = 0  # a lake
    f_T = 0.1 + 0.02 * x
    f_W = np.zeros_like(f_T)
    f_H = 0.6 - 0.01 * y
    return xr.Dataset(
        {
            "land_mask": (("lat", "lon"), land, {"units": "1", "long_name": "land mask"}),
            "f_T": (("lat", "lon"), f_T, {"units": "1"}),
            "f_H": (("lat", "lon"), f_H, {"units": "1"}),
            "f_W": (("lat", "lon"), f_W, {"units": "1"}),
            "f_B": (("lat", "lon"), 1.0 - f_T - f_H - f_W, {"units": "1"}),
            "w_sat": (("lat", "lon"), np.full(y.shape, 0.45), {"units": "m3 m-3"}),
            "w_fc": (("lat", "lon"), np.full(y.shape, 0.30), {"units": "m3 m-3"}),
            "w_c": (("lat", "lon"), np.full(y.shape, 0.22), {"units": "m3 m-3"}),
            "w_wp": (("lat", "lon"), np.full(y.shape, 0.10), {"units": "m3 m-3"}),
        },
        coords={"lat": ("lat", LAT, {"units": "degrees_north"}), "lon": ("lon", LON, {"units": "degrees_east"})},
    )


def _series(times, lat=LAT, lon=LON, base=0.0, amplitude=1.0):
    t = np.arange(len(times))[:, None, None]
    return base + amplitude * (np.sin(t / 5.0) + 0.01 * np.arange(len(lat))[None, :, None] + 0.02 * np.arange(len(lon))[None, None, :])


def _forcing(times=DAYS, lat=LAT, lon=LON):
    dims = ("time", "lat", "lon")
    return xr.Dataset(
        {
            # kg m-2 s-1 (a flux), K, MJ m-2 d-1: every value is converted to model units
            "pr": (dims, np.abs(_series(times, lat, lon, 0.0, 3.0)) / 86400.0, {"units": "kg m-2 s-1"}),
            "tas": (dims, _series(times, lat, lon, 280.0, 5.0), {"units": "K"}),
            "rn": (dims, _series(times, lat, lon, 8.0, 2.0), {"units": "MJ m-2 d-1"}),
        },
        coords={"time": times, "lat": lat, "lon": lon},
    )


def _lai():
    dekads = pd.date_range("2017-12-21", "2018-02-28", freq="10D")
    return xr.Dataset(
        {"LAI": (("time", "lat", "lon"), _series(dekads, base=2.0, amplitude=0.5), {"units": "m2 m-2"})},
        coords={"time": dekads, "lat": LAT, "lon": LON},
    )


def _sentinel1():
    passes = pd.date_range("2018-01-02", "2018-02-12", freq="6D")
    linear = 10 ** (_series(passes, base=-12.0, amplitude=2.0) / 10.0)
    linear[1, 2, 3] = np.nan  # no usable observation in one cell
    return xr.Dataset(
        {"sigma0_vv": (("time", "lat", "lon"), linear, {"units": "1", "long_name": "linear VV"})},
        coords={"time": passes, "lat": LAT, "lon": LON},
    ).isel(lat=slice(None, None, -1))  # north-up, as many products


def _write(dataset: xr.Dataset, path: Path) -> str:
    if path.suffix == ".zarr":
        dataset.to_zarr(path, mode="w")
    else:
        dataset.to_netcdf(path, engine="scipy")
    return str(path)


@pytest.fixture(params=[".nc", ".zarr"])
def files(tmp_path, request):
    suffix = request.param
    return {
        "statics": _write(_maps(), tmp_path / f"statics{suffix}"),
        "forcing": _write(_forcing(), tmp_path / f"forcing{suffix}"),
        "lai": _write(_lai(), tmp_path / f"lai{suffix}"),
        "sentinel1": _write(_sentinel1(), tmp_path / f"s1{suffix}"),
    }


def _options(files, **changes):
    base = dict(
        files,
        forcing_variables={"precipitation": "pr", "air_temperature": "tas", "net_radiation": "rn"},
        lai_variable="LAI",
        backscatter_variable="sigma0_vv",
    )
    return GridFilesOptions(**{**base, **changes})


def test_reads_grids_lazily_by_region_with_units_converted(files):
    data = grid_files_data(_options(files), start=START, end=END)
    assert data.grid.shape == (5, 6) and data.site_ids.size == 29  # one lake cell
    np.testing.assert_array_equal(data.site_ids, data.grid.site_ids)
    raw = _forcing().sel(time=slice(START, END))
    cell = data.site_ids.tolist().index(2 * 6 + 3)
    np.testing.assert_allclose(data.forcing["air_temperature"].values[:, cell], raw["tas"].values[:, 2, 3] - 273.15)
    np.testing.assert_allclose(data.forcing["precipitation"].values[:, cell], raw["pr"].values[:, 2, 3] * 86400.0)
    np.testing.assert_allclose(data.forcing["net_radiation"].values[:, cell], raw["rn"].values[:, 2, 3] * 1e6 / 86400.0)
    backscatter = data.observations["backscatter"]
    assert np.isfinite(backscatter.values).sum(axis=0).min() >= 5
    day = np.datetime64("2018-01-14")
    np.testing.assert_allclose(backscatter.sel(time=day).values[cell], 10 * np.log10(_sentinel1()["sigma0_vv"].sel(time=day).values[2, 3]))
    assert np.isnan(backscatter.sel(time=np.datetime64("2018-01-08")).values[cell])  # the NaN cell, north-up file
    assert data.forcing["lai"].shape == (37, 29)

    region = grid_files_data(_options(files, region=(46.015, 46.045, 7.025, 7.055)), start=START, end=END)
    assert region.grid.shape == (3, 3)
    full = data.forcing["air_temperature"].values[:, [data.site_ids.tolist().index(y * 6 + x) for y in (2, 3, 4) for x in (3, 4, 5)]]
    np.testing.assert_array_equal(region.forcing["air_temperature"].values, full)


def test_insitu_stations_are_matched_to_their_cells(files, tmp_path):
    def station(name, lat, lon):
        folder = tmp_path / "ismn" / name
        folder.mkdir(parents=True)
        hours = pd.date_range(START, END, freq="6h")
        lines = [f"NET NET {name} {lat:.5f} {lon:.5f} 100.00 0.05 0.05 Probe"]
        lines += [f"{t:%Y/%m/%d %H:%M} {0.2 + 0.01 * (t.day % 3):.4f} G M" for t in hours]
        (folder / f"NET_NET_{name}_sm_0.050000_0.050000_Probe_20180101_20180301.stm").write_text("\n".join(lines) + "\n")
        return str(folder)

    inside = station("A", 46.021, 7.032)  # cell y=2, x=3
    data = grid_files_data(_options(files, insitu=(inside,)), start=START, end=END)
    has = np.isfinite(data.insitu.values).any(axis=0)
    assert data.site_ids[has].tolist() == [2 * 6 + 3]
    outside = station("B", 47.5, 7.03)
    with pytest.raises(GridFilesError, match=r"station .*B at \(47.5, 7.03\) lies outside the domain"):
        grid_files_data(_options(files, insitu=(outside,)), start=START, end=END)
    lake = station("C", 46.0, 7.0)
    with pytest.raises(GridFilesError, match="lies in cell y=0, x=0, which is not land"):
        grid_files_data(_options(files, insitu=(lake,)), start=START, end=END)


def _broken(files, tmp_path, key, dataset, name):
    suffix = Path(files[key]).suffix
    return {**files, key: _write(dataset, tmp_path / f"broken_{name}{suffix}")}


def _forcing_with(change):
    forcing = _forcing()
    change(forcing)
    return forcing


BAD_INPUTS = {
    "unknown unit": ("forcing", lambda: _forcing_with(lambda f: f["rn"].attrs.update(units="langley")), r"unit 'langley' of net_radiation is not identified"),
    "no units": ("forcing", lambda: _forcing_with(lambda f: f["tas"].attrs.pop("units")), r"variable 'tas' has no 'units' attribute"),
    "kelvin labelled degC": (
        "forcing",
        lambda: _forcing_with(lambda f: f["tas"].attrs.update(units="degC")),
        r"gives air_temperature = 2\d\d.* at cell y=0, x=1 .* on 2018-01-05 after conversion from 'degC', outside -90..60: wrong unit",
    ),
    "gap": ("forcing", lambda: _forcing().drop_sel(time=np.datetime64("2018-01-20")), r"gap in the daily time axis: 1 day\(s\) missing, first 2018-01-20"),
    "unsorted": ("forcing", lambda: _forcing().isel(time=[*range(10), 11, 10, *range(12, DAYS.size)]), r"unsorted time 2018-01-11 after 2018-01-12"),
    "duplicate": ("forcing", lambda: _forcing().isel(time=[*range(10), 9, *range(10, DAYS.size)]), r"duplicate time 2018-01-10"),
    "short period": ("forcing", lambda: _forcing().sel(time=slice("2018-01-01", "2018-02-01")), r"do not cover the period 2018-01-05..2018-02-10"),
    "not covering the domain": ("forcing", lambda: _forcing(lon=LON[:4]), r"has no cell centre at lon 7.04 of the domain \(grid lon 6.995..7.035\)"),
    "NaN at a land cell": (
        "forcing",
        lambda: _forcing_with(lambda f: f["pr"].values.__setitem__((12, 3, 2), np.nan)),
        r"variable 'pr' \(precipitation\) is missing or not finite at cell y=3, x=2 \(lat 46.0300, lon 7.0200\) on 2018-01-13",
    ),
    "negative precipitation": (
        "forcing",
        lambda: _forcing_with(lambda f: f["pr"].values.__setitem__((20, 1, 1), -1e-4)),
        r"gives precipitation = -8.64 mm d-1 at cell y=1, x=1 .* on 2018-01-21 .* outside 0..2000",
    ),
    "LAI unit": ("lai", lambda: _lai().assign(LAI=_lai()["LAI"].assign_attrs(units="0.1 m2 m-2")), r"unit '0.1 m2 m-2' is not m2 m-2"),
    "LAI out of range": ("lai", lambda: _lai().assign(LAI=_lai()["LAI"] * 10), r"variable 'LAI' = 2\d.* m2 m-2 at cell y=0, x=1 .* above 15"),
    "LAI gap": ("lai", lambda: _lai().drop_sel(time=_lai()["time"].values[[2, 3, 4]]), r"variable 'LAI'.*gap"),
    "backscatter out of range": (
        "sentinel1",
        lambda: _sentinel1().assign(sigma0_vv=_sentinel1()["sigma0_vv"].assign_attrs(units="dB") * 0 + 35.0),
        r"variable 'sigma0_vv' = 35 at cell y=0, x=1 .* on 2018-01-08: outside \(-60.0, 20.0\) dB",
    ),
    "backscatter unit": ("sentinel1", lambda: _sentinel1().assign(sigma0_vv=_sentinel1()["sigma0_vv"].assign_attrs(units="m")), r"unit 'm' is neither dB nor linear"),
    "statics NaN": ("statics", lambda: _maps().assign(w_fc=_maps()["w_fc"].where(_maps()["lat"] < 46.035)), r"variable 'w_fc' is not finite at land cell y=4, x=0"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_every_bad_input_is_an_error_naming_file_variable_and_place(files, tmp_path, case):
    key, make, message = BAD_INPUTS[case]
    broken = _broken(files, tmp_path, key, make(), case.replace(" ", "_"))
    with pytest.raises(GridFilesError, match=message) as error:
        grid_files_data(_options(broken), start=START, end=END)
    assert "broken_" in str(error.value)  # names the file


def test_a_region_outside_the_grid_and_a_missing_file_are_errors(files):
    with pytest.raises(GridFilesError, match=r"covers lat 45.995..46.045 \(cell edges\); the domain needs 46..46.2"):
        grid_files_data(_options(files, region=(46.0, 46.2, 7.0, 7.05)), start=START, end=END)
    with pytest.raises(GridFilesError, match="forcing grid: file not found: .*nowhere.nc"):
        grid_files_data(_options(files, forcing="nowhere.nc"), start=START, end=END)
    with pytest.raises(ValueError, match="region must be"):
        _options(files, region=(46.1, 46.0, 7.0, 7.1))
