"""Write a small synthetic network as the files a user of ``source: {kind: files}`` brings.

No third-party data: the content comes from the s1da twin (a truth GLEAM run on synthetic
weather, its Sentinel-1 simulator and in-situ simulator), written in the real formats that
``README.md`` documents, with the variety a real collection has:

* four sites with free integer ids (101, 102, 205, 310) and names; soil as a texture class,
  except one site with measured hydraulic parameters;
* forcing as CSV with units in the headers (mm, K, MJ m-2 d-1) and, for one site, NetCDF
  (kg m-2 s-1, degC, W m-2): the *model* forcing, i.e. with the errors a reanalysis has;
* Sentinel-1 VV per acquisition (17:30 UTC ascending / 05:45 UTC descending), in dB with a
  ``[dB]`` header, one site in linear units with a ``units`` column, all *unmasked* (s1da
  applies the frozen / snow / heavy-rain masks itself, docs/model/validation.md e.2);
* LAI every 10 days (dekads), as from a satellite product;
* ISMN "header + values" station folders (0-5 cm sensor, records every 6 hours);
* site 310 has Sentinel-1 for three months only: the site selection drops it with a warning.

Run from the repository root:  ``python experiments/real_sites_example/make_files.py``
(writes ``experiments/real_sites_example/data/``; then see README.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from s1da.components.gleam import GleamModel
from s1da.components.gleam.sites import statics_from_sites
from s1da.components.sources.twin import build_network, run_truth, simulate_backscatter, simulate_insitu

SITE_IDS = [101, 102, 205, 310]
NAMES = ["alder_farm", "birch_meadow", "cedar_plain", "dune_heath"]
FIRST, LAST = "2016-12-01", "2019-01-31"  # a little more than the YAML's 2017-01-01 .. 2018-12-31
SEED = 4242
NETCDF_SITE = 205
LINEAR_SITE = 102
SHORT_S1_SITE = 310
MEASURED_SOIL_SITE = 101


def simulate(first: str = FIRST, last: str = LAST):
    end_exclusive = pd.Timestamp(last) + pd.Timedelta(days=1)
    network = build_network(None, first, end_exclusive, SEED, site_ids=SITE_IDS)
    truth = run_truth(network, lambda sites: GleamModel(statics_from_sites(sites)), spinup_years=1)
    truth_sm = truth["surface_soil_moisture"]
    backscatter = simulate_backscatter(network, truth_sm, apply_masks=False)
    insitu = simulate_insitu(network, truth_sm)
    return network, backscatter, insitu


def write_files(directory: Path) -> None:
    network, backscatter, insitu = simulate()
    days = pd.DatetimeIndex(network.times)
    sites = network.sites
    for sub in ("forcing", "sentinel1", "lai", "ismn"):
        (directory / sub).mkdir(parents=True, exist_ok=True)

    # ---- site table
    table = pd.DataFrame({
        "site": SITE_IDS,
        "name": NAMES,
        "lat": sites["lat"].values.round(4),
        "lon": sites["lon"].values.round(4),
        "texture": [str(t) for t in sites["texture"].values],
        "f_T": sites["f_T"].values.round(4),
        "f_H": sites["f_H"].values.round(4),
        "f_W": sites["f_W"].values.round(4),
    })
    table.insert(7, "f_B", (1.0 - table[["f_T", "f_H", "f_W"]].sum(axis=1)).round(4))  # the four sum to one
    for column in ("w_sat", "w_fc", "w_c", "w_wp"):  # "measured" parameters (the truth's own) at one site
        table[column] = [round(float(sites[f"truth_{column}"].sel(site=s)), 3) if s == MEASURED_SOIL_SITE else np.nan
                         for s in SITE_IDS]
    table.to_csv(directory / "sites.csv", index=False)

    # ---- forcing (the model forcing: biased like a reanalysis)
    forcing = network.model_forcing
    for site, name in zip(SITE_IDS, NAMES, strict=True):
        one = forcing.sel(site=site)
        if site == NETCDF_SITE:
            xr.Dataset(
                {
                    "precipitation": ("time", one["precipitation"].values / 86400.0,
                                      {"units": "kg m-2 s-1", "long_name": "precipitation flux"}),
                    "air_temperature": ("time", one["air_temperature"].values, {"units": "degC", "long_name": "daily mean air temperature"}),
                    "net_radiation": ("time", one["net_radiation"].values, {"units": "W m-2", "long_name": "daily mean net radiation"}),
                },
                coords={"time": days},
            ).to_netcdf(directory / "forcing" / f"{name}.nc")
        else:
            pd.DataFrame({
                "time": days.strftime("%Y-%m-%d"),
                "precipitation [mm]": one["precipitation"].values.round(2),
                "air_temperature [K]": (one["air_temperature"].values + 273.15).round(2),
                "net_radiation [MJ m-2 d-1]": (one["net_radiation"].values * 86400 / 1e6).round(3),
            }).to_csv(directory / "forcing" / f"{name}.csv", index=False)

    # ---- Sentinel-1: one row per acquisition
    for site, name in zip(SITE_IDS, NAMES, strict=True):
        one = backscatter.sel(site=site).to_dataframe()
        one = one[np.isfinite(one["backscatter"])]
        if site == SHORT_S1_SITE:
            one = one.loc["2018-01-01":"2018-03-31"]
        ascending = one["orbit"].to_numpy() % 2 == 1  # a convention of this example only
        times = pd.DatetimeIndex(one.index) + pd.to_timedelta(np.where(ascending, 17.5, 5.75), unit="h")
        frame = pd.DataFrame({
            "time": times.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "orbit": one["orbit"].to_numpy().astype(int),
            "incidence_angle": one["incidence_angle"].to_numpy().round(2),
        })
        if site == LINEAR_SITE:
            frame.insert(1, "backscatter", (10.0 ** (one["backscatter"].to_numpy() / 10.0)).round(6))
            frame.insert(2, "units", "linear")
        else:
            frame.insert(1, "backscatter [dB]", one["backscatter"].to_numpy().round(3))
        frame.to_csv(directory / "sentinel1" / f"{name}.csv", index=False)

    # ---- LAI every 10 days (dekads 1, 11, 21 of each month)
    dekads = days[days.day.isin([1, 11, 21])]
    lai = network.lai.sel(time=dekads)
    for site, name in zip(SITE_IDS, NAMES, strict=True):
        pd.DataFrame({"time": dekads.strftime("%Y-%m-%d"), "lai [m2 m-2]": lai.sel(site=site).values.round(3)}).to_csv(
            directory / "lai" / f"{name}.csv", index=False)

    # ---- ISMN header + values, 0-5 cm, every 6 hours (a small diurnal cycle around the daily value)
    hours = pd.date_range(days[0], days[-1] + pd.Timedelta(hours=18), freq="6h")
    diurnal = 0.002 * np.sin(2 * np.pi * hours.hour.to_numpy() / 24.0)
    for index, (site, name) in enumerate(zip(SITE_IDS, NAMES, strict=True)):
        daily = insitu.sel(site=site).to_series().reindex(hours.floor("D")).to_numpy()
        values = daily + diurnal
        station = directory / "ismn" / name
        station.mkdir(exist_ok=True)
        file = station / f"EXAMPLE_EXAMPLE_{name}_sm_0.000000_0.050000_Probe_{days[0]:%Y%m%d}_{days[-1]:%Y%m%d}.stm"
        lines = [f"EXAMPLE EXAMPLE {name} {table['lat'][index]:.4f} {table['lon'][index]:.4f} 50.00 0.00 0.05 Probe"]
        lines += [f"{t:%Y/%m/%d %H:%M} {v:.4f} G M" for t, v in zip(hours, values, strict=True) if np.isfinite(v)]
        file.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "data", help="folder to write (default: data/)")
    args = parser.parse_args()
    write_files(args.output)
    print(f"wrote the example files to {args.output}")


if __name__ == "__main__":
    main()
