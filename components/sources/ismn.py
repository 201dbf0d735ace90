"""Reader for ISMN in-situ soil-moisture station files (validation data, docs/model/validation.md e, DD-24).

Why our own parser and not the ``ismn`` PyPI package
-----------------------------------------------------
``ismn`` (TU Wien) is the field's standard reader, but for s1da it is the wrong weight:

* ``ismn`` 1.5.4 requires ``pygeogrids``, ``repurpose``, ``click``, ``more_itertools``,
  ``requests``, ``configparser`` and ``tqdm`` (its wheel metadata) - apart from tqdm none of
  which s1da needs, and ``repurpose``/``pygeogrids`` bring their own geo/netCDF stacks;
* it is built around a whole-archive ``ISMN_Interface`` that scans every file of a download
  and writes a metadata cache (``python_metadata/``) next to the data, while s1da only needs
  the surface soil-moisture sensors of one station at a time;
* its quality control is left to the user, so we would write the paper's screening anyway.

The two ISMN text formats are simple and documented by ISMN (Dorigo et al. 2011, HESS 15:1675,
and the ISMN data-format description on ismn.earth), so this module implements them directly
with numpy/pandas (Python 3.11+, no extra dependency).  Nothing here is copied from ``ismn``.

Formats read (one sensor per file, name pattern
``<network>_<network>_<station>_<variable>_<depth_from>_<depth_to>_<sensor>_<start>_<end>.stm``):

* **Header + values** (``.stm``): line 1 ``network network station lat lon elevation
  depth_from depth_to sensor``; then one record per line ``YYYY/MM/DD HH:MM value flag
  original_flag``.
* **CEOP-formatted / record-per-line** (``.stm``; the "separate files (CEOP formatted)"
  download, e.g. ``FR_Aqui/fraye``): every line carries all metadata, ``YYYY/MM/DD HH:MM
  (nominal) YYYY/MM/DD HH:MM (actual) network network station lat lon elevation depth_from
  depth_to value flag original_flag``.  The nominal time is used.
* **Delimited CSV** (``.csv``; for exports of the above): a header row with at least
  ``time``, ``soil_moisture`` and ``flag`` and the constant metadata columns ``depth_from``,
  ``depth_to`` (m), ``sensor``, ``latitude``, ``longitude`` (optional ``network``, ``station``,
  ``elevation``).  Separator ``,`` or ``;`` (detected from the header).

Line endings may be LF, CRLF or bare CR (old ISMN files use CR); all are accepted.

Processing (``read_station``): only good-flag (``G``) records are used (DD-24); quality control
as in Rains et al. (2022): runs of identical consecutive values (``constant_run_length`` or
more good records) and values outside the physical range [0, porosity] (porosity = the ISMN
static-variable ``saturation`` of the sensor's layer, else 0.6) are dropped; then daily means
(UTC calendar days).  What was dropped is reported in ``df.attrs["quality_control"]`` and logged.
"""

from __future__ import annotations

import logging
import re
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pandas as pd
import xarray as xr
from s1da.components.sources.text import read_text
from s1da.framework.variables import attributes

logger = logging.getLogger(__name__)

SOIL_MOISTURE_FALLBACK_UPPER_BOUND = 0.6
"""Upper physical bound (m3 m-3) when no porosity is known (brief / Rains et al. QC)."""

_FILE_NAME = re.compile(
    r"^(?P<prefix>.+)_(?P<variable>[A-Za-z0-9]+)_(?P<depth_from>-?\d+(?:\.\d+)?)_(?P<depth_to>-?\d+(?:\.\d+)?)_"
    r"(?P<sensor>.+)_(?P<start>\d{8})_(?P<end>\d{8})\.(?P<ext>stm|csv)$"
)
_DATE = re.compile(r"^\d{4}/\d{2}/\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}$")


class ISMNFormatError(ValueError):
    """An ISMN file that cannot be read; the message names the file (and line)."""


class NoSensorError(ValueError):
    """No soil-moisture sensor of a station lies within the requested depth."""


