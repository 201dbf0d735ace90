"""Reader for the MNI (Munich North Isar) 2017 campaign table ``multi.csv``.

The file (see shared/data/SOURCES.md, entry 2) is semicolon-separated with two header rows:
field id, then variable name; the first column is a row index.  Each of the five fields (301,
508, 542 winter wheat; 319, 515 maize) has date, sigma_sentinel_vv (linear), theta (deg),
relativeorbit, orbitdirection, LAI (m2 m-2) and SM (m3 m-3), among others.  All relative orbits
and incidence angles are kept (no orbit normalisation).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from s1da.components.sources.s1_field_table import SourceFormatError, finish_table, linear_to_db, require_columns
from s1da.components.sources.text import text_table

REQUIRED = ("date", "sigma_sentinel_vv", "theta", "relativeorbit", "orbitdirection", "LAI", "SM")


def read_mni(path) -> dict[str, pd.DataFrame]:
    """Per-field tidy tables of ``multi.csv``, keyed by field id (str), in file order.

    Columns: time, backscatter_vv_db (dB, from the linear values; non-positive values are
    dropped with a warning), incidence_angle_deg, relative_orbit, orbit_direction, lai,
    soil_moisture (NaN where not measured).
    """
    path = Path(path)
    try:
        raw = pd.read_csv(text_table(path), sep=";", header=[0, 1], index_col=0)
    except (ValueError, pd.errors.ParserError) as error:
        raise SourceFormatError(f"{path}: cannot parse as a two-header-row ';' table: {error}") from error
    if not isinstance(raw.columns, pd.MultiIndex) or raw.columns.nlevels != 2:
        raise SourceFormatError(f"{path}: expected two header rows (field id, variable)")
    fields = list(dict.fromkeys(str(field) for field in raw.columns.get_level_values(0)))
    if not fields:
        raise SourceFormatError(f"{path}: no field columns")
    tables = {}
    for field in fields:
        where = f"{path.name} field {field}"
        table = raw[field]
        require_columns(table, REQUIRED, where)
        frame = pd.DataFrame(
            {
                "time": table["date"],
                "backscatter_vv_db": linear_to_db(table["sigma_sentinel_vv"], where),
                "incidence_angle_deg": pd.to_numeric(table["theta"], errors="raise"),
                "relative_orbit": pd.to_numeric(table["relativeorbit"], errors="raise").astype(int),
                "orbit_direction": table["orbitdirection"].astype(str),
                "lai": pd.to_numeric(table["LAI"], errors="raise"),
                "soil_moisture": pd.to_numeric(table["SM"], errors="raise"),
            }
        )
        tables[field] = finish_table(frame, where)
    return tables
