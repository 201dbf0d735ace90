"""Print the OSSE table of a twin experiment's store and check issue 12's calibration targets.

Usage: ``python experiments/osse_statistics.py STORE.zarr``.  The statistics are those of
:func:`s1da.components.sources.twin_osse.osse_statistics` (network medians), beside the values
Rains et al. (2022) report for real Sentinel-1.
"""

from __future__ import annotations

import argparse

from s1da.components.sources.twin_osse import COLLAPSED_SPREAD, osse_statistics, osse_table
from s1da.framework.store import EnsembleStore

TARGETS = {
    "median_s1_temporal_sd": (0.6, 1.0),
    "median_wcm_fit_rmsd": (0.5, 1.0),
    "median_svr_fit_rmsd": (0.5, 1.0),
    "median_open_loop_spread_s1_days": (0.01, float("inf")),
    "share_collapsed_s1_days": (0.0, 0.10),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store")
    args = parser.parse_args()
    statistics = osse_statistics(EnsembleStore.open(args.store))
    print("| statistic | units | paper (real S1) | twin (median over sites) |")
    print("| --- | --- | ---: | ---: |")
    for name, units, paper, twin in osse_table(statistics):
        print(f"| {name} | {units} | {'' if paper is None else f'{paper:.3g}'} | {twin:.3g} |")
    print(f"| share of all S1 site-days with spread < {COLLAPSED_SPREAD} | 1 | | {statistics.attrs['share_collapsed_s1_days']:.3g} |")
    print()
    for key, (low, high) in TARGETS.items():
        value = statistics.attrs.get(key)
        verdict = "missing" if value is None else ("ok" if low <= value <= high else "OUT OF RANGE")
        print(f"{key}: {value if value is None else round(value, 4)} (target {low}..{high}) {verdict}")


if __name__ == "__main__":
    main()
