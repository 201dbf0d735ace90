"""ISMN station reader: real sample files (../shared/data/ismn_samples) and synthetic files."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from s1da.components.sources import ismn

SAMPLES = "ismn_samples"


# ---------------------------------------------------------------------------------------------
# synthetic files
# ---------------------------------------------------------------------------------------------
def _hourly(start: str, values, flags=None):
    times = pd.date_range(start, periods=len(values), freq="h")
    flags = flags if flags is not None else ["G"] * len(values)
    return times, list(values), list(flags)


def write_header_values(folder: Path, station: str, depth: tuple[float, float], times, values, flags,
                        sensor: str = "ThetaProbe", newline: str = "\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    name = f"NET_NET_{station}_sm_{depth[0]:.6f}_{depth[1]:.6f}_{sensor}_20200101_20201231.stm"
    lines = [f"NET        NET            {station}       44.50000    -0.70000   52.00    {depth[0]:.2f}    {depth[1]:.2f} {sensor}"]
    lines += [f"{t:%Y/%m/%d %H:%M}   {v:.4f} {f} M" for t, v, f in zip(times, values, flags)]
    path = folder / name
    path.write_text(newline.join(lines) + newline)
    return path


def write_ceop(folder: Path, station: str, depth: tuple[float, float], times, values, flags,
               sensor: str = "ThetaProbe") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    name = f"NET_NET_{station}_sm_{depth[0]:.6f}_{depth[1]:.6f}_{sensor}_20200101_20201231.stm"
    lines = [
        f"{t:%Y/%m/%d %H:%M} {t:%Y/%m/%d %H:%M} NET        NET            {station}      44.50000    -0.70000   "
        f"52.00    {depth[0]:.2f}    {depth[1]:.2f}   {v:.4f} {f} M"
        for t, v, f in zip(times, values, flags)
    ]
    path = folder / name
    path.write_text("\r\n".join(lines) + "\r\n")
    return path


def write_csv(folder: Path, station: str, depth: tuple[float, float], times, values, flags) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    name = f"NET_NET_{station}_sm_{depth[0]:.6f}_{depth[1]:.6f}_EC5_20200101_20201231.csv"
    frame = pd.DataFrame({
        "time": [f"{t:%Y-%m-%d %H:%M}" for t in times], "soil_moisture": values, "flag": flags,
        "depth_from": depth[0], "depth_to": depth[1], "sensor": "EC5", "latitude": 44.5, "longitude": -0.7,
    })
    path = folder / name
    frame.to_csv(path, sep=";", index=False)
    return path


WRITERS = {"header_values": write_header_values, "ceop": write_ceop, "csv": write_csv}


@pytest.fixture(params=sorted(WRITERS))
def writer(request):
    return WRITERS[request.param]


def _two_days():
    # day 1: 0.20 .. 0.43 (mean 0.315), day 2: constant 0.3? no - varied values
    values = np.r_[np.linspace(0.20, 0.43, 24), np.linspace(0.30, 0.07, 24)]
    return _hourly("2020-05-01 00:00", np.round(values, 4))


# ---------------------------------------------------------------------------------------------
# synthetic: values, metadata, QC
# ---------------------------------------------------------------------------------------------
def test_ismn_daily_mean_of_good_records(tmp_path, writer):
    times, values, flags = _two_days()
    flags[3] = "D03"  # dropped by flag
    writer(tmp_path / "st", "ST1", (0.05, 0.05), times, values, flags)
    frame = ismn.read_station(tmp_path / "st")
    assert list(frame.index) == list(pd.date_range("2020-05-01", periods=2, freq="D"))
    assert frame.index.name == "time"
    column = frame.columns[0]
    expected_1 = np.mean([v for v, f in zip(values[:24], flags[:24]) if f == "G"])
    np.testing.assert_allclose(frame[column].iloc[0], expected_1, rtol=1e-12)
    np.testing.assert_allclose(frame[column].iloc[1], np.mean(values[24:]), rtol=1e-12)
    assert frame.attrs["units"] == "m3 m-3" and frame.attrs["long_name"]
    assert frame.attrs["latitude"] == pytest.approx(44.5)
    meta = frame.attrs["sensors"][column]
    assert meta["depth_from"] == pytest.approx(0.05) and meta["depth_to"] == pytest.approx(0.05)
    report = frame.attrs["quality_control"][column]
    assert report["dropped_flag_not_good"] == 1
    assert report["kept"] + report["dropped_flag_not_good"] + report["dropped_constant_run"] + report[
        "dropped_out_of_range"] == report["records"] == 48


def test_ismn_single_file_path_equals_folder(tmp_path, writer):
    times, values, flags = _two_days()
    path = writer(tmp_path / "st", "ST1", (0.0, 0.05), times, values, flags)
    pd.testing.assert_frame_equal(ismn.read_station(path), ismn.read_station(tmp_path / "st"))


def test_ismn_constant_runs_and_range_dropped_and_reported(tmp_path, writer, caplog):
    values = list(np.round(np.linspace(0.2, 0.3, 72), 4))
    values[10:40] = [0.25] * 30  # 30 identical hourly values: dropped with run length 24
    values[50] = 0.75  # above 0.6 (no porosity known): dropped
    values[51] = -0.01  # below 0
    times, values, flags = _hourly("2020-06-01", values)
    writer(tmp_path / "st", "ST1", (0.05, 0.05), times, values, flags)
    with caplog.at_level(logging.WARNING, logger="s1da.components.sources.ismn"):
        frame = ismn.read_station(tmp_path / "st")
    report = frame.attrs["quality_control"][frame.columns[0]]
    assert report["dropped_constant_run"] == 30
    assert report["dropped_out_of_range"] == 2
    assert report["upper_bound_source"] == "fallback 0.6"
    assert "constant runs" in caplog.text
    kept = np.r_[values[:10], values[40:50], values[52:]]
    kept_days = pd.Series(kept, index=np.r_[times[:10], times[40:50], times[52:]]).groupby(lambda t: t.floor("D")).mean()
    np.testing.assert_allclose(frame.iloc[:, 0].to_numpy(), kept_days.to_numpy())
    # a longer allowed run keeps the plateau
    relaxed = ismn.read_station(tmp_path / "st", quality_control=ismn.QualityControl(constant_run_length=31))
    assert relaxed.attrs["quality_control"][relaxed.columns[0]]["dropped_constant_run"] == 0


def test_ismn_porosity_from_static_variables(tmp_path):
    times, values, flags = _hourly("2020-06-01", np.round(np.linspace(0.30, 0.50, 24), 4))
    write_header_values(tmp_path / "st", "ST1", (0.05, 0.05), times, values, flags)
    (tmp_path / "st" / "NET_NET_ST1_static_variables.csv").write_text(
        "quantity_name;unit;depth_from[m];depth_to[m];value;description;\n"
        "saturation;m^3*m^-3;0.00;0.30;0.45;;\n"
        "saturation;m^3*m^-3;0.30;1.00;0.40;;\n"
    )
    frame = ismn.read_station(tmp_path / "st")
    column = frame.columns[0]
    assert frame.attrs["sensors"][column]["porosity"] == pytest.approx(0.45)
    report = frame.attrs["quality_control"][column]
    assert report["dropped_out_of_range"] == int(np.sum(np.asarray(values) > 0.45))
    assert frame[column].max() <= 0.45


def test_ismn_depth_selection_and_columns(tmp_path):
    folder = tmp_path / "st"
    times, values, flags = _two_days()
    write_header_values(folder, "ST1", (0.05, 0.05), times, values, flags, sensor="A")
    write_header_values(folder, "ST1", (0.0, 0.10), times, list(np.asarray(values) * 0.5), flags, sensor="B")
    write_header_values(folder, "ST1", (0.20, 0.20), times, values, flags, sensor="C")
    frame = ismn.read_station(folder)
    assert sorted(frame.columns) == ["A_0.05_0.05", "B_0.00_0.10"]
    assert list(ismn.read_station(folder, max_depth=0.05).columns) == ["A_0.05_0.05"]
    assert len(ismn.read_station(folder, max_depth=0.3).columns) == 3


def test_ismn_days_without_data_are_nan(tmp_path):
    times = list(pd.date_range("2020-01-01", periods=24, freq="h")) + list(
        pd.date_range("2020-01-04", periods=24, freq="h"))
    values = list(np.linspace(0.2, 0.3, 48).round(4))
    write_header_values(tmp_path / "st", "ST1", (0.05, 0.05), times, values, ["G"] * 48)
    frame = ismn.read_station(tmp_path / "st")
    assert len(frame) == 4
    assert frame.iloc[1:3, 0].isna().all() and frame.iloc[[0, 3], 0].notna().all()


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_ismn_line_endings(tmp_path, newline):
    times, values, flags = _two_days()
    write_header_values(tmp_path / "st", "ST1", (0.05, 0.05), times, values, flags, newline=newline)
    assert ismn.read_station(tmp_path / "st").shape == (2, 1)


# ---------------------------------------------------------------------------------------------
# synthetic: errors (name file and line; nothing partial)
# ---------------------------------------------------------------------------------------------
def test_ismn_truncated_file_names_file_and_line(tmp_path, writer):
    times, values, flags = _two_days()
    path = writer(tmp_path / "st", "ST1", (0.05, 0.05), times, values, flags)
    text = path.read_text()
    path.write_text(text.rstrip()[:-12])  # cut inside the last record
    with pytest.raises(ismn.ISMNFormatError, match=rf"{path.name}:\d+"):
        ismn.read_station(tmp_path / "st")


@pytest.mark.parametrize("kind", ["duplicate", "unsorted"])
def test_ismn_bad_timestamps(tmp_path, writer, kind):
    times, values, flags = _two_days()
    times = list(times)
    if kind == "duplicate":
        times[10] = times[9]
    else:
        times[10], times[11] = times[11], times[10]
    path = writer(tmp_path / "st", "ST1", (0.05, 0.05), times, values, flags)
    offset = 1 if writer is write_ceop else 2  # header line (header+values, csv)
    bad_record = 10 if kind == "duplicate" else 11  # the first record not after its predecessor
    with pytest.raises(ismn.ISMNFormatError, match=rf"{path.name}:{bad_record + offset}: {kind}"):
        ismn.read_station(path)


def test_ismn_unreadable_value(tmp_path):
    times, values, flags = _two_days()
    path = write_header_values(tmp_path / "st", "ST1", (0.05, 0.05), times, values, flags)
    lines = path.read_text().splitlines()
    lines[5] = lines[5].replace(f"{values[4]:.4f}", "abc")
    path.write_text("\n".join(lines))
    with pytest.raises(ismn.ISMNFormatError, match=rf"{path.name}:6: .*'abc'"):
        ismn.read_station(path)


def test_ismn_no_sensor_within_depth(tmp_path):
    times, values, flags = _two_days()
    write_header_values(tmp_path / "st", "ST1", (0.20, 0.30), times, values, flags)
    with pytest.raises(ismn.NoSensorError, match=r"0\.2-0\.3 m"):
        ismn.read_station(tmp_path / "st")


def test_ismn_nothing_survives_screening(tmp_path):
    times, values, _ = _two_days()
    write_header_values(tmp_path / "st", "ST1", (0.05, 0.05), times, values, ["D03"] * len(values))
    with pytest.raises(ismn.NoSensorError, match="survives"):
        ismn.read_station(tmp_path / "st")


def test_ismn_one_bad_file_fails_the_station(tmp_path):
    times, values, flags = _two_days()
    write_header_values(tmp_path / "st", "ST1", (0.05, 0.05), times, values, flags, sensor="A")
    bad = write_header_values(tmp_path / "st", "ST1", (0.0, 0.05), times, values, flags, sensor="B")
    bad.write_text(bad.read_text() + "2020/05/03 00:00\n")
    with pytest.raises(ismn.ISMNFormatError, match=bad.name):
        ismn.read_station(tmp_path / "st")


def test_ismn_missing_path_and_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        ismn.read_station(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="max_depth"):
        ismn.read_station(tmp_path, max_depth=-1)
    with pytest.raises(ValueError, match="upper_bound"):
        ismn.QualityControl(upper_bound=2.0)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ismn.NoSensorError, match="no ISMN soil-moisture files"):
        ismn.read_station(tmp_path / "empty")


def test_ismn_depth_in_name_contradicting_content(tmp_path):
    times, values, flags = _two_days()
    path = write_header_values(tmp_path / "st", "ST1", (0.05, 0.05), times, values, flags)
    renamed = path.with_name(path.name.replace("_0.050000_0.050000_", "_0.200000_0.200000_"))
    path.rename(renamed)
    with pytest.raises(ismn.ISMNFormatError, match="contradicts"):
        ismn.read_station(renamed)


def test_ismn_csv_missing_column(tmp_path):
    path = tmp_path / "NET_NET_ST_sm_0.050000_0.050000_EC5_20200101_20201231.csv"
    path.write_text("time,soil_moisture\n2020-01-01 00:00,0.2\n")
    with pytest.raises(ismn.ISMNFormatError, match=r":1: header lacks .*flag"):
        ismn.read_station(path)


# ---------------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------------
@given(st.lists(st.integers(0, 3), max_size=60), st.integers(2, 6))
def test_ismn_constant_run_mask_matches_definition(values, min_length):
    mask = ismn.constant_run_mask(np.asarray(values), min_length)
    expected = np.zeros(len(values), dtype=bool)
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[i]:
            j += 1
        expected[i:j + 1] = (j - i + 1) >= min_length
        i = j + 1
    np.testing.assert_array_equal(mask, expected)


def test_ismn_stations_to_dataset(tmp_path):
    times, values, flags = _two_days()
    write_header_values(tmp_path / "a", "A", (0.05, 0.05), times, values, flags, sensor="X")
    write_header_values(tmp_path / "a", "A", (0.0, 0.05), times, list(np.asarray(values) + 0.02), flags, sensor="Y")
    later = [t + pd.Timedelta(days=1) for t in times]
    write_header_values(tmp_path / "b", "B", (0.05, 0.05), later, values, flags)
    frames = {"A": ismn.read_station(tmp_path / "a"), "B": ismn.read_station(tmp_path / "b")}
    ds = ismn.stations_to_dataset(frames)
    assert ds.insitu_soil_moisture.dims == ("time", "site") and ds.sizes["time"] == 3
    np.testing.assert_allclose(ds.insitu_soil_moisture.sel(site="A")[:2], frames["A"].mean(axis=1))
    assert np.isnan(ds.insitu_soil_moisture.sel(site="A")[2]) and np.isnan(ds.insitu_soil_moisture.sel(site="B")[0])
    assert ds.insitu_soil_moisture.attrs["units"] == "m3 m-3" and ds.lat.attrs["units"] == "degrees_north"
    assert float(ds.lat.sel(site="B")) == pytest.approx(44.5)


def test_ismn_select_sites():
    days = pd.date_range("2020-01-01", periods=200, freq="D")
    insitu = {
        "long": pd.DataFrame({"a": np.full(200, 0.2)}, index=days),
        "short": pd.DataFrame({"a": np.r_[np.full(100, 0.2), np.full(100, np.nan)]}, index=days),
        "no_s1": pd.DataFrame({"a": np.full(200, 0.2)}, index=days),
    }
    table = ismn.select_sites(insitu, {"long": 150, "short": 150, "no_s1": 20})
    assert table.loc["long", "selected"] and not table.loc["short", "selected"]
    assert not table.loc["no_s1", "selected"]
    assert table.loc["short", "insitu_days"] == 100
    assert ismn.select_sites(insitu, {"short": 150}, min_insitu_days=90).loc["short", "selected"]


# ---------------------------------------------------------------------------------------------
# real ISMN files
# ---------------------------------------------------------------------------------------------
def _raw_daily_good_mean(path: Path) -> pd.Series:
    """Independent reference: pandas whitespace parsing of a CEOP-formatted file."""
    raw = pd.read_csv(path, sep=r"\s+", header=None, usecols=[0, 1, 12, 13], names=["d", "t", "v", "f"])
    raw = raw[raw["f"] == "G"]
    time = pd.to_datetime(raw["d"] + " " + raw["t"], format="%Y/%m/%d %H:%M")
    return raw["v"].groupby(time.dt.floor("D").to_numpy()).mean()


def test_ismn_real_fraye_hourly_to_daily(shared_data):
    folder = shared_data / SAMPLES / "FR_Aqui" / "fraye"
    frame = ismn.read_station(folder)
    assert frame.shape[1] == 1
    column = frame.columns[0]
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    assert (frame.index.to_series().diff().dropna() == pd.Timedelta("1D")).all()
    assert frame.index[0] == pd.Timestamp("2013-08-13") and frame.index[-1].year in (2019, 2020)
    assert frame.attrs["latitude"] == pytest.approx(44.467) and frame.attrs["longitude"] == pytest.approx(-0.7269)
    meta = frame.attrs["sensors"][column]
    assert meta["sensor"] == "ThetaProbe-ML2X" and meta["depth_to"] == pytest.approx(0.05)
    assert meta["porosity"] == pytest.approx(0.49)  # HWSD saturation 0-0.3 m from the static file
    report = frame.attrs["quality_control"][column]
    assert report["records"] == 52045
    reference = _raw_daily_good_mean(next(folder.glob("*_sm_*.stm")))
    # no value of this station fails the range/constant-run screens, so the daily means must match
    assert report["dropped_constant_run"] == report["dropped_out_of_range"] == 0
    pd.testing.assert_series_equal(frame[column].dropna(), reference, check_names=False, check_index_type=False,
                                   check_freq=False)
    assert 0.03 <= frame[column].min() and frame[column].max() <= 0.39


def test_ismn_real_header_values_from_zip_and_extracted(shared_data, tmp_path):
    archive = shared_data / SAMPLES / "Data_header_values.zip"
    station = zipfile.Path(archive, "SCAN/AAMU-jtg/")
    # these older files carry 'U' (unchecked) flags only: good-flag-only screening keeps nothing
    with pytest.raises(ismn.NoSensorError, match="survives"):
        ismn.read_station(station)
    qc = ismn.QualityControl(good_flags=("G", "U"))
    from_zip = ismn.read_station(station, quality_control=qc)
    with zipfile.ZipFile(archive) as handle:
        handle.extractall(tmp_path, [n for n in handle.namelist() if n.startswith("SCAN/AAMU-jtg/")])
    extracted = ismn.read_station(tmp_path / "SCAN" / "AAMU-jtg", quality_control=qc)
    pd.testing.assert_frame_equal(from_zip, extracted, check_like=True)
    assert extracted.attrs["sensors"][extracted.columns[0]]["depth_to"] == pytest.approx(0.0508)
    assert 0 < extracted.iloc[:, 0].min() and extracted.iloc[:, 0].max() <= 0.6
    stations = list(ismn.station_folders(archive))
    assert len(stations) == 8


def test_ismn_real_depth_and_line_endings(shared_data):
    cosmos = shared_data / SAMPLES / "COSMOS" / "ARM-1"
    with pytest.raises(ismn.NoSensorError, match="0-0.19 m"):
        ismn.read_station(cosmos)
    assert ismn.read_station(cosmos, max_depth=0.2).shape[1] == 1
    # SMOSMANIA sample: bare-CR line endings and 'U' flags
    narbonne = ismn.read_station(shared_data / SAMPLES / "SMOSMANIA_Narbonne_Jan2007",
                                 quality_control=ismn.QualityControl(good_flags=("U",)))
    assert narbonne.index[0] == pd.Timestamp("2007-01-01") and len(narbonne) == 31
    # RSMN: header+values with a quoted sensor name
    adamclisi = ismn.read_station(shared_data / SAMPLES / "RSMN" / "Adamclisi")
    assert adamclisi.attrs["sensors"][adamclisi.columns[0]]["sensor"] == "Meter-5TM"
