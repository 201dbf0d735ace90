"""Timing of the real-data readers and preprocessing: vectorised over sites vs a per-site loop.

Run: .venv/bin/python benchmarks/realdata_preprocessing.py [--sites 300] [--years 5]
Both variants run side by side in one process; ratios are what to compare (shared machine).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from s1da.components.preprocessing import lai as lai_module
from s1da.components.preprocessing import sentinel1 as pp
from s1da.components.sources import ismn


def synthetic(n_sites: int, years: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    days = pd.date_range("2016-01-01", periods=365 * years, freq="D")
    acquisition_days = days[::2]
    n = len(acquisition_days)
    sites = np.array([f"s{i:04d}" for i in range(n_sites)])
    orbit = np.array([15, 88, 117])[np.arange(n) % 3]
    table = pd.DataFrame({
        "site": np.repeat(sites, n),
        "time": np.tile(acquisition_days + pd.Timedelta(hours=6), n_sites),
        "backscatter": rng.normal(-11, 1.0, n * n_sites),
        "orbit": pd.array(np.tile(orbit, n_sites), dtype="Int64"),
        "incidence_angle": 38.0,
    })
    shape = (len(days), n_sites)
    forcing = xr.Dataset({"air_temperature": (("time", "site"), rng.uniform(-5, 25, shape)),
                          "precipitation": (("time", "site"), rng.gamma(0.5, 4.0, shape))},
                         coords={"time": days, "site": sites})
    lai_dates = days[::10]
    lai = pd.DataFrame(rng.uniform(0.2, 5.0, (len(lai_dates), n_sites)), index=lai_dates, columns=sites)
    return table, forcing, lai


def timed(function, repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=300)
    parser.add_argument("--years", type=int, default=5)
    args = parser.parse_args()
    table, forcing, lai = synthetic(args.sites, args.years)
    print(f"{args.sites} sites x {args.years} years: {len(table)} acquisitions, {lai.shape[0]} LAI dates")

    vectorised = timed(lambda: pp.preprocess(table, forcing))
    groups = {site: frame for site, frame in table.groupby("site")}
    per_site = timed(lambda: [pp.preprocess(frame, forcing.sel(site=[site])) for site, frame in groups.items()], 1)
    print(f"S1 preprocess (steps 1-5): vectorised {vectorised:.3f} s, per-site loop {per_site:.3f} s, "
          f"ratio {per_site / vectorised:.1f}x")

    vectorised = timed(lambda: lai_module.daily_lai(lai))
    per_site = timed(lambda: [lai_module.daily_lai(lai[[c]]) for c in lai.columns], 1)
    print(f"LAI daily spline: vectorised {vectorised:.3f} s, per-site loop {per_site:.3f} s, "
          f"ratio {per_site / vectorised:.1f}x")

    fraye = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ismn_samples" / "FR_Aqui" / "fraye"
    if not fraye.is_dir():
        fraye = Path("/work/shared/data/ismn_samples/FR_Aqui/fraye")
    if fraye.is_dir():
        print(f"ISMN read_station FR_Aqui/fraye (52,045 hourly records): {timed(lambda: ismn.read_station(fraye)):.3f} s")


if __name__ == "__main__":
    main()
