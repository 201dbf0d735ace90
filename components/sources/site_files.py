"""Real data from files: ``source: {kind: files}`` builds :class:`SiteData` from a user's own files.

The same experiment containers as the twin run on it; only the YAML ``source`` section changes.
What a user provides (user documentation with examples: ``experiments/real_sites_example/README.md``):

* a **site table** (CSV, one row per site): ``site`` (non-negative integer id: it keys every
  random stream, so it must not change when sites are added or removed), optional ``name``,
  ``lat``/``lon`` (degrees), land-cover fractions ``f_T``, ``f_H``, ``f_B``, ``f_W`` (summing to
  one, docs/model/gleam.md a.1), and either ``texture`` (a soil class of docs/model/gleam.md a.11,
  :data:`~s1da.components.gleam.statics.SOIL_TEXTURES`) or ``w_sat``, ``w_fc``, ``w_c``,
  ``w_wp`` [``w_r``] (m3 m-3; a blank cell falls back to the row's texture; ``w_r`` defaults to
  0.5 w_wp, DD-11), optional ``vod_p01``/``vod_p99`` and ``lai_p01``/``lai_p99`` (when the LAI
  percentiles are absent they are taken over the whole period from the daily LAI, as the twin
  does; they normalise LAI in the stress term when there is no VOD, DD-1).  Other columns are
  an error.
* per-site **forcing** files (CSV or NetCDF; read by :mod:`s1da.components.sources.forcing`,
  units explicit: ``name [unit]`` headers, the ``units`` option or NetCDF ``units`` attributes).
  They must cover spin-up start .. end; gaps are an error unless ``fill: linear`` is set.
* per-site **Sentinel-1** VV files (CSV or NetCDF, dB or linear, optional relative orbit and
  incidence angle; read by :mod:`s1da.components.sources.sentinel1`) preprocessed with the
  docs/model/validation.md (e) chain (:func:`s1da.components.preprocessing.sentinel1.preprocess`), the masks
  using the *unperturbed* forcing read above (DD-22).  Acquisitions outside spin-up start ..
  end are not used (also not in the outlier and orbit-bias statistics).
* per-site **LAI** files (CSV or NetCDF, irregular or 10-daily, m2 m-2) turned into daily LAI
  by :func:`s1da.components.preprocessing.lai.daily_lai`; a gap longer than ``max_gap_days``
  or days not covered over the period are an error naming site and dates.
* optionally per-site **ISMN station** folders (or single files) read by
  :func:`s1da.components.sources.ismn.read_station` (sensors within ``max_depth``, daily mean
  over sensors, :func:`~s1da.components.sources.ismn.stations_to_dataset`).

File patterns contain ``{site}`` (the integer id) and/or ``{name}`` (the ``name`` column) and may
use glob wildcards (``*``, ``?``) as long as exactly one file matches; a pattern without
placeholders is one file holding every site (a ``site`` column / dimension selects the site by
id or name).  Relative paths are resolved against ``base_dir``; a relative ``base_dir`` (and
every path when ``base_dir`` is not set) is resolved against the **current working directory**
(run ``s1da`` from the folder the YAML's paths are written for; the YAML file's own folder is
not known to sources).  The format follows the suffix: ``.csv``/``.txt`` delimited text,
``.nc``/``.nc4``/``.cdf``/``.zarr`` NetCDF or Zarr.

Sites with too little data are dropped with a warning listing them (Rains et al. 2022: at
least 120 days, about 4 months, of in situ and 100 Sentinel-1 observations, counted over the
run period ``run_start .. end``); if none remain it is an error.  Every other problem is an
error naming the site and the file; nothing partial is returned.
"""

from __future__ import annotations

import glob
import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pandas as pd
import xarray as xr

