"""Reader for the Budrio (Po valley, Italy) 2017 S1 + in-situ table and its daily LAI file.

``data_in_Budrio_2017.tsv`` (shared/data/SOURCES.md, entry 1): tab-separated, unnamed index
column, one row per S1 overpass; used columns: Date, DateTime_sat, Angle[°], Orb, Pass,
VV[lin], LAI[m2/m2], SWC[m3/m3] (in-situ soil water content).  ``LAI_Budrio_2017.csv`` has no
header: column 1 is a MATLAB datenum rounded to 5 significant digits (unusable), column 2 the LAI;
rows are daily from 2017-01-10 (inferred by SOURCES.md from the match with the TSV's LAI).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from s1da.components.sources.s1_field_table import SourceFormatError, finish_table, linear_to_db, require_columns
from s1da.components.sources.text import text_table

REQUIRED = ("Date", "DateTime_sat", "Angle[°]", "Orb", "Pass", "VV[lin]", "LAI[m2/m2]", "SWC[m3/m3]")
LAI_FIRST_DAY = "2017-01-10"


def read_budrio_lai(path, first_day: str = LAI_FIRST_DAY) -> pd.Series:
    """Daily LAI (m2 m-2) indexed by date; row 1 is ``first_day``."""
    path = Path(path)
    raw = pd.read_csv(text_table(path), header=None)
    if raw.shape[1] != 2:
        raise SourceFormatError(f"{path}: expected 2 columns (datenum, LAI), found {raw.shape[1]}")
    lai = pd.to_numeric(raw[1], errors="raise").to_numpy(float)
    if not np.all(np.isfinite(lai)) or np.any(lai < 0):
        raise SourceFormatError(f"{path}: LAI column has non-finite or negative values")
    return pd.Series(lai, index=pd.date_range(first_day, periods=lai.size, freq="D", name="date"), name="lai")


def read_budrio(path, lai_path=None) -> pd.DataFrame:
    """Tidy table of the Budrio field (same columns as :func:`s1da.components.sources.mni.read_mni`).

    With ``lai_path`` the LAI comes from the daily file at each acquisition date (error when a
    date is not covered); otherwise from the TSV's LAI column.
    """
    path = Path(path)
    raw = pd.read_csv(text_table(path), sep="\t", index_col=0)
    where = path.name
    require_columns(raw, REQUIRED, where)
    dates = pd.to_datetime(raw["Date"], errors="raise")
    lai = pd.to_numeric(raw["LAI[m2/m2]"], errors="raise")
    if lai_path is not None:
        daily = read_budrio_lai(lai_path)
        missing = ~dates.isin(daily.index)
        if missing.any():
            raise SourceFormatError(f"{Path(lai_path).name}: no LAI for acquisition date(s) {list(dates[missing].astype(str))}")
        lai = pd.Series(daily.reindex(dates).to_numpy(), index=raw.index)
    frame = pd.DataFrame(
        {
            "time": raw["DateTime_sat"],
            "backscatter_vv_db": linear_to_db(raw["VV[lin]"], where),
            "incidence_angle_deg": pd.to_numeric(raw["Angle[°]"], errors="raise"),
            "relative_orbit": pd.to_numeric(raw["Orb"], errors="raise").astype(int),
            "orbit_direction": raw["Pass"].astype(str),
            "lai": lai,
            "soil_moisture": pd.to_numeric(raw["SWC[m3/m3]"], errors="raise"),
        }
    )
    return finish_table(frame, where)
