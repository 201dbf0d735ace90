"""MNI and Budrio readers: real files (skipped when ../shared/data is absent) and synthetic bad files."""


import numpy as np
import pandas as pd
import pytest

from s1da.components.sources.budrio import read_budrio, read_budrio_lai
from s1da.components.sources.mni import read_mni
from s1da.components.sources.s1_field_table import COLUMNS, SourceFormatError




def test_operators_read_mni_real(shared_data):
    with pytest.warns(UserWarning, match="field 508: dropping 1 non-positive"):
        tables = read_mni(shared_data / "mni_munich_2017_sar_homework" / "multi.csv")
    assert list(tables) == ["301", "508", "542", "319", "515"]
    for table in tables.values():
        assert list(table.columns) == list(COLUMNS)
        assert table["time"].is_monotonic_increasing
        assert table["backscatter_vv_db"].between(-30, 5).all()
        assert set(table["relative_orbit"]) == {44, 95, 117, 168}
        assert table["soil_moisture"].dropna().between(0.05, 0.4).all()
        assert table.attrs["units"]["backscatter_vv_db"] == "dB"
    assert len(tables["508"]) == 120 and len(tables["301"]) == 121
    assert tables["301"]["soil_moisture"].notna().sum() == 76
    # first row of field 301: 0.0804 linear
    assert tables["301"]["backscatter_vv_db"].iloc[0] == pytest.approx(10 * np.log10(0.0804))


def test_operators_read_budrio_real(shared_data):
    folder = shared_data / "budrio_italy_swb_wcm"
    table = read_budrio(folder / "data_in_Budrio_2017.tsv")
    assert len(table) == 107 and table["soil_moisture"].notna().sum() == 103
    raw = pd.read_csv(folder / "data_in_Budrio_2017.tsv", sep="\t", index_col=0)
    np.testing.assert_allclose(table["backscatter_vv_db"], raw["VV[dB]"], atol=1e-9)
    assert set(table["relative_orbit"]) == {95, 117, 168}
    with_daily = read_budrio(folder / "data_in_Budrio_2017.tsv", folder / "LAI_Budrio_2017.csv")
    np.testing.assert_allclose(with_daily["lai"], table["lai"], atol=1e-6)
    daily = read_budrio_lai(folder / "LAI_Budrio_2017.csv")
    assert daily.index[-1] == pd.Timestamp("2017-12-31")


MNI_HEADER = "#;1;1;1;1;1;1;1;2;2;2;2;2;2;2\n;date;sigma_sentinel_vv;theta;relativeorbit;orbitdirection;LAI;SM;date;sigma_sentinel_vv;theta;relativeorbit;orbitdirection;LAI;SM\n"


def mni_row(i, date, vv1=0.05, vv2=0.06):
    return f"{i};{date};{vv1};40.0;95;DESCENDING;1.0;0.2;{date};{vv2};40.0;95;DESCENDING;;\n"


def test_operators_read_mni_synthetic(tmp_path):
    path = tmp_path / "multi.csv"
    path.write_text(MNI_HEADER + mni_row(0, "2017-03-24 05:17:15") + mni_row(1, "2017-03-25 05:17:15", vv2=0.0))
    with pytest.warns(UserWarning, match="field 2: dropping 1"):
        tables = read_mni(path)
    assert len(tables["1"]) == 2 and len(tables["2"]) == 1
    assert np.isnan(tables["2"]["soil_moisture"]).all()


@pytest.mark.parametrize(
    "content, message",
    [
        (MNI_HEADER + mni_row(0, "2017-03-25") + mni_row(1, "2017-03-24"), "field 1: acquisition times are not sorted"),
        (MNI_HEADER + mni_row(0, "2017-03-24") + mni_row(1, "2017-03-24"), "field 1: duplicate acquisition time"),
        (MNI_HEADER.replace(";SM\n", ";Soil\n") + mni_row(0, "2017-03-24"), "field 2: missing column.*'SM'"),
        (MNI_HEADER + mni_row(0, "2017-03-24").replace(";0.2;", ";20.0;"), "field 1: soil moisture outside"),
    ],
)
def test_operators_read_mni_bad_files(tmp_path, content, message):
    path = tmp_path / "multi.csv"
    path.write_text(content)
    with pytest.raises(SourceFormatError, match=message):
        read_mni(path)


def budrio_text(rows):
    header = "\tDate\tLAI[m2/m2]\tAngle[°]\tDateTime_sat\tOrb\tPass\tVV[lin]\tSWC[m3/m3]\n"
    return header + "".join(
        f"{i}\t{d}\t1.0\t40.0\t{d} 07:00:00\t95\tDESCENDING\t{vv}\t0.2\n" for i, (d, vv) in enumerate(rows)
    )


def test_operators_read_budrio_synthetic(tmp_path):
    path = tmp_path / "b.tsv"
    path.write_text(budrio_text([("2017-01-10", 0.1), ("2017-01-11", -0.01), ("2017-01-12", 0.01)]))
    with pytest.warns(UserWarning, match="dropping 1 non-positive"):
        table = read_budrio(path)
    np.testing.assert_allclose(table["backscatter_vv_db"], [-10.0, -20.0])
    lai = tmp_path / "lai.csv"
    lai.write_text("7.3671e+05,0.5\n7.3671e+05,0.6\n")
    with pytest.raises(SourceFormatError, match="no LAI for acquisition date"):
        read_budrio(path, lai)


@pytest.mark.parametrize(
    "rows, message",
    [
        ([("2017-01-11", 0.1), ("2017-01-10", 0.1)], "not sorted"),
        ([("2017-01-10", 0.1), ("2017-01-10", 0.1)], "duplicate"),
    ],
)
def test_operators_read_budrio_bad_dates(tmp_path, rows, message):
    path = tmp_path / "b.tsv"
    path.write_text(budrio_text(rows))
    with pytest.raises(SourceFormatError, match=message):
        read_budrio(path)


def test_operators_read_budrio_missing_column_and_bad_lai(tmp_path):
    path = tmp_path / "b.tsv"
    path.write_text(budrio_text([("2017-01-10", 0.1)]).replace("SWC[m3/m3]", "SWC"))
    with pytest.raises(SourceFormatError, match=r"b.tsv: missing column.*SWC\[m3/m3\]"):
        read_budrio(path)
    lai = tmp_path / "lai.csv"
    lai.write_text("1,0.5,3\n")
    with pytest.raises(SourceFormatError, match="expected 2 columns"):
        read_budrio_lai(lai)
