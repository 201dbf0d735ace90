"""Validation metrics (docs/model/validation.md e), vectorised over sites.

Conventions:

* ``x`` is the simulation (open loop, DA, forward-operator prediction) and ``y`` the reference
  (in situ, observed backscatter); ``bias = mean(x - y)``.
* NaN (or any non-finite value) means missing.  A pair enters a score only where both members
  are finite.  A site with fewer than ``min_samples`` matched samples scores NaN (DD-25: 30 days).
* Time is ``axis`` (default 0); every other axis is kept (sites, runs, ...).
* To score open loop and DA on identical days (docs/model/validation.md e), mask both with
  :func:`matched_mask` first (or use :func:`score_table`, which does it for you).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

DEFAULT_MIN_SAMPLES = 30
"""DD-25: minimum number of matched days per site."""


# --- helpers ------------------------------------------------------------------------------------
def _check_min_samples(min_samples: int) -> int:
    if isinstance(min_samples, bool) or not isinstance(min_samples, (int, np.integer)) or min_samples < 1:
        raise ValueError(f"min_samples must be an integer >= 1, got {min_samples!r}")
    return int(min_samples)


def _pair(x, y, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Float arrays with time moved to axis 0, the validity mask and the matched counts."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"simulation and reference shapes differ: {x.shape} vs {y.shape}")
    if x.ndim == 0:
        raise ValueError("metrics need at least one (time) axis, got scalars")
    try:
        x = np.moveaxis(x, axis, 0)
        y = np.moveaxis(y, axis, 0)
    except np.exceptions.AxisError:
        raise ValueError(f"axis {axis} is out of range for arrays with {x.ndim} dimension(s)") from None
    valid = np.isfinite(x)
    valid &= np.isfinite(y)
    return np.where(valid, x, 0.0), np.where(valid, y, 0.0), valid, valid.sum(axis=0)


def _anomalies(zeroed: np.ndarray, valid: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Deviations from the matched-sample mean (0 where invalid) and their sum of squares.

    ``zeroed`` holds 0 where invalid (as returned by :func:`_pair`).  Two-pass (centre first) for
    accuracy with large offsets such as dB backscatter.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = zeroed.sum(axis=0) / count
    anomaly = zeroed - mean
    anomaly *= valid
    sum_of_squares = np.einsum("i...,i...->...", anomaly, anomaly)
    # A constant series leaves anomalies of rounding size (|mean - value| <= ~count * eps * |mean|);
    # treat it, and anything numerically indistinguishable from it, as constant.
    with np.errstate(invalid="ignore"):
        rounding = count * (count * np.finfo(float).eps * np.abs(mean)) ** 2
        varies = sum_of_squares > rounding
    return anomaly, np.where(varies, sum_of_squares, 0.0)


def _apply_min_samples(result: np.ndarray, count: np.ndarray, min_samples: int):
    result = np.where(count >= _check_min_samples(min_samples), result, np.nan)
    return result[()] if result.ndim == 0 else result


# --- masks ----------------------------------------------------------------------------------------
def matched_mask(*arrays) -> np.ndarray:
    """True where every array is finite (the common valid days; arrays must share one shape)."""
    if not arrays:
        raise ValueError("matched_mask needs at least one array")
    arrays = [np.asarray(a, dtype=float) for a in arrays]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"matched_mask: arrays have different shapes {[a.shape for a in arrays]}")
    mask = np.ones(arrays[0].shape, dtype=bool)
    for array in arrays:
        mask &= np.isfinite(array)
    return mask


def matched_count(x, y, axis: int = 0) -> np.ndarray:
    """Number of samples where both ``x`` and ``y`` are finite."""
    return _pair(x, y, axis)[3]


# --- scores ---------------------------------------------------------------------------------------
def pearson_r(x, y, axis: int = 0, min_samples: int = DEFAULT_MIN_SAMPLES) -> np.ndarray:
    """Temporal Pearson correlation over matched samples (docs/model/validation.md e).

    NaN where fewer than ``min_samples`` pairs match or either series is constant there.
    """
    x, y, valid, count = _pair(x, y, axis)
    x_anomaly, x_ss = _anomalies(x, valid, count)
    y_anomaly, y_ss = _anomalies(y, valid, count)
    covariance = np.einsum("i...,i...->...", x_anomaly, y_anomaly)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = covariance / np.sqrt(x_ss * y_ss)
    r = np.where((x_ss > 0) & (y_ss > 0), np.clip(r, -1.0, 1.0), np.nan)
    return _apply_min_samples(r, count, min_samples)


def rmsd(x, y, axis: int = 0, min_samples: int = DEFAULT_MIN_SAMPLES) -> np.ndarray:
    """Root-mean-square difference sqrt(mean((x - y)^2)) over matched samples (docs/model/validation.md e)."""
    x, y, valid, count = _pair(x, y, axis)
    difference = x - y  # 0 where invalid
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_square = np.einsum("i...,i...->...", difference, difference) / count
    return _apply_min_samples(np.sqrt(mean_square), count, min_samples)


def bias(x, y, axis: int = 0, min_samples: int = DEFAULT_MIN_SAMPLES) -> np.ndarray:
    """Mean difference mean(x - y) over matched samples (simulation minus reference)."""
    x, y, valid, count = _pair(x, y, axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (x - y).sum(axis=0) / count
    return _apply_min_samples(mean, count, min_samples)


def ubrmsd(x, y, axis: int = 0, min_samples: int = DEFAULT_MIN_SAMPLES) -> np.ndarray:
    """Unbiased RMSD sqrt(RMSD^2 - bias^2) (docs/model/validation.md e).

    Computed as the population SD of the differences, which equals sqrt(RMSD^2 - bias^2)
    exactly in real arithmetic and cannot go negative under rounding.
    """
    x, y, valid, count = _pair(x, y, axis)
    centred, _ = _anomalies(x - y, valid, count)
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = np.einsum("i...,i...->...", centred, centred) / count
    return _apply_min_samples(np.sqrt(variance), count, min_samples)


def variance_ratio(x, y, axis: int = 0, min_samples: int = DEFAULT_MIN_SAMPLES) -> np.ndarray:
    """var(x) / var(y) over matched samples (simulation over reference); NaN if var(y) = 0."""
    x, y, valid, count = _pair(x, y, axis)
    _, x_ss = _anomalies(x, valid, count)
    _, y_ss = _anomalies(y, valid, count)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(y_ss > 0, x_ss / y_ss, np.nan)
    return _apply_min_samples(ratio, count, min_samples)


# --- network summaries ----------------------------------------------------------------------------
def delta_r(r_da, r_ol) -> np.ndarray:
    """Delta R = R_DA - R_OL per site (docs/model/validation.md e); NaN where either is NaN."""
    r_da = np.asarray(r_da, dtype=float)
    r_ol = np.asarray(r_ol, dtype=float)
    if r_da.shape != r_ol.shape:
        raise ValueError(f"delta_r: R_DA and R_OL shapes differ: {r_da.shape} vs {r_ol.shape}")
    return r_da - r_ol


def percent_improved(delta, axis: int | None = None) -> np.ndarray | float:
    """100 * #{sites: delta R > 0} / #sites with a finite delta R; NaN if there is none."""
    delta = np.asarray(delta, dtype=float)
    finite = np.isfinite(delta)
    count = finite.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        result = 100.0 * (finite & (delta > 0)).sum(axis=axis) / count
    result = np.where(count > 0, result, np.nan)
    return float(result) if result.ndim == 0 else result