@attrs.frozen
class QualityControl:
    """Screening of hourly in-situ soil moisture before daily averaging (Rains et al. 2022)."""

    good_flags: tuple[str, ...] = attrs.field(
        default=("G",), converter=tuple, metadata={"units": "1", "doc": "ISMN quality flags kept (DD-24)"}
    )
    constant_run_length: int | None = attrs.field(
        default=24,
        validator=attrs.validators.optional([attrs.validators.instance_of(int), attrs.validators.ge(2)]),
        metadata={"units": "records", "doc": "drop runs of >= this many identical consecutive good values; None = off"},
    )
    lower_bound: float = attrs.field(default=0.0, metadata={"units": "m3 m-3"})
    upper_bound: float | None = attrs.field(
        default=None,
        metadata={"units": "m3 m-3", "doc": "None: porosity (ISMN 'saturation') of the sensor layer, else 0.6"},
    )
    min_records_per_day: int = attrs.field(
        default=1, validator=[attrs.validators.instance_of(int), attrs.validators.ge(1)], metadata={"units": "records"}
    )

    @upper_bound.validator
    def _check_upper(self, attribute: Any, value: float | None) -> None:
        if value is not None and not (self.lower_bound < value <= 1.0):
            raise ValueError(f"upper_bound must lie in (lower_bound, 1], got {value}")


@attrs.frozen
class SensorSeries:
    """One ISMN file: raw records of a single sensor (no screening applied)."""

    source: str
    network: str
    station: str
    latitude: float
    longitude: float
    elevation: float
    depth_from: float
    depth_to: float
    sensor: str
    variable: str
    time: np.ndarray  # datetime64[ns], strictly increasing
    value: np.ndarray  # float64, file units (m3 m-3 for sm)
    flag: np.ndarray  # object (str)

    @property
    def name(self) -> str:
        return f"{self.sensor}_{self.depth_from:.2f}_{self.depth_to:.2f}"


# ----------------------------------------------------------------------------------------------
# file parsing
# ----------------------------------------------------------------------------------------------
def _read_text(path: Any) -> str:
    # pathlib.Path and zipfile.Path both provide read_bytes; decoded as every reader does
    return read_text(path)


def _float(token: str, source: str, line_no: int, what: str) -> float:
    try:
        return float(token)
    except ValueError:
        raise ISMNFormatError(f"{source}:{line_no}: cannot read {what} from {token!r}") from None


def _check_times(times: np.ndarray, line_numbers: np.ndarray, source: str) -> None:
    steps = np.diff(times.astype("datetime64[ns]").astype(np.int64))
    if steps.size and np.any(steps <= 0):
        i = int(np.argmax(steps <= 0))
        kind = "duplicate" if steps[i] == 0 else "unsorted (earlier than the previous record)"
        raise ISMNFormatError(
            f"{source}:{line_numbers[i + 1]}: {kind} timestamp {pd.Timestamp(times[i + 1])} "
            f"(previous record at line {line_numbers[i]})"
        )


def _parse_datetimes(dates: list[str], times: list[str], line_numbers: np.ndarray, source: str) -> np.ndarray:
    joined = pd.Series([f"{d} {t}" for d, t in zip(dates, times, strict=True)], dtype=object)
    parsed = pd.to_datetime(joined, format="%Y/%m/%d %H:%M", errors="coerce")
    bad = parsed.isna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise ISMNFormatError(f"{source}:{line_numbers[i]}: cannot read a date/time from {joined[i]!r}")
    return parsed.to_numpy(dtype="datetime64[ns]")


def _values_and_flags(values: list[str], flags: list[str], line_numbers: np.ndarray, source: str):
    numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(numbers)
    if bad.any():
        i = int(np.argmax(bad))
        raise ISMNFormatError(f"{source}:{line_numbers[i]}: soil-moisture value {values[i]!r} is not a finite number")
    return numbers, np.asarray(flags, dtype=object)


def _name_fields(name: str) -> dict[str, str]:
    match = _FILE_NAME.match(name)
    return match.groupdict() if match else {}