from s1da.components.gleam.sites import statics_from_sites
from s1da.components.gleam.statics import RESIDUAL_TO_WILTING, SOIL_TEXTURES
from s1da.components.preprocessing.lai import LAIError, daily_lai
from s1da.components.preprocessing.sentinel1 import Sentinel1Preprocessing, preprocess
from s1da.components.sources.forcing import ForcingError, normalise_unit, read_forcing_csv, read_forcing_netcdf, split_header_unit
from s1da.components.sources.ismn import (
    ISMNFormatError,
    NoSensorError,
    QualityControl,
    read_station,
    select_sites,
    stations_to_dataset,
)
from s1da.components.sources.sentinel1 import BackscatterFileError, read_backscatter_csv, read_backscatter_dataset
from s1da.components.sources.text import NamedText, TextFileError, text_table
from s1da.framework.sitedata import REQUIRED_FORCING, DataError, SiteData
from s1da.framework.variables import attributes

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
NETCDF_SUFFIXES = (".nc", ".nc4", ".cdf", ".netcdf", ".zarr")
SOIL_COLUMNS = ("w_sat", "w_fc", "w_c", "w_wp")
FRACTION_COLUMNS = ("f_T", "f_H", "f_B", "f_W")
OPTIONAL_STATIC_COLUMNS = ("w_r", "vod_p01", "vod_p99", "lai_p01", "lai_p99")
SITE_TABLE_COLUMNS = ("site", "name", "lat", "lon", "texture", *FRACTION_COLUMNS, *SOIL_COLUMNS, *OPTIONAL_STATIC_COLUMNS)
STATIC_ATTRIBUTES = {
    "f_T": ("1", "fraction of tall vegetation"),
    "f_H": ("1", "fraction of short vegetation"),
    "f_B": ("1", "fraction of bare soil"),
    "f_W": ("1", "fraction of open water"),
    "w_sat": ("m3 m-3", "soil moisture at saturation"),
    "w_fc": ("m3 m-3", "soil moisture at field capacity"),
    "w_c": ("m3 m-3", "critical soil moisture"),
    "w_wp": ("m3 m-3", "soil moisture at wilting point"),
    "w_r": ("m3 m-3", "residual soil moisture"),
    "vod_p01": ("1", "1st percentile of VOD"),
    "vod_p99": ("1", "99th percentile of VOD"),
    "lai_p01": ("m2 m-2", "1st percentile of LAI"),
    "lai_p99": ("m2 m-2", "99th percentile of LAI"),
}
LAI_UNITS = {"m2/m2", "1"}
"""Accepted LAI units after :func:`~s1da.components.sources.forcing.normalise_unit` (m2 m-2)."""

FILLS = (None, "linear")


class SiteFilesError(DataError):
    """A user file that cannot be used; the message names the site and the file."""


# ----------------------------------------------------------------------------------------------
# options
# ----------------------------------------------------------------------------------------------
def _optional_str(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is not None and not (isinstance(value, str) and value.strip()):
        raise ValueError(f"'{attribute.name}' must be a non-empty string (a path or pattern), got {value!r}")


def _string_mapping(instance: Any, attribute: attrs.Attribute, value: Mapping) -> None:
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise ValueError(f"'{attribute.name}' must map names to strings, got {key!r}: {item!r}")


def _forcing_columns(instance: Any, attribute: attrs.Attribute, value: Mapping) -> None:
    _string_mapping(instance, attribute, value)
    unknown = sorted(set(value) - set(REQUIRED_FORCING))
    missing = sorted(set(REQUIRED_FORCING) - set(value))
    if unknown or missing:
        raise ValueError(
            f"'{attribute.name}' maps each of {list(REQUIRED_FORCING)} to its column/variable in the file "
            f"(unknown: {unknown}, missing: {missing})"
        )


@attrs.frozen
class ForcingFiles:
    """``source.forcing``: daily forcing per site (docs/model/gleam.md a.1: P, T_a, R_n)."""

    path: str | None = attrs.field(default=None, validator=_optional_str, metadata={"doc": "file pattern with {site}/{name}"})
    columns: dict = attrs.field(
        factory=lambda: {name: name for name in REQUIRED_FORCING},
        converter=dict,
        validator=_forcing_columns,
        metadata={"doc": "model variable -> CSV column (without '[unit]') or NetCDF variable"},
    )
    units: dict = attrs.field(
        factory=dict, converter=dict, validator=_string_mapping,
        metadata={"doc": "CSV column -> unit (else from 'name [unit]' headers); NetCDF uses 'units' attributes"},
    )
    time_column: str = attrs.field(default="time", validator=attrs.validators.instance_of(str))
    fill: str | None = attrs.field(
        default=None, validator=attrs.validators.in_(FILLS),
        metadata={"doc": "None: gaps are errors; 'linear': interpolate gaps inside the record"},
    )


@attrs.frozen
class Sentinel1Files:
    """``source.sentinel1``: VV backscatter per site, preprocessed by docs/model/validation.md (e) steps 1-5."""

    path: str | None = attrs.field(default=None, validator=_optional_str, metadata={"doc": "file pattern with {site}/{name}"})
    value_column: str = attrs.field(default="backscatter", validator=attrs.validators.instance_of(str),
                                    metadata={"doc": "CSV column (with or without '[dB]') or NetCDF variable"})
    units: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.in_(("dB", "linear"))),
        metadata={"units": "dB or linear", "doc": "None: from a '[dB]' header, a 'units' column or attribute"},
    )
    time_column: str = attrs.field(default="time", validator=attrs.validators.instance_of(str))
    orbit_column: str = attrs.field(default="orbit", validator=attrs.validators.instance_of(str))
    angle_column: str = attrs.field(default="incidence_angle", validator=attrs.validators.instance_of(str),
                                    metadata={"units": "degree"})
    preprocessing: Sentinel1Preprocessing = attrs.field(factory=Sentinel1Preprocessing)