def network_mean(values, axis: int | None = None) -> np.ndarray | float:
    """Arithmetic mean over finite values (e.g. the network Delta R); NaN if there is none."""
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    count = finite.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        result = np.where(finite, values, 0.0).sum(axis=axis) / count
    result = np.where(count > 0, result, np.nan)
    return float(result) if result.ndim == 0 else result


def mean_absolute_increment(increments, axis: int | None = None) -> np.ndarray | float:
    """Mean ``|x_a - x_f|`` over analysis days (NaN = no analysis) and sites (docs/model/validation.md e), m3 m-3."""
    return network_mean(np.abs(np.asarray(increments, dtype=float)), axis=axis)


def mean_signed_increment(increments, axis: int | None = None) -> np.ndarray | float:
    """Mean signed increment x_a - x_f over analysis days and sites (docs/model/validation.md e), m3 m-3."""
    return network_mean(increments, axis=axis)


# --- xarray level ---------------------------------------------------------------------------------
def score_table(
    simulations: Mapping[str, "xarray.DataArray"],  # noqa: F821
    reference: "xarray.DataArray",  # noqa: F821
    min_samples: int = DEFAULT_MIN_SAMPLES,
    *,
    time_dim: str = "time",
    site_dim: str = "site",
) -> "xarray.Dataset":  # noqa: F821
    """R, RMSD, bias and ubRMSD of every run against one reference, dims ``(run, site)``.

    All runs are scored on the same days: the matched mask is the intersection of the days where
    the reference and *every* simulation are finite (docs/model/validation.md e: identical sets for OL and DA).
    Time coordinates are intersected; site coordinates must be identical.  ``n_samples`` holds
    the number of matched days per site.
    """
    import xarray as xr

    _check_min_samples(min_samples)
    if not simulations:
        raise ValueError("score_table needs at least one simulation")
    names = list(simulations)
    for name, array in [("reference", reference), *simulations.items()]:
        if not isinstance(array, xr.DataArray):
            raise TypeError(f"score_table: {name} must be an xarray.DataArray, got {type(array).__name__}")
        if set(array.dims) != {time_dim, site_dim}:
            raise ValueError(f"score_table: {name} has dims {array.dims}, expected ({time_dim!r}, {site_dim!r})")
    units = reference.attrs.get("units")
    for name, array in simulations.items():
        sim_units = array.attrs.get("units")
        if units is not None and sim_units is not None and sim_units != units:
            raise ValueError(f"score_table: run {name!r} is in {sim_units!r} but the reference is in {units!r}")
        units = units if units is not None else sim_units
    if units is None:
        raise ValueError("score_table: neither the reference nor the simulations carry a 'units' attribute")
    if site_dim in reference.coords:
        for name, array in simulations.items():
            if site_dim not in array.coords or not np.array_equal(array[site_dim].values, reference[site_dim].values):
                raise ValueError(f"score_table: run {name!r} does not have the reference's {site_dim!r} coordinate")
    aligned = xr.align(reference, *[simulations[n] for n in names], join="inner", exclude=[site_dim])
    if aligned[0].sizes[time_dim] == 0:
        raise ValueError(f"score_table: the runs and the reference share no {time_dim!r} values")
    reference_values = aligned[0].transpose(time_dim, site_dim).values.astype(float)
    run_values = [a.transpose(time_dim, site_dim).values.astype(float) for a in aligned[1:]]
    common = matched_mask(reference_values, *run_values)
    reference_values = np.where(common, reference_values, np.nan)

    rows: dict[str, list[np.ndarray]] = {"r": [], "rmsd": [], "bias": [], "ubrmsd": []}
    for values in run_values:
        values = np.where(common, values, np.nan)
        rows["r"].append(pearson_r(values, reference_values, min_samples=min_samples))
        rows["rmsd"].append(rmsd(values, reference_values, min_samples=min_samples))
        rows["bias"].append(bias(values, reference_values, min_samples=min_samples))
        rows["ubrmsd"].append(ubrmsd(values, reference_values, min_samples=min_samples))

    what = reference.attrs.get("long_name", reference.name or "reference")
    metadata = {
        "r": {"units": "1", "long_name": f"temporal Pearson correlation with {what}"},
        "rmsd": {"units": units, "long_name": f"root-mean-square difference from {what}"},
        "bias": {"units": units, "long_name": f"mean difference (run minus {what})"},
        "ubrmsd": {"units": units, "long_name": f"unbiased root-mean-square difference from {what}"},
    }
    coords = {"run": ("run", np.array(names, dtype=str))}
    if site_dim in reference.coords:
        coords[site_dim] = reference[site_dim].values
    data_vars = {
        key: (("run", site_dim), np.stack(value), metadata[key]) for key, value in rows.items()
    }
    data_vars["n_samples"] = (
        (site_dim,),
        common.sum(axis=0),
        {"units": "1", "long_name": "number of matched days (reference and every run valid)"},
    )
    return xr.Dataset(data_vars, coords=coords, attrs={"min_samples": min_samples})


