"""Sentinel-1 VV preprocessing, docs/model/validation.md (e) steps 1-5, as pure functions on acquisition tables.

Input is the acquisition table of ``s1da.components.sources.sentinel1`` (columns ``site``,
``time``, ``backscatter`` [dB], ``orbit``, ``incidence_angle``).  Each step returns a *new*
table (the input is never modified) and records what it removed in ``table.attrs["steps"]``:

1. :func:`spatial_average` - footprint samples of one acquisition (same site, time, orbit)
   averaged in linear units (docs/model/validation.md e.1).
2. :func:`apply_masks` - frozen (T_a < 1.5 degC), snow (SWE or snow flag > 0), heavy rain
   (P > 40 mm/d) on the acquisition day, from *unperturbed* forcing (DD-22, DD-26); non-finite
   backscatter.
3. :func:`remove_outliers` - |sigma - mean| > 5 SD, single pass, per site and orbit (DD-27).
4. :func:`correct_orbit_bias` - sigma' = sigma - (m_o - m_ref) per site (DD-28).
5. :func:`daily_average` - acquisitions of one day averaged in linear units, giving the
   ``backscatter (time, site)`` Dataset in dB.

:func:`preprocess` chains them.  All steps are vectorised with pandas ``groupby``; there is no
Python loop over sites.

Spec notes: the spec does not say which SD (population or sample) defines outliers; we use the
sample SD (ddof=1), the pandas/numpy default for time-series screening; groups of fewer than 3
acquisitions are not screened.  Acquisitions without a relative orbit form one "unknown orbit"
group per site in steps 3 and 4.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import attrs
import numpy as np
import pandas as pd
import xarray as xr
from s1da.framework.variables import attributes, register

register("relative_orbit", "1", "Sentinel-1 relative orbit of the day's acquisitions (-1: several)")
register("incidence_angle", "degree", "mean local incidence angle of the day's acquisitions")
register("acquisition_count", "1", "number of Sentinel-1 acquisitions averaged into the daily value")

UNKNOWN_ORBIT = -1
"""Group key used for acquisitions without a relative orbit (and ``orbit`` of mixed-orbit days)."""


OUTLIER_TOLERANCE = 1e-9
"""dB; deviations within n_sd * SD + this are not outliers (guards against rounding in means)."""


class ForcingCoverageError(ValueError):
    """The masking forcing does not cover an acquisition (names site and day)."""


@attrs.frozen
class MaskThresholds:
    """Observation masks on the acquisition day, docs/model/validation.md e.2 (DD-26)."""

    min_air_temperature: float = attrs.field(default=1.5, metadata={"units": "degC"})
    max_precipitation: float = attrs.field(default=40.0, validator=attrs.validators.ge(0), metadata={"units": "mm d-1"})
    max_snow: float = attrs.field(default=0.0, validator=attrs.validators.ge(0),
                                  metadata={"units": "mm", "doc": "mask when snow water equivalent exceeds this"})


@attrs.frozen
class Sentinel1Preprocessing:
    """Settings of the whole chain (docs/model/validation.md e, steps 1-5)."""

    masks: MaskThresholds = attrs.field(factory=MaskThresholds)
    outlier_sd: float = attrs.field(default=5.0, validator=attrs.validators.gt(0), metadata={"units": "1"})
    min_outlier_group: int = attrs.field(default=3, validator=attrs.validators.ge(2), metadata={"units": "1"})
    bias_correction: bool = True


# ----------------------------------------------------------------------------------------------
# dB <-> linear
# ----------------------------------------------------------------------------------------------
def db_to_linear(values_db: Any) -> np.ndarray:
    """sigma_lin = 10^(sigma_dB / 10)."""
    return np.power(10.0, np.asarray(values_db, dtype=float) / 10.0)


def linear_to_db(values_linear: Any) -> np.ndarray:
    """sigma_dB = 10 log10(sigma_lin) (non-positive -> NaN)."""
    values_linear = np.asarray(values_linear, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(values_linear > 0, 10.0 * np.log10(values_linear), np.nan)


def linear_mean_db(values_db: Any, axis: int | None = None) -> np.ndarray:
    """Mean of dB values taken in linear units, docs/model/validation.md e.1: 10 log10(mean 10^(sigma/10)).

    NaN values are ignored; an all-NaN slice gives NaN.
    """
    linear = db_to_linear(values_db)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Mean of empty slice", category=RuntimeWarning)
        return linear_to_db(np.nanmean(linear, axis=axis))


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------
_REQUIRED = ("site", "time", "backscatter")


def _checked(table: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in _REQUIRED if c not in table]
    if missing:
        raise ValueError(f"acquisition table lacks column(s) {missing}; has {list(table.columns)}")
    out = table.copy()
    out.attrs = {k: (dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v)
                 for k, v in table.attrs.items()}
    out.attrs.setdefault("steps", [])
    out.attrs["steps"] = list(out.attrs["steps"])
    if "orbit" not in out:
        out["orbit"] = pd.array([pd.NA] * len(out), dtype="Int64")
    if "incidence_angle" not in out:
        out["incidence_angle"] = np.nan
    return out


def _orbit_key(table: pd.DataFrame) -> pd.Series:
    return table["orbit"].astype("Int64").fillna(UNKNOWN_ORBIT)


def _record(table: pd.DataFrame, step: str, removed: int, **details: Any) -> pd.DataFrame:
    table.attrs["steps"].append({"step": step, "removed": int(removed), "remaining": len(table), **details})
    return table


# ----------------------------------------------------------------------------------------------
# step 1: spatial aggregation
# ----------------------------------------------------------------------------------------------
def spatial_average(table: pd.DataFrame) -> pd.DataFrame:
    """Average footprint samples sharing (site, time, orbit) in linear units (docs/model/validation.md e.1).

    Non-finite samples are ignored; ``samples`` counts the finite samples averaged.
    """
    out = _checked(table)
    key = [out["site"], out["time"], _orbit_key(out).rename("orbit_key")]
    frame = out.assign(linear=db_to_linear(out["backscatter"]))
    frame.loc[~np.isfinite(frame["backscatter"].to_numpy(dtype=float)), "linear"] = np.nan
    grouped = frame.groupby(key, sort=True, dropna=False)
    result = pd.DataFrame({
        "linear": grouped["linear"].mean(),
        "samples": grouped["linear"].count(),
        "incidence_angle": grouped["incidence_angle"].mean(),
    }).reset_index()
    result["backscatter"] = linear_to_db(result["linear"].to_numpy())
    result["orbit"] = result["orbit_key"].astype("Int64").replace(UNKNOWN_ORBIT, pd.NA)
    result = result[["site", "time", "backscatter", "orbit", "incidence_angle", "samples"]]
    result.attrs = out.attrs
    return _record(result, "spatial_average", len(out) - len(result))


# ----------------------------------------------------------------------------------------------
# step 2: masks
# ----------------------------------------------------------------------------------------------
def _forcing_on_acquisition_days(table: pd.DataFrame, forcing: xr.Dataset, name: str) -> np.ndarray:
    array = forcing[name]
    if set(array.dims) != {"time", "site"}:
        raise ValueError(f"forcing variable {name!r} must have dims (time, site), has {array.dims}")
    days = table["time"].dt.floor("D").to_numpy(dtype="datetime64[ns]")
    sites = table["site"].to_numpy()
    frame = array.transpose("time", "site").to_pandas()
    frame.index = pd.DatetimeIndex(frame.index).floor("D")
    frame.columns = frame.columns.astype(str)
    column = frame.columns.get_indexer(sites)
    if (column < 0).any():
        raise ForcingCoverageError(f"forcing {name!r} has no site {sites[int(np.argmax(column < 0))]!r}")
    row = frame.index.get_indexer(pd.DatetimeIndex(days))
    if (row < 0).any():
        i = int(np.argmax(row < 0))
        raise ForcingCoverageError(
            f"forcing {name!r} does not cover the acquisition at site {sites[i]!r} on {pd.Timestamp(days[i]).date()}"
        )
    return frame.to_numpy(dtype=float)[row, column]


def acquisition_masks(table: pd.DataFrame, forcing: xr.Dataset,
                      thresholds: MaskThresholds | None = None) -> pd.DataFrame:
    """Boolean mask reasons per acquisition (True = masked), docs/model/validation.md e.2.

    ``forcing`` holds *unperturbed* daily ``air_temperature`` (degC) and ``precipitation``
    (mm d-1) on dims (time, site), and optionally ``snow_water_equivalent`` (mm) or a
    ``snow`` flag/depth (> 0 = snow).  A missing (NaN) forcing value masks the acquisition
    (it cannot be shown to be unfrozen); a day or site absent from ``forcing`` is an error.
    """
    thresholds = thresholds or MaskThresholds()
    out = _checked(table)
    temperature = _forcing_on_acquisition_days(out, forcing, "air_temperature")
    precipitation = _forcing_on_acquisition_days(out, forcing, "precipitation")
    reasons = pd.DataFrame(index=out.index)
    reasons["non_finite"] = ~np.isfinite(out["backscatter"].to_numpy(dtype=float))
    with np.errstate(invalid="ignore"):
        reasons["frozen"] = ~(temperature >= thresholds.min_air_temperature)
        reasons["heavy_rain"] = ~(precipitation <= thresholds.max_precipitation)
        snow = np.zeros(len(out), dtype=bool)
        for name in ("snow_water_equivalent", "snow"):
            if name in forcing:
                values = _forcing_on_acquisition_days(out, forcing, name)
                snow |= ~(values <= thresholds.max_snow)
    reasons["snow"] = snow
    return reasons


def apply_masks(table: pd.DataFrame, forcing: xr.Dataset, thresholds: MaskThresholds | None = None) -> pd.DataFrame:
    """Drop masked acquisitions (docs/model/validation.md e.2); idempotent."""
    out = _checked(table)
    reasons = acquisition_masks(out, forcing, thresholds)
    masked = reasons.any(axis=1).to_numpy()
    result = out.loc[~masked].reset_index(drop=True)
    result.attrs = out.attrs
    return _record(result, "masks", int(masked.sum()), **{k: int(v) for k, v in reasons.sum().items()})


# ----------------------------------------------------------------------------------------------
# step 3: outliers
# ----------------------------------------------------------------------------------------------
def remove_outliers(table: pd.DataFrame, n_sd: float = 5.0, min_group: int = 3) -> pd.DataFrame:
    """Drop |sigma - mean| > n_sd * SD per site and orbit, single pass (docs/model/validation.md e.3, DD-27)."""
    out = _checked(table)
    groups = out.groupby([out["site"], _orbit_key(out)], sort=False)["backscatter"]
    mean = groups.transform("mean")
    sd = groups.transform("std")  # sample SD (ddof=1), see module docstring
    size = groups.transform("size")
    # OUTLIER_TOLERANCE keeps constant groups (SD 0, mean off by rounding) from flagging everything
    outlier = ((out["backscatter"] - mean).abs() > n_sd * sd + OUTLIER_TOLERANCE) & (size >= min_group)
    result = out.loc[~outlier.to_numpy()].reset_index(drop=True)
    result.attrs = out.attrs
    return _record(result, "outliers", int(outlier.sum()), n_sd=n_sd)


# ----------------------------------------------------------------------------------------------
# step 4: orbit bias
# ----------------------------------------------------------------------------------------------
def correct_orbit_bias(table: pd.DataFrame) -> pd.DataFrame:
    """sigma' = sigma - (m_o - m_ref) per site (docs/model/validation.md e.4, DD-28).

    m_o is the mean (dB) of the site's acquisitions on relative orbit o, m_ref the mean of all
    the site's retained acquisitions; afterwards every orbit's mean equals m_ref.
    """
    out = _checked(table)
    finite = np.isfinite(out["backscatter"].to_numpy(dtype=float))
    if not finite.all():
        raise ValueError("correct_orbit_bias needs finite backscatter; apply the masks first")
    m_ref = out.groupby("site", sort=False)["backscatter"].transform("mean")
    m_orbit = out.groupby([out["site"], _orbit_key(out)], sort=False)["backscatter"].transform("mean")
    result = out.assign(backscatter=out["backscatter"] - (m_orbit - m_ref))
    result.attrs = out.attrs
    offsets = (m_orbit - m_ref).groupby([out["site"], _orbit_key(out)]).first()
    return _record(result, "orbit_bias", 0, offsets_db={f"{s}/{o}": float(v) for (s, o), v in offsets.items()})


# ----------------------------------------------------------------------------------------------
# step 5: daily aggregation -> Dataset
# ----------------------------------------------------------------------------------------------
def daily_average(table: pd.DataFrame, days: pd.DatetimeIndex | None = None,
                  sites: Any = None) -> xr.Dataset:
    """One observation per site and day, averaged in linear units (docs/model/validation.md e.5).

    Returns ``backscatter (time, site)`` in dB, ``orbit`` (the day's relative orbit; -1 if
    several or unknown), ``incidence_angle`` (degree, mean) and ``acquisition_count``.  ``days``
    and ``sites`` fix the output axes (e.g. the model calendar); days without an observation
    are NaN.  Acquisitions outside ``days``/``sites`` are an error (never silently dropped).
    """
    out = _checked(table)
    day = out["time"].dt.floor("D").rename("time")
    frame = out.assign(linear=db_to_linear(out["backscatter"]), orbit_key=_orbit_key(out))
    frame.loc[~np.isfinite(frame["backscatter"].to_numpy(dtype=float)), "linear"] = np.nan
    grouped = frame.groupby([day, frame["site"]], sort=True)
    daily = pd.DataFrame({
        "linear": grouped["linear"].mean(),
        "acquisition_count": grouped["linear"].count(),
        "incidence_angle": grouped["incidence_angle"].mean(),
        "orbit_min": grouped["orbit_key"].min(),
        "orbit_max": grouped["orbit_key"].max(),
    })
    daily["backscatter"] = linear_to_db(daily["linear"].to_numpy())
    daily["orbit"] = np.where(daily["orbit_min"] == daily["orbit_max"], daily["orbit_min"], UNKNOWN_ORBIT)
    time_axis = pd.DatetimeIndex(days if days is not None else daily.index.get_level_values("time").unique(),
                                 name="time").as_unit("ns")
    site_axis = pd.Index(np.asarray(sites if sites is not None else np.unique(out["site"].to_numpy())).astype(str),
                         name="site")
    outside_time = ~daily.index.get_level_values("time").isin(time_axis)
    outside_site = ~daily.index.get_level_values("site").isin(site_axis)
    if (outside_time | outside_site).any():
        t, s = daily.index[int(np.argmax(outside_time | outside_site))]
        raise ValueError(f"acquisition at site {s!r} on {pd.Timestamp(t).date()} lies outside the requested axes")
    full = pd.MultiIndex.from_product([time_axis, site_axis], names=["time", "site"])
    daily = daily.reindex(full)
    shape = (len(time_axis), len(site_axis))

    def grid(column: str, fill: float = np.nan) -> np.ndarray:
        return daily[column].to_numpy(dtype=float, na_value=fill).reshape(shape)

    count = grid("acquisition_count", 0.0).astype(np.int64)
    orbit = grid("orbit", UNKNOWN_ORBIT).astype(np.int64)
    dataset = xr.Dataset(
        {
            "backscatter": (("time", "site"), grid("backscatter"), attributes("backscatter")),
            "orbit": (("time", "site"), orbit, attributes("relative_orbit")),
            "incidence_angle": (("time", "site"), grid("incidence_angle"), attributes("incidence_angle")),
            "acquisition_count": (("time", "site"), count, attributes("acquisition_count")),
        },
        coords={"time": time_axis, "site": site_axis},
    )
    dataset["time"].attrs.update({"long_name": "day of the acquisition(s) (UTC)", "standard_name": "time"})
    dataset["site"].attrs.update({"long_name": "site identifier"})
    # JSON strings so that the attributes survive NetCDF/Zarr writing
    dataset.attrs["preprocessing_steps"] = json.dumps(out.attrs.get("steps", []))
    return dataset


def preprocess(
    table: pd.DataFrame,
    forcing: xr.Dataset,
    settings: Sentinel1Preprocessing | None = None,
    days: pd.DatetimeIndex | None = None,
    sites: Any = None,
) -> xr.Dataset:
    """docs/model/validation.md e steps 1-5 on an acquisition table, with unperturbed ``forcing`` for the masks."""
    settings = settings or Sentinel1Preprocessing()
    step = spatial_average(table)
    step = apply_masks(step, forcing, settings.masks)
    step = remove_outliers(step, settings.outlier_sd, settings.min_outlier_group)
    if settings.bias_correction:
        step = correct_orbit_bias(step)
    dataset = daily_average(step, days=days, sites=sites)
    dataset.attrs["settings"] = json.dumps(attrs.asdict(settings))
    return dataset