@attrs.frozen
class LaiFiles:
    """``source.lai``: irregular or 10-daily LAI per site, splined to daily values."""

    path: str | None = attrs.field(default=None, validator=_optional_str, metadata={"doc": "file pattern with {site}/{name}"})
    column: str = attrs.field(default="lai", validator=attrs.validators.instance_of(str),
                              metadata={"doc": "CSV column (with or without '[m2 m-2]') or NetCDF variable"})
    units: str | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.instance_of(str)),
                                    metadata={"units": "m2 m-2", "doc": "None: from the header or 'units' attribute"})
    time_column: str = attrs.field(default="time", validator=attrs.validators.instance_of(str))
    max_gap_days: float = attrs.field(default=32.0, converter=float, validator=attrs.validators.gt(0),
                                      metadata={"units": "d", "doc": "longer gaps between observations are errors"})


@attrs.frozen
class InsituFiles:
    """``source.insitu``: optional ISMN station folders (or files) per site (validation data)."""

    path: str | None = attrs.field(default=None, validator=_optional_str,
                                   metadata={"doc": "station folder/file pattern with {site}/{name}; None: no in situ"})
    max_depth: float = attrs.field(default=0.10, converter=float, validator=attrs.validators.gt(0),
                                   metadata={"units": "m", "doc": "sensors within 0..max_depth are averaged"})
    quality_control: QualityControl = attrs.field(factory=QualityControl)


@attrs.frozen
class SiteSelection:
    """``source.selection``: sites with too little data are dropped (Rains et al. 2022)."""

    min_insitu_days: int = attrs.field(default=120, validator=[attrs.validators.instance_of(int), attrs.validators.ge(0)],
                                       metadata={"units": "d", "doc": "days with in situ (ignored without in situ)"})
    min_backscatter_observations: int = attrs.field(
        default=100, validator=[attrs.validators.instance_of(int), attrs.validators.ge(0)],
        metadata={"units": "1", "doc": "daily S1 observations left after preprocessing"},
    )


