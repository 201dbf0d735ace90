"""Daily meteorological forcing readers (CSV, NetCDF) with explicit units -> model units.

Model units (framework/interfaces.py, docs/model/gleam.md a): precipitation mm d-1, air temperature degC,
net radiation W m-2 as a daily mean.  Every column is read with an explicit unit - given by the
caller (``units={"RH": "0.1 mm"}``), by a CSV header of the form ``name [unit]`` or ``name (unit)``,
or by the NetCDF ``units`` attribute.  A unit that is not in the tables below is an error naming
the column; we never guess from magnitudes.

Accepted units (case and spacing insensitive; ``m-2`` == ``/m2``, ``d-1`` == ``/d`` == ``/day``;
energy totals are per day because the files are daily):

* water depth (precipitation): ``mm``, ``mm d-1``, ``kg m-2``, ``0.1 mm``, ``cm``, ``m``,
  ``kg m-2 s-1`` (flux, times 86400 s);
* temperature: ``degC`` (``C``, ``celsius``, ``°C``), ``K``, ``0.1 degC``;
* radiation: ``W m-2``, ``MJ m-2 d-1``, ``kJ m-2 d-1``, ``J m-2 d-1``, ``J cm-2 d-1``
  (daily totals are divided by 86400 s to give the daily mean flux).

Time axis: strictly increasing, no duplicates, no missing days.  Missing days or missing
values raise :class:`ForcingError` unless ``fill`` is given:

* ``fill=None`` (default): error naming the file, the variable and the first bad date;
* ``fill="nan"``: missing days are inserted and left NaN (the caller must handle them; the
  model will refuse NaN forcing);
* ``fill="linear"``: gaps are linearly interpolated in time (for precipitation this spreads
  a total over the gap - use only for short gaps); gaps at the ends of the record are an error.

Unsorted or duplicate dates are always an error.  The days that were filled are listed in
``dataset.attrs["filled_days"]`` (JSON: variable -> list of dates).  Negative precipitation is
an error, and so is a converted value outside :data:`PLAUSIBLE_RANGE` (e.g. Kelvin labelled
degC), which names the column.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr
from s1da.components.sources.text import read_text, text_table
from s1da.framework.variables import attributes, register

SECONDS_PER_DAY = 86400.0

register("shortwave_radiation", "W m-2", "daily mean incoming shortwave (global) radiation")

QUANTITY_OF_VARIABLE = {
    "precipitation": "water",
    "air_temperature": "temperature",
    "air_temperature_min": "temperature",
    "air_temperature_max": "temperature",
    "net_radiation": "radiation",
    "shortwave_radiation": "radiation",
}
"""Model variables this module converts, and the physical quantity of each."""

register("air_temperature_min", "degC", "daily minimum air temperature")
register("air_temperature_max", "degC", "daily maximum air temperature")

# unit -> (scale, offset): model = raw * scale + offset, per quantity
_UNITS: dict[str, dict[str, tuple[float, float]]] = {
    "water": {
        "mm": (1.0, 0.0), "mm/d": (1.0, 0.0), "kg/m2": (1.0, 0.0), "kg/m2/d": (1.0, 0.0),
        "0.1mm": (0.1, 0.0), "0.1mm/d": (0.1, 0.0), "cm": (10.0, 0.0), "cm/d": (10.0, 0.0),
        "m": (1000.0, 0.0), "m/d": (1000.0, 0.0), "kg/m2/s": (SECONDS_PER_DAY, 0.0), "mm/s": (SECONDS_PER_DAY, 0.0),
    },
    "temperature": {
        "degc": (1.0, 0.0), "c": (1.0, 0.0), "celsius": (1.0, 0.0), "deg_c": (1.0, 0.0), "degreesc": (1.0, 0.0),
        "k": (1.0, -273.15), "kelvin": (1.0, -273.15), "0.1degc": (0.1, 0.0), "0.1c": (0.1, 0.0),
    },
    "radiation": {
        "w/m2": (1.0, 0.0), "mj/m2/d": (1e6 / SECONDS_PER_DAY, 0.0), "mj/m2": (1e6 / SECONDS_PER_DAY, 0.0),
        "kj/m2/d": (1e3 / SECONDS_PER_DAY, 0.0), "kj/m2": (1e3 / SECONDS_PER_DAY, 0.0),
        "j/m2/d": (1.0 / SECONDS_PER_DAY, 0.0), "j/m2": (1.0 / SECONDS_PER_DAY, 0.0),
        "j/cm2/d": (1e4 / SECONDS_PER_DAY, 0.0), "j/cm2": (1e4 / SECONDS_PER_DAY, 0.0),
    },
}

PLAUSIBLE_RANGE = {"water": (-np.inf, 2000.0), "temperature": (-90.0, 60.0), "radiation": (-300.0, 600.0)}
"""Converted daily values outside these bounds (mm d-1, degC, W m-2) betray a wrong unit."""

Fill = Literal["nan", "linear"] | None


class ForcingError(ValueError):
    """Forcing input that cannot be converted without guessing; names file and column/variable."""


def normalise_unit(unit: str) -> str:
    """Canonical spelling of a unit string (``"MJ m-2 d-1"`` -> ``"mj/m2/d"``)."""
    text = unit.strip().lower().replace("°", "deg").replace("**", "").replace("^", "")
    text = text.replace("degrees", "deg").replace("deg c", "degc").replace("per day", "/d")
    text = re.sub(r"\bday-1\b|\bd-1\b", "/d", text)
    text = re.sub(r"\bs-1\b", "/s", text)
    text = re.sub(r"\b(c?m)-2\b", r"/\g<1>2", text)
    text = re.sub(r"/day\b", "/d", text)
    text = text.replace("*", "").replace(" ", "").replace("//", "/")
    text = re.sub(r"\.(?=/)", "", text)
    return text.strip("/")


def conversion(variable: str, unit: str, column: str) -> tuple[float, float]:
    """(scale, offset) taking ``unit`` to the model unit of ``variable``; error names the column."""
    try:
        quantity = QUANTITY_OF_VARIABLE[variable]
    except KeyError:
        raise ForcingError(
            f"column {column!r}: unknown forcing variable {variable!r}; known: {sorted(QUANTITY_OF_VARIABLE)}"
        ) from None
    key = normalise_unit(unit)
    table = _UNITS[quantity]
    if key not in table:
        raise ForcingError(
            f"column {column!r}: unit {unit!r} of {variable} is not identified "
            f"(accepted: {sorted(table)}; spelled case-insensitively, 'm-2' or '/m2')"
        )
    return table[key]


_HEADER_UNIT = re.compile(r"^\s*(?P<name>.*?)\s*[\[(](?P<unit>[^\])]*)[\])]\s*$")


def split_header_unit(header: str) -> tuple[str, str | None]:
    """``"P [mm]"`` -> ``("P", "mm")``; a header without brackets has no unit."""
    match = _HEADER_UNIT.match(header)
    if match:
        return match["name"], match["unit"]
    return header.strip(), None


def _daily_index(raw_times: pd.Series | pd.Index, source: str) -> pd.DatetimeIndex:
    times = pd.DatetimeIndex(pd.to_datetime(raw_times))
    if times.tz is not None:
        times = times.tz_convert("UTC").tz_localize(None)
    if (times != times.normalize()).any():
        i = int(np.argmax(times != times.normalize()))
        raise ForcingError(f"{source}: time {times[i]} is not a calendar day; daily forcing expected")
    steps = np.diff(times.asi8)
    if np.any(steps <= 0):
        i = int(np.argmax(steps <= 0))
        kind = "duplicate" if steps[i] == 0 else "unsorted"
        raise ForcingError(f"{source}: {kind} date {times[i + 1].date()} after {times[i].date()} (row {i + 2})")
    return times


def to_model_dataset(
    frame: pd.DataFrame,
    variables: Mapping[str, str],
    units: Mapping[str, str],
    source: str,
    fill: Fill = None,
    period: tuple[Any, Any] | None = None,
) -> xr.Dataset:
    """Convert a date-indexed frame of raw columns to model forcing.

    ``variables`` maps model variable -> column; ``units`` maps column -> unit string;
    ``period`` = (first day, last day) selects the days to return (gaps are judged inside it).
    """
    if fill not in (None, "nan", "linear"):
        raise ValueError(f"fill must be None, 'nan' or 'linear', got {fill!r}")
    times = _daily_index(frame.index, source)
    if period is not None:
        first, last = pd.Timestamp(period[0]), pd.Timestamp(period[1])
        if not (times[0] <= first <= last <= times[-1]):
            raise ForcingError(f"{source}: period {first.date()}..{last.date()} is not inside the record "
                               f"{times[0].date()}..{times[-1].date()}")
        inside = (times >= first) & (times <= last)
        frame, times = frame.loc[inside], times[inside]
        times = times.union(pd.DatetimeIndex([first, last]))  # so that a gap at either end is seen
        frame = frame.reindex(times)
    full = pd.date_range(times[0], times[-1], freq="D", name="time").as_unit("ns")
    data_vars: dict[str, xr.Variable] = {}
    filled: dict[str, list[str]] = {}
    for variable, column in variables.items():
        if column not in frame:
            raise ForcingError(f"{source}: column {column!r} for {variable} not found; columns: {list(frame.columns)}")
        if column not in units or units[column] is None:
            raise ForcingError(f"{source}: column {column!r} ({variable}) has no unit; give units={{{column!r}: ...}}")
        scale, offset = conversion(variable, units[column], column)
        raw = pd.to_numeric(frame[column], errors="coerce")
        not_number = raw.isna() & frame[column].notna() & (frame[column].astype(str).str.strip() != "")
        if not_number.any():
            i = int(np.argmax(not_number.to_numpy()))
            raise ForcingError(f"{source}: column {column!r} row {i + 2}: {frame[column].iloc[i]!r} is not a number")
        values = pd.Series(raw.to_numpy(dtype=float) * scale + offset, index=times).reindex(full)
        values[~np.isfinite(values.to_numpy())] = np.nan
        missing = values.isna()
        if missing.any():
            first = values.index[missing.to_numpy()][0].date()
            if fill is None:
                raise ForcingError(
                    f"{source}: {variable} (column {column!r}) is missing on {int(missing.sum())} day(s), first "
                    f"{first}; pass fill='nan' or fill='linear' to accept gaps"
                )
            if fill == "linear":
                if missing.iloc[0] or missing.iloc[-1]:
                    raise ForcingError(
                        f"{source}: {variable} (column {column!r}) is missing at the start or end of the record "
                        f"(first missing {first}); linear filling cannot extrapolate"
                    )
                values = values.interpolate(method="time")
            filled[variable] = [str(d.date()) for d in values.index[missing.to_numpy()]]
        low, high = PLAUSIBLE_RANGE[QUANTITY_OF_VARIABLE[variable]]
        implausible = (values < low) | (values > high)
        if implausible.any():
            day = values.index[implausible.to_numpy()][0]
            raise ForcingError(
                f"{source}: column {column!r} gives {variable} = {values[day]:.6g} {attributes(variable)['units']} on "
                f"{day.date()} after conversion from {units[column]!r}, outside {low:g}..{high:g}: wrong unit?"
            )
        if variable == "precipitation" and (values < 0).any():
            bad = values.index[(values < 0).to_numpy()][0].date()
            raise ForcingError(f"{source}: negative precipitation in column {column!r} on {bad}")
        data_vars[variable] = xr.Variable(
            "time", values.to_numpy(), attrs=attributes(variable) | {"source_column": column,
                                                                    "source_units": units[column]}
        )
    dataset = xr.Dataset(data_vars, coords={"time": full})
    dataset["time"].attrs.update({"long_name": "day (UTC)", "standard_name": "time"})
    # JSON so that the attribute survives NetCDF/Zarr writing
    dataset.attrs.update({"source": source, "filled_days": json.dumps(filled), "fill": str(fill)})
    return dataset


def read_forcing_csv(
    path: str | Path,
    variables: Mapping[str, str],
    units: Mapping[str, str] | None = None,
    time_column: str = "time",
    fill: Fill = None,
    replace: Mapping[str, Mapping[float, float]] | None = None,
    period: tuple[Any, Any] | None = None,
    **read_csv_kwargs: Any,
) -> xr.Dataset:
    """Read daily forcing from a delimited text file.

    ``variables`` maps model variables (``precipitation``, ``air_temperature``,
    ``net_radiation``, ``shortwave_radiation``, ...) to column names (without any ``[unit]``
    suffix).  Units come from ``units`` (column -> unit) or from ``name [unit]`` headers; both
    given and different is an error.  ``replace`` maps column -> {raw code: raw value} for
    coded values (e.g. KNMI ``-1`` = trace precipitation).  Extra keyword arguments go to
    :func:`pandas.read_csv` (``sep``, ``skiprows``, ``comment``...).
    """
    source = str(path)
    try:
        frame = pd.read_csv(text_table(path), dtype=str, skipinitialspace=True, **read_csv_kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise ForcingError(f"{source}: cannot parse as delimited text: {error}") from None
    header_units: dict[str, str] = {}
    renamed: dict[str, str] = {}
    for header in frame.columns:
        name, unit = split_header_unit(str(header))
        renamed[header] = name
        if unit is not None:
            header_units[name] = unit
    frame = frame.rename(columns=renamed)
    resolved = dict(header_units)
    for column, unit in (units or {}).items():
        if column in header_units and normalise_unit(header_units[column]) != normalise_unit(unit):
            raise ForcingError(
                f"{source}: column {column!r} says [{header_units[column]}] in its header but units= gives {unit!r}"
            )
        resolved[column] = unit
    if time_column not in frame:
        raise ForcingError(f"{source}: time column {time_column!r} not found; columns: {list(frame.columns)}")
    times = pd.to_datetime(frame[time_column].str.strip(), errors="coerce", format="mixed")
    if times.isna().any():
        i = int(np.argmax(times.isna().to_numpy()))
        raise ForcingError(f"{source}: row {i + 2}: cannot read a date from {frame[time_column].iloc[i]!r}")
    frame = frame.drop(columns=[time_column]).set_index(pd.DatetimeIndex(times))
    for column, codes in (replace or {}).items():
        numeric = pd.to_numeric(frame[column], errors="coerce")
        frame[column] = numeric.replace(dict(codes))
    return to_model_dataset(frame, variables, resolved, source, fill, period)


def read_forcing_netcdf(
    path: str | Path,
    variables: Mapping[str, str],
    fill: Fill = None,
    site: Any = None,
    period: tuple[Any, Any] | None = None,
) -> xr.Dataset:
    """Read daily forcing from NetCDF (or Zarr) whose variables carry a ``units`` attribute.

    ``variables`` maps model variable -> file variable.  A file variable with a ``site``
    dimension needs ``site=`` (one site per call; stack sites with :func:`xarray.concat`).
    """
    source = str(path)
    opener = xr.open_zarr if str(path).rstrip("/").endswith(".zarr") else xr.open_dataset
    with opener(path) as raw:
        if site is not None:
            raw = raw.sel(site=site)
        frame = {}
        units = {}
        for variable, name in variables.items():
            if name not in raw:
                raise ForcingError(f"{source}: variable {name!r} for {variable} not found; has {list(raw.data_vars)}")
            array = raw[name]
            if array.dims != ("time",):
                raise ForcingError(f"{source}: variable {name!r} has dims {array.dims}; expected ('time',) "
                                   "(select one site with site=)")
            if "units" not in array.attrs:
                raise ForcingError(f"{source}: variable {name!r} has no 'units' attribute")
            frame[name] = array.to_numpy().astype(float)
            units[name] = str(array.attrs["units"])
        index = pd.DatetimeIndex(raw["time"].to_numpy())
    return to_model_dataset(pd.DataFrame(frame, index=index), variables, units, source, fill, period)


KNMI_COLUMNS = {"precipitation": "RH", "air_temperature": "TG", "air_temperature_min": "TN",
                "air_temperature_max": "TX", "shortwave_radiation": "Q"}
KNMI_UNITS = {"RH": "0.1 mm", "TG": "0.1 degC", "TN": "0.1 degC", "TX": "0.1 degC", "Q": "J cm-2 d-1"}


def read_knmi_daily(
    path: str | Path,
    variables: Mapping[str, str] | None = None,
    trace_precipitation: float = 0.0,
    fill: Fill = None,
    period: tuple[Any, Any] | None = None,
) -> xr.Dataset:
    """KNMI daily station file (``etmgeg_<station>.txt``: comma-separated, header line ``# STN,YYYYMMDD,...``).

    Units follow the file's legend: RH precipitation in 0.1 mm with ``-1`` meaning < 0.05 mm
    (set to ``trace_precipitation`` mm, default 0), TG/TN/TX in 0.1 degC, Q global radiation in
    J cm-2 (daily total).  Q is *incoming shortwave*, not net radiation: it is returned as
    ``shortwave_radiation``; deriving net radiation needs albedo and longwave terms.
    """
    source = str(path)
    lines = read_text(path).splitlines()
    header_line = next(
        (number for number, line in enumerate(lines) if line.lstrip().startswith("#") and "YYYYMMDD" in line), None
    )
    if header_line is None:
        raise ForcingError(f"{source}: no KNMI header line ('# STN,YYYYMMDD,...') found")
    names = [c.strip().lstrip("#").strip() for c in lines[header_line].split(",")]
    rows = [line.split(",") for line in lines[header_line + 1:] if line.strip()]
    bad = [i for i, r in enumerate(rows) if len(r) != len(names)]
    if bad:
        raise ForcingError(
            f"{source}:{header_line + 2 + bad[0]}: expected {len(names)} comma-separated fields, got {len(rows[bad[0]])}"
        )
    frame = pd.DataFrame(rows, columns=names).apply(lambda c: c.str.strip())
    times = pd.to_datetime(frame["YYYYMMDD"], format="%Y%m%d", errors="coerce")
    if times.isna().any():
        i = int(np.argmax(times.isna().to_numpy()))
        raise ForcingError(f"{source}: cannot read date {frame['YYYYMMDD'].iloc[i]!r}")
    frame = frame.set_index(pd.DatetimeIndex(times)).replace("", np.nan)
    chosen = dict(variables or KNMI_COLUMNS)
    if "RH" in frame:
        precipitation = pd.to_numeric(frame["RH"], errors="coerce")
        # -1 codes "< 0.05 mm": store as the requested amount, expressed in the file's 0.1 mm
        frame["RH"] = precipitation.mask(precipitation == -1, trace_precipitation / 0.1)
    return to_model_dataset(frame, chosen, KNMI_UNITS, source, fill, period)