def _parse_header_values(lines: list[tuple[int, str]], source: str, name: str) -> SensorSeries:
    header_no, header = lines[0]
    tokens = header.split()
    if len(tokens) < 9:
        raise ISMNFormatError(
            f"{source}:{header_no}: header needs 'network network station lat lon elevation depth_from depth_to "
            f"sensor', got {len(tokens)} fields"
        )
    network, _, station = tokens[0], tokens[1], tokens[2]
    latitude, longitude, elevation = (
        _float(tokens[i], source, header_no, w) for i, w in ((3, "latitude"), (4, "longitude"), (5, "elevation"))
    )
    depth_from = _float(tokens[6], source, header_no, "depth_from")
    depth_to = _float(tokens[7], source, header_no, "depth_to")
    sensor = " ".join(tokens[8:]).strip("'\"")
    records = lines[1:]
    if not records:
        raise ISMNFormatError(f"{source}: no data records after the header")
    dates, times, values, flags = [], [], [], []
    numbers = np.empty(len(records), dtype=np.int64)
    for k, (line_no, text) in enumerate(records):
        parts = text.split()
        # the original (provider) flag is sometimes empty in real files (SCAN), so 4 fields are accepted
        if len(parts) not in (4, 5) or not _DATE.match(parts[0]) or not _TIME.match(parts[1]):
            raise ISMNFormatError(
                f"{source}:{line_no}: expected 'YYYY/MM/DD HH:MM value flag [original_flag]' "
                f"(4-5 fields), got {len(parts)}: {text[:80]!r} (truncated or corrupt file?)"
            )
        dates.append(parts[0]), times.append(parts[1]), values.append(parts[2]), flags.append(parts[3])
        numbers[k] = line_no
    time = _parse_datetimes(dates, times, numbers, source)
    _check_times(time, numbers, source)
    value, flag = _values_and_flags(values, flags, numbers, source)
    return SensorSeries(
        source, network, station, latitude, longitude, elevation, depth_from, depth_to, sensor,
        _name_fields(name).get("variable", "sm"), time, value, flag,
    )


def _parse_ceop(lines: list[tuple[int, str]], source: str, name: str) -> SensorSeries:
    dates, times, values, flags = [], [], [], []
    numbers = np.empty(len(lines), dtype=np.int64)
    meta_rows: list[tuple[str, ...]] = []
    for k, (line_no, text) in enumerate(lines):
        parts = text.split()
        # 4 date/time tokens + network, network, station (station names may hold spaces) + 8 trailing fields
        if len(parts) == 14:  # empty original flag (as in some header+values files)
            parts.append("")
        if len(parts) < 15 or not (_DATE.match(parts[0]) and _TIME.match(parts[1])):
            raise ISMNFormatError(
                f"{source}:{line_no}: expected a CEOP record with at least 15 fields "
                f"(date time date time network network station lat lon elev depth_from depth_to value flag "
                f"original_flag), got {len(parts)}: {text[:80]!r} (truncated or corrupt file?)"
            )
        dates.append(parts[0]), times.append(parts[1]), values.append(parts[-3]), flags.append(parts[-2])
        numbers[k] = line_no
        meta_rows.append((parts[4], " ".join(parts[6:-8]), *parts[-8:-3]))
    metadata = pd.DataFrame(meta_rows, columns=["network", "station", "lat", "lon", "elev", "dfrom", "dto"])
    changed = (metadata != metadata.iloc[0]).any(axis=1).to_numpy()
    if changed.any():
        i = int(np.argmax(changed))
        raise ISMNFormatError(
            f"{source}:{numbers[i]}: station metadata (network/station/coordinates/depth) differs from the first record"
        )
    first = metadata.iloc[0]
    line0 = int(numbers[0])
    time = _parse_datetimes(dates, times, numbers, source)
    _check_times(time, numbers, source)
    value, flag = _values_and_flags(values, flags, numbers, source)
    sensor = _name_fields(name).get("sensor", "unknown")
    return SensorSeries(
        source, first["network"], first["station"],
        _float(first["lat"], source, line0, "latitude"), _float(first["lon"], source, line0, "longitude"),
        _float(first["elev"], source, line0, "elevation"), _float(first["dfrom"], source, line0, "depth_from"),
        _float(first["dto"], source, line0, "depth_to"), sensor, _name_fields(name).get("variable", "sm"),
        time, value, flag,
    )