# --- anomalies (seasonal climatology removed) -----------------------------------------------------
CLIMATOLOGY_WINDOW_DAYS = 35
"""Width of the day-of-year window of the climatology (Albergel et al. 2009; Gruber et al. 2020)."""


def seasonal_climatology(values, day_of_year, window: int = CLIMATOLOGY_WINDOW_DAYS, min_samples: int = 5) -> np.ndarray:
    """Climatology per day of year, shape of ``values``: the mean of every finite value whose day
    of year lies within ``window`` days (centred, circular) of each day, over all years.

    With one year of data this is a centred moving mean, with several it is the smoothed
    day-of-year mean (Entekhabi et al. 2010, Gruber et al. 2020).  ``values`` is ``(time, ...)``;
    ``day_of_year`` (1..366) has one entry per time step.  NaN where fewer than ``min_samples``
    values fall in the window.
    """
    values = np.asarray(values, dtype=float)
    day_of_year = np.asarray(day_of_year, dtype=int)
    if day_of_year.shape != values.shape[:1]:
        raise ValueError(f"day_of_year has {day_of_year.shape} entries, values have {values.shape[0]} time steps")
    if np.any((day_of_year < 1) | (day_of_year > 366)):
        raise ValueError("day_of_year must lie in 1..366")
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1 or window % 2 == 0 or window > 365:
        raise ValueError(f"window must be an odd number of days in 1..365, got {window!r}")
    valid = np.isfinite(values)
    sums = np.zeros((366, *values.shape[1:]))
    counts = np.zeros((366, *values.shape[1:]))
    np.add.at(sums, day_of_year - 1, np.where(valid, values, 0.0))
    np.add.at(counts, day_of_year - 1, valid)
    half = window // 2
    # circular moving sums over the day of year through cumulative sums of the padded table
    padded_sums = np.concatenate([sums[-half:], sums, sums[:half]]) if half else sums
    padded_counts = np.concatenate([counts[-half:], counts, counts[:half]]) if half else counts
    zero = np.zeros((1, *values.shape[1:]))
    cumulative_sums = np.concatenate([zero, np.cumsum(padded_sums, axis=0)])
    cumulative_counts = np.concatenate([zero, np.cumsum(padded_counts, axis=0)])
    window_sums = cumulative_sums[window:] - cumulative_sums[:-window]
    window_counts = cumulative_counts[window:] - cumulative_counts[:-window]
    with np.errstate(invalid="ignore", divide="ignore"):
        climatology = np.where(window_counts >= min_samples, window_sums / window_counts, np.nan)
    return climatology[day_of_year - 1]


