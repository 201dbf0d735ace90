"""LAI: 10-daily (or irregular) observations to daily values by cubic spline (Rains et al. 2022).

The WCM vegetation terms (docs/model/operators.md b) need LAI every day; products such as Copernicus GLS
LAI come every 10 days, with gaps.  :func:`daily_lai` fits a cubic spline (scipy
``CubicSpline``, not-a-knot ends) through the valid observations of each site and evaluates it
on every day, then clips to the land model's valid range [0, 20] m2 m-2
(:data:`~s1da.framework.sitedata.FORCING_LIMITS`): a spline may undershoot between a low and a
rising value, or overshoot next to a peak.  An observation outside that range is an error.

Gaps: two consecutive valid observations more than ``max_gap_days`` apart are never bridged.
With ``on_gap="nan"`` (default) the spline is fitted separately on each side and the days in
between are NaN; with ``on_gap="raise"`` such a gap is an error naming the site and dates.
Days before a site's first / after its last valid observation are NaN (no extrapolation).
A segment of 2 observations is interpolated linearly, a single isolated observation is kept
on its own day only.

Vectorised: sites sharing the same pattern of valid dates (the usual case for one product)
are fitted in one ``CubicSpline`` call on a (time, site) array; the loop is over patterns
and segments, not sites.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr
from s1da.framework.sitedata import FORCING_LIMITS
from s1da.framework.variables import attributes
from scipy.interpolate import CubicSpline


class LAIError(ValueError):
    """Bad LAI input or a gap that may not be bridged (names the site and dates)."""


def _as_frame(lai: pd.DataFrame | pd.Series | xr.DataArray) -> pd.DataFrame:
    if isinstance(lai, xr.DataArray):
        if "time" not in lai.dims:
            raise LAIError(f"LAI DataArray needs a 'time' dimension, has {lai.dims}")
        if lai.ndim == 1:
            return lai.to_series().to_frame(lai.name or "site")
        if set(lai.dims) != {"time", "site"}:
            raise LAIError(f"LAI DataArray must have dims (time, site), has {lai.dims}")
        return lai.transpose("time", "site").to_pandas()
    if isinstance(lai, pd.Series):
        return lai.to_frame(lai.name if lai.name is not None else "site")
    if isinstance(lai, pd.DataFrame):
        return lai
    raise TypeError(f"LAI must be a pandas Series/DataFrame or xarray DataArray, got {type(lai).__name__}")


def daily_lai(
    lai: pd.DataFrame | pd.Series | xr.DataArray,
    days: pd.DatetimeIndex | None = None,
    max_gap_days: float = 32.0,
    on_gap: Literal["nan", "raise"] = "nan",
) -> xr.DataArray:
    """Daily LAI (m2 m-2) on dims (time, site) from irregular observations.

    ``lai``: observations indexed by date (DataFrame columns = sites, or a DataArray
    (time, site)); NaN marks a missing observation.  ``days``: output calendar (default: every
    day from the first to the last observation date).  Unsorted or duplicate dates, negative or
    infinite LAI are errors.
    """
    if on_gap not in ("nan", "raise"):
        raise ValueError(f"on_gap must be 'nan' or 'raise', got {on_gap!r}")
    if not max_gap_days > 0:
        raise ValueError(f"max_gap_days must be positive, got {max_gap_days}")
    frame = _as_frame(lai)
    dates = pd.DatetimeIndex(pd.to_datetime(frame.index))
    if (dates != dates.normalize()).any():
        dates = dates.normalize()  # a 10-daily product's time stamp stands for its day
    steps = np.diff(dates.asi8)
    if np.any(steps <= 0):
        i = int(np.argmax(steps <= 0))
        kind = "duplicate" if steps[i] == 0 else "unsorted"
        raise LAIError(f"LAI: {kind} date {dates[i + 1].date()} after {dates[i].date()}")
    values = frame.to_numpy(dtype=float)
    sites = [str(c) for c in frame.columns]
    low, high, units = FORCING_LIMITS["lai"]
    bad = np.isinf(values) | (values < low) | (values > high)
    if bad.any():
        t, s = np.argwhere(bad)[0]
        raise LAIError(
            f"LAI at site {sites[s]!r} on {dates[t].date()} is {values[t, s]}: must be finite and within "
            f"the model's valid range [{low:g}, {high:g}] {units}"
        )
    out_days = pd.DatetimeIndex(days if days is not None else pd.date_range(dates[0], dates[-1], freq="D"),
                                name="time").as_unit("ns")
    x_obs = (dates - out_days[0]).days.to_numpy().astype(float)
    x_out = np.arange(len(out_days), dtype=float) if days is None else (out_days - out_days[0]).days.to_numpy(float)
    result = np.full((len(out_days), len(sites)), np.nan)
    valid = np.isfinite(values)
    patterns, group_of_site = np.unique(valid.T, axis=0, return_inverse=True)
    gaps_found: list[str] = []
    for p, pattern in enumerate(patterns):
        columns = np.flatnonzero(group_of_site.ravel() == p)
        rows = np.flatnonzero(pattern)
        if rows.size == 0:
            continue
        x = x_obs[rows]
        y = values[np.ix_(rows, columns)]
        breaks = np.flatnonzero(np.diff(x) > max_gap_days)
        for b in breaks:
            gap = f"{dates[rows[b]].date()} to {dates[rows[b + 1]].date()} ({int(x[b + 1] - x[b])} d)"
            if on_gap == "raise":
                raise LAIError(
                    f"LAI gap longer than {max_gap_days:g} d at site(s) {[sites[c] for c in columns]}: {gap}"
                )
            gaps_found.extend(f"{sites[c]}: {gap}" for c in columns)
        for segment_rows in np.split(np.arange(rows.size), breaks + 1):
            xs, ys = x[segment_rows], y[segment_rows]
            inside = (x_out >= xs[0]) & (x_out <= xs[-1])
            if not inside.any():
                continue
            if xs.size == 1:
                result[np.ix_(inside, columns)] = ys[0]
                continue
            spline = CubicSpline(xs, ys, axis=0, bc_type="not-a-knot")
            result[np.ix_(inside, columns)] = spline(x_out[inside])
    result = np.where(np.isnan(result), np.nan, np.clip(result, low, high))
    return xr.DataArray(
        result,
        dims=("time", "site"),
        coords={"time": out_days, "site": sites},
        name="lai",
        attrs=attributes("lai") | {"interpolation": f"cubic spline (not-a-knot), clipped to [{low:g}, {high:g}]",
                                   "max_gap_days": float(max_gap_days), "gaps_not_bridged": gaps_found},
    )