def _required_path(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if getattr(value, "path", None) is None:
        raise ValueError(f"'{attribute.name}' needs a 'path' (a file pattern with {{site}} or {{name}})")


@attrs.frozen
class SiteFilesOptions:
    """``source: {kind: files, ...}``: the user's own files (module docstring; paths relative to
    ``base_dir``, itself relative to the current working directory)."""

    sites: str = attrs.field(validator=_optional_str, metadata={"doc": "site table CSV"})
    base_dir: str | None = attrs.field(default=None, validator=_optional_str,
                                       metadata={"doc": "folder of relative paths; None: current working directory"})
    forcing: ForcingFiles = attrs.field(factory=ForcingFiles, validator=_required_path)
    sentinel1: Sentinel1Files = attrs.field(factory=Sentinel1Files, validator=_required_path)
    lai: LaiFiles = attrs.field(factory=LaiFiles, validator=_required_path)
    insitu: InsituFiles = attrs.field(factory=InsituFiles)
    selection: SiteSelection = attrs.field(factory=SiteSelection)


# ----------------------------------------------------------------------------------------------
# paths
# ----------------------------------------------------------------------------------------------
def _base_dir(options: SiteFilesOptions) -> Path:
    base = Path(options.base_dir) if options.base_dir is not None else Path.cwd()
    return base if base.is_absolute() else Path.cwd() / base


def _site_label(site: int, name: str) -> str:
    return f"site {site}" + (f" ({name})" if name and name != str(site) else "")


def resolve_file(pattern: str, base: Path, site: int, name: str, what: str) -> Path:
    """The one file ``pattern`` names for a site; missing or ambiguous files are errors."""
    try:
        text = pattern.format(site=site, name=name)
    except (KeyError, IndexError, ValueError) as error:
        raise SiteFilesError(
            f"{what} pattern {pattern!r}: only {{site}} and {{name}} may be used ({error!r})"
        ) from None
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = base / path
    if glob.has_magic(str(path)):
        matches = sorted(glob.glob(str(path)))
        if len(matches) != 1:
            found = "no file" if not matches else f"{len(matches)} files ({', '.join(matches[:3])}...)"
            raise SiteFilesError(f"{_site_label(site, name)}: {what}: {found} matches {path}")
        path = Path(matches[0])
    if not path.exists():
        raise SiteFilesError(f"{_site_label(site, name)}: {what}: file not found: {path}")
    return path


def _format_of(path: Path, site: int, name: str, what: str) -> str:
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in NETCDF_SUFFIXES:
        return "netcdf"
    raise SiteFilesError(
        f"{_site_label(site, name)}: {what} file {path}: unknown format {suffix!r} "
        f"(CSV: {', '.join(CSV_SUFFIXES)}; NetCDF/Zarr: {', '.join(NETCDF_SUFFIXES)})"
    )


def _fail(site: int, name: str, what: str, path: Path, error: Exception) -> SiteFilesError:
    return SiteFilesError(f"{_site_label(site, name)}: {what} file {path}: {error}")


# ----------------------------------------------------------------------------------------------
# site table
# ----------------------------------------------------------------------------------------------
def _numeric_column(frame: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    raw = frame[column].str.strip()
    numbers = pd.to_numeric(raw, errors="coerce")
    bad = numbers.isna() & raw.notna() & (raw != "")
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise SiteFilesError(f"site table {path}: column {column!r} row {i + 2}: {frame[column].iloc[i]!r} is not a number")
    return numbers.to_numpy(dtype=float)


def read_site_table(path: Path) -> tuple[xr.Dataset, list[str]]:
    """The site table CSV as the ``sites`` Dataset of :class:`SiteData` (GLEAM names) and site names."""
    if not path.is_file():
        raise SiteFilesError(f"site table: file not found: {path}")
    try:
        frame = pd.read_csv(text_table(path), dtype=str, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, TextFileError) as error:
        raise SiteFilesError(f"site table {path}: cannot parse as CSV: {error}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    unknown = [c for c in frame.columns if c not in SITE_TABLE_COLUMNS]
    if unknown:
        raise SiteFilesError(f"site table {path}: unknown column(s) {unknown}; allowed: {list(SITE_TABLE_COLUMNS)}")
    missing = [c for c in ("site", "lat", "lon", *FRACTION_COLUMNS) if c not in frame]
    if missing:
        raise SiteFilesError(f"site table {path}: missing column(s) {missing}")
    if frame.empty:
        raise SiteFilesError(f"site table {path}: no sites")
    ids = _numeric_column(frame, "site", path)
    bad = ~np.isfinite(ids) | (ids < 0) | (ids != np.round(ids))
    if bad.any():
        i = int(np.argmax(bad))
        raise SiteFilesError(f"site table {path}: row {i + 2}: site {frame['site'].iloc[i]!r} is not a non-negative integer id")
    ids = ids.astype(np.int64)
    duplicated = pd.Series(ids).duplicated().to_numpy()
    if duplicated.any():
        raise SiteFilesError(f"site table {path}: duplicate site id {ids[int(np.argmax(duplicated))]}")
    names = [str(n).strip() for n in frame["name"].fillna("")] if "name" in frame else [""] * len(ids)
    names = [n or str(s) for n, s in zip(names, ids, strict=True)]

    def fail(row: int, message: str) -> SiteFilesError:
        return SiteFilesError(f"site table {path}: {_site_label(int(ids[row]), names[row])}: {message}")

    values: dict[str, np.ndarray] = {}
    for column in ("lat", "lon", *FRACTION_COLUMNS, *SOIL_COLUMNS, *OPTIONAL_STATIC_COLUMNS):
        if column in frame:
            values[column] = _numeric_column(frame, column, path)
    for column in ("lat", "lon", *FRACTION_COLUMNS):
        blank = ~np.isfinite(values[column])
        if blank.any():
            raise fail(int(np.argmax(blank)), f"{column} is missing")
    for column, (low, high) in (("lat", (-90.0, 90.0)), ("lon", (-180.0, 360.0))):
        outside = (values[column] < low) | (values[column] > high)
        if outside.any():
            i = int(np.argmax(outside))
            raise fail(i, f"{column} = {values[column][i]} outside [{low:g}, {high:g}] degrees")

    # soil parameters: the w_* columns where given, else the texture table (docs/model/gleam.md a.11)
    textures = [str(t).strip().lower().replace("_", " ") for t in frame["texture"].fillna("")] if "texture" in frame else [""] * len(ids)
    for row, texture in enumerate(textures):
        if texture and texture not in SOIL_TEXTURES:
            raise fail(row, f"unknown soil texture {texture!r}; known: {sorted(SOIL_TEXTURES)}")
    for k, column in enumerate(SOIL_COLUMNS):
        given = np.array(values.get(column, np.full(len(ids), np.nan)), dtype=float)
        for row in np.flatnonzero(~np.isfinite(given)):
            if not textures[row]:
                raise fail(int(row), f"{column} is missing and no texture is given (give texture or all of {list(SOIL_COLUMNS)})")
            given[row] = SOIL_TEXTURES[textures[row]][k]
        values[column] = given
    if "w_r" in values:  # DD-11: w_r = 0.5 w_wp where not given
        values["w_r"] = np.where(np.isfinite(values["w_r"]), values["w_r"], RESIDUAL_TO_WILTING * values["w_wp"])
    for low, high in (("vod_p01", "vod_p99"), ("lai_p01", "lai_p99")):
        present = [c for c in (low, high) if c in values]
        if len(present) == 1:
            raise SiteFilesError(f"site table {path}: column {present[0]!r} needs its partner ({low}, {high})")
        if present:
            blank = ~np.isfinite(values[low]) | ~np.isfinite(values[high])
            if blank.any():
                raise fail(int(np.argmax(blank)), f"{low}/{high} missing")

    sites = xr.Dataset(
        {
            column: ("site", values[column], {"units": STATIC_ATTRIBUTES[column][0], "long_name": STATIC_ATTRIBUTES[column][1]})
            for column in STATIC_ATTRIBUTES
            if column in values
        },
        coords={
            "site": ("site", ids, {"long_name": "site identifier", "units": "1"}),
            "lat": ("site", values["lat"], {"standard_name": "latitude", "long_name": "latitude", "units": "degrees_north"}),
            "lon": ("site", values["lon"], {"standard_name": "longitude", "long_name": "longitude", "units": "degrees_east"}),
        },
    )
    sites["site_name"] = ("site", np.asarray(names, dtype=str), {"long_name": "site name", "units": "1"})
    if any(textures):
        sites["texture"] = ("site", np.asarray(textures, dtype=str), {"long_name": "soil texture class (docs/model/gleam.md a.11)", "units": "1"})
    return sites, names


def _check_statics(sites: xr.Dataset, path: Path) -> None:
    """Fractions summing to one and ordered soil parameters (docs/model/gleam.md a.1, a.11), site named."""
    try:
        statics_from_sites(sites)
    except ValueError as error:
        index = None
        message = str(error)
        if "site index " in message:
            index = int(message.split("site index ", 1)[1].split()[0])
        where = f" ({_site_label(int(sites['site'].values[index]), str(sites['site_name'].values[index]))})" if index is not None else ""
        raise SiteFilesError(f"site table {path}{where}: {message}") from error


# ----------------------------------------------------------------------------------------------
# readers per site (file I/O is per site; the processing after it is vectorised)
# ----------------------------------------------------------------------------------------------
def _open(path: Path) -> xr.Dataset:
    return xr.open_zarr(path) if str(path).rstrip("/").endswith(".zarr") else xr.open_dataset(path)


def _select_site(values: Any, site: int, name: str) -> Any:
    """Label of this site in a multi-site file: its integer id or its name."""
    labels = [str(v) for v in np.asarray(values)]
    for key in (str(site), name):
        if key in labels:
            return np.asarray(values)[labels.index(key)]
    return None


def _csv_header(path: Path) -> list[str]:
    return [str(c).strip() for c in pd.read_csv(text_table(path), sep=None, engine="python", nrows=0, dtype=str).columns]


def _csv_rows_of_site(path: Path, site: int, name: str, what: str) -> NamedText | Path:
    """A CSV holding several sites (a ``site`` column) cut down to this site's rows, else the path."""
    header = _csv_header(path)
    if "site" not in header:
        return path
    frame = pd.read_csv(text_table(path), sep=None, engine="python", dtype=str)
    frame.columns = header
    label = _select_site(frame["site"].str.strip().unique(), site, name)
    if label is None:
        raise SiteFilesError(f"{_site_label(site, name)}: {what} file {path}: no rows of this site in its 'site' column")
    rows = frame[frame["site"].str.strip() == label].drop(columns="site")
    return NamedText(rows.to_csv(index=False), f"{path} (rows of site {label})")


def read_site_forcing(options: ForcingFiles, path: Path, site: int, name: str, period: tuple) -> xr.Dataset:
    """Unperturbed daily forcing of one site over ``period`` (inclusive), model units."""
    try:
        if _format_of(path, site, name, "forcing") == "csv":
            source = _csv_rows_of_site(path, site, name, "forcing")
            dataset = read_forcing_csv(source, options.columns, options.units, options.time_column, options.fill, period=period)
        else:
            if options.units:
                raise ForcingError("the 'units' option applies to CSV files; NetCDF variables carry 'units' attributes")
            label = None
            with _open(path) as raw:
                variable = options.columns["precipitation"]
                if variable in raw and "site" in raw[variable].dims:
                    label = _select_site(raw["site"].values, site, name)
                    if label is None:
                        raise ForcingError(f"no site {site} or {name!r} along its 'site' dimension")
            dataset = read_forcing_netcdf(path, options.columns, options.fill, site=label, period=period)
    except (ForcingError, ValueError, OSError, KeyError) as error:
        if isinstance(error, SiteFilesError):
            raise
        raise _fail(site, name, "forcing", path, error) from error
    return dataset


def read_site_backscatter(options: Sentinel1Files, path: Path, site: int, name: str,
                          cache: dict | None = None) -> pd.DataFrame:
    """The acquisition table of one site (``site`` column = the integer id as text).

    ``cache`` (path -> table) avoids reading a file shared by all sites once per site.
    """
    if cache is not None and path in cache:
        table = cache[path]
    else:
        table = _read_backscatter_file(options, path, site, name)
        if cache is not None:
            cache[path] = table
    label = _select_site(table["site"].unique(), site, name)
    if label is None:
        raise SiteFilesError(
            f"{_site_label(site, name)}: Sentinel-1 file {path}: no rows of this site (sites in the file: "
            f"{sorted(table['site'].unique())[:5]})"
        )
    return table[table["site"] == label].assign(site=str(site)).reset_index(drop=True)


def _read_backscatter_file(options: Sentinel1Files, path: Path, site: int, name: str) -> pd.DataFrame:
    try:
        if _format_of(path, site, name, "Sentinel-1") == "csv":
            shared = "site" in _csv_header(path)
            table = read_backscatter_csv(
                path, value_column=options.value_column, units=options.units, time_column=options.time_column,
                site_column="site", site=None if shared else str(site), orbit_column=options.orbit_column,
                angle_column=options.angle_column,
            )
        else:
            table = read_backscatter_dataset(
                path, variable=options.value_column, orbit_variable=options.orbit_column,
                angle_variable=options.angle_column, site=str(site),
            )
            if options.units is not None:
                raise BackscatterFileError("the 'units' option applies to CSV files; NetCDF variables carry 'units' attributes")
    except (BackscatterFileError, ValueError, OSError, pd.errors.ParserError) as error:
        if isinstance(error, SiteFilesError):
            raise
        raise _fail(site, name, "Sentinel-1", path, error) from error
    return table


def _lai_frame_csv(options: LaiFiles, path: Path, site: int, name: str) -> pd.Series:
    frame = pd.read_csv(text_table(_csv_rows_of_site(path, site, name, "LAI")), sep=None, engine="python", dtype=str)
    frame.columns = [str(c).strip() for c in frame.columns]
    matches = [c for c in frame.columns if split_header_unit(c)[0] == options.column]
    if len(matches) != 1:
        raise LAIError(f"column {options.column!r} not found (or ambiguous: {matches}); columns: {list(frame.columns)}")
    column = matches[0]
    declared = [u for u in (options.units, split_header_unit(column)[1]) if u is not None]
    if "units" in frame:
        declared += list(frame["units"].dropna().str.strip().unique())
    if not declared:
        raise LAIError(f"column {column!r} has no unit: give units: m2 m-2, a '[m2 m-2]' header or a 'units' column")
    _check_lai_units(declared, column)
    if options.time_column not in frame:
        raise LAIError(f"time column {options.time_column!r} not found; columns: {list(frame.columns)}")
    times = pd.to_datetime(frame[options.time_column].str.strip(), errors="coerce", format="mixed")
    if times.isna().any():
        i = int(np.argmax(times.isna().to_numpy()))
        raise LAIError(f"row {i + 2}: cannot read a date from {frame[options.time_column].iloc[i]!r}")
    raw = frame[column].str.strip()
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna() & ~raw.str.lower().isin(["", "nan", "na", "null"])
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise LAIError(f"column {column!r} row {i + 2}: {frame[column].iloc[i]!r} is not a number")
    return pd.Series(values.to_numpy(dtype=float), index=pd.DatetimeIndex(times))


def _check_lai_units(declared: list[str], column: str) -> None:
    wrong = [u for u in declared if normalise_unit(u) not in LAI_UNITS]
    if wrong:
        raise LAIError(f"column {column!r}: unit {wrong[0]!r} is not m2 m-2 (convert scaled LAI products first)")


def _lai_frame_netcdf(options: LaiFiles, path: Path, site: int, name: str) -> pd.Series:
    with _open(path) as dataset:
        if options.column not in dataset:
            raise LAIError(f"variable {options.column!r} not found; has {list(dataset.data_vars)}")
        array = dataset[options.column]
        if "site" in array.dims:
            label = _select_site(array["site"].values, site, name)
            if label is None:
                raise LAIError(f"no site {site} or {name!r} along its 'site' dimension")
            array = array.sel(site=label)
        if array.dims != ("time",):
            raise LAIError(f"variable {options.column!r} has dims {array.dims}; expected (time[, site])")
        declared = [u for u in (options.units, array.attrs.get("units")) if u is not None]
        if not declared:
            raise LAIError(f"variable {options.column!r} has no 'units' attribute (m2 m-2)")
        _check_lai_units(declared, options.column)
        return array.load().to_series()


def read_site_lai(options: LaiFiles, path: Path, site: int, name: str, days: pd.DatetimeIndex) -> np.ndarray:
    """Daily LAI (m2 m-2) of one site on ``days``; gaps and uncovered days are errors."""
    try:
        if _format_of(path, site, name, "LAI") == "csv":
            series = _lai_frame_csv(options, path, site, name)
        else:
            series = _lai_frame_netcdf(options, path, site, name)
        daily = daily_lai(series.rename(str(site)).to_frame(), days=days, max_gap_days=options.max_gap_days, on_gap="raise")
    except (LAIError, ValueError, OSError, pd.errors.ParserError) as error:
        raise _fail(site, name, "LAI", path, error) from error
    values = daily.values[:, 0]
    uncovered = ~np.isfinite(values)
    if uncovered.any():
        first, last = days[np.argmax(uncovered)], days[len(uncovered) - 1 - np.argmax(uncovered[::-1])]
        valid = series.dropna()
        span = f"{valid.index.min().date()}..{valid.index.max().date()}" if len(valid) else "no valid value"
        raise SiteFilesError(
            f"{_site_label(site, name)}: LAI file {path}: gap in LAI over the period: no daily LAI on "
            f"{uncovered.sum()} day(s) between {first.date()} and {last.date()} (observations cover {span}); "
            "LAI is never extrapolated"
        )
    return values


def read_site_insitu(options: InsituFiles, path: Path, site: int, name: str, lat: float, lon: float) -> pd.DataFrame:
    """Daily in-situ soil moisture of one ISMN station (one column per sensor, m3 m-3)."""
    try:
        frame = read_station(path, max_depth=options.max_depth, quality_control=options.quality_control)
    except (ISMNFormatError, NoSensorError, ValueError, OSError) as error:
        raise _fail(site, name, "in-situ (ISMN)", path, error) from error
    station_lat, station_lon = frame.attrs.get("latitude"), frame.attrs.get("longitude")
    if station_lat is not None and (abs(station_lat - lat) > 0.05 or abs(station_lon - lon) > 0.05):
        warnings.warn(
            f"{_site_label(site, name)}: ISMN station {path} lies at ({station_lat:g}, {station_lon:g}), the site table "
            f"says ({lat:g}, {lon:g})",
            stacklevel=3,
        )
    return frame


# ----------------------------------------------------------------------------------------------
# assembly
# ----------------------------------------------------------------------------------------------
def _with_int_sites(data: xr.Dataset | xr.DataArray, ids: np.ndarray) -> Any:
    data = data.drop_vars([name for name in ("lat", "lon") if name in data.coords])
    return data.assign_coords(site=("site", ids, {"long_name": "site identifier", "units": "1"}))


def site_files_data(options: SiteFilesOptions, *, start, end, seed: int | None = None, run_start=None) -> SiteData:
    """Read a user's files into :class:`SiteData` for ``start .. end`` (inclusive; start = spin-up start).

    ``run_start`` (default ``start``) begins the period over which the site selection counts
    in-situ days and Sentinel-1 observations (the open-loop / DA period).  ``seed`` is accepted
    for the source interface; real data draw nothing.
    """
    first, last = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    counted_from = pd.Timestamp(run_start).normalize() if run_start is not None else first
    if not first <= counted_from <= last:
        raise ValueError(f"need start <= run_start <= end, got {first.date()}, {counted_from.date()}, {last.date()}")
    days = pd.date_range(first, last, freq="D", name="time").as_unit("ns")
    base = _base_dir(options)
    table_path = Path(options.sites).expanduser()
    table_path = table_path if table_path.is_absolute() else base / table_path
    sites, names = read_site_table(table_path)
    _check_statics(sites, table_path)
    ids = sites["site"].values

    forcings, lai_columns, tables, stations, s1_cache = [], [], [], {}, {}
    for index, (site, name) in enumerate(zip(ids.tolist(), names, strict=True)):
        forcing_path = resolve_file(options.forcing.path, base, site, name, "forcing")
        forcings.append(read_site_forcing(options.forcing, forcing_path, site, name, (first, last)))
        lai_path = resolve_file(options.lai.path, base, site, name, "LAI")
        lai_columns.append(read_site_lai(options.lai, lai_path, site, name, days))
        s1_path = resolve_file(options.sentinel1.path, base, site, name, "Sentinel-1")
        tables.append((s1_path, read_site_backscatter(options.sentinel1, s1_path, site, name, s1_cache)))
        if options.insitu.path is not None:
            station_path = resolve_file(options.insitu.path, base, site, name, "in-situ (ISMN)")
            stations[str(site)] = read_site_insitu(
                options.insitu, station_path, site, name, float(sites["lat"].values[index]), float(sites["lon"].values[index])
            )

    forcing = xr.concat(forcings, dim="site", join="exact", combine_attrs="drop")
    forcing = forcing.assign_coords(site=("site", ids, {"long_name": "site identifier", "units": "1"})).transpose("time", "site")
    for name in REQUIRED_FORCING:
        forcing[name].attrs = attributes(name)
    forcing.attrs = {
        "source": "s1da site files",
        "filled_days": json.dumps({str(s): json.loads(f.attrs.get("filled_days", "{}")) for s, f in zip(ids.tolist(), forcings, strict=True)}),
        "fill": str(options.forcing.fill),
    }
    forcing["lai"] = (("time", "site"), np.column_stack(lai_columns), attributes("lai") | {
        "interpolation": "cubic spline (not-a-knot) of the observations, clipped to the model's valid range"})
    if "lai_p01" not in sites:  # DD-1 percentiles over the whole period, as the twin does
        sites["lai_p01"] = ("site", np.percentile(forcing["lai"].values, 1, axis=0), {"units": "m2 m-2", "long_name": "1st percentile of LAI over the period"})
        sites["lai_p99"] = ("site", np.percentile(forcing["lai"].values, 99, axis=0), {"units": "m2 m-2", "long_name": "99th percentile of LAI over the period"})
        _check_statics(sites, table_path)

    observations = _observations(options.sentinel1, tables, forcing, days, ids, names, first, last)
    insitu = None
    if stations:
        insitu_ds = stations_to_dataset(stations, days=days)
        insitu = _with_int_sites(insitu_ds["insitu_soil_moisture"].sel(site=[str(s) for s in ids]), ids)

    keep = _select(options.selection, observations, stations, ids, names, counted_from, last)
    sites, forcing, observations = (d.isel(site=keep) for d in (sites, forcing, observations))
    if insitu is not None:
        insitu = insitu.isel(site=keep)
    return SiteData(
        sites=sites,
        forcing=forcing,
        observations=observations,
        insitu=insitu,
        description=f"s1da site files: {int(np.sum(keep))} sites from {table_path}",
    )


def _observations(options: Sentinel1Files, tables: list, forcing: xr.Dataset, days: pd.DatetimeIndex,
                  ids: np.ndarray, names: list[str], first: pd.Timestamp, last: pd.Timestamp) -> xr.Dataset:
    """docs/model/validation.md (e) steps 1-5 over all sites at once, masks from the unperturbed forcing (DD-22)."""
    pieces = []
    for path, table in tables:
        day = table["time"].dt.floor("D")
        inside = table[(day >= first) & (day <= last)]
        inside.attrs = dict(table.attrs)
        pieces.append(inside)
    combined = pd.concat(pieces, ignore_index=True)
    combined.attrs = {"source": ", ".join(str(p) for p, _ in tables[:3]) + ("..." if len(tables) > 3 else "")}
    if combined.empty:
        raise SiteFilesError(f"Sentinel-1: no acquisition inside {first.date()}..{last.date()} at any site")
    masking = forcing[["air_temperature", "precipitation"]]
    dataset = preprocess(combined, masking, options.preprocessing, days=days, sites=[str(s) for s in ids])
    return _with_int_sites(dataset, ids)


def _select(selection: SiteSelection, observations: xr.Dataset, stations: Mapping[str, pd.DataFrame],
            ids: np.ndarray, names: list[str], counted_from: pd.Timestamp, last: pd.Timestamp) -> np.ndarray:
    """Boolean mask of the sites kept (Rains et al. 2022 data requirements), warning about the others."""
    period = observations.sel(time=slice(counted_from, last))
    counts = pd.Series(period["backscatter"].notnull().sum("time").values, index=[str(s) for s in ids])
    if stations:
        insitu = {site: frame.loc[counted_from:last] for site, frame in stations.items()}
        min_insitu = selection.min_insitu_days
    else:  # without in situ only the Sentinel-1 requirement applies
        insitu = {str(s): pd.DataFrame() for s in ids}
        min_insitu = 0
    table = select_sites(insitu, counts, min_insitu_days=min_insitu, min_backscatter=selection.min_backscatter_observations)
    keep = table["selected"].reindex([str(s) for s in ids]).fillna(False).to_numpy(dtype=bool)
    report = [
        f"{_site_label(int(s), n)}: {table.loc[str(s), 'insitu_days']} in-situ days, "
        f"{table.loc[str(s), 'backscatter_observations']} S1 observations"
        for s, n, k in zip(ids.tolist(), names, keep, strict=True) if not k
    ]
    requirement = (f">= {min_insitu} in-situ days and " if stations else "") + (
        f">= {selection.min_backscatter_observations} Sentinel-1 observations over {counted_from.date()}..{last.date()}")
    if not keep.any():
        raise SiteFilesError(f"no site meets the selection ({requirement}): " + "; ".join(report))
    if report:
        warnings.warn(f"{len(report)} site(s) dropped by the selection ({requirement}): " + "; ".join(report), stacklevel=3)
    return keep
