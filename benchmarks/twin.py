"""Build time and climate statistics of the synthetic twin network.

Run: ``python benchmarks/twin.py [n_sites] [years]`` (default 139 sites x 3 years, the paper's
network size).  Prints markdown for benchmarks/twin.md.  The truth soil moisture used for the
observation timings is a smooth synthetic series (the GLEAM truth run is timed elsewhere).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from s1da.components.sources.twin import build_network, simulate_backscatter, simulate_insitu


def best_of(function, repeats: int = 3):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    n_sites = int(sys.argv[1]) if len(sys.argv) > 1 else 139
    years = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    start, end = "2017-01-01", f"{2017 + years}-01-01"
    build_time, network = best_of(lambda: build_network(n_sites, start, end, 2022))
    day = np.arange(len(network.times))[:, None]
    w_sat, w_wp = network.sites["truth_w_sat"].values, network.sites["truth_w_wp"].values
    truth = w_wp + (w_sat - w_wp) * (0.5 + 0.3 * np.sin(2 * np.pi * (day - 30) / 365.25 + network.site_ids))
    backscatter_time, observations = best_of(lambda: simulate_backscatter(network, truth))
    insitu_time, insitu = best_of(lambda: simulate_insitu(network, truth))

    print(f"## Twin network: {n_sites} sites x {years} years ({len(network.times)} days)\n")
    print("| step | best of 3 (s) |\n|---|---|")
    print(f"| build_network | {build_time:.2f} |")
    print(f"| simulate_backscatter | {backscatter_time:.2f} |")
    print(f"| simulate_insitu | {insitu_time:.2f} |\n")

    sites = network.sites
    print("| land cover | share of sites |\n|---|---|")
    for name, share in sites["land_cover"].to_series().value_counts(normalize=True).items():
        print(f"| {name} | {share:.2f} |")
    print()

    forcing = network.true_forcing
    lat = sites["lat"].values
    print("| latitude band | sites | wet-day fraction | P (mm/yr) | T Jan / Jul (degC) | Rn Dec-Jan / Jun-Jul (W m-2) | S1 obs/yr (after masks) | in-situ valid |")
    print("|---|---|---|---|---|---|---|---|")
    months = pd.DatetimeIndex(network.times).month
    winter, summer = np.isin(months, [12, 1]), np.isin(months, [6, 7])
    for low, high in ((36, 42), (42, 48), (48, 55), (55, 65.01)):
        band = (lat >= low) & (lat < high)
        if not band.any():
            continue
        p = forcing["precipitation"].values[:, band]
        t = forcing["air_temperature"].values[:, band]
        rn = forcing["net_radiation"].values[:, band]
        s1 = np.isfinite(observations["backscatter"].values[:, band]).sum(0).mean() / years
        valid = np.isfinite(insitu.values[:, band]).mean()
        print(
            f"| {low}-{int(high)} N | {band.sum()} | {(p > 0).mean():.2f} | {p.sum(0).mean() / years:.0f} | "
            f"{t[months == 1].mean():.1f} / {t[months == 7].mean():.1f} | {rn[winter].mean():.0f} / {rn[summer].mean():.0f} | "
            f"{s1:.0f} | {valid:.2f} |"
        )
    true_p, model_p = forcing["precipitation"].values, network.model_forcing["precipitation"].values
    print(
        f"\nModel vs true precipitation: daily r = {np.corrcoef(true_p.ravel(), model_p.ravel())[0, 1]:.2f}, "
        f"network total ratio = {model_p.sum() / true_p.sum():.2f}; "
        f"backscatter percentiles 1/50/99 = {np.nanpercentile(observations['backscatter'].values, [1, 50, 99]).round(1).tolist()} dB"
    )


if __name__ == "__main__":
    main()
