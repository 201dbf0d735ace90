"""Benchmark of the forcing perturber and the metrics (results: benchmarks/perturbers.md).

Run: .venv/bin/python benchmarks/perturbers.py [--sites 1000] [--days 365] [--members 32]

All variants are timed side by side in one process (best of --repeat runs), so their ratios are
meaningful on a shared, noisy machine; absolute times are not.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from s1da.components.perturbers import ForcingPerturbationParameters, ForcingPerturber
from s1da.framework import metrics


def best_of(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def forcing(n_days: int, n_sites: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "precipitation": rng.gamma(0.5, 4.0, (n_days, n_sites)),
        "air_temperature": rng.normal(10, 8, (n_days, n_sites)),
        "net_radiation": rng.normal(100, 60, (n_days, n_sites)),
        "lai": rng.uniform(0, 4, (n_days, n_sites)),
    }


def perturb_days(perturber: ForcingPerturber, data, site_ids, members) -> None:
    state = perturber.initial_state(site_ids, members)
    for t in range(next(iter(data.values())).shape[0]):
        _, state = perturber.perturb({k: v[t] for k, v in data.items()}, t, state)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--members", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    site_ids = np.arange(args.sites)
    data = forcing(args.days, args.sites)
    print(f"perturber: {args.sites} sites x {args.members} members x {args.days} days")
    rows = []
    for label, params in [
        ("block of 32 days per site and draw (default)", ForcingPerturbationParameters(block_days=32)),
        ("block of 1 day (one draw per site per day)", ForcingPerturbationParameters(block_days=1)),
        ("block of 32 days, preset 'ldas' correlation", ForcingPerturbationParameters(correlation="ldas")),
    ]:
        seconds = best_of(lambda: perturb_days(ForcingPerturber(params, entropy=1), data, site_ids, args.members), args.repeat)
        rows.append((label, seconds))
    base = rows[0][1]
    for label, seconds in rows:
        per_day = seconds / args.days * 1e3
        print(f"  {label:48s} {seconds:7.3f} s  ({per_day:6.2f} ms/day, x{seconds / base:5.2f})")

    # metrics: vectorised over sites vs a Python loop over sites with np.corrcoef
    n_days = 3650
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n_days, args.sites))
    y = x + rng.normal(size=(n_days, args.sites))
    x[rng.uniform(size=x.shape) < 0.3] = np.nan

    def loop():
        out = np.empty(args.sites)
        for s in range(args.sites):
            keep = np.isfinite(x[:, s]) & np.isfinite(y[:, s])
            out[s] = np.corrcoef(x[keep, s], y[keep, s])[0, 1]
        return out

    np.testing.assert_allclose(metrics.pearson_r(x, y), loop(), atol=1e-12)
    vectorised = best_of(lambda: metrics.pearson_r(x, y), args.repeat)
    looped = best_of(loop, args.repeat)
    print(f"pearson_r: {args.sites} sites x {n_days} days (30 % missing)")
    print(f"  vectorised {vectorised:7.3f} s, per-site loop {looped:7.3f} s, ratio x{looped / vectorised:5.1f}")


if __name__ == "__main__":
    main()
