"""Daily forcing readers: unit conversion to model units, gaps and bad input, KNMI De Bilt."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from s1da.components.sources import forcing


def _write(tmp_path, text, name="forcing.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


VARIABLES = {"precipitation": "P", "air_temperature": "T", "net_radiation": "Rn"}


@pytest.mark.parametrize(
    ("variable", "unit", "raw", "expected"),
    [
        ("precipitation", "mm", 2.5, 2.5),
        ("precipitation", "mm d-1", 2.5, 2.5),
        ("precipitation", "0.1 mm", 25, 2.5),
        ("precipitation", "m", 0.0025, 2.5),
        ("precipitation", "kg m-2 s-1", 2.5 / 86400, 2.5),
        ("air_temperature", "degC", 12.5, 12.5),
        ("air_temperature", "°C", 12.5, 12.5),
        ("air_temperature", "K", 285.65, 12.5),
        ("air_temperature", "0.1 degC", 125, 12.5),
        ("net_radiation", "W m-2", 100.0, 100.0),
        ("net_radiation", "W/m2", 100.0, 100.0),
        ("net_radiation", "MJ m-2 d-1", 8.64, 100.0),
        ("net_radiation", "J cm-2 d-1", 864.0, 100.0),
        ("net_radiation", "kJ m-2 d-1", 8640.0, 100.0),
    ],
)
def test_forcing_readers_unit_conversions(variable, unit, raw, expected):
    scale, offset = forcing.conversion(variable, unit, "col")
    assert raw * scale + offset == pytest.approx(expected, rel=1e-12)


def test_forcing_readers_csv_header_units(tmp_path):
    path = _write(tmp_path, "time,P [0.1 mm],T (K),Rn [MJ m-2 d-1]\n"
                            "2020-01-01,25,273.15,8.64\n2020-01-02,0,283.15,0\n2020-01-03,10,263.15,-1.728\n")
    ds = forcing.read_forcing_csv(path, VARIABLES)
    np.testing.assert_allclose(ds.precipitation, [2.5, 0.0, 1.0])
    np.testing.assert_allclose(ds.air_temperature, [0.0, 10.0, -10.0], atol=1e-12)
    np.testing.assert_allclose(ds.net_radiation, [100.0, 0.0, -20.0])
    for name in VARIABLES:
        assert ds[name].attrs["units"] and ds[name].attrs["long_name"]
    assert ds.precipitation.attrs["units"] == "mm d-1" and ds.net_radiation.attrs["units"] == "W m-2"
    assert ds.sizes == {"time": 3}


def test_forcing_readers_units_argument_and_conflict(tmp_path):
    path = _write(tmp_path, "time,P,T,Rn\n2020-01-01,1,1,1\n2020-01-02,2,2,2\n")
    ds = forcing.read_forcing_csv(path, VARIABLES, units={"P": "mm", "T": "degC", "Rn": "W m-2"})
    np.testing.assert_allclose(ds.precipitation, [1, 2])
    with pytest.raises(forcing.ForcingError, match=r"column 'Rn' \(net_radiation\) has no unit"):
        forcing.read_forcing_csv(path, VARIABLES, units={"P": "mm", "T": "degC"})
    conflict = _write(tmp_path, "time,P [mm],T,Rn\n2020-01-01,1,1,1\n", "c.csv")
    with pytest.raises(forcing.ForcingError, match="'P' says \\[mm\\]"):
        forcing.read_forcing_csv(conflict, VARIABLES, units={"P": "m", "T": "degC", "Rn": "W m-2"})


def test_forcing_readers_unknown_unit_names_column(tmp_path):
    path = _write(tmp_path, "time,P [inch],T [degC],Rn [W m-2]\n2020-01-01,1,1,1\n")
    with pytest.raises(forcing.ForcingError, match="column 'P'.*'inch'"):
        forcing.read_forcing_csv(path, VARIABLES)
    with pytest.raises(forcing.ForcingError, match="column 'X'.*unknown forcing variable"):
        forcing.conversion("wind", "m/s", "X")
    # a temperature unit on a radiation column is not identified either
    with pytest.raises(forcing.ForcingError, match="column 'Rn'"):
        forcing.conversion("net_radiation", "degC", "Rn")


@pytest.mark.parametrize(("dates", "message"), [
    (["2020-01-02", "2020-01-01"], "unsorted"),
    (["2020-01-01", "2020-01-01"], "duplicate"),
])
def test_forcing_readers_unsorted_duplicate_dates(tmp_path, dates, message):
    body = "".join(f"{d},1,1,1\n" for d in dates)
    path = _write(tmp_path, "time,P [mm],T [degC],Rn [W m-2]\n" + body)
    for fill in (None, "nan", "linear"):
        with pytest.raises(forcing.ForcingError, match=message):
            forcing.read_forcing_csv(path, VARIABLES, fill=fill)


def test_forcing_readers_gaps_error_or_fill(tmp_path):
    path = _write(tmp_path, "time,P [mm],T [degC],Rn [W m-2]\n"
                            "2020-01-01,1,0,10\n2020-01-02,,2,20\n2020-01-04,4,6,40\n")
    with pytest.raises(forcing.ForcingError, match=r"precipitation \(column 'P'\) is missing on 2 day\(s\), first 2020-01-02"):
        forcing.read_forcing_csv(path, VARIABLES)
    nan = forcing.read_forcing_csv(path, VARIABLES, fill="nan")
    assert nan.sizes["time"] == 4 and np.isnan(nan.precipitation[1:3]).all()
    assert json.loads(nan.attrs["filled_days"])["precipitation"] == ["2020-01-02", "2020-01-03"]
    linear = forcing.read_forcing_csv(path, VARIABLES, fill="linear")
    np.testing.assert_allclose(linear.precipitation, [1, 2, 3, 4])
    np.testing.assert_allclose(linear.air_temperature, [0, 2, 4, 6])
    assert json.loads(linear.attrs["filled_days"])["air_temperature"] == ["2020-01-03"]
    edge = _write(tmp_path, "time,P [mm],T [degC],Rn [W m-2]\n2020-01-01,,0,10\n2020-01-02,1,2,20\n", "e.csv")
    with pytest.raises(forcing.ForcingError, match="start or end"):
        forcing.read_forcing_csv(edge, VARIABLES, fill="linear")
    with pytest.raises(ValueError, match="fill must be"):
        forcing.read_forcing_csv(path, VARIABLES, fill="zero")


def test_forcing_readers_bad_values(tmp_path):
    negative = _write(tmp_path, "time,P [mm],T [degC],Rn [W m-2]\n2020-01-01,-1,0,10\n")
    with pytest.raises(forcing.ForcingError, match="negative precipitation in column 'P' on 2020-01-01"):
        forcing.read_forcing_csv(negative, VARIABLES)
    text = _write(tmp_path, "time,P [mm],T [degC],Rn [W m-2]\n2020-01-01,1,warm,10\n", "t.csv")
    with pytest.raises(forcing.ForcingError, match="column 'T' row 2: 'warm'"):
        forcing.read_forcing_csv(text, VARIABLES)
    infinite = _write(tmp_path, "time,P [mm],T [degC],Rn [W m-2]\n2020-01-01,1,inf,10\n", "i.csv")
    with pytest.raises(forcing.ForcingError, match="air_temperature"):
        forcing.read_forcing_csv(infinite, VARIABLES)
    missing = _write(tmp_path, "time,P [mm],T [degC]\n2020-01-01,1,1\n", "m.csv")
    with pytest.raises(forcing.ForcingError, match="'Rn' for net_radiation not found"):
        forcing.read_forcing_csv(missing, VARIABLES)
    subdaily = _write(tmp_path, "time,P [mm],T [degC],Rn [W m-2]\n2020-01-01 12:00,1,1,1\n", "s.csv")
    with pytest.raises(forcing.ForcingError, match="not a calendar day"):
        forcing.read_forcing_csv(subdaily, VARIABLES)
    bad_date = _write(tmp_path, "time,P [mm],T [degC],Rn [W m-2]\nyesterday,1,1,1\n", "d.csv")
    with pytest.raises(forcing.ForcingError, match="row 2: cannot read a date"):
        forcing.read_forcing_csv(bad_date, VARIABLES)


@pytest.mark.parametrize(("header", "value", "message"), [
    ("T [degC]", "285.1", "air_temperature = 285.1 degC"),
    ("Rn [W m-2]", "8640", "net_radiation = 8640 W m-2"),
    ("P [m]", "25", "precipitation = 25000 mm d-1"),
])
def test_forcing_readers_implausible_values_betray_wrong_unit(tmp_path, header, value, message):
    columns = {"P": "P [mm]", "T": "T [degC]", "Rn": "Rn [W m-2]"}
    name = header.split()[0]
    columns[name] = header
    row = {"P": "1", "T": "10", "Rn": "100"} | {name: value}
    path = _write(tmp_path, "time," + ",".join(columns.values()) + "\n2020-01-01," + ",".join(row.values()) + "\n")
    with pytest.raises(forcing.ForcingError, match=rf"column '{name}' gives {message}.*wrong unit"):
        forcing.read_forcing_csv(path, VARIABLES)


def test_forcing_readers_netcdf(tmp_path):
    time = pd.date_range("2020-01-01", periods=4, freq="D")
    raw = xr.Dataset(
        {
            "tp": ("time", [0.001, 0.0, 0.002, 0.0005], {"units": "m"}),
            "t2m": ("time", [273.15, 274.15, 275.15, 276.15], {"units": "K"}),
            "rn": ("time", [8.64, 4.32, 0.0, 17.28], {"units": "MJ m-2 d-1"}),
        },
        coords={"time": time},
    )
    path = tmp_path / "f.nc"
    raw.to_netcdf(path)
    names = {"precipitation": "tp", "air_temperature": "t2m", "net_radiation": "rn"}
    ds = forcing.read_forcing_netcdf(path, names)
    np.testing.assert_allclose(ds.precipitation, [1.0, 0.0, 2.0, 0.5])
    np.testing.assert_allclose(ds.air_temperature, [0, 1, 2, 3], atol=1e-9)
    np.testing.assert_allclose(ds.net_radiation, [100, 50, 0, 200])
    raw["rn"].attrs["units"] = "langley"
    raw.to_netcdf(tmp_path / "bad.nc")
    with pytest.raises(forcing.ForcingError, match="column 'rn'.*'langley'"):
        forcing.read_forcing_netcdf(tmp_path / "bad.nc", names)
    del raw["rn"].attrs["units"]
    raw.to_netcdf(tmp_path / "none.nc")
    with pytest.raises(forcing.ForcingError, match="'rn' has no 'units'"):
        forcing.read_forcing_netcdf(tmp_path / "none.nc", names)
    gap = raw.isel(time=[0, 1, 3])
    gap["rn"].attrs["units"] = "W m-2"
    gap.to_netcdf(tmp_path / "gap.nc")
    with pytest.raises(forcing.ForcingError, match="missing on 1 day"):
        forcing.read_forcing_netcdf(tmp_path / "gap.nc", names)


@given(st.floats(-80, 60, allow_nan=False), st.floats(0, 500, allow_nan=False))
def test_forcing_readers_conversions_round_trip(celsius, watts):
    kelvin_scale, kelvin_offset = forcing.conversion("air_temperature", "K", "T")
    assert (celsius + 273.15) * kelvin_scale + kelvin_offset == pytest.approx(celsius, abs=1e-9)
    for unit, per_watt in (("MJ m-2 d-1", 0.0864), ("J cm-2 d-1", 8.64), ("kJ m-2 d-1", 86.4)):
        scale, offset = forcing.conversion("net_radiation", unit, "Rn")
        assert (watts * per_watt) * scale + offset == pytest.approx(watts, rel=1e-12, abs=1e-12)


def test_forcing_readers_knmi_debilt(shared_data):
    path = shared_data / "knmi_debilt_pyet" / "etmgeg_260.txt"
    ds = forcing.read_knmi_daily(path)
    assert ds.sizes["time"] == 14610
    assert str(ds.time[0].dt.date.item()) == "1980-01-01" and str(ds.time[-1].dt.date.item()) == "2019-12-31"
    # first data row: RH=58 (0.1 mm), TG=9 (0.1 degC), Q=253 J/cm2
    assert ds.precipitation[0].item() == pytest.approx(5.8)
    assert ds.air_temperature[0].item() == pytest.approx(0.9)
    assert ds.shortwave_radiation[0].item() == pytest.approx(253e4 / 86400)
    # 1980-01-09 has RH = -1 (< 0.05 mm): trace precipitation, default 0 mm, or chosen
    assert ds.precipitation.sel(time="1980-01-09").item() == 0.0
    trace = forcing.read_knmi_daily(path, trace_precipitation=0.025)
    assert trace.precipitation.sel(time="1980-01-09").item() == pytest.approx(0.025)
    # climatology sanity at De Bilt (independent: annual totals and means from the raw column)
    annual = ds.precipitation.groupby("time.year").sum()
    assert 500 < float(annual.min()) and float(annual.max()) < 1300
    assert 9 < float(ds.air_temperature.mean()) < 12
    assert (ds.precipitation >= 0).all() and (ds.air_temperature_min <= ds.air_temperature_max).all()
    assert ds.shortwave_radiation.attrs["units"] == "W m-2"


def test_forcing_readers_period(tmp_path):
    path = _write(tmp_path, "time,P [mm],T [degC],Rn [W m-2]\n"
                            "2020-01-01,,0,10\n2020-01-02,1,2,20\n2020-01-03,2,2,20\n2020-01-05,4,6,40\n")
    ds = forcing.read_forcing_csv(path, VARIABLES, period=("2020-01-02", "2020-01-03"))
    assert ds.sizes["time"] == 2 and str(ds.time[0].dt.date.item()) == "2020-01-02"
    with pytest.raises(forcing.ForcingError, match="missing on 1 day"):
        forcing.read_forcing_csv(path, VARIABLES, period=("2020-01-02", "2020-01-05"))
    with pytest.raises(forcing.ForcingError, match="not inside the record"):
        forcing.read_forcing_csv(path, VARIABLES, period=("2019-12-01", "2020-01-05"))


def test_forcing_readers_real_cosmos_uk_spen_farm(shared_data):
    path = shared_data / "spen_farm_cosmos_uk" / "COSMOS-UK_SPENF_daily_2016-2021_from_pkl.csv"
    names = {"air_temperature": "TA_LEVEL2_MEAN", "net_radiation": "RN_LEVEL2_TOTAL",
             "precipitation": "PRECIPITATION_LEVEL2_TOTAL"}
    units = {"TA_LEVEL2_MEAN": "degC", "RN_LEVEL2_TOTAL": "MJ m-2 d-1", "PRECIPITATION_LEVEL2_TOTAL": "mm"}
    with pytest.raises(forcing.ForcingError, match=r"is missing on \d+ day\(s\), first 2016-01-01"):
        forcing.read_forcing_csv(path, names, units, time_column="DATE_TIME")
    with pytest.raises(forcing.ForcingError, match=r"precipitation \(column 'PRECIPITATION_LEVEL2_TOTAL'\) is missing"):
        forcing.read_forcing_csv(path, {"precipitation": names["precipitation"]}, units, time_column="DATE_TIME",
                                 period=("2017-01-01", "2019-12-31"))
    # temperature and net radiation are complete over 2017 (SOURCES.md); precipitation is read with fill
    complete = forcing.read_forcing_csv(path, {k: names[k] for k in ("air_temperature", "net_radiation")}, units,
                                        time_column="DATE_TIME", period=("2017-01-01", "2017-12-31"))
    assert complete.sizes["time"] == 365
    assert 8 < float(complete.air_temperature.mean()) < 12  # Yorkshire annual mean
    assert 30 < float(complete.net_radiation.mean()) < 80  # W m-2, UK annual mean net radiation
    raw = pd.read_csv(path, index_col="DATE_TIME", parse_dates=True).loc["2017"]
    np.testing.assert_allclose(complete.net_radiation, raw["RN_LEVEL2_TOTAL"] * 1e6 / 86400)
    with_gaps = forcing.read_forcing_csv(path, names, units, time_column="DATE_TIME", fill="nan")
    filled = json.loads(with_gaps.attrs["filled_days"])
    assert len(filled["precipitation"]) == int(with_gaps.precipitation.isnull().sum()) > 0
