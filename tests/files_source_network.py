"""Small synthetic site files in every format ``source: {kind: files}`` reads (test helper).

Three sites (ids 3, 7, 11; names alpha, beta, gamma), daily forcing in CSV (site 3, units in the
headers: mm, K, MJ m-2 d-1) and NetCDF (sites 7 and 11, W m-2 / degC / kg m-2 s-1), Sentinel-1 in
linear CSV (alpha, with a ``units`` column), dB CSV (beta, ``[dB]`` header) and dB NetCDF (gamma),
10-daily LAI CSV, and ISMN header+values station folders.  The numbers are smooth functions of
the day plus keyed noise: what matters is the formats, not realism.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from s1da.framework.randomness import Purpose, stream

SITES = pd.DataFrame(
    {
        "site": [3, 7, 11],
        "name": ["alpha", "beta", "gamma"],
        "lat": [45.1, 48.3, 52.0],
        "lon": [7.5, 11.2, 5.1],
        "texture": ["loam", "", "sandy loam"],
        "w_sat": ["", 0.45, ""],
        "w_fc": ["", 0.34, ""],
        "w_c": ["", 0.28, ""],
        "w_wp": ["", 0.14, ""],
        "f_T": [0.2, 0.0, 0.5],
        "f_H": [0.6, 0.9, 0.3],
        "f_B": [0.2, 0.1, 0.2],
        "f_W": [0.0, 0.0, 0.0],
    }
)
FIRST, LAST = pd.Timestamp("2019-03-25"), pd.Timestamp("2019-08-10")
"""Period the files cover (a little more than the experiments use)."""

YAML = """
experiment:
  name: files_tiny
  seed: 11
  members: 8
  spinup_start: 2019-04-01
  start: 2019-05-01
  end: 2019-07-31
  chunk_days: 31
  min_samples: 10
source:
  kind: files
  base_dir: {base_dir}
  sites: sites.csv
  forcing:
    path: forcing/{{site}}.*
  sentinel1:
    path: s1/{{name}}.*
    value_column: backscatter
  lai:
    path: lai/{{name}}_lai.csv
  insitu:
    path: ismn/{{name}}
    max_depth: 0.1
  selection:
    min_insitu_days: 30
    min_backscatter_observations: 20
model:
  kind: gleam
perturbation:
  kind: forcing
operators:
  wcm:
    kind: wcm
filter:
  kind: denkf
