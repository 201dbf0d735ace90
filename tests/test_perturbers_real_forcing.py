"""The perturber on real daily forcing: KNMI De Bilt (station 260), 2010-2019 (../shared/data).

KNMI global radiation stands in for net radiation (the perturber only needs a daily W m-2 value).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from s1da.components.perturbers import ForcingPerturber

pytestmark = pytest.mark.shared_data


def read_de_bilt(shared_data) -> pd.DataFrame:
    path = shared_data / "knmi_debilt_pyet" / "etmgeg_260.txt"
    lines = path.read_text(encoding="latin-1").splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("# STN,YYYYMMDD"))
    names = [name.strip() for name in lines[header].lstrip("# ").split(",")]
    table = pd.read_csv(path, skiprows=header + 1, names=names, skipinitialspace=True, encoding="latin-1")
    table.index = pd.to_datetime(table["YYYYMMDD"].astype(str), format="%Y%m%d")
    table = table.loc["2010-01-01":"2019-12-31"]
    return pd.DataFrame(
        {
            # RH in 0.1 mm; -1 means < 0.05 mm (counted as 0)
            "precipitation": table["RH"].clip(lower=0) / 10.0,
            "air_temperature": table["TG"] / 10.0,  # 0.1 degC
            "net_radiation": table["Q"] * 1e4 / 86400.0,  # J cm-2 d-1 -> W m-2
        }
    )


def test_perturbing_ten_years_of_de_bilt(shared_data):
    forcing = read_de_bilt(shared_data)
    assert len(forcing) == 3652 and not forcing.isna().any().any()
    site_ids = np.array([260])
    perturber = ForcingPerturber(entropy=2022)
    arrays = {name: forcing[name].to_numpy()[:, None] for name in forcing}
    out, _ = perturber.perturb_period(arrays, site_ids, 32)

    precipitation = out["precipitation"][:, :, 0]  # (time, member)
    dry = forcing["precipitation"].to_numpy() == 0
    assert dry.sum() > 1000
    assert np.all(precipitation[dry] == 0) and np.all(precipitation >= 0)
    # ten-year totals per member relative to the observed total: mean ~ 0.9978 (N = 32, DD in
    # forcing.py docstring), member spread of a few per cent
    ratio = precipitation.sum(axis=0) / forcing["precipitation"].sum()
    assert ratio.mean() == pytest.approx(1.0, abs=0.01)
    assert 0.003 < ratio.std(ddof=1) < 0.05
    # temperature perturbation: SD ~2.5 degC x 0.989 (truncation), lag-1 autocorrelation exp(-1)
    dt = out["air_temperature"][:, :, 0] - forcing["air_temperature"].to_numpy()[:, None]
    assert dt.std(axis=1, ddof=1).mean() == pytest.approx(2.5 * 0.989, rel=0.03)
    lag1 = np.corrcoef(dt[:-1].ravel(), dt[1:].ravel())[0, 1]
    assert lag1 == pytest.approx(math.exp(-1), abs=0.03)
    assert np.all(out["net_radiation"] > 0)
