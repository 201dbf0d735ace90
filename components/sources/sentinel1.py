"""Readers of per-site Sentinel-1 VV backscatter time series (CSV, NetCDF, Zarr).

Output of every reader: the *acquisition table*, a pandas DataFrame with one row per
acquisition (or per footprint sample, when several rows share site and time - docs/model/validation.md e.1
averages those) and the columns

* ``site`` (str), ``time`` (datetime64[ns], acquisition time, UTC),
* ``backscatter`` (dB, float),
* ``orbit`` (relative orbit, pandas nullable ``Int64``; missing when the file has none),
* ``incidence_angle`` (degree, float; NaN when the file has none).

``table.attrs`` carries ``source`` and CF-style ``units``/``long_name`` per column
(``table.attrs["variables"]``).  The preprocessing chain (``s1da.components.preprocessing.sentinel1``)
turns this table into the ``backscatter (time, site)`` Dataset the filter reads.

Units are never guessed: they come from a ``units=`` argument, a ``units`` column (one unit per
row), a header ``VV [dB]`` / ``VV[lin]``, or a NetCDF ``units`` attribute.  A file mixing dB
and linear values (several units in its units column, or values impossible in the declared
unit, e.g. a negative "linear" power) is an error naming the file and the column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from s1da.components.sources.forcing import split_header_unit
from s1da.components.sources.text import text_table

DB_UNITS = {"db", "decibel", "decibels"}
LINEAR_UNITS = {"lin", "linear", "1", "-", "m2/m2", "m2m-2", "m2 m-2", "power", "natural"}
PLAUSIBLE_DB = (-60.0, 20.0)
"""A VV sigma0 outside this range (dB) is not a backscatter value in dB (rejects mixed files)."""

COLUMN_ATTRIBUTES = {
    "backscatter": {"units": "dB", "long_name": "Sentinel-1 VV backscatter"},
    "orbit": {"units": "1", "long_name": "Sentinel-1 relative orbit number"},
    "incidence_angle": {"units": "degree", "long_name": "local incidence angle"},
    "time": {"long_name": "acquisition time (UTC)"},
    "site": {"long_name": "site identifier"},
}


class BackscatterFileError(ValueError):
    """A backscatter file that cannot be read without guessing; names file and column."""


def unit_kind(unit: str, source: str, column: str) -> str:
    """``"dB"`` or ``"linear"`` for a unit string; anything else is an error naming the column."""
    key = str(unit).strip().lower().replace(" ", "")
    if key in DB_UNITS:
        return "dB"
    if key in {u.replace(" ", "") for u in LINEAR_UNITS}:
        return "linear"
    raise BackscatterFileError(f"{source}: column {column!r}: unit {unit!r} is neither dB nor linear")


def to_db(values: np.ndarray, kind: str, source: str, column: str, rows: np.ndarray | None = None) -> np.ndarray:
    """Values in dB; checks that every finite value is possible in the declared unit."""
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    if kind == "linear":
        bad = finite & (values <= 0)
        if bad.any():
            i = int(np.argmax(bad))
            where = f" row {rows[i]}" if rows is not None else ""
            raise BackscatterFileError(
                f"{source}: column {column!r}{where}: value {values[i]} is not a linear power (<= 0): "
                "mixed dB and linear values?"
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            return 10.0 * np.log10(values)  # docs/model/validation.md e.1: sigma_dB = 10 log10(sigma_lin)
    low, high = PLAUSIBLE_DB
    bad = finite & ((values < low) | (values > high))
    if bad.any():
        i = int(np.argmax(bad))
        where = f" row {rows[i]}" if rows is not None else ""
        raise BackscatterFileError(
            f"{source}: column {column!r}{where}: value {values[i]} is outside {PLAUSIBLE_DB} dB: mixed dB and "
            "linear values, or a wrong unit?"
        )
    # linear powers written into a dB column are all in (0, ~1]: a column with both clearly
    # negative dB values and many such small positives is mixed
    small_positive = finite & (values > 0) & (values < 1)
    clearly_db = finite & (values < -3)
    if small_positive.sum() >= 1 and clearly_db.sum() >= 1 and small_positive.mean() > 0.05:
        i = int(np.argmax(small_positive))
        where = f" row {rows[i]}" if rows is not None else ""
        raise BackscatterFileError(
            f"{source}: column {column!r}{where}: value {values[i]} looks linear among dB values: "
            "mixed dB and linear values in one column"
        )
    return values


def _finish(table: pd.DataFrame, source: str) -> pd.DataFrame:
    table = table[["site", "time", "backscatter", "orbit", "incidence_angle"]].copy()
    table["site"] = table["site"].astype(str)
    table["orbit"] = table["orbit"].astype("Int64")
    table["incidence_angle"] = table["incidence_angle"].astype(float)
    table = table.sort_values(["site", "time"], kind="stable").reset_index(drop=True)
    table.attrs = {"source": source, "variables": {k: dict(v) for k, v in COLUMN_ATTRIBUTES.items()}}
    return table


def _orbit_values(raw: pd.Series, source: str, column: str, rows: np.ndarray) -> pd.Series:
    numbers = pd.to_numeric(raw, errors="coerce")
    bad = raw.notna() & numbers.isna()
    fractional = numbers.notna() & (numbers != np.round(numbers))
    if (bad | fractional).any():
        i = int(np.argmax((bad | fractional).to_numpy()))
        raise BackscatterFileError(f"{source}: column {column!r} row {rows[i]}: {raw.iloc[i]!r} is not a relative orbit")
    return numbers.astype("Int64")


def read_backscatter_csv(
    path: str | Path,
    value_column: str = "backscatter",
    units: str | None = None,
    time_column: str = "time",
    site_column: str | None = "site",
    site: str | None = None,
    orbit_column: str | None = "orbit",
    angle_column: str | None = "incidence_angle",
    units_column: str = "units",
    **read_csv_kwargs: Any,
) -> pd.DataFrame:
    """Read VV backscatter from delimited text (separator detected unless ``sep=`` is given).

    ``value_column`` may be given with or without a ``[unit]`` header suffix.  ``site`` names
    the site of a single-site file without a site column.  Missing optional columns (orbit,
    incidence angle) give missing values; a missing value/time column is an error.
    """
    source = str(path)
    read_csv_kwargs.setdefault("sep", None)
    if read_csv_kwargs["sep"] is None:
        read_csv_kwargs.setdefault("engine", "python")
    try:
        raw = pd.read_csv(text_table(path), dtype=str, **read_csv_kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise BackscatterFileError(f"{source}: cannot parse as delimited text: {error}") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    rows = np.arange(len(raw)) + 2  # 1-based file line of each row (header = line 1)
    header_unit: str | None = None
    if value_column not in raw:
        matches = [c for c in raw.columns if split_header_unit(c)[0] == value_column]
        if len(matches) != 1:
            raise BackscatterFileError(
                f"{source}: value column {value_column!r} not found (or ambiguous: {matches}); columns: {list(raw.columns)}"
            )
        value_column = matches[0]
    header_unit = split_header_unit(value_column)[1]
    declared = [u for u in (units, header_unit) if u is not None]
    if units_column in raw:
        row_units = raw[units_column].str.strip()
        kinds = {unit_kind(u, source, units_column) for u in row_units.dropna().unique()}
        if len(kinds) > 1:
            raise BackscatterFileError(
                f"{source}: column {units_column!r} mixes dB and linear values in one file (column {value_column!r})"
            )
        declared += list(row_units.dropna().unique()[:1])
    if not declared:
        raise BackscatterFileError(
            f"{source}: column {value_column!r} has no unit: give units='dB' or 'linear', a {units_column!r} column "
            "or a '[dB]' header"
        )
    kinds = {unit_kind(u, source, value_column) for u in declared}
    if len(kinds) > 1:
        raise BackscatterFileError(f"{source}: column {value_column!r}: conflicting units {declared}")
    kind = kinds.pop()
    numbers = pd.to_numeric(raw[value_column], errors="coerce")
    not_number = numbers.isna() & raw[value_column].notna() & ~raw[value_column].str.strip().str.lower().isin(
        ["", "nan", "na", "null"])
    if not_number.any():
        i = int(np.argmax(not_number.to_numpy()))
        raise BackscatterFileError(f"{source}: column {value_column!r} row {rows[i]}: {raw[value_column].iloc[i]!r} "
                                   "is not a number")
    backscatter = to_db(numbers.to_numpy(dtype=float), kind, source, value_column, rows)
    if time_column not in raw:
        raise BackscatterFileError(f"{source}: time column {time_column!r} not found; columns: {list(raw.columns)}")
    times = pd.to_datetime(raw[time_column].str.strip(), errors="coerce", format="mixed")
    if times.isna().any():
        i = int(np.argmax(times.isna().to_numpy()))
        raise BackscatterFileError(f"{source}: column {time_column!r} row {rows[i]}: cannot read "
                                   f"{raw[time_column].iloc[i]!r} as a time")
    if getattr(times.dt, "tz", None) is not None:
        times = times.dt.tz_convert("UTC").dt.tz_localize(None)
    if site_column and site_column in raw:
        sites = raw[site_column].str.strip()
        if site is not None:
            raise BackscatterFileError(f"{source}: both a {site_column!r} column and site={site!r} given")
    elif site is not None:
        sites = pd.Series(site, index=raw.index)
    else:
        raise BackscatterFileError(f"{source}: no {site_column!r} column; pass site= for a single-site file")
    orbit = (_orbit_values(raw[orbit_column], source, orbit_column, rows)
             if orbit_column and orbit_column in raw else pd.Series(pd.NA, index=raw.index, dtype="Int64"))
    if angle_column and angle_column in raw:
        angle = pd.to_numeric(raw[angle_column], errors="coerce")
        if ((angle < 0) | (angle > 90)).any():
            i = int(np.argmax(((angle < 0) | (angle > 90)).to_numpy()))
            raise BackscatterFileError(f"{source}: column {angle_column!r} row {rows[i]}: incidence angle "
                                       f"{angle.iloc[i]} outside [0, 90] degree")
    else:
        angle = pd.Series(np.nan, index=raw.index)
    table = pd.DataFrame({"site": sites, "time": times.to_numpy(dtype="datetime64[ns]"), "backscatter": backscatter,
                          "orbit": orbit, "incidence_angle": angle.to_numpy(dtype=float)})
    return _finish(table, source)


def read_backscatter_dataset(
    path: str | Path | xr.Dataset,
    variable: str = "backscatter",
    orbit_variable: str = "orbit",
    angle_variable: str = "incidence_angle",
    site: str | None = None,
) -> pd.DataFrame:
    """Read VV backscatter from NetCDF / Zarr (or an open Dataset) with a ``units`` attribute.

    ``variable`` has dims ``(time,)`` (single site: pass ``site=``) or ``(time, site)``;
    orbit / incidence angle, when present, share its dims or are ``(time,)``.
    """
    if isinstance(path, xr.Dataset):
        dataset, source = path, path.attrs.get("source", "<dataset>")
        return _table_from_dataset(dataset, source, variable, orbit_variable, angle_variable, site)
    source = str(path)
    opener = xr.open_zarr if source.rstrip("/").endswith(".zarr") else xr.open_dataset
    with opener(path) as dataset:
        return _table_from_dataset(dataset.load(), source, variable, orbit_variable, angle_variable, site)


def _table_from_dataset(dataset: xr.Dataset, source: str, variable: str, orbit_variable: str, angle_variable: str,
                        site: str | None) -> pd.DataFrame:
    if variable not in dataset:
        raise BackscatterFileError(f"{source}: variable {variable!r} not found; has {list(dataset.data_vars)}")
    array = dataset[variable]
    if "units" not in array.attrs:
        raise BackscatterFileError(f"{source}: variable {variable!r} has no 'units' attribute (dB or linear)")
    kind = unit_kind(array.attrs["units"], source, variable)
    if array.dims == ("time",):
        if site is None:
            raise BackscatterFileError(f"{source}: variable {variable!r} has no site dimension; pass site=")
        dataset = dataset.expand_dims(site=[site])
        array = dataset[variable]
    elif set(array.dims) != {"time", "site"}:
        raise BackscatterFileError(f"{source}: variable {variable!r} has dims {array.dims}; expected (time[, site])")
    array = array.transpose("time", "site")

    def broadcast(name: str) -> np.ndarray | None:
        if name not in dataset:
            return None
        return dataset[name].broadcast_like(array).transpose("time", "site").to_numpy().ravel()

    values = to_db(array.to_numpy().ravel(), kind, source, variable)
    n_time, n_site = array.shape
    table = pd.DataFrame({
        "site": np.tile(np.asarray(array["site"].to_numpy()).astype(str), n_time),
        "time": np.repeat(array["time"].to_numpy().astype("datetime64[ns]"), n_site),
        "backscatter": values,
    })
    orbit = broadcast(orbit_variable)
    table["orbit"] = pd.array(np.where(np.isfinite(orbit), orbit, np.nan), dtype="Float64").astype("Int64") \
        if orbit is not None else pd.array([pd.NA] * len(table), dtype="Int64")
    angle = broadcast(angle_variable)
    table["incidence_angle"] = angle if angle is not None else np.nan
    table = table[np.isfinite(table["backscatter"].to_numpy())]  # gridded files pad with NaN
    return _finish(table, source)
