"""Gridded real data: ``source: {kind: grid_files}`` builds :class:`SiteData` from CF grids.

What a user provides (NetCDF or Zarr, CF conventions; the format follows the suffix, ``.zarr``
is Zarr, anything else NetCDF):

* **statics**: maps ``(lat, lon)`` of the GLEAM fractions ``f_T``, ``f_H``, ``f_B``, ``f_W`` and
  soil parameters ``w_sat``, ``w_fc``, ``w_c``, ``w_wp`` [``w_r``] (docs/model/gleam.md a.1, a.11), and
  optionally ``land_mask`` (1 = land).  Land cells (mask 1, or every cell without a mask) are
  the sites; they must have finite statics.  This file's grid, cut to ``region``, is the domain.
* **forcing**: ``(time, lat, lon)`` daily precipitation, air temperature and net radiation,
  each with a ``units`` attribute, converted with the site readers' unit rules
  (:mod:`s1da.components.sources.forcing`: the same accepted units and plausible ranges).
* **lai**: ``(time, lat, lon)`` LAI in m2 m-2, daily or irregular (e.g. 10-daily), interpolated
  to days by :func:`s1da.components.preprocessing.lai.daily_lai` (a gap longer than
  ``max_lai_gap_days`` is an error).
* **sentinel1**: ``(time, lat, lon)`` VV backscatter in dB or linear power (``units``),
  already preprocessed (masks, orbit normalisation, docs/model/validation.md e), NaN where there is no
  acquisition; at most one image per day.
* optionally **insitu**: ISMN station files or folders (read by
  :func:`s1da.components.sources.ismn.read_station`), each matched to the grid cell holding
  the station; several stations in one cell are averaged.

Files are opened lazily (xarray) and only the region is read.  Every grid must cover the region
with the statics' cell centres, and every time axis must be sorted, unique, daily where it must
be, and cover the period.  Every problem is a :class:`GridFilesError` naming the file, the
variable, the cell (row/column and lat/lon) or date, and the limit that was broken.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pandas as pd
import xarray as xr

from s1da.components.gleam.sites import statics_from_sites
from s1da.components.gleam.statics import RESIDUAL_TO_WILTING
from s1da.components.preprocessing.lai import LAIError, daily_lai
from s1da.components.sources.forcing import PLAUSIBLE_RANGE, QUANTITY_OF_VARIABLE, ForcingError, conversion, normalise_unit
from s1da.components.sources.ismn import ISMNFormatError, NoSensorError, read_station
from s1da.components.sources.sentinel1 import PLAUSIBLE_DB, BackscatterFileError, to_db, unit_kind
from s1da.components.sources.site_files import FRACTION_COLUMNS, LAI_UNITS, SOIL_COLUMNS, STATIC_ATTRIBUTES
from s1da.framework.grid import GridInfo
from s1da.framework.sitedata import REQUIRED_FORCING, DataError, SiteData
from s1da.framework.variables import attributes

LAT_NAMES = ("lat", "latitude")
LON_NAMES = ("lon", "longitude")
COORDINATE_TOLERANCE = 1e-6  # degrees: grids must share the statics' cell centres
LAI_RANGE = (0.0, 15.0)  # m2 m-2


class GridFilesError(DataError):
    """A gridded input that cannot be used; names file, variable, cell or date, and the limit."""


def _region(instance, attribute, value) -> None:
    if value is None:
        return
    if len(value) != 4 or not (value[0] < value[1] and value[2] < value[3]):
        raise ValueError(f"region must be (south, north, west, east) with south < north and west < east, got {value!r}")


@attrs.frozen
class GridFilesOptions:
    """``source: {kind: grid_files, ...}`` (module docstring)."""

    statics: str
    forcing: str
    lai: str
    sentinel1: str
    insitu: tuple = attrs.field(default=(), converter=tuple, metadata={"doc": "ISMN station files or folders"})
    region: tuple | None = attrs.field(
        default=None, converter=attrs.converters.optional(tuple), validator=_region, metadata={"units": "degree"}
    )
    forcing_variables: dict = attrs.field(
        factory=lambda: {name: name for name in REQUIRED_FORCING}, metadata={"doc": "model variable -> file variable"}
    )
    lai_variable: str = "lai"
    backscatter_variable: str = "backscatter"
    max_lai_gap_days: int = attrs.field(default=32, validator=attrs.validators.gt(0), metadata={"units": "d"})
    base_dir: str | None = None

    def path(self, name: str) -> Path:
        path = Path(name)
        return path if path.is_absolute() or self.base_dir is None else Path(self.base_dir) / path


# ----------------------------------------------------------------------------------------------
# opening and cutting grids
# ----------------------------------------------------------------------------------------------
def open_grid(path: Path, what: str) -> xr.Dataset:
    """A lazily opened grid with coordinates renamed to ``lat``/``lon``."""
    if not path.exists():
        raise GridFilesError(f"{what} grid: file not found: {path}")
    try:
        dataset = xr.open_zarr(path) if str(path).rstrip("/").endswith(".zarr") else xr.open_dataset(path)
    except (OSError, ValueError, KeyError) as error:
        raise GridFilesError(f"{what} grid {path}: cannot open as NetCDF/Zarr: {error}") from None
    rename = {}
    for names, target in ((LAT_NAMES, "lat"), (LON_NAMES, "lon")):
        found = [n for n in names if n in dataset.coords or n in dataset.dims]
        if not found:
            raise GridFilesError(f"{what} grid {path}: no {target} coordinate (one of {list(names)})")
        if found[0] != target:
            rename[found[0]] = target
    return dataset.rename(rename)


def _cell_edges(values: np.ndarray) -> tuple[float, float]:
    half = 0.5 * float(np.abs(np.diff(values)).min()) if values.size > 1 else 0.0
    return float(values.min()) - half, float(values.max()) + half


def cut_region(dataset: xr.Dataset, region: tuple | None, path: Path, what: str) -> xr.Dataset:
    """The cells whose centres lie in ``region`` (south, north, west, east), lat/lon ascending."""
    dataset = dataset.sortby(["lat", "lon"])
    if region is None:
        return dataset
    south, north, west, east = region
    for axis, low, high in (("lat", south, north), ("lon", west, east)):
        first, last = _cell_edges(dataset[axis].values)
        if low < first - COORDINATE_TOLERANCE or high > last + COORDINATE_TOLERANCE:
            raise GridFilesError(
                f"{what} grid {path}: covers {axis} {first:g}..{last:g} (cell edges); the domain needs {low:g}..{high:g}"
            )
    lat, lon = dataset["lat"].values, dataset["lon"].values
    return dataset.isel(lat=np.flatnonzero((lat >= south) & (lat <= north)), lon=np.flatnonzero((lon >= west) & (lon <= east)))


def match_grid(dataset: xr.Dataset, domain: xr.Dataset, path: Path, what: str) -> xr.Dataset:
    """``dataset`` on the domain's cell centres; a grid that does not cover them is an error."""
    picked = {}
    for axis in ("lat", "lon"):
        values, wanted = dataset[axis].values, domain[axis].values
        index = np.clip(np.searchsorted(values, wanted), 0, values.size - 1)
        closer = np.clip(index - 1, 0, values.size - 1)
        index = np.where(np.abs(values[closer] - wanted) < np.abs(values[index] - wanted), closer, index)
        off = np.abs(values[index] - wanted) > COORDINATE_TOLERANCE
        if off.any():
            first, last = _cell_edges(values)
            raise GridFilesError(
                f"{what} grid {path}: has no cell centre at {axis} {wanted[off][0]:g} of the domain "
                f"(grid {axis} {first:g}..{last:g}); regrid it onto the statics grid"
            )
        picked[axis] = index
    return dataset.isel(lat=picked["lat"], lon=picked["lon"])


