"""Benchmark: batched DEnKF vs per-site loops (filterpy's EnKF update, our own single-site call).

Problem (the Rains et al. 2022 shape at network scale): 10,000 sites x 32 members, state of
3 top-layer soil moistures per site (m3 m-3), one backscatter observation per site (dB), linear
observation operator ``y = c + D * x_1`` (a linearised WCM soil term), R = 1.5 dB^2.

Timed, interleaved in one process so that machine noise hits all variants alike:

(a) ``denkf_analysis`` on the whole (10000, 32, 3) batch (incl. evaluating h for all members);
(b) a per-site loop over ``filterpy.kalman.EnsembleKalmanFilter.update`` (stochastic EnKF, the
    usual off-the-shelf choice; its ensemble ``sigmas``/mean ``x`` are set from our ensemble and
    reset outside the timer; ``hx`` is the same linear operator, ``fx`` is unused);
(c) a per-site loop over ``denkf_analysis`` on one site's (32, 3) arrays.

Also times the pure-numpy kernel (``use_numba=False``), the general any-p path (``fast=False``),
and the batched stochastic EnKF and ETKF.  Reports the best of ``--repeats`` runs.
Usage: ``python benchmarks/filters.py [--sites 10000] [--repeats 5] [--write benchmarks/filters.md]``
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from s1da.components.filters import denkf_analysis, etkf_analysis, numba_available, stochastic_enkf_analysis

N_MEMBERS = 32
N_STATE = 3
INTERCEPT_DB = -20.0
SLOPE_DB = 40.0
ERROR_VARIANCE = 1.5


def make_problem(n_sites: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    states = rng.normal(0.25, 0.03, (n_sites, N_MEMBERS, N_STATE))
    observed = INTERCEPT_DB + SLOPE_DB * rng.normal(0.25, 0.03, (n_sites, 1))
    error_variance = np.full((n_sites, 1), ERROR_VARIANCE)
    return states, observed, error_variance


def observation_operator(states: np.ndarray) -> np.ndarray:
    return INTERCEPT_DB + SLOPE_DB * states[..., :1]


def batched_denkf(states, observed, error_variance, use_numba=None):
    return denkf_analysis(states, observation_operator(states), observed, error_variance, use_numba=use_numba).states


def batched_denkf_numpy(states, observed, error_variance):
    return batched_denkf(states, observed, error_variance, use_numba=False)


def batched_denkf_general(states, observed, error_variance):
    return denkf_analysis(states, observation_operator(states), observed, error_variance, fast=False).states


def batched_etkf(states, observed, error_variance):
    return etkf_analysis(states, observation_operator(states), observed, error_variance).states


def batched_stochastic(states, observed, error_variance, rng=np.random.default_rng(5)):
    predicted = observation_operator(states)
    z = rng.standard_normal(predicted.shape)
    return stochastic_enkf_analysis(states, predicted, observed, error_variance, standard_normal=z).states


def looped_denkf(states, observed, error_variance):
    out = np.empty_like(states)
    for site in range(states.shape[0]):
        out[site] = denkf_analysis(
            states[site], observation_operator(states[site]), observed[site], error_variance[site]
        ).states
    return out


def make_filterpy_filters(states):
    from filterpy.kalman import EnsembleKalmanFilter

    def hx(x):
        return np.array([INTERCEPT_DB + SLOPE_DB * x[0]])

    def fx(x, dt):
        return x

    filters = []
    for site in range(states.shape[0]):
        enkf = EnsembleKalmanFilter(
            x=states[site].mean(0), P=np.eye(N_STATE) * 1e-3, dim_z=1, dt=1.0, N=N_MEMBERS, hx=hx, fx=fx
        )
        enkf.R = np.array([[ERROR_VARIANCE]])
        filters.append(enkf)
    return filters


def reset_filterpy(filters, states):
    for site, enkf in enumerate(filters):
        enkf.sigmas = states[site].copy()
        enkf.x = states[site].mean(0)


def looped_filterpy(filters, observed):
    for site, enkf in enumerate(filters):
        enkf.update(observed[site])


def best_time(fn, repeats, setup=None):
    times = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description="batched DEnKF vs per-site loops")
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--write", default=None, help="write the markdown table to this file")
    args = parser.parse_args(argv)

    states, observed, error_variance = make_problem(args.sites)
    filters = make_filterpy_filters(states)

    # correctness first: the looped and batched DEnKF agree; filterpy's mean is the same
    # Kalman mean up to its random perturbed observations
    batched = batched_denkf(states, observed, error_variance)
    looped = looped_denkf(states, observed, error_variance)
    max_difference = float(np.abs(batched - looped).max())
    reset_filterpy(filters, states)
    looped_filterpy(filters, observed)
    filterpy_means = np.stack([f.sigmas.mean(0) for f in filters])
    filterpy_mean_difference = float(np.abs(filterpy_means - batched.mean(1)).max())

    variants = {
        "batched DEnKF": batched_denkf,
        "batched DEnKF, numpy kernel": batched_denkf_numpy,
        "batched DEnKF, general p path": batched_denkf_general,
        "batched stochastic EnKF": batched_stochastic,
        "batched ETKF": batched_etkf,
    }
    for variant in variants.values():  # compile the numba kernel outside the timings
        variant(states[:2], observed[:2], error_variance[:2])
    timings = {name: [] for name in [*variants, "loop filterpy", "loop own DEnKF"]}
    for _ in range(args.repeats):  # interleave the variants
        for name, variant in variants.items():
            # fast variants: best of several calls per round (one call is ~10 ms, the noise of the
            # shared machine is of that order too); loops: one call per round (~1 s each)
            timings[name].append(best_time(lambda: variant(states, observed, error_variance), 10))
        timings["loop filterpy"].append(
            best_time(lambda: looped_filterpy(filters, observed), 1, setup=lambda: reset_filterpy(filters, states))
        )
        timings["loop own DEnKF"].append(best_time(lambda: looped_denkf(states, observed, error_variance), 1))
    best = {name: min(values) for name, values in timings.items()}
    base = best["batched DEnKF"]

    lines = [
        f"# Filter benchmark: {args.sites} sites x {N_MEMBERS} members, n_state = {N_STATE}, one observation per site",
        "",
        f"Command: `python benchmarks/filters.py --sites {args.sites} --repeats {args.repeats}` "
        f"(best of {args.repeats} interleaved rounds, batched variants best of 10 calls per round; "
        f"numpy {np.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, shared machine, load average {os.getloadavg()[0]:.1f} at the end of the run).",
        "",
        "| variant | time per analysis of all sites (s) | per site (us) | time / batched DEnKF |",
        "|---|---:|---:|---:|",
    ]
    for name, seconds in best.items():
        lines.append(f"| {name} | {seconds:.4f} | {1e6 * seconds / args.sites:.2f} | {seconds / base:.1f}x |")
    numpy_base = best["batched DEnKF, numpy kernel"]
    lines += [
        "",
        f"numba kernel used by the default path: {numba_available()}.",
        "",
        f"Speed-up of the batched DEnKF: **{best['loop filterpy'] / base:.0f}x** over the per-site filterpy "
        f"`EnsembleKalmanFilter.update` loop, **{best['loop own DEnKF'] / base:.0f}x** over the per-site loop of our "
        "own `denkf_analysis` (same process, same data, interleaved). With the pure-numpy kernel "
        f"(`use_numba=False`): **{best['loop filterpy'] / numpy_base:.0f}x** and "
        f"**{best['loop own DEnKF'] / numpy_base:.0f}x**.",
        "",
        f"Checks in the same run: batched vs looped DEnKF max |difference| = {max_difference:.1e}; "
        f"filterpy (stochastic, perturbed obs) ensemble mean vs DEnKF mean max |difference| = "
        f"{filterpy_mean_difference:.1e} m3 m-3 (sampling noise of filterpy's uncentred perturbations).",
        "",
        "filterpy's update also evaluates `hx` per member in Python and inverts S with `np.linalg.inv`; "
        "our loop pays the input validation and diagnostics per call, which the batched call pays once.",
        "",
        "Why the batched path is fast: with one observation every filter is a rank-one update "
        "(`components/filters/kernels.py`), so only one kernel touches the (site, member, state) array. "
        "The numpy kernel works on cache-sized blocks of sites with the member axis made contiguous "
        "(reductions over the middle axis of a (site, 32, 3) array, and fresh multi-megabyte temporaries, "
        "were the dominant costs of the first version); the optional numba kernel does two fused passes "
        "per site. The general any-p path (`fast=False`) is kept and tested against both.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        with open(args.write, "w") as handle:
            handle.write(text)
    return best


if __name__ == "__main__":
    main()
