"""Shared checks for per-field Sentinel-1 + in-situ tables (used by the MNI and Budrio readers).

Every reader returns a tidy ``pandas.DataFrame`` per field, one row per S1 acquisition, with the
columns of :data:`COLUMNS` (units in ``DataFrame.attrs["units"]``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

COLUMNS = {
    "time": ("", "acquisition time (UTC)"),
    "backscatter_vv_db": ("dB", "Sentinel-1 VV backscatter sigma0"),
    "incidence_angle_deg": ("degree", "local incidence angle"),
    "relative_orbit": ("1", "Sentinel-1 relative orbit number"),
    "orbit_direction": ("", "ASCENDING or DESCENDING"),
    "lai": ("m2 m-2", "leaf area index"),
    "soil_moisture": ("m3 m-3", "in-situ volumetric soil moisture"),
}


class SourceFormatError(ValueError):
    """A source file does not have the expected structure or content."""


def require_columns(frame: pd.DataFrame, required, where: str) -> None:
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise SourceFormatError(f"{where}: missing column(s) {missing}; found {list(frame.columns)}")


def linear_to_db(linear: pd.Series, where: str) -> pd.Series:
    """10 log10(sigma0); non-positive linear values become NaN (dropped later) with a warning."""
    linear = pd.to_numeric(linear, errors="raise").astype(float)
    non_positive = linear <= 0
    if non_positive.any():
        warnings.warn(
            f"{where}: dropping {int(non_positive.sum())} non-positive linear VV backscatter value(s) "
            f"at {list(linear.index[non_positive])}",
            UserWarning,
            stacklevel=3,
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        return 10.0 * np.log10(linear.where(~non_positive))


def finish_table(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """Order columns, check times (sorted, unique), plausible SM and LAI; attach units."""
    times = pd.to_datetime(frame["time"], errors="raise")
    if times.isna().any():
        raise SourceFormatError(f"{where}: missing acquisition time(s) in rows {list(frame.index[times.isna()])}")
    if times.duplicated().any():
        raise SourceFormatError(f"{where}: duplicate acquisition time(s) {list(times[times.duplicated()].astype(str))}")
    if not times.is_monotonic_increasing:
        raise SourceFormatError(f"{where}: acquisition times are not sorted in increasing order")
    frame = frame.assign(time=times)
    frame = frame[frame["backscatter_vv_db"].notna()].reset_index(drop=True)
    soil_moisture = frame["soil_moisture"]
    if (soil_moisture.dropna() < 0).any() or (soil_moisture.dropna() > 1).any():
        raise SourceFormatError(f"{where}: soil moisture outside [0, 1] m3 m-3 (percent instead of fraction?)")
    if (frame["lai"].dropna() < 0).any():
        raise SourceFormatError(f"{where}: negative LAI")
    frame = frame[list(COLUMNS)]
    frame.attrs["units"] = {name: units for name, (units, _) in COLUMNS.items()}
    frame.attrs["long_name"] = {name: long_name for name, (_, long_name) in COLUMNS.items()}
    return frame