_CSV_REQUIRED = ("time", "soil_moisture", "flag", "depth_from", "depth_to", "sensor", "latitude", "longitude")


def _parse_csv(text: str, source: str, name: str) -> SensorSeries:
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise ISMNFormatError(f"{source}:1: empty file or missing header row")
    sep = ";" if lines[0].count(";") > lines[0].count(",") else ","
    header = [h.strip() for h in lines[0].split(sep)]
    missing = [c for c in _CSV_REQUIRED if c not in header]
    if missing:
        raise ISMNFormatError(f"{source}:1: header lacks the column(s) {missing}; found {header}")
    rows: list[list[str]] = []
    numbers: list[int] = []
    for line_no, row in enumerate(lines[1:], start=2):
        if not row.strip():
            continue
        fields = [f.strip() for f in row.split(sep)]
        if len(fields) != len(header):
            raise ISMNFormatError(
                f"{source}:{line_no}: expected {len(header)} fields, got {len(fields)} (truncated or corrupt file?)"
            )
        rows.append(fields)
        numbers.append(line_no)
    if not rows:
        raise ISMNFormatError(f"{source}: no data rows after the header")
    frame = pd.DataFrame(rows, columns=header)
    line_numbers = np.asarray(numbers)
    parsed = pd.to_datetime(frame["time"], errors="coerce", utc=False)
    bad = parsed.isna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise ISMNFormatError(f"{source}:{line_numbers[i]}: cannot read a time from {frame['time'].iloc[i]!r}")
    time = parsed.to_numpy(dtype="datetime64[ns]")
    _check_times(time, line_numbers, source)
    value, flag = _values_and_flags(list(frame["soil_moisture"]), list(frame["flag"]), line_numbers, source)
    constant = [c for c in ("depth_from", "depth_to", "sensor", "latitude", "longitude", "network", "station", "elevation")
                if c in frame]
    for column in constant:
        differs = (frame[column] != frame[column].iloc[0]).to_numpy()
        if differs.any():
            i = int(np.argmax(differs))
            raise ISMNFormatError(f"{source}:{line_numbers[i]}: column {column!r} must be constant within a file")
    first = frame.iloc[0]
    l0 = int(line_numbers[0])
    fields = _name_fields(name)
    return SensorSeries(
        source,
        str(first.get("network", "unknown")),
        str(first.get("station", "unknown")),
        _float(first["latitude"], source, l0, "latitude"),
        _float(first["longitude"], source, l0, "longitude"),
        _float(first["elevation"], source, l0, "elevation") if "elevation" in frame else float("nan"),
        _float(first["depth_from"], source, l0, "depth_from"),
        _float(first["depth_to"], source, l0, "depth_to"),
        str(first["sensor"]),
        fields.get("variable", "sm"),
        time,
        value,
        flag,
    )


