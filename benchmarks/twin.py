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

from s1da.components.sources.twin import build_network, run_truth, simulate_backscatter, simulate_insitu


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
    gleam_section(n_sites, years)


def gleam_factory(statics):
    """Adapter from the twin's statics Dataset to the GLEAM branch's SiteStatics (if installed)."""
    from s1da.components.gleam.model import GleamModel
    from s1da.components.gleam.statics import SiteStatics

    return GleamModel(
        SiteStatics(
            site_id=statics["site"].values,
            fraction_tall=statics["f_T"].values,
            fraction_short=statics["f_H"].values,
            fraction_bare=statics["f_B"].values,
            fraction_water=statics["f_W"].values,
            saturation=statics["w_sat"].values,
            field_capacity=statics["w_fc"].values,
            critical=statics["w_c"].values,
            wilting_point=statics["w_wp"].values,
            residual=statics["w_r"].values,
            vod_p01=statics["vod_p01"].values,
            vod_p99=statics["vod_p99"].values,
            lai_p01=statics["lai_p01"].values,
            lai_p99=statics["lai_p99"].values,
        )
    )


def gleam_section(n_sites: int, years: int) -> None:
    """Truth run with GLEAM and the information content of the truth observations."""
    try:
        import s1da.components.gleam.model  # noqa: F401
    except ImportError:
        print("\n(GLEAM not installed: truth-run section skipped)")
        return
    network = build_network(n_sites, "2017-01-01", f"{2017 + years}-01-01", 2022)
    start = time.perf_counter()
    truth = run_truth(network, gleam_factory, spinup_years=1)
    elapsed = time.perf_counter() - start
    sm = truth["surface_soil_moisture"]
    observations = simulate_backscatter(network, sm)
    insitu = simulate_insitu(network, sm)
    rows = []
    for s, cover in enumerate(network.sites["land_cover"].values):
        b = observations["backscatter"].values[:, s]
        ok = np.isfinite(b)
        lai = network.lai.values[ok, s]
        design = np.c_[np.ones(ok.sum()), lai, lai**2]
        residual = b[ok] - design @ np.linalg.lstsq(design, b[ok], rcond=None)[0]
        ok_insitu = np.isfinite(insitu.values[:, s])
        rows.append(
            {
                "land cover": cover,
                "R(sigma0, w1)": np.corrcoef(b[ok], sm.values[ok, s])[0, 1],
                "partial R(sigma0, w1; LAI)": np.corrcoef(residual, sm.values[ok, s])[0, 1],
                "R(in situ, w1)": np.corrcoef(insitu.values[ok_insitu, s], sm.values[ok_insitu, s])[0, 1],
                "SD w1": sm.values[:, s].std(),
                "SD 0-5 cm": observations["surface_layer_soil_moisture"].values[:, s].std(),
            }
        )
    table = pd.DataFrame(rows).groupby("land cover").median()
    print(f"\n### Truth run with GLEAM (1 year spin-up): {elapsed:.1f} s\n")
    print("Medians per land cover (truth backscatter after masks, orbit offsets not removed):\n")
    print("| land cover | " + " | ".join(table.columns) + " |")
    print("|---|" + "---|" * len(table.columns))
    for cover, row in table.iterrows():
        print(f"| {cover} | " + " | ".join(f"{v:.2f}" if abs(v) >= 0.1 else f"{v:.3f}" for v in row) + " |")


if __name__ == "__main__":
    main()