def anomaly_r(x, y, day_of_year, axis: int = 0, min_samples: int = DEFAULT_MIN_SAMPLES,
              window: int = CLIMATOLOGY_WINDOW_DAYS) -> np.ndarray:
    """Temporal R of the anomalies from each series' seasonal climatology (Entekhabi et al. 2010).

    Both climatologies are computed on the matched days only, so the two series are treated
    alike; see :func:`seasonal_climatology`.
    """
    x = np.moveaxis(np.asarray(x, dtype=float), axis, 0)
    y = np.moveaxis(np.asarray(y, dtype=float), axis, 0)
    if x.shape != y.shape:
        raise ValueError(f"simulation and reference shapes differ: {x.shape} vs {y.shape}")
    common = np.isfinite(x) & np.isfinite(y)
    x = np.where(common, x, np.nan)
    y = np.where(common, y, np.nan)
    x_anomaly = x - seasonal_climatology(x, day_of_year, window)
    y_anomaly = y - seasonal_climatology(y, day_of_year, window)
    return pearson_r(x_anomaly, y_anomaly, min_samples=min_samples)


# --- network uncertainty --------------------------------------------------------------------------
BOOTSTRAP_BLOCK_VALUES = 1 << 22
"""Resampled values :func:`bootstrap_interval` holds at a time (32 MB of float64)."""


