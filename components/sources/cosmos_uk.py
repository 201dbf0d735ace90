"""Reader of COSMOS-UK daily site files (plus optional Met Office MIDAS gap filling).

Converts to the model units of ``s1da.framework.interfaces.Forcing``:

=================================  ======================  ==========================================
column                             file units              output
=================================  ======================  ==========================================
PRECIPITATION_LEVEL2_TOTAL         mm d-1                  ``precipitation`` mm d-1
TA_LEVEL2_MEAN                     degC                    ``air_temperature`` degC
RN_LEVEL2_TOTAL                    MJ m-2 d-1 (see below)  ``net_radiation`` W m-2 (x 1e6 / 86400)
COSMOS_VWC, TDT1/TDT2_VWC_LEVEL2   % vol                   m3 m-3 (/ 100)
=================================  ======================  ==========================================

The file does not state the unit of RN_LEVEL2_TOTAL ("daily total").  MJ m-2 d-1 is the only
reading consistent with physics: the maximum (17.9) is below the FAO-56 clear-sky shortwave
bound at 53.9 N in June (0.75 R_a ~ 31 MJ m-2 d-1) while W m-2 as a daily mean would be far too
small for summer, and kWh m-2 d-1 (x 3.6) would exceed R_a.  At Spen Farm the summer ratio to
the MIDAS src 534 global irradiation is 0.46-0.62 (net/global is typically 0.5-0.6 for crops).
:func:`read_cosmos_daily` checks every day against the clear-sky bound and refuses a file
that violates it (wrong unit).

Gaps in the forcing are refused unless ``gap_fill="midas"`` is asked for: precipitation from
MIDAS daily rain, air temperature from (max + min)/2 of MIDAS, net radiation by linear
interpolation over at most ``max_interpolation_days`` days (MIDAS has no net radiation).
Filled days are flagged in ``filled_<variable>``.  In-situ soil moisture keeps its gaps (NaN).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from s1da.components.sources.text import text_table

MJ_PER_DAY_TO_W = 1.0e6 / 86400.0
FORCING_COLUMNS = {
    "precipitation": "PRECIPITATION_LEVEL2_TOTAL",
    "air_temperature": "TA_LEVEL2_MEAN",
    "net_radiation": "RN_LEVEL2_TOTAL",
}
INSITU_COLUMNS = {
    "cosmos_vwc": "COSMOS_VWC",
    "tdt1_vwc": "TDT1_VWC_LEVEL2_MEAN",
    "tdt2_vwc": "TDT2_VWC_LEVEL2_MEAN",
}
ATTRS = {
    "precipitation": {"units": "mm d-1", "long_name": "daily precipitation (COSMOS-UK level 2)"},
    "air_temperature": {"units": "degC", "long_name": "daily mean air temperature (COSMOS-UK level 2)"},
    "net_radiation": {"units": "W m-2", "long_name": "daily mean net radiation (from MJ m-2 d-1)"},
    "cosmos_vwc": {"units": "m3 m-3", "long_name": "COSMOS cosmic-ray neutron volumetric soil water content"},
    "tdt1_vwc": {"units": "m3 m-3", "long_name": "TDT probe 1 volumetric soil water content"},
    "tdt2_vwc": {"units": "m3 m-3", "long_name": "TDT probe 2 volumetric soil water content"},
}
GAP_FILL = ("none", "midas")
MIDAS_FILES = {
    "rain": "MIDAS_src534_daily_rain_1961-2021.csv",
    "temperature": "MIDAS_src534_daily_airtemp_maxmin_1959-2021.csv",
}


class CosmosReadError(ValueError):
    """A COSMOS-UK file cannot be turned into model forcing."""


def clear_sky_shortwave(day_of_year, latitude_deg):
    """FAO-56 clear-sky shortwave R_so = 0.75 R_a, MJ m-2 d-1 (Allen et al. 1998, eqs. 21-25, 37)."""
    phi = np.deg2rad(latitude_deg)
    dr = 1 + 0.033 * np.cos(2 * np.pi * day_of_year / 365)
    decl = 0.409 * np.sin(2 * np.pi * day_of_year / 365 - 1.39)
    ws = np.arccos(np.clip(-np.tan(phi) * np.tan(decl), -1.0, 1.0))
    ra = 24 * 60 / np.pi * 0.0820 * dr * (ws * np.sin(phi) * np.sin(decl) + np.cos(phi) * np.cos(decl) * np.sin(ws))
    return 0.75 * ra


def _read_daily_csv(path: Path, what: str) -> pd.DataFrame:
    if not Path(path).is_file():
        raise CosmosReadError(f"{what}: file {path} not found")
    frame = pd.read_csv(text_table(path))
    time_column = frame.columns[0]
    index = pd.to_datetime(frame[time_column], errors="coerce")
    if index.isna().any():
        raise CosmosReadError(f"{path}: unparseable date in column {time_column!r} at row {int(index.isna().argmax())}")
    frame = frame.drop(columns=time_column).set_index(pd.DatetimeIndex(index.dt.normalize(), name="time"))
    if not frame.index.is_monotonic_increasing:
        raise CosmosReadError(f"{path}: dates are not sorted")
    if frame.index.has_duplicates:
        raise CosmosReadError(f"{path}: duplicate date {frame.index[frame.index.duplicated()][0].date()}")
    return frame


def read_cosmos_daily(
    path,
    start: str | None = None,
    end: str | None = None,
    *,
    latitude: float = 53.87,
    gap_fill: str = "none",
    midas_dir=None,
    max_interpolation_days: int = 3,
) -> xr.Dataset:
    """Daily forcing (model units) and in-situ soil moisture (m3 m-3) for ``start``..``end``.

    ``gap_fill``: "none" (any forcing gap in the period raises, naming column and date) or
    "midas" (see the module docstring; ``midas_dir`` defaults to the COSMOS file's folder).
    """
    if gap_fill not in GAP_FILL:
        raise CosmosReadError(f"gap_fill must be one of {GAP_FILL}, got {gap_fill!r}")
    path = Path(path)
    frame = _read_daily_csv(path, "COSMOS-UK daily file")
    missing = [c for c in list(FORCING_COLUMNS.values()) + list(INSITU_COLUMNS.values()) if c not in frame.columns]
    if missing:
        raise CosmosReadError(f"{path}: missing columns {missing}")
    frame = frame.loc[start:end]
    if frame.empty:
        raise CosmosReadError(f"{path}: no rows between {start} and {end}")
    expected = pd.date_range(frame.index[0], frame.index[-1], freq="D")
    if len(expected) != len(frame):
        raise CosmosReadError(f"{path}: missing calendar days between {start} and {end}")
    forcing = {name: frame[column].astype(float).copy() for name, column in FORCING_COLUMNS.items()}
    filled = {name: pd.Series(False, index=frame.index) for name in FORCING_COLUMNS}
    if gap_fill == "midas":
        folder = Path(midas_dir) if midas_dir is not None else path.parent
        rain = _read_daily_csv(folder / MIDAS_FILES["rain"], "MIDAS rain")["prcp_amt"].reindex(frame.index)
        temp = _read_daily_csv(folder / MIDAS_FILES["temperature"], "MIDAS air temperature")
        temp_mean = ((temp["max_air_temp"] + temp["min_air_temp"]) / 2.0).reindex(frame.index)
        for name, source in (("precipitation", rain), ("air_temperature", temp_mean)):
            gap = forcing[name].isna() & source.notna()
            forcing[name] = forcing[name].where(~gap, source)
            filled[name] = gap
        rn = forcing["net_radiation"]
        interpolated = rn.interpolate(method="time", limit=max_interpolation_days, limit_area="inside")
        filled["net_radiation"] = rn.isna() & interpolated.notna()
        forcing["net_radiation"] = interpolated
    for name, series in forcing.items():
        if series.isna().any():
            first = series.index[series.isna()][0].date()
            raise CosmosReadError(
                f"{path}: column {FORCING_COLUMNS[name]} has {int(series.isna().sum())} gap(s) between "
                f"{start} and {end}, first on {first}; pass gap_fill='midas' to fill them explicitly"
            )
    if (forcing["precipitation"] < 0).any():
        day = forcing["precipitation"].index[forcing["precipitation"] < 0][0].date()
        raise CosmosReadError(f"{path}: negative precipitation on {day}")
    bound = clear_sky_shortwave(frame.index.day_of_year.to_numpy(), latitude)
    too_big = forcing["net_radiation"].to_numpy() > bound
    if too_big.any():
        day = frame.index[too_big][0].date()
        raise CosmosReadError(
            f"{path}: RN_LEVEL2_TOTAL on {day} exceeds the clear-sky shortwave bound; "
            "the column is not in MJ m-2 d-1"
        )
    data = {
        "precipitation": forcing["precipitation"].to_numpy(),
        "air_temperature": forcing["air_temperature"].to_numpy(),
        "net_radiation": forcing["net_radiation"].to_numpy() * MJ_PER_DAY_TO_W,
    }
    for name, column in INSITU_COLUMNS.items():
        data[name] = frame[column].astype(float).to_numpy() / 100.0
    ds = xr.Dataset({name: ("time", values, ATTRS[name]) for name, values in data.items()}, coords={"time": frame.index.values})
    for name, flags in filled.items():
        ds[f"filled_{name}"] = ("time", flags.to_numpy(), {"units": "1", "long_name": f"{name} gap filled ({gap_fill})"})
    ds.attrs.update(source=str(path.name), gap_fill=gap_fill, net_radiation_unit_assumption="MJ m-2 d-1")
    return ds
