"""Benchmark of the observation operators (results are written to benchmarks/operators.md).

1. SVR calibration, 139 sites x 400 observations: ``SupportVectorOperator`` (precomputed Gram
   matrices, sequential and joblib-parallel) vs a sequential loop of sklearn
   ``GridSearchCV(SVR(kernel="rbf"), n_jobs=1)`` over the same grid and the same 5 contiguous
   folds.  Checks that the selected (C, gamma) are identical, records wall-time ratios measured
   side by side in this run.
2. WCM calibration time for the same 139 sites (16-corner TRF multistart).
3. Predict throughput for 32 members x 10,000 sites (the 139 fitted sites tiled to 10,000 through
   ``to_dataset``/``from_dataset``).

Usage: python benchmarks/operators.py [--sites 139] [--obs 400] [--out benchmarks/operators.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import joblib
import numpy as np
import sklearn
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.svm import SVR

from s1da.components.operators import SupportVectorOperator, WaterCloudModel, water_cloud_backscatter
from s1da.framework.randomness import Purpose, stream


def synthetic_network(n_sites: int, n_obs: int, entropy: int = 2022):
    """WCM-generated backscatter with site-specific parameters, seasonal LAI, 0.5 dB noise."""
    sm, lai, sigma = (np.empty((n_sites, n_obs)) for _ in range(3))
    day = np.linspace(0.0, 3.0, n_obs)  # ~3 seasons of S1 acquisitions
    for site in range(n_sites):
        rng = stream(entropy, site, Purpose.TWIN_OBSERVATION_NOISE)
        a, b = rng.uniform(0.05, 0.3), rng.uniform(0.05, 0.4)
        c, d = rng.uniform(-22, -14), rng.uniform(15, 45)
        wet = 0.25 + 0.08 * np.cos(2 * np.pi * day) + rng.normal(0, 0.04, n_obs)
        sm[site] = np.clip(wet, 0.05, 0.45)
        lai[site] = 0.3 + rng.uniform(2, 5) * np.clip(np.sin(np.pi * (day % 1.0)), 0, None) ** 2
        sigma[site] = water_cloud_backscatter(sm[site], lai[site], a, b, c, d) + rng.normal(0, 0.5, n_obs)
    return sm, lai, sigma


def sklearn_reference(sm, lai, sigma, operator):
    """Sequential GridSearchCV over the same grid and contiguous folds; returns (C, gamma) per site."""
    selected = []
    for site in range(sm.shape[0]):
        features = np.stack([sm[site], lai[site]], axis=-1)
        features = (features - features.mean(axis=0)) / features.std(axis=0)
        search = GridSearchCV(
            SVR(kernel="rbf", epsilon=operator.epsilon),
            {"C": list(operator.c_grid), "gamma": list(operator.gamma_grid)},
            cv=KFold(operator.n_folds),
            scoring="neg_root_mean_squared_error",
            n_jobs=1,
        ).fit(features, sigma[site])
        selected.append((search.best_params_["C"], search.best_params_["gamma"]))
    return np.array(selected)


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=139)
    parser.add_argument("--obs", type=int, default=400)
    parser.add_argument("--predict-sites", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=32)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("operators.md"))
    args = parser.parse_args(argv)
    sm, lai, sigma = synthetic_network(args.sites, args.obs)
    site_ids = np.arange(args.sites)

    svr_config = SupportVectorOperator(n_jobs=1)
    svr, t_svr_seq = timed(svr_config.fit, {"soil_moisture": sm, "lai": lai}, sigma, site_ids=site_ids)
    print(f"SupportVectorOperator n_jobs=1: {t_svr_seq:.1f} s", flush=True)
    svr_par, t_svr_par = timed(SupportVectorOperator(n_jobs=-1).fit, {"soil_moisture": sm, "lai": lai}, sigma, site_ids=site_ids)
    print(f"SupportVectorOperator n_jobs=-1: {t_svr_par:.1f} s", flush=True)
    reference, t_reference = timed(sklearn_reference, sm, lai, sigma, svr_config)
    print(f"GridSearchCV loop: {t_reference:.1f} s", flush=True)
    ours = np.stack([svr.hyperparameters["C"], svr.hyperparameters["gamma"]], axis=1)
    identical = int(np.sum(np.all(ours == reference, axis=1)))
    workers_identical = all(
        np.array_equal(svr.to_dataset()[v].values, svr_par.to_dataset()[v].values) for v in svr.to_dataset().data_vars
    )

    wcm, t_wcm = timed(WaterCloudModel().fit, {"soil_moisture": sm, "lai": lai}, sigma, site_ids=site_ids)
    print(f"WaterCloudModel fit: {t_wcm:.1f} s", flush=True)

    # predict throughput: tile the fitted sites to predict_sites sites, evaluate (member, site)
    tile = np.arange(args.predict_sites) % args.sites
    wcm_big = WaterCloudModel.from_dataset(wcm.to_dataset().isel(site=tile).assign_coords(site=np.arange(args.predict_sites)))
    svr_big = SupportVectorOperator.from_dataset(svr.to_dataset().isel(site=tile).assign_coords(site=np.arange(args.predict_sites)))
    rng = np.random.default_rng(0)
    member_sm = rng.uniform(0.1, 0.4, (args.members, args.predict_sites))
    member_lai = np.broadcast_to(lai[tile, 0], member_sm.shape)
    throughput = {}
    for name, operator in (("WCM", wcm_big), ("SVR", svr_big)):
        operator.predict({"soil_moisture": member_sm[:2], "lai": member_lai[:2]})  # warm-up
        repeats = []
        for _ in range(3):
            _, seconds = timed(operator.predict, {"soil_moisture": member_sm, "lai": member_lai})
            repeats.append(seconds)
        throughput[name] = min(repeats)
        print(f"{name} predict {args.members}x{args.predict_sites}: {min(repeats) * 1e3:.1f} ms", flush=True)
    n_sv = svr.to_dataset()["n_support"].values

    text = f"""# Observation-operator benchmarks