def read_sensor_file(path: Any) -> SensorSeries:
    """Parse one ISMN file (header+values, CEOP-formatted ``.stm`` or delimited ``.csv``).

    ``path`` is a :class:`pathlib.Path` (or str) or a :class:`zipfile.Path` inside an archive.
    Raises :class:`ISMNFormatError` naming the file and line for truncated or corrupt content,
    unparsable numbers/dates and unsorted or duplicate timestamps.
    """
    if isinstance(path, str):
        path = Path(path)
    source = str(path)
    text = _read_text(path)
    if path.name.lower().endswith(".csv"):
        return _refine_depths(_parse_csv(text, source, path.name), path.name)
    lines = [(i, line) for i, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise ISMNFormatError(f"{source}: empty file")
    first_token = lines[0][1].split()[0]
    if _DATE.match(first_token):
        series = _parse_ceop(lines, source, path.name)
    else:
        series = _parse_header_values(lines, source, path.name)
    return _refine_depths(series, path.name)


def _refine_depths(series: SensorSeries, name: str) -> SensorSeries:
    """File contents round depths to 0.01 m; the file name carries 6 decimals (e.g. 0.0508 m)."""
    fields = _name_fields(name)
    if not fields:
        return series
    named = float(fields["depth_from"]), float(fields["depth_to"])
    content = series.depth_from, series.depth_to
    if any(abs(a - b) > 0.0051 for a, b in zip(named, content, strict=True)):
        raise ISMNFormatError(
            f"{series.source}: depth {content[0]:g}-{content[1]:g} m in the file contradicts "
            f"{named[0]:g}-{named[1]:g} m in its name"
        )
    return attrs.evolve(series, depth_from=named[0], depth_to=named[1])


def read_static_variables(folder: Any) -> pd.DataFrame:
    """ISMN ``*_static_variables.csv`` of a station folder (empty frame when absent)."""
    files = [p for p in folder.iterdir() if p.name.endswith("_static_variables.csv")]
    if not files:
        return pd.DataFrame(columns=["quantity_name", "unit", "depth_from[m]", "depth_to[m]", "value"])
    text = _read_text(files[0])
    rows = [line.rstrip(";").split(";") for line in text.splitlines() if line.strip()]
    header, body = rows[0], rows[1:]
    width = len(header)
    body = [(r + [""] * width)[:width] for r in body]
    return pd.DataFrame(body, columns=header)


def _porosity(static: pd.DataFrame, depth_from: float) -> float | None:
    if static.empty or "quantity_name" not in static:
        return None
    rows = static[static["quantity_name"].str.strip() == "saturation"]
    for _, row in rows.iterrows():
        try:
            top, bottom, value = float(row["depth_from[m]"]), float(row["depth_to[m]"]), float(row["value"])
        except (TypeError, ValueError):
            continue
        if top <= depth_from < bottom or (depth_from == bottom == top):
            return value
    return None


# ----------------------------------------------------------------------------------------------
# screening and daily means
# ----------------------------------------------------------------------------------------------
def constant_run_mask(values: np.ndarray, min_length: int) -> np.ndarray:
    """True where a value belongs to a run of >= ``min_length`` identical consecutive values."""
    values = np.asarray(values)
    if values.size == 0:
        return np.zeros(0, dtype=bool)
    starts = np.concatenate(([True], values[1:] != values[:-1]))
    run_id = np.cumsum(starts) - 1
    lengths = np.bincount(run_id)
    return lengths[run_id] >= min_length


def screen(series: SensorSeries, qc: QualityControl, porosity: float | None) -> tuple[pd.Series, dict[str, Any]]:
    """Good-flag, constant-run and range screening of one sensor; returns hourly values + report."""
    good = np.isin(series.flag, np.asarray(qc.good_flags, dtype=object))
    time, value = series.time[good], series.value[good]
    constant = (
        constant_run_mask(value, qc.constant_run_length)
        if qc.constant_run_length is not None
        else np.zeros(value.size, bool)
    )
    upper = qc.upper_bound if qc.upper_bound is not None else (
        porosity if porosity is not None else SOIL_MOISTURE_FALLBACK_UPPER_BOUND
    )
    out_of_range = ((value < qc.lower_bound) | (value > upper)) & ~constant
    keep = ~(constant | out_of_range)
    report = {
        "records": int(series.value.size),
        "dropped_flag_not_good": int((~good).sum()),
        "dropped_constant_run": int(constant.sum()),
        "dropped_out_of_range": int(out_of_range.sum()),
        "kept": int(keep.sum()),
        "upper_bound": float(upper),
        "upper_bound_source": "user" if qc.upper_bound is not None else (
            "porosity (ISMN static saturation)" if porosity is not None else "fallback 0.6"),
    }
    return pd.Series(value[keep], index=pd.DatetimeIndex(time[keep])), report


def _candidate_files(folder: Any) -> list[Any]:
    files = []
    for p in sorted(folder.iterdir(), key=lambda q: q.name):
        fields = _name_fields(p.name)
        if fields and fields["variable"] == "sm":
            files.append(p)
    return files


def _as_path(path: Any) -> Any:
    if isinstance(path, (str, Path)):
        path = Path(path)
        if path.suffix == ".zip" and path.is_file():
            return zipfile.Path(path)
    return path


def read_station(
    path: Any,
    max_depth: float = 0.10,
    quality_control: QualityControl | None = None,
) -> pd.DataFrame:
    """Daily in-situ surface soil moisture of one ISMN station (m3 m-3).

    Parameters
    ----------
    path
        A station folder, a single ISMN file, or a :class:`zipfile.Path` to either inside an
        archive (e.g. ``zipfile.Path("Data_header_values.zip", "SCAN/Abrams/")``).
    max_depth
        Keep sensors whose depth interval lies within [0, max_depth] (m).
    quality_control
        Screening options (:class:`QualityControl`); default: good flags only, runs of >= 24
        identical records and values outside [0, porosity or 0.6] dropped.

    Returns
    -------
    DataFrame indexed by a daily ``DatetimeIndex`` named ``time`` (first to last valid day, gaps
    NaN), one column per sensor (``<sensor>_<depth_from>_<depth_to>``) holding the daily mean
    of the screened records.  ``df.attrs``: ``units``, ``long_name``, ``network``, ``station``,
    ``latitude``, ``longitude``, ``elevation``, ``sensors`` (per-column depth, instrument, file)
    and ``quality_control`` (per-column counts of what was dropped).

    Raises :class:`ISMNFormatError` (bad file, naming file and line) or :class:`NoSensorError`;
    nothing partial is returned.
    """
    if not (np.isfinite(max_depth) and max_depth > 0):
        raise ValueError(f"max_depth must be a positive depth in m, got {max_depth}")
    qc = quality_control or QualityControl()
    root = _as_path(path)
    if not root.exists():
        raise FileNotFoundError(f"{path}: no such ISMN file or station folder")
    if root.is_dir():
        folder, files = root, _candidate_files(root)
        if not files:
            raise NoSensorError(f"{path}: no ISMN soil-moisture files ('*_sm_*.stm' / '.csv') in this folder")
    else:
        folder, files = root.parent, [root]
    all_series = [read_sensor_file(f) for f in files]
    selected = [s for s in all_series if 0.0 <= s.depth_from <= s.depth_to <= max_depth + 1e-9]
    if not selected:
        depths = ", ".join(f"{s.depth_from:g}-{s.depth_to:g} m ({Path(s.source).name})" for s in all_series)
        raise NoSensorError(f"{path}: no soil-moisture sensor within 0-{max_depth:g} m; sensors found: {depths}")
    static = read_static_variables(folder) if folder.is_dir() else pd.DataFrame()

    columns: dict[str, pd.Series] = {}
    sensors: dict[str, dict[str, Any]] = {}
    reports: dict[str, dict[str, Any]] = {}
    for series in selected:
        name = series.name
        k = 2
        while name in columns:
            name, k = f"{series.name}_{k}", k + 1
        porosity = _porosity(static, series.depth_from)
        hourly, report = screen(series, qc, porosity)
        days = hourly.index.floor("D")
        grouped = hourly.groupby(days)
        daily = grouped.mean()
        count = grouped.count()
        daily = daily[count >= qc.min_records_per_day]
        report["days"] = int(daily.size)
        columns[name] = daily
        reports[name] = report
        sensors[name] = {
            "sensor": series.sensor,
            "depth_from": series.depth_from,
            "depth_to": series.depth_to,
            "depth_units": "m",
            "file": series.source,
            "porosity": porosity,
        }
        dropped = report["dropped_constant_run"] + report["dropped_out_of_range"]
        log = logger.warning if dropped else logger.info
        log(
            "%s: %d records, %d not good-flag, %d in constant runs, %d out of [%.2f, %.2f]; %d daily means",
            series.source, report["records"], report["dropped_flag_not_good"], report["dropped_constant_run"],
            report["dropped_out_of_range"], qc.lower_bound, report["upper_bound"], report["days"],
        )
    frame = pd.DataFrame(columns)
    if frame.empty or frame.notna().sum().sum() == 0:
        raise NoSensorError(f"{path}: no soil-moisture record survives the flag and quality screening")
    first, last = frame.first_valid_index(), frame.last_valid_index()
    frame = frame.reindex(pd.date_range(first, last, freq="D", name="time"))
    reference = selected[0]
    frame.attrs.update(
        attributes("insitu_soil_moisture")
        | {
            "network": reference.network,
            "station": reference.station,
            "latitude": reference.latitude,
            "longitude": reference.longitude,
            "elevation": reference.elevation,
            "max_depth": max_depth,
            "sensors": sensors,
            "quality_control": reports,
            "quality_control_settings": attrs.asdict(qc),
        }
    )
    return frame


def stations_to_dataset(stations: Mapping[str, pd.DataFrame], days: pd.DatetimeIndex | None = None) -> xr.Dataset:
    """Stack :func:`read_station` frames into ``insitu_soil_moisture (time, site)`` (m3 m-3).

    A station with several sensors within the depth contributes the mean of its sensors on each
    day (over the sensors with a value that day).  ``days`` fixes the calendar (default: the
    union of the stations' days); ``lat``/``lon`` coordinates come from the frames' attrs.
    """
    if not stations:
        raise ValueError("no stations given")
    names = list(stations)
    series = {name: frame.mean(axis=1, skipna=True) for name, frame in stations.items()}
    if days is None:
        days = series[names[0]].index
        for name in names[1:]:
            days = days.union(series[name].index)
        days = pd.date_range(days[0], days[-1], freq="D")
    days = pd.DatetimeIndex(days, name="time").as_unit("ns")
    values = np.column_stack([series[name].reindex(days).to_numpy(dtype=float) for name in names])
    dataset = xr.Dataset(
        {"insitu_soil_moisture": (("time", "site"), values, attributes("insitu_soil_moisture"))},
        coords={
            "time": days,
            "site": np.asarray(names, dtype=str),
            "lat": ("site", [float(stations[n].attrs.get("latitude", np.nan)) for n in names],
                    {"units": "degrees_north", "long_name": "latitude"}),
            "lon": ("site", [float(stations[n].attrs.get("longitude", np.nan)) for n in names],
                    {"units": "degrees_east", "long_name": "longitude"}),
        },
    )
    dataset["insitu_soil_moisture"].attrs["cell_methods"] = "time: mean (daily, good-flag records) site: mean of sensors"
    return dataset


# ----------------------------------------------------------------------------------------------
# site selection
# ----------------------------------------------------------------------------------------------
def select_sites(
    insitu: Mapping[str, pd.DataFrame | pd.Series],
    backscatter_counts: Mapping[str, int] | pd.Series,
    min_insitu_days: int = 120,
    min_backscatter: int = 100,
) -> pd.DataFrame:
    """Sites with enough in-situ and Sentinel-1 data (Rains et al. 2022 site selection).

    ``min_insitu_days`` (default 120, about 4 months) counts days with at least one valid
    daily in-situ value; ``min_backscatter`` (default 100) counts retained S1 observations
    (e.g. ``dataset.backscatter.notnull().sum("time")``).  Returns a table indexed by site with
    the two counts and a boolean ``selected``; a site missing from either input is not selected.
    """
    counts = pd.Series(backscatter_counts, dtype=float) if not isinstance(backscatter_counts, pd.Series) else (
        backscatter_counts.astype(float))
    sites = sorted(set(insitu) | set(counts.index.astype(str) if counts.size else []), key=str)
    insitu_days = pd.Series(
        {site: int(pd.DataFrame(frame).notna().any(axis=1).sum()) for site, frame in insitu.items()}, dtype=float
    )
    table = pd.DataFrame(index=pd.Index(sites, name="site"))
    table["insitu_days"] = insitu_days.reindex(table.index).fillna(0).astype(int)
    table["backscatter_observations"] = counts.reindex(table.index).fillna(0).astype(int)
    table["selected"] = (table["insitu_days"] >= min_insitu_days) & (
        table["backscatter_observations"] >= min_backscatter
    )
    table.attrs.update({"min_insitu_days": min_insitu_days, "min_backscatter": min_backscatter})
    return table


def station_folders(root: Any) -> Iterable[Any]:
    """Station folders (``<network>/<station>/``) under an ISMN download root or archive."""
    root = _as_path(root)
    for network in sorted((p for p in root.iterdir() if p.is_dir()), key=lambda q: q.name):
        yield from sorted((p for p in network.iterdir() if p.is_dir()), key=lambda q: q.name)
