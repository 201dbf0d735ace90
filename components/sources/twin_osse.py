"""OSSE calibration statistics of a twin experiment, computed from its store.

An OSSE is calibrated by comparing the statistics of its simulated *inputs* with those of real
data (Errico et al. 2013, QJRMS 139), never its DA outcomes.  :func:`osse_statistics` computes,
per site and as network medians, the statistics Rains et al. (2022) report for real,
orbit-normalised Sentinel-1 at the ISMN sites, and the open-loop ensemble spread the DA needs:

* ``s1_temporal_sd``: temporal SD of the assimilated (preprocessed) S1 (dB);
* ``<op>_simulation_sd``, ``<op>_fit_rmsd``: SD of the operator's simulation from the open-loop
  mean and its RMSD against S1 on S1 days (dB), from the ``calibration`` group;
* ``r_open_loop_s1``: Pearson R of open-loop mean surface SM and S1;
* ``open_loop_spread_s1_days``: median ensemble SD (ddof 1) of surface SM on S1 days (m3 m-3), and
  ``collapsed_spread_share``: share of S1 days with a spread below ``COLLAPSED_SPREAD``;
* ``r_open_loop_insitu``, ``r_open_loop_truth``: R of the open-loop mean against in situ and
  (twin) the truth (Martens et al. 2017 report R about 0.6 for GLEAM v3 against in situ);
* ``s1_noise_variance``: the noise variance the twin adds to S1 (dB2), and per DA run
  ``<op>_assigned_error_variance``: the R the filter used (median over S1 days).

``PAPER`` holds the paper's numbers for the same statistics; :func:`osse_table` puts both side
by side (the rows of ``experiments/rains2021.md``'s OSSE table).
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from s1da.framework.metrics import pearson_r

COLLAPSED_SPREAD = 0.002
"""m3 m-3: an open-loop spread below this counts as collapsed."""

PAPER: dict[str, float] = {
    "s1_temporal_sd": 0.80,
    "wcm_simulation_sd": 0.25,
    "svr_simulation_sd": 0.29,
    "wcm_fit_rmsd": 0.73,
    "svr_fit_rmsd": 0.67,
    "r_open_loop_s1": 0.40,
    "r_open_loop_insitu": 0.6,
}
"""Rains et al. (2022) for real S1 after orbit normalisation; R vs in situ from Martens et al. (2017)."""

LABELS: dict[str, tuple[str, str]] = {
    "s1_temporal_sd": ("temporal SD of S1", "dB"),
    "wcm_simulation_sd": ("SD of WCM simulation", "dB"),
    "svr_simulation_sd": ("SD of SVR simulation", "dB"),
    "wcm_fit_rmsd": ("fit RMSD WCM", "dB"),
    "svr_fit_rmsd": ("fit RMSD SVR", "dB"),
    "r_open_loop_s1": ("R(open-loop SM, S1)", "1"),
    "open_loop_spread_s1_days": ("open-loop spread of surface SM on S1 days", "m3 m-3"),
    "collapsed_spread_share": (f"share of S1 days with spread < {COLLAPSED_SPREAD}", "1"),
    "r_open_loop_insitu": ("open-loop R vs in situ", "1"),
    "r_open_loop_truth": ("open-loop R vs truth", "1"),
    "s1_noise_variance": ("S1 noise variance added by the twin", "dB2"),
    "wcm_assigned_error_variance": ("R assigned, WCM run", "dB2"),
    "svr_assigned_error_variance": ("R assigned, SVR run", "dB2"),
}


def _site_time(dataset: xr.Dataset, name: str) -> np.ndarray:
    return np.asarray(dataset[name].transpose("time", "site").values, dtype=float)


def _nan_sd(values: np.ndarray, where: np.ndarray) -> np.ndarray:
    masked = np.where(where, values, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanstd(masked, axis=0, ddof=1)


def _nan_median(values: np.ndarray, axis=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(values, axis=axis)


def _operator_statistics(store, observed: np.ndarray, on_s1: np.ndarray, per_site: dict) -> None:
    if not store.has_group("calibration"):
        return
    calibration = store.read("calibration")
    for name in calibration.data_vars:
        if not name.endswith("_simulated_backscatter"):
            continue
        label = name[: -len("_simulated_backscatter")]
        simulated = _site_time(calibration, name)
        residual = np.where(on_s1, simulated - observed, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            per_site[f"{label}_fit_rmsd"] = np.sqrt(np.nanmean(residual**2, axis=0))
        per_site[f"{label}_simulation_sd"] = _nan_sd(simulated, on_s1)
        run = f"da_{label}"
        if store.has_group(run):
            per_site[f"{label}_assigned_error_variance"] = _nan_median(_site_time(store.read(run), "observation_error_variance"), axis=0)


def osse_statistics(store, min_samples: int = 30) -> xr.Dataset:
    """Per-site OSSE statistics (module docstring) with network medians in ``attrs``.

    ``store`` is an :class:`~s1da.framework.store.EnsembleStore` of a finished (or at least
    open-loop and calibrated) experiment.  Variables are ``(site,)``; statistics whose groups are
    missing (no in situ, no truth, no calibration) are left out.  ``attrs["median_<name>"]``
    holds the network median of each, ``attrs["n_s1_days"]`` the number of S1 site-days.
    """
    observations = store.read("observations")
    observed = _site_time(observations, "backscatter")
    on_s1 = np.isfinite(observed)
    per_site: dict[str, np.ndarray] = {"s1_temporal_sd": _nan_sd(observed, on_s1)}
    _operator_statistics(store, observed, on_s1, per_site)

    open_loop = store.read("open_loop")["surface_soil_moisture"].transpose("time", "member", "site")
    spread = open_loop.std("member", ddof=1).values
    mean = open_loop.mean("member").values
    per_site["r_open_loop_s1"] = pearson_r(mean, np.where(on_s1, observed, np.nan), axis=0, min_samples=min_samples)
    per_site["open_loop_spread_s1_days"] = _nan_median(np.where(on_s1, spread, np.nan), axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        per_site["collapsed_spread_share"] = np.nanmean(np.where(on_s1, spread < COLLAPSED_SPREAD, np.nan), axis=0)
    if store.has_group("insitu"):
        insitu = _site_time(store.read("insitu"), "insitu_soil_moisture")
        per_site["r_open_loop_insitu"] = pearson_r(mean, insitu, axis=0, min_samples=min_samples)
    if store.has_group("truth"):
        truth = store.read("truth")
        per_site["r_open_loop_truth"] = pearson_r(mean, _site_time(truth, "surface_soil_moisture"), axis=0, min_samples=min_samples)
        if "s1_noise_variance" in truth:
            per_site["s1_noise_variance"] = np.asarray(truth["s1_noise_variance"].values, dtype=float)

    sites = observations["site"].values
    data = {}
    for name, values in per_site.items():
        long_name, units = LABELS.get(name, (name.replace("_", " "), "1"))
        data[name] = xr.DataArray(values, dims="site", coords={"site": sites}, attrs={"units": units, "long_name": long_name})
    result = xr.Dataset(data)
    result.attrs = {f"median_{name}": float(_nan_median(values)) for name, values in per_site.items()}
    result.attrs["share_collapsed_s1_days"] = float(np.mean(spread[on_s1] < COLLAPSED_SPREAD)) if on_s1.any() else float("nan")
    result.attrs["n_s1_days"] = int(on_s1.sum())
    return result


def osse_table(statistics: xr.Dataset) -> list[tuple[str, str, float | None, float]]:
    """Rows ``(statistic, units, paper value or None, twin network median)`` of the OSSE table."""
    rows = []
    for name in statistics.data_vars:
        long_name, units = LABELS.get(name, (name, "1"))
        rows.append((long_name, units, PAPER.get(name), statistics.attrs[f"median_{name}"]))
    return rows


PAPER_RESULTS: dict[str, dict[str, float]] = {
    "wcm": {"mean_delta_r": 0.037, "percent_improved": 60.0, "mean_abs_increment": 0.007},
    "svr": {"mean_delta_r": 0.025, "percent_improved": 67.0, "mean_abs_increment": 0.005},
}
"""Rains et al. (2022): network mean delta R vs in situ, share of sites improved, mean |increment|."""


def bootstrap_interval(values, statistic, n_resamples: int = 2000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval (Efron & Tibshirani 1993) of ``statistic`` over sites.

    ``values`` is ``(site,)`` (NaN sites are left out before resampling); ``statistic`` maps an
    array of resampled site values to a number.
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, values.size, size=(n_resamples, values.size))
    statistics = np.array([statistic(values[row]) for row in draws])
    tail = (1.0 - level) / 2.0
    return float(np.quantile(statistics, tail)), float(np.quantile(statistics, 1.0 - tail))


def results_table(store, operators=("wcm", "svr"), n_resamples: int = 2000, seed: int = 0) -> dict[str, dict[str, object]]:
    """The paper's results (mean delta R vs in situ, % of sites improved, mean |increment|) per
    operator from the store's ``validation`` group, with 95 % bootstrap intervals over sites and,
    for a twin, the same against the truth."""
    if store.has_group("validation/network"):
        return _results_from_tables(store, operators, n_resamples, seed)
    validation = store.read("validation")
    table = {}
    for label in operators:
        if f"delta_r_{label}" not in validation:
            continue
        row: dict[str, object] = {}
        for reference, suffix in (("insitu", ""), ("truth", "_truth")):
            name = f"delta_r_{label}{suffix}"
            if name not in validation:
                continue
            delta = np.asarray(validation[name].values, dtype=float)
            finite = delta[np.isfinite(delta)]
            row[f"mean_delta_r_{reference}"] = float(finite.mean()) if finite.size else float("nan")
            row[f"mean_delta_r_{reference}_ci"] = bootstrap_interval(delta, np.mean, n_resamples, seed)
            row[f"percent_improved_{reference}"] = float(100.0 * (finite > 0).mean()) if finite.size else float("nan")
            row[f"percent_improved_{reference}_ci"] = bootstrap_interval(delta, lambda x: 100.0 * np.mean(x > 0), n_resamples, seed)
        increments = np.asarray(validation[f"mean_abs_increment_{label}"].values, dtype=float)
        row["mean_abs_increment"] = float(validation.attrs.get(f"mean_abs_increment_{label}", np.nanmean(increments)))
        row["mean_abs_increment_ci"] = bootstrap_interval(increments, np.mean, n_resamples, seed)
        table[label] = row
    return table


def _results_from_tables(store, operators, n_resamples: int, seed: int) -> dict[str, dict[str, object]]:
    """:func:`results_table` from the tidy validation tables (``validation/network``, intervals included)."""
    network = store.read("validation/network").load()
    increments = store.read("validation/increments").load()["mean_abs_increment"]
    attributes = store.read("validation").attrs  # over all analyses, as the flat layout's
    table = {}
    for label in operators:
        run = f"da_{label}"
        if run not in network["run"].values:
            continue
        row: dict[str, object] = {}
        for reference in network["reference"].values:
            cell = network.sel(run=run, reference=reference)
            for name in ("mean_delta_r", "percent_improved"):
                row[f"{name}_{reference}"] = float(cell[name])
                row[f"{name}_{reference}_ci"] = (float(cell[f"{name}_low"]), float(cell[f"{name}_high"]))
        site_increments = increments.sel(run=run).values
        row["mean_abs_increment"] = float(attributes.get(f"mean_abs_increment_{label}", np.nanmean(site_increments)))
        row["mean_abs_increment_ci"] = bootstrap_interval(site_increments, np.mean, n_resamples, seed)
        table[label] = row
    return table
