"""Print the OSSE table of a twin experiment's store and check issue 12's calibration targets.

Usage: ``python experiments/osse_statistics.py STORE.zarr``.  The statistics are those of
:func:`s1da.components.sources.twin_osse.osse_statistics` (network medians), beside the values
Rains et al. (2022) report for real Sentinel-1.
"""

from __future__ import annotations

import argparse

from s1da.components.sources.twin_osse import COLLAPSED_SPREAD, PAPER_RESULTS, osse_statistics, osse_table, results_table
from s1da.framework.store import EnsembleStore

TARGETS = {
    "median_s1_temporal_sd": (0.6, 1.0),
    "median_wcm_fit_rmsd": (0.5, 1.0),
    "median_svr_fit_rmsd": (0.5, 1.0),
    "median_open_loop_spread_s1_days": (0.01, float("inf")),
    "share_collapsed_s1_days": (0.0, 0.10),
}


def _with_interval(value: float, interval: tuple[float, float], digits: int) -> str:
    return f"{value:+.{digits}f} [{interval[0]:+.{digits}f}, {interval[1]:+.{digits}f}]"


def print_results(store) -> None:
    """The paper's results table beside the twin's, with 95 % bootstrap intervals over sites."""
    table = results_table(store)
    print("| quantity | operator | paper | twin vs in situ [95 % CI] | twin vs truth [95 % CI] |")
    print("| --- | --- | ---: | ---: | ---: |")
    for label, row in table.items():
        paper = PAPER_RESULTS[label]
        print(
            f"| mean delta R | {label.upper()} | {paper['mean_delta_r']:+.3f} | "
            f"{_with_interval(row['mean_delta_r_insitu'], row['mean_delta_r_insitu_ci'], 4)} | "
            f"{_with_interval(row['mean_delta_r_truth'], row['mean_delta_r_truth_ci'], 4)} |"
        )
        print(
            f"| sites improved (%) | {label.upper()} | {paper['percent_improved']:.0f} | "
            f"{row['percent_improved_insitu']:.0f} [{row['percent_improved_insitu_ci'][0]:.0f}, {row['percent_improved_insitu_ci'][1]:.0f}] | "
            f"{row['percent_improved_truth']:.0f} [{row['percent_improved_truth_ci'][0]:.0f}, {row['percent_improved_truth_ci'][1]:.0f}] |"
        )
        low, high = row["mean_abs_increment_ci"]
        print(f"| mean absolute increment (m3 m-3) | {label.upper()} | {paper['mean_abs_increment']:.3f} | {row['mean_abs_increment']:.4f} [{low:.4f}, {high:.4f}] | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store")
    args = parser.parse_args()
    store = EnsembleStore.open(args.store)
    statistics = osse_statistics(store)
    print("| statistic | units | paper (real S1) | twin (median over sites) |")
    print("| --- | --- | ---: | ---: |")
    for name, units, paper, twin in osse_table(statistics):
        print(f"| {name} | {units} | {'' if paper is None else f'{paper:.3g}'} | {twin:.3g} |")
    print(f"| share of all S1 site-days with spread < {COLLAPSED_SPREAD} | 1 | | {statistics.attrs['share_collapsed_s1_days']:.3g} |")
    print()
    print_results(store)
    print()
    for key, (low, high) in TARGETS.items():
        value = statistics.attrs.get(key)
        verdict = "missing" if value is None else ("ok" if low <= value <= high else "OUT OF RANGE")
        print(f"{key}: {value if value is None else round(value, 4)} (target {low}..{high}) {verdict}")


if __name__ == "__main__":
    main()
