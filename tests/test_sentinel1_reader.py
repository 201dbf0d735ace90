"""Sentinel-1 backscatter readers: CSV / NetCDF / Zarr, dB and linear, explicit units, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from s1da.components.sources import sentinel1 as s1


def _write(tmp_path, text, name="s1.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_sentinel1_csv_db_and_linear_agree(tmp_path):
    db = _write(tmp_path, "site,time,backscatter,units,orbit,incidence_angle\n"
                          "A,2020-01-01T05:00,-10,dB,15,38.5\nA,2020-01-02T17:00,-13,dB,88,41.0\n"
                          "B,2020-01-01T05:00,-7,dB,15,35.0\n", "db.csv")
    linear = _write(tmp_path, "site;time;VV [linear];orbit\n"
                              "A;2020-01-01T05:00;0.1;15\nA;2020-01-02T17:00;0.0501187234;88\n"
                              "B;2020-01-01T05:00;0.1995262315;15\n", "lin.csv")
    a = s1.read_backscatter_csv(db)
    b = s1.read_backscatter_csv(linear, value_column="VV")
    np.testing.assert_allclose(a["backscatter"], [-10, -13, -7])
    np.testing.assert_allclose(b["backscatter"], a["backscatter"], atol=1e-8)
    assert list(a["orbit"]) == [15, 88, 15] and str(a["orbit"].dtype) == "Int64"
    assert b["incidence_angle"].isna().all() and a["incidence_angle"].iloc[0] == 38.5
    assert list(a.columns) == ["site", "time", "backscatter", "orbit", "incidence_angle"]
    assert a.attrs["variables"]["backscatter"]["units"] == "dB"
    assert a["time"].dtype == "datetime64[ns]"


def test_sentinel1_units_argument_single_site(tmp_path):
    path = _write(tmp_path, "time,sigma0\n2020-01-01,0.05\n2020-01-07,0.04\n")
    table = s1.read_backscatter_csv(path, value_column="sigma0", units="linear", site="X", orbit_column=None)
    np.testing.assert_allclose(table["backscatter"], 10 * np.log10([0.05, 0.04]))
    assert (table["site"] == "X").all() and table["orbit"].isna().all()


def test_sentinel1_mixed_units_column_is_error(tmp_path):
    path = _write(tmp_path, "site,time,backscatter,units\nA,2020-01-01,-10,dB\nA,2020-01-02,0.1,linear\n")
    with pytest.raises(s1.BackscatterFileError, match=r"s1\.csv: column 'units' mixes dB and linear.*'backscatter'"):
        s1.read_backscatter_csv(path)


def test_sentinel1_mixed_values_detected(tmp_path):
    in_linear = _write(tmp_path, "site,time,vv [lin]\nA,2020-01-01,0.1\nA,2020-01-02,-12.0\n", "a.csv")
    with pytest.raises(s1.BackscatterFileError, match=r"a\.csv: column 'vv \[lin\]' row 3.*mixed dB and linear"):
        s1.read_backscatter_csv(in_linear, value_column="vv")
    in_db = _write(tmp_path, "site,time,vv [dB]\n" + "".join(
        f"A,2020-01-{d:02d},{v}\n" for d, v in enumerate([-10, -11, 0.08, 0.09, -12], start=1)), "b.csv")
    with pytest.raises(s1.BackscatterFileError, match=r"b\.csv: column 'vv \[dB\]' row 4.*mixed dB and linear"):
        s1.read_backscatter_csv(in_db, value_column="vv")
    absurd = _write(tmp_path, "site,time,vv\nA,2020-01-01,150\n", "c.csv")
    with pytest.raises(s1.BackscatterFileError, match=r"c\.csv: column 'vv' row 2.*outside"):
        s1.read_backscatter_csv(absurd, value_column="vv", units="dB")


def test_sentinel1_unit_errors(tmp_path):
    path = _write(tmp_path, "site,time,backscatter\nA,2020-01-01,-10\n")
    with pytest.raises(s1.BackscatterFileError, match="'backscatter' has no unit"):
        s1.read_backscatter_csv(path)
    with pytest.raises(s1.BackscatterFileError, match="'backscatter': unit 'dBZ' is neither"):
        s1.read_backscatter_csv(path, units="dBZ")
    header = _write(tmp_path, "site,time,vv [dB]\nA,2020-01-01,-10\n", "h.csv")
    with pytest.raises(s1.BackscatterFileError, match="conflicting units"):
        s1.read_backscatter_csv(header, value_column="vv", units="linear")


def test_sentinel1_structural_errors(tmp_path):
    with pytest.raises(s1.BackscatterFileError, match="value column 'vv' not found"):
        s1.read_backscatter_csv(_write(tmp_path, "site,time,x\nA,2020-01-01,1\n", "a.csv"), value_column="vv")
    with pytest.raises(s1.BackscatterFileError, match="row 3: cannot read 'soon'"):
        s1.read_backscatter_csv(_write(tmp_path, "site,time,vv\nA,2020-01-01,-1\nA,soon,-2\n", "b.csv"),
                                value_column="vv", units="dB")
    with pytest.raises(s1.BackscatterFileError, match="row 2: 'loud' is not a number"):
        s1.read_backscatter_csv(_write(tmp_path, "site,time,vv\nA,2020-01-01,loud\n", "c.csv"),
                                value_column="vv", units="dB")
    with pytest.raises(s1.BackscatterFileError, match="pass site="):
        s1.read_backscatter_csv(_write(tmp_path, "time,vv\n2020-01-01,-1\n", "d.csv"), value_column="vv", units="dB")
    with pytest.raises(s1.BackscatterFileError, match="'orbit' row 2: '15.5' is not a relative orbit"):
        s1.read_backscatter_csv(_write(tmp_path, "site,time,vv,orbit\nA,2020-01-01,-1,15.5\n", "e.csv"),
                                value_column="vv", units="dB")
    with pytest.raises(s1.BackscatterFileError, match="incidence angle 120"):
        s1.read_backscatter_csv(_write(tmp_path, "site,time,vv,incidence_angle\nA,2020-01-01,-1,120\n", "f.csv"),
                                value_column="vv", units="dB")


def _grid_dataset(units: str = "dB") -> xr.Dataset:
    time = pd.date_range("2020-03-01 05:00", periods=4, freq="6D")
    values = np.array([[-10.0, -12.0], [-11.0, np.nan], [-9.5, -12.5], [-10.5, -11.0]])
    if units == "linear":
        values = 10 ** (values / 10)
    return xr.Dataset(
        {
            "backscatter": (("time", "site"), values, {"units": units}),
            "orbit": ("time", [15, 88, 15, 88]),
            "incidence_angle": (("time", "site"), np.full((4, 2), 39.0)),
        },
        coords={"time": time, "site": ["s1", "s2"]},
    )


@pytest.mark.filterwarnings("ignore:.*Zarr.*")
@pytest.mark.filterwarnings("ignore:Consolidated metadata")
@pytest.mark.parametrize("store", ["nc", "zarr"])
def test_sentinel1_netcdf_and_zarr(tmp_path, store):
    ds = _grid_dataset("linear")
    path = tmp_path / f"s1.{store}"
    ds.to_netcdf(path) if store == "nc" else ds.to_zarr(path)
    table = s1.read_backscatter_dataset(path)
    assert len(table) == 7  # the NaN cell is not an acquisition
    np.testing.assert_allclose(table.loc[table.site == "s1", "backscatter"], [-10, -11, -9.5, -10.5])
    assert list(table.loc[table.site == "s2", "orbit"]) == [15, 15, 88]
    assert (table["incidence_angle"] == 39.0).all()


def test_sentinel1_dataset_errors(tmp_path):
    ds = _grid_dataset()
    del ds["backscatter"].attrs["units"]
    with pytest.raises(s1.BackscatterFileError, match="'backscatter' has no 'units'"):
        s1.read_backscatter_dataset(ds)
    ds["backscatter"].attrs["units"] = "dB"
    single = ds.isel(site=0, drop=True)
    with pytest.raises(s1.BackscatterFileError, match="pass site="):
        s1.read_backscatter_dataset(single)
    assert len(s1.read_backscatter_dataset(single, site="only")) == 4
    with pytest.raises(s1.BackscatterFileError, match="'vh' not found"):
        s1.read_backscatter_dataset(ds, variable="vh")
    ds["backscatter"] = ds["backscatter"] + 100
    ds["backscatter"].attrs["units"] = "dB"
    with pytest.raises(s1.BackscatterFileError, match="outside"):
        s1.read_backscatter_dataset(ds)


def test_sentinel1_real_budrio_db_equals_linear(shared_data):
    # unlicensed reference data: read in place from ../shared, never copied
    path = shared_data / "budrio_italy_swb_wcm" / "data_in_Budrio_2017.tsv"
    common = {"time_column": "DateTime_sat", "site": "budrio", "orbit_column": "Orb", "angle_column": "Angle[°]",
              "sep": "\t"}
    in_db = s1.read_backscatter_csv(path, value_column="VV[dB]", **common)
    in_linear = s1.read_backscatter_csv(path, value_column="VV[lin]", **common)
    assert len(in_db) == 107
    np.testing.assert_allclose(in_db["backscatter"], in_linear["backscatter"], atol=1e-10)
    assert set(in_db["orbit"].dropna()) == {95, 117, 168}
    assert in_db["incidence_angle"].between(31, 42).all()
    assert in_db["time"].is_monotonic_increasing