"""


def _noise(site: int, purpose: Purpose, size: int) -> np.ndarray:
    return stream(20190401, site, purpose).standard_normal(size)


def daily_weather(site: int, days: pd.DatetimeIndex) -> pd.DataFrame:
    """Precipitation (mm d-1), air temperature (degC), net radiation (W m-2) and a wetness proxy."""
    doy = days.day_of_year.to_numpy()
    noise = _noise(site, Purpose.TWIN_WEATHER, 3 * len(days)).reshape(3, -1)
    rainy = noise[0] > 0.4
    precipitation = np.where(rainy, 4.0 + 6.0 * np.abs(noise[1]), 0.0)
    temperature = 12.0 + 8.0 * np.sin(2 * np.pi * (doy - 110) / 365) + 1.5 * noise[2]
    radiation = 90.0 + 60.0 * np.sin(2 * np.pi * (doy - 80) / 365)
    wetness = pd.Series(precipitation).ewm(halflife=5).mean().to_numpy()
    return pd.DataFrame({"precipitation": precipitation, "air_temperature": temperature,
                         "net_radiation": radiation, "wetness": wetness}, index=days)


def write_network(directory: Path) -> Path:
    """Write every file under ``directory``; returns ``directory``."""
    directory = Path(directory)
    for sub in ("forcing", "s1", "lai", "ismn"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    SITES.to_csv(directory / "sites.csv", index=False)
    days = pd.date_range(FIRST, LAST, freq="D")
    weather = {site: daily_weather(site, days) for site in SITES["site"]}

    # forcing: site 3 as CSV with units in the headers, sites 7 and 11 as one NetCDF each
    w3 = weather[3]
    pd.DataFrame({
        "time": days.strftime("%Y-%m-%d"),
        "precipitation [mm]": w3["precipitation"].round(3),
        "air_temperature [K]": (w3["air_temperature"] + 273.15).round(3),
        "net_radiation [MJ m-2 d-1]": (w3["net_radiation"] * 86400 / 1e6).round(5),
    }).to_csv(directory / "forcing" / "3.csv", index=False)
    for site in (7, 11):
        w = weather[site]
        xr.Dataset(
            {
                "precipitation": ("time", w["precipitation"].to_numpy() / 86400.0, {"units": "kg m-2 s-1"}),
                "air_temperature": ("time", w["air_temperature"].to_numpy(), {"units": "degC"}),
                "net_radiation": ("time", w["net_radiation"].to_numpy(), {"units": "W m-2"}),
            },
            coords={"time": days},
        ).to_netcdf(directory / "forcing" / f"{site}.nc")

    # Sentinel-1: an acquisition every 2-3 days at 17:30 UTC on two relative orbits
    for site, name in zip(SITES["site"], SITES["name"], strict=True):
        w = weather[site]
        acquisition_days = days[::2] if site != 7 else days[::3]
        times = acquisition_days + pd.Timedelta(hours=17, minutes=30)
        noise = _noise(site, Purpose.TWIN_OBSERVATION_NOISE, len(times))
        db = -14.0 + 1.2 * w["wetness"].reindex(acquisition_days).to_numpy() + 0.5 * noise
        orbit = np.where(np.arange(len(times)) % 2 == 0, 15, 88)
        angle = np.where(orbit == 15, 38.5, 41.2)
        if name == "alpha":  # linear powers with a units column
            pd.DataFrame({"time": times.strftime("%Y-%m-%dT%H:%M:%SZ"), "backscatter": 10 ** (db / 10),
                          "units": "linear", "orbit": orbit, "incidence_angle": angle}).to_csv(
                directory / "s1" / "alpha.csv", index=False)
        elif name == "beta":  # dB, unit in the header
            pd.DataFrame({"time": times.strftime("%Y-%m-%d %H:%M"), "backscatter [dB]": db.round(3),
                          "orbit": orbit, "incidence_angle": angle}).to_csv(directory / "s1" / "beta.csv", index=False)
        else:  # NetCDF in dB
            xr.Dataset(
                {"backscatter": ("time", db, {"units": "dB"}), "orbit": ("time", orbit),
                 "incidence_angle": ("time", angle, {"units": "degree"})},
                coords={"time": times},
            ).to_netcdf(directory / "s1" / "gamma.nc")

    # LAI: 10-daily (dekads), starting before and ending after the period
    dekads = pd.date_range(FIRST - pd.Timedelta(days=10), LAST + pd.Timedelta(days=10), freq="10D")
    for site, name in zip(SITES["site"], SITES["name"], strict=True):
        doy = dekads.day_of_year.to_numpy()
        lai = 0.5 + 2.5 * np.exp(-(((doy - 180) / 45.0) ** 2)) + 0.05 * (site % 5)
        pd.DataFrame({"time": dekads.strftime("%Y-%m-%d"), "lai [m2 m-2]": lai.round(3)}).to_csv(
            directory / "lai" / f"{name}_lai.csv", index=False)

    # ISMN header+values: one 0-5 cm sensor per station, records every 6 hours
    for site, name in zip(SITES["site"], SITES["name"], strict=True):
        row = SITES[SITES["site"] == site].iloc[0]
        station = directory / "ismn" / name
        station.mkdir(exist_ok=True)
        hours = pd.date_range(FIRST, LAST + pd.Timedelta(hours=18), freq="6h")
        wetness = weather[site]["wetness"].reindex(hours.floor("D")).to_numpy()
        noise = _noise(site, Purpose.TWIN_INSITU_NOISE, len(hours))
        values = np.clip(0.15 + 0.02 * wetness + 0.005 * noise, 0.02, 0.5)
        file = station / f"NET_NET_{name}_sm_0.050000_0.050000_Probe_20190325_20190810.stm"
        lines = [f"NET NET {name} {row['lat']:.5f} {row['lon']:.5f} 100.00 0.05 0.05 Probe"]
        lines += [f"{t:%Y/%m/%d %H:%M} {v:.4f} G M" for t, v in zip(hours, values, strict=True)]
        file.write_text("\n".join(lines) + "\n")
    return directory


def write_config(directory: Path, base_dir: Path, text: str = YAML) -> Path:
    path = Path(directory) / "files_tiny.yaml"
    path.write_text(text.format(base_dir=base_dir))
    return path
