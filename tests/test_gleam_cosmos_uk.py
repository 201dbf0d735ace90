"""COSMOS-UK reader (units, gaps, bad files) and the Spen Farm open-loop check on real data."""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from s1da.components.sources.cosmos_uk import CosmosReadError, MJ_PER_DAY_TO_W, read_cosmos_daily

REPO = Path(__file__).resolve().parents[1]
COLUMNS = [
    "COSMOS_VWC",
    "PRECIPITATION_LEVEL2_TOTAL",
    "TA_LEVEL2_MEAN",
    "RN_LEVEL2_TOTAL",
    "TDT1_VWC_LEVEL2_MEAN",
    "TDT2_VWC_LEVEL2_MEAN",
]


def write(tmp_path, n=10, **changes):
    dates = pd.date_range("2018-06-01", periods=n, freq="D").strftime("%Y-%m-%d").tolist()
    frame = pd.DataFrame(
        {
            "DATE_TIME": dates,
            "COSMOS_VWC": 30.0,
            "PRECIPITATION_LEVEL2_TOTAL": 1.0,
            "TA_LEVEL2_MEAN": 15.0,
            "RN_LEVEL2_TOTAL": 10.0,
            "TDT1_VWC_LEVEL2_MEAN": 25.0,
            "TDT2_VWC_LEVEL2_MEAN": 26.0,
        }
    )
    for key, value in changes.items():
        column, row = key.rsplit("__", 1)
        frame.loc[int(row), column] = value
    path = tmp_path / "cosmos.csv"
    frame.to_csv(path, index=False)
    return path


def test_units_are_converted(tmp_path):
    ds = read_cosmos_daily(write(tmp_path))
    assert ds["net_radiation"].values[0] == pytest.approx(10.0 * MJ_PER_DAY_TO_W)
    assert ds["net_radiation"].attrs["units"] == "W m-2"
    assert ds["cosmos_vwc"].values[0] == pytest.approx(0.30)
    assert ds["tdt2_vwc"].attrs["units"] == "m3 m-3"
    assert ds["precipitation"].values[0] == 1.0


def test_gap_is_refused_with_column_and_date(tmp_path):
    path = write(tmp_path, PRECIPITATION_LEVEL2_TOTAL__3=np.nan)
    with pytest.raises(CosmosReadError, match="PRECIPITATION_LEVEL2_TOTAL.*2018-06-04.*gap_fill"):
        read_cosmos_daily(path)


def test_insitu_gaps_are_kept(tmp_path):
    ds = read_cosmos_daily(write(tmp_path, COSMOS_VWC__2=np.nan))
    assert np.isnan(ds["cosmos_vwc"].values[2])


def test_net_radiation_in_wrong_units_is_refused(tmp_path):
    path = write(tmp_path, RN_LEVEL2_TOTAL__1=150.0)  # a W m-2 value in an MJ column
    with pytest.raises(CosmosReadError, match="clear-sky"):
        read_cosmos_daily(path)


def test_unsorted_duplicate_and_missing_columns(tmp_path):
    path = write(tmp_path)
    frame = pd.read_csv(path)
    frame.iloc[[2, 3]] = frame.iloc[[3, 2]].to_numpy()
    frame.to_csv(path, index=False)
    with pytest.raises(CosmosReadError, match="not sorted"):
        read_cosmos_daily(path)
    frame = pd.read_csv(write(tmp_path))
    frame.loc[3, "DATE_TIME"] = frame.loc[2, "DATE_TIME"]
    frame.to_csv(path, index=False)
    with pytest.raises(CosmosReadError, match="duplicate"):
        read_cosmos_daily(path)
    frame = pd.read_csv(write(tmp_path)).drop(columns="TA_LEVEL2_MEAN")
    frame.to_csv(path, index=False)
    with pytest.raises(CosmosReadError, match="missing columns.*TA_LEVEL2_MEAN"):
        read_cosmos_daily(path)
    with pytest.raises(CosmosReadError, match="gap_fill"):
        read_cosmos_daily(write(tmp_path), gap_fill="zeros")
    with pytest.raises(CosmosReadError, match="not found"):
        read_cosmos_daily(tmp_path / "absent.csv")


def test_midas_fill_on_real_data(shared_data):
    path = shared_data / "spen_farm_cosmos_uk" / "COSMOS-UK_SPENF_daily_2016-2021_from_pkl.csv"
    with pytest.raises(CosmosReadError, match="PRECIPITATION_LEVEL2_TOTAL"):
        read_cosmos_daily(path, "2017-01-01", "2019-12-31")
    ds = read_cosmos_daily(path, "2017-01-01", "2019-12-31", gap_fill="midas")
    assert int(ds["filled_precipitation"].sum()) == 35  # 2017-10-13 and 2019-08-03..09-05
    assert int(ds["filled_net_radiation"].sum()) == 1
    assert np.isfinite(ds["precipitation"]).all() and np.isfinite(ds["net_radiation"]).all()


def test_spen_farm_open_loop_correlates_with_cosmos(shared_data):
    spec = importlib.util.spec_from_file_location("spen_open_loop", REPO / "experiments" / "spen_farm" / "open_loop.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.run(shared_data)
    assert result["max_budget_residual_mm"] < 1e-9
    # measured R = 0.709 (README); 0.6 leaves a margin for parameter changes, far above noise
    assert result["COSMOS"]["R"] > 0.6
    assert result["COSMOS"]["n"] == 730
    assert result["TDT mean"]["R"] > 0.5  # measured 0.662