def daily_axis(
    times: np.ndarray, path: Path, variable: str, period: pd.DatetimeIndex, *, every_day: bool, cover: bool = True
) -> pd.DatetimeIndex:
    """Check a time axis: calendar days, sorted, unique, covering ``period`` if ``cover``
    (gap-free over it if ``every_day``)."""
    days = pd.DatetimeIndex(times)
    where = f"{path}: variable {variable!r}"
    if days.size == 0:
        raise GridFilesError(f"{where}: no time steps")
    if (days != days.normalize()).any() and every_day:
        raise GridFilesError(f"{where}: time {days[np.argmax(days != days.normalize())]} is not a calendar day; daily data expected")
    days = days.normalize()
    steps = np.diff(days.asi8)
    if (steps <= 0).any():
        i = int(np.argmax(steps <= 0))
        kind = "duplicate" if steps[i] == 0 else "unsorted"
        raise GridFilesError(f"{where}: {kind} time {days[i + 1].date()} after {days[i].date()}")
    if cover and (days[0] > period[0] or days[-1] < period[-1]):
        raise GridFilesError(f"{where}: times {days[0].date()}..{days[-1].date()} do not cover the period {period[0].date()}..{period[-1].date()}")
    if every_day:
        inside = days[(days >= period[0]) & (days <= period[-1])]
        if inside.size != period.size:
            missing = period.difference(inside)
            raise GridFilesError(f"{where}: gap in the daily time axis: {missing.size} day(s) missing, first {missing[0].date()}")
    return days