Produced by `python benchmarks/operators.py` (synthetic WCM network, seed 2022; {args.sites} sites x
{args.obs} observations; 0.5 dB noise). Machine: {platform.processor() or platform.machine()},
{os.cpu_count()} cores (joblib sees {joblib.cpu_count()}); numpy {np.__version__}, scikit-learn {sklearn.__version__}.
All timings in one run, side by side (shared, noisy machine: read ratios, not absolutes).
Load average (1, 5, 15 min) at the end of the run: {", ".join(f"{x:.1f}" for x in os.getloadavg())}; with a load
above the core count, the joblib-parallel timing cannot show a speed-up.

## SVR calibration ({args.sites} sites, grid 5 gamma x 10 C, 5 contiguous folds)

| implementation | wall time (s) | speed-up vs GridSearchCV loop |
|---|---|---|
| sklearn `GridSearchCV(SVR(kernel="rbf"), n_jobs=1)`, sequential loop over sites | {t_reference:.1f} | 1 |
| `SupportVectorOperator(n_jobs=1)` (Gram matrix once per gamma, `kernel="precomputed"`) | {t_svr_seq:.1f} | {t_reference / t_svr_seq:.2f} |
| `SupportVectorOperator(n_jobs=-1)` (joblib loky over sites, {joblib.cpu_count()} workers) | {t_svr_par:.1f} | {t_reference / t_svr_par:.2f} |

Selected (C, gamma) identical to GridSearchCV at **{identical} / {args.sites}** sites.
n_jobs=1 and n_jobs=-1 give bit-identical fitted operators: **{workers_identical}**.
Support vectors per site: median {int(np.median(n_sv))}, max {int(n_sv.max())} (of {args.obs}).
The libsvm solves dominate (250 per site); the precomputed Gram matrices only remove the kernel
evaluations, so the sequential gain is modest; the remaining speed-up comes from running sites in
parallel.

## WCM calibration ({args.sites} sites)

`WaterCloudModel().fit`: **{t_wcm:.1f} s** ({t_wcm / args.sites * 1e3:.0f} ms per site: 16 TRF solves with
the analytic Jacobian).

## Predict throughput ({args.members} members x {args.predict_sites:,} sites, one call)

| operator | time per call (ms) | evaluations per second |
|---|---|---|
| WCM | {throughput['WCM'] * 1e3:.1f} | {args.members * args.predict_sites / throughput['WCM']:.3g} |
| SVR (padded support vectors, {int(n_sv.max())} per site) | {throughput['SVR'] * 1e3:.1f} | {args.members * args.predict_sites / throughput['SVR']:.3g} |

(the {args.predict_sites:,} sites tile the {args.sites} fitted ones through `to_dataset`/`from_dataset`.)
"""
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