def bootstrap_interval(values, statistic, rng: np.random.Generator, *, resamples: int = 2000,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over sites (Efron & Tibshirani 1993).

    ``values`` is ``(site,)``; non-finite sites are dropped first.  ``statistic`` maps a
    ``(resample, site)`` array to ``(resample,)``.  NaN bounds when fewer than two sites remain.
    """
    values = np.asarray(values, dtype=float).ravel()
    values = values[np.isfinite(values)]
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    if values.size < 2:
        return float("nan"), float("nan")
    # resamples drawn a block of rows at a time (memory bounded, not resamples x sites): the
    # generator fills rows in order, so the draws, and each row's statistic, are the same
    rows = max(1, BOOTSTRAP_BLOCK_VALUES // values.size)
    estimates = np.concatenate([
        statistic(values[rng.integers(0, values.size, size=(min(rows, resamples - start), values.size))])
        for start in range(0, resamples, rows)
    ])
    low, high = np.quantile(estimates, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return float(low), float(high)


def mean_over_sites(resampled: np.ndarray) -> np.ndarray:
    """Network mean of each bootstrap resample ``(resample, site)``."""
    return resampled.mean(axis=1)


def percent_positive(resampled: np.ndarray) -> np.ndarray:
    """Share of sites (%) with a positive value in each bootstrap resample ``(resample, site)``."""
    return 100.0 * (resampled > 0).mean(axis=1)


# --- ensemble reliability -------------------------------------------------------------------------
COLLAPSED_SPREAD = 0.002
"""Ensemble SD of surface soil moisture (m3 m-3) below which the spread counts as collapsed."""


def ensemble_spread(ensemble, member_axis: int = 1) -> np.ndarray:
    """Ensemble standard deviation (ddof 1) along ``member_axis``; NaN where any member is NaN."""
    ensemble = np.asarray(ensemble, dtype=float)
    if ensemble.shape[member_axis] < 2:
        raise ValueError(f"an ensemble spread needs at least 2 members, got {ensemble.shape[member_axis]}")
    return ensemble.std(axis=member_axis, ddof=1)


def rms_spread(spread, axis: int = 0, min_samples: int = DEFAULT_MIN_SAMPLES) -> np.ndarray:
    """sqrt(mean(spread^2)) over finite time steps: the spread term of spread-skill (Fortin et al. 2014)."""
    spread = np.asarray(spread, dtype=float)
    return rmsd(spread, np.zeros_like(spread), axis=axis, min_samples=min_samples)


def collapsed_share(spread, axis: int = 0, threshold: float = COLLAPSED_SPREAD) -> np.ndarray:
    """Share (0..1) of finite time steps whose ensemble spread is below ``threshold``."""
    spread = np.moveaxis(np.asarray(spread, dtype=float), axis, 0)
    finite = np.isfinite(spread)
    count = finite.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(count > 0, (finite & (spread < threshold)).sum(axis=0) / count, np.nan)
    return share[()] if share.ndim == 0 else share


def truth_ranks(ensemble, truth, tie_breaker, member_axis: int = 1) -> np.ndarray:
    """Rank 0..M of the truth among the M members, ties broken at random (Hamill 2001).

    ``ensemble`` is ``(time, member, site)`` (``member_axis`` elsewhere allowed), ``truth`` and
    ``tie_breaker`` (uniform draws in [0, 1), e.g. from keyed site streams) ``(time, site)``.
    Returns float ranks with NaN where the truth or any member is missing.
    """
    ensemble = np.moveaxis(np.asarray(ensemble, dtype=float), member_axis, -1)
    truth = np.asarray(truth, dtype=float)
    tie_breaker = np.asarray(tie_breaker, dtype=float)
    if ensemble.shape[:-1] != truth.shape or tie_breaker.shape != truth.shape:
        raise ValueError(
            f"ensemble {ensemble.shape} without its member axis, truth {truth.shape} and "
            f"tie_breaker {tie_breaker.shape} do not match"
        )
    below = (ensemble < truth[..., None]).sum(axis=-1)
    ties = (ensemble == truth[..., None]).sum(axis=-1)
    # a tie with k members puts the truth uniformly in one of k + 1 places
    offset = np.floor(tie_breaker * (ties + 1))
    valid = np.isfinite(truth) & np.isfinite(ensemble).all(axis=-1)
    return np.where(valid, below + offset, np.nan)


def rank_histogram(ranks, n_members: int) -> np.ndarray:
    """Counts of the ranks 0..n_members (finite ranks only), shape ``(n_members + 1,)``."""
    ranks = np.asarray(ranks, dtype=float)
    ranks = ranks[np.isfinite(ranks)].astype(int)
    return np.bincount(ranks, minlength=n_members + 1)[: n_members + 1]


def spread_skill_ratio(rms_spread_value, rmse_value, n_members: int) -> np.ndarray:
    """sqrt((M + 1) / M) * RMS spread / RMSE of the ensemble mean: 1 for a reliable ensemble
    (Fortin et al. 2014), below 1 when under-dispersive."""
    if n_members < 2:
        raise ValueError(f"spread-skill needs at least 2 members, got {n_members}")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt((n_members + 1) / n_members) * np.asarray(rms_spread_value, dtype=float) / np.asarray(rmse_value, dtype=float)


def temporal_sd(x, axis: int = 0, min_samples: int = DEFAULT_MIN_SAMPLES) -> np.ndarray:
    """Sample standard deviation (ddof 1) over finite time steps; NaN below ``min_samples``."""
    x, _, valid, count = _pair(x, x, axis)
    _, sum_of_squares = _anomalies(x, valid, count)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(sum_of_squares / (count - 1))
    return _apply_min_samples(np.where(count > 1, sd, np.nan), count, min_samples)