@contextmanager
def grid_variable(path: Path, what: str, domain: xr.Dataset, name: str) -> Iterator[xr.DataArray]:
    """The lazily read ``(time, lat, lon)`` variable ``name`` on the domain's cells."""
    with open_grid(path, what) as raw:
        yield _variable(match_grid(raw.sortby(["lat", "lon"]), domain, path, what), name, path, ("time", "lat", "lon"))


def _cell_text(grid: GridInfo, site: int) -> str:
    y, x = grid.y_index[site], grid.x_index[site]
    return f"cell y={y}, x={x} (lat {grid.lat[y]:.4f}, lon {grid.lon[x]:.4f})"


def _first_bad(bad: np.ndarray, days: pd.DatetimeIndex, grid: GridInfo) -> str:
    t, site = np.argwhere(bad)[0]
    return f"{_cell_text(grid, int(site))} on {days[int(t)].date()}"


def land_values(array: xr.DataArray, grid: GridInfo) -> np.ndarray:
    """``(..., lat, lon)`` -> ``(..., site)`` at the land cells (reads only the region)."""
    return np.asarray(array.transpose(..., "lat", "lon").values, dtype=float)[..., grid.y_index, grid.x_index]


def _unit(array: xr.DataArray, path: Path, name: str) -> str:
    if "units" not in array.attrs:
        raise GridFilesError(f"{path}: variable {name!r} has no 'units' attribute")
    return str(array.attrs["units"])


def _variable(dataset: xr.Dataset, name: str, path: Path, dims: tuple[str, ...]) -> xr.DataArray:
    if name not in dataset:
        raise GridFilesError(f"{path}: variable {name!r} not found; has {sorted(dataset.data_vars)}")
    array = dataset[name]
    if set(array.dims) != set(dims):
        raise GridFilesError(f"{path}: variable {name!r} has dims {array.dims}; expected {dims}")
    return array


# ----------------------------------------------------------------------------------------------
# the four kinds of grids
# ----------------------------------------------------------------------------------------------
def read_statics(options: GridFilesOptions) -> tuple[xr.Dataset, GridInfo]:
    """The site table of the land cells and their :class:`GridInfo`."""
    path = options.path(options.statics)
    with open_grid(path, "statics") as raw:
        domain = cut_region(raw, options.region, path, "statics")
        if domain.sizes["lat"] == 0 or domain.sizes["lon"] == 0:
            raise GridFilesError(f"statics grid {path}: no cell centre inside the region {options.region}")
        lat, lon = domain["lat"].values.astype(float), domain["lon"].values.astype(float)
        if "land_mask" in domain:
            land = np.asarray(domain["land_mask"].transpose("lat", "lon").values) == 1
        else:
            land = np.ones((lat.size, lon.size), dtype=bool)
        y, x = np.nonzero(land)
        if y.size == 0:
            raise GridFilesError(f"statics grid {path}: no land cell in the region")
        grid = GridInfo(lat, lon, y, x)
        values = {}
        for name in (*FRACTION_COLUMNS, *SOIL_COLUMNS, "w_r"):
            if name == "w_r" and name not in domain:
                continue
            cells = land_values(_variable(domain, name, path, ("lat", "lon")), grid)
            bad = ~np.isfinite(cells)
            if bad.any():
                raise GridFilesError(f"{path}: variable {name!r} is not finite at land {_cell_text(grid, int(np.argmax(bad)))}")
            values[name] = cells
    values.setdefault("w_r", RESIDUAL_TO_WILTING * values["w_wp"])  # DD-11
    sites = xr.Dataset(
        {name: ("site", v, {"units": STATIC_ATTRIBUTES[name][0], "long_name": STATIC_ATTRIBUTES[name][1]}) for name, v in values.items()},
        coords={
            "site": ("site", grid.site_ids, {"long_name": "cell identifier (y * nx + x)", "units": "1"}),
            "lat": ("site", lat[y], {"standard_name": "latitude", "long_name": "latitude", "units": "degrees_north"}),
            "lon": ("site", lon[x], {"standard_name": "longitude", "long_name": "longitude", "units": "degrees_east"}),
        },
    )
    try:
        statics_from_sites(sites)
    except ValueError as error:
        message = str(error)
        where = ""
        if "site index " in message:
            where = f" at {_cell_text(grid, int(message.split('site index ', 1)[1].split()[0]))}"
        raise GridFilesError(f"statics grid {path}{where}: {message}") from error
    return sites, grid


def read_forcing(options: GridFilesOptions, domain: xr.Dataset, grid: GridInfo, period: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """Daily forcing ``(time, site)`` in model units (unit rules of the site readers)."""
    path = options.path(options.forcing)
    out = {}
    for variable in REQUIRED_FORCING:
        name = options.forcing_variables.get(variable, variable)
        with grid_variable(path, "forcing", domain, name) as array:
            try:
                scale, offset = conversion(variable, _unit(array, path, name), f"{path}:{name}")
            except ForcingError as error:
                raise GridFilesError(str(error)) from None
            days = daily_axis(array["time"].values, path, name, period, every_day=True)
            array = array.isel(time=np.flatnonzero((days >= period[0]) & (days <= period[-1])))
            values = land_values(array, grid) * scale + offset
            bad = ~np.isfinite(values)
            if bad.any():
                raise GridFilesError(f"{path}: variable {name!r} ({variable}) is missing or not finite at {_first_bad(bad, period, grid)}")
            low, high = PLAUSIBLE_RANGE[QUANTITY_OF_VARIABLE[variable]]
            if variable == "precipitation":
                low = 0.0
            outside = (values < low) | (values > high)
            if outside.any():
                t, s = np.argwhere(outside)[0]
                raise GridFilesError(
                    f"{path}: variable {name!r} gives {variable} = {values[t, s]:.6g} {attributes(variable)['units']} at "
                    f"{_first_bad(outside, period, grid)} after conversion from {array.attrs['units']!r}, "
                    f"outside {low:g}..{high:g}: wrong unit?"
                )
            out[variable] = values
    return out


def read_lai(options: GridFilesOptions, domain: xr.Dataset, grid: GridInfo, period: pd.DatetimeIndex) -> np.ndarray:
    """Daily LAI ``(time, site)`` in m2 m-2 (irregular products interpolated, never extrapolated)."""
    path = options.path(options.lai)
    name = options.lai_variable
    with grid_variable(path, "LAI", domain, name) as array:
        unit = _unit(array, path, name)
        if normalise_unit(unit) not in LAI_UNITS:
            raise GridFilesError(f"{path}: variable {name!r}: unit {unit!r} is not m2 m-2 (convert scaled LAI products first)")
        days = daily_axis(array["time"].values, path, name, period, every_day=False)
        values = land_values(array, grid)
    too_high = np.isfinite(values) & (values > LAI_RANGE[1])
    if too_high.any():
        raise GridFilesError(f"{path}: variable {name!r} = {values[too_high][0]:g} m2 m-2 at {_first_bad(too_high, days, grid)}, above {LAI_RANGE[1]:g}")
    observed = xr.DataArray(values, dims=("time", "site"), coords={"time": days, "site": grid.site_ids})
    try:
        daily = daily_lai(observed, days=period, max_gap_days=options.max_lai_gap_days, on_gap="raise").values
    except (LAIError, ValueError) as error:
        raise GridFilesError(f"{path}: variable {name!r}: {error} (site = cell id y * nx + x, nx = {grid.nx})") from None
    uncovered = ~np.isfinite(daily)
    if uncovered.any():
        raise GridFilesError(f"{path}: variable {name!r}: no daily LAI at {_first_bad(uncovered, period, grid)}; LAI is never extrapolated")
    return daily


def read_backscatter(options: GridFilesOptions, domain: xr.Dataset, grid: GridInfo, period: pd.DatetimeIndex) -> np.ndarray:
    """Sentinel-1 VV backscatter ``(time, site)`` in dB on the period's days (NaN: none)."""
    path = options.path(options.sentinel1)
    name = options.backscatter_variable
    with grid_variable(path, "Sentinel-1", domain, name) as array:
        days = daily_axis(array["time"].values, path, name, period, every_day=False, cover=False)
        inside = np.flatnonzero((days >= period[0]) & (days <= period[-1]))
        values = land_values(array.isel(time=inside), grid)
        try:
            kind = unit_kind(_unit(array, path, name), str(path), name)
        except BackscatterFileError as error:
            raise GridFilesError(str(error)) from None
    days = days[inside]
    if kind == "dB":
        low, high = PLAUSIBLE_DB
        outside = np.isfinite(values) & ((values < low) | (values > high))
    else:
        outside = np.isfinite(values) & (values <= 0)
    if outside.any():
        t, s = np.argwhere(outside)[0]
        limit = f"outside {PLAUSIBLE_DB} dB" if kind == "dB" else "not a positive linear power"
        raise GridFilesError(f"{path}: variable {name!r} = {values[t, s]:g} at {_first_bad(outside, days, grid)}: {limit} (units {kind})")
    try:
        decibels = to_db(values.ravel(), kind, str(path), name).reshape(values.shape)
    except BackscatterFileError as error:
        raise GridFilesError(str(error)) from None
    out = np.full((period.size, grid.y_index.size), np.nan)
    out[period.get_indexer(days)] = decibels
    return out


def read_insitu(options: GridFilesOptions, grid: GridInfo, period: pd.DatetimeIndex) -> np.ndarray | None:
    """In-situ soil moisture ``(time, site)`` (m3 m-3) at the cells holding stations, else NaN."""
    if not options.insitu:
        return None
    sums = np.zeros((period.size, grid.y_index.size))
    counts = np.zeros_like(sums)
    position = {int(cell): i for i, cell in enumerate(grid.site_ids)}
    half_lat, half_lon = (0.5 * float(np.abs(np.diff(a)).min()) if a.size > 1 else 0.5 for a in (grid.lat, grid.lon))
    for station in options.insitu:
        path = options.path(station)
        try:
            frame = read_station(path)
        except (ISMNFormatError, NoSensorError, ValueError, OSError) as error:
            raise GridFilesError(f"in-situ station {path}: {error}") from None
        lat, lon = frame.attrs.get("latitude"), frame.attrs.get("longitude")
        if lat is None or lon is None:
            raise GridFilesError(f"in-situ station {path}: no latitude/longitude in the file")
        y, x = int(np.argmin(np.abs(grid.lat - lat))), int(np.argmin(np.abs(grid.lon - lon)))
        if abs(grid.lat[y] - lat) > half_lat + COORDINATE_TOLERANCE or abs(grid.lon[x] - lon) > half_lon + COORDINATE_TOLERANCE:
            raise GridFilesError(f"in-situ station {path} at ({lat:g}, {lon:g}) lies outside the domain")
        site = position.get(y * grid.nx + x)
        if site is None:
            raise GridFilesError(f"in-situ station {path} at ({lat:g}, {lon:g}) lies in cell y={y}, x={x}, which is not land")
        daily = frame.mean(axis=1, skipna=True).reindex(period).to_numpy(dtype=float)
        has = np.isfinite(daily)
        sums[has, site] += daily[has]
        counts[has, site] += 1
    with np.errstate(invalid="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def grid_files_data(options: GridFilesOptions, *, start, end, **_: Any) -> SiteData:
    """Everything the experiment needs for ``start..end`` (inclusive) from the grids."""
    period = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D", name="time").as_unit("ns")
    sites, grid = read_statics(options)
    domain = xr.Dataset(coords={"lat": grid.lat, "lon": grid.lon})
    forcing = read_forcing(options, domain, grid, period)
    forcing["lai"] = read_lai(options, domain, grid, period)
    backscatter = read_backscatter(options, domain, grid, period)
    insitu = read_insitu(options, grid, period)
    coords = {"time": period, "site": sites["site"]}
    dims = ("time", "site")
    forcing_ds = xr.Dataset({name: (dims, values, attributes(name) if name != "lai" else {"units": "m2 m-2", "long_name": "leaf area index"}) for name, values in forcing.items()}, coords=coords)
    observations = xr.Dataset({"backscatter": (dims, backscatter, {"units": "dB", "long_name": "Sentinel-1 VV backscatter"})}, coords=coords)
    insitu_da = None
    if insitu is not None:
        insitu_da = xr.DataArray(insitu, dims=dims, coords=coords, name="insitu_soil_moisture", attrs=attributes("insitu_soil_moisture"))
    if "lai_p01" not in sites:  # as the site readers: LAI percentiles over the period (DD-1)
        sites["lai_p01"] = ("site", np.percentile(forcing["lai"], 1, axis=0), {"units": "m2 m-2", "long_name": "1st percentile of LAI"})
        sites["lai_p99"] = ("site", np.percentile(forcing["lai"], 99, axis=0), {"units": "m2 m-2", "long_name": "99th percentile of LAI"})
    description = f"s1da grid files ({grid.ny} x {grid.nx} cells, {grid.y_index.size} land) from {options.statics}"
    return SiteData(sites=sites, forcing=forcing_ds, observations=observations, insitu=insitu_da, description=description, grid=grid)

