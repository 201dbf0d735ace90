"""Pure, batched ensemble Kalman analyses: DEnKF, stochastic (perturbed-observation) EnKF, ETKF.

docs/model/filters.md (c) writes the ensemble with members as columns (E is n x N).  Here arrays follow the
s1da filter convention (``framework/interfaces.py``): members are the second-to-last axis and
leading axes are independent batches (sites)::

    states     (..., member, n_state)     E^T
    predicted  (..., member, n_obs)       y_i = h(x_i), rows of Y^T after centring
    observed   (..., n_obs)               d  (NaN = no observation)
    error_variance (..., n_obs)           diagonal of R, squared observation units

Internally the general path transposes to the spec's column convention (E is (..., n, N)) so
that reductions over members run along the contiguous axis.  Every batch is updated at once with
matmul / batched solve / batched ``eigh``; there is no Python loop over batches or members.

Two paths, same numbers to rounding (tested against each other and against the textbook forms):

* one observation per batch (p = 1, the Rains et al. setting): every filter is a rank-one update
  along ``A w`` (``kernels.rank_one_update``, numpy or the optional numba kernel); only (..., N)
  vectors are filter-specific;
* any p: the ensemble gain with a batched p x p solve (DEnKF, stochastic EnKF) or the ETKF with a
  batched N x N ``eigh``.

Missing observations.  A NaN in ``observed`` drops that observation: its innovation and its row
of predicted anomalies are set to zero (and its R to one, so the innovation covariance stays
invertible), which makes its column of the gain exactly zero.  A batch without any valid
observation is returned bit-identical (it is selected from the input, not recomputed).

Inflation.  Multiplicative inflation ``lambda`` scales the forecast anomalies of the states *and*
of the predicted observations before the update (for a linear operator this equals inflating the
ensemble before applying h, so gain and innovation covariance stay consistent).  It is applied only
to batches that are updated; a batch with no observation keeps its spread.  (DAPPER inflates the
analysis anomalies after the update instead; for the Lorenz-96 setting the two are equivalent up
to the one-step shift.)
"""

from __future__ import annotations

import attrs
import numpy as np

from .kernels import rank_one_update

__all__ = [
    "AnalysisResult",
    "denkf_analysis",
    "stochastic_enkf_analysis",
    "etkf_analysis",
]


@attrs.frozen(eq=False)
class AnalysisResult:
    """Analysed ensemble and the diagnostics of one analysis.

    Shapes (``...`` = batch axes, ``N`` members, ``n`` state size, ``p`` observations):

    * ``states`` (..., N, n): the analysed ensemble.
    * ``forecast_mean``, ``analysis_mean``, ``increment`` (..., n): ensemble means before and
      after, and ``increment = analysis_mean - forecast_mean`` (zero where not updated).
    * ``innovation`` (..., p): ``d - mean(y)``; NaN where the observation is missing.
    * ``normalised_innovation`` (..., p): ``innovation / sqrt(var(y) + R)`` with the (inflated)
      member variance of the predictions, ddof = 1; NaN where missing.
    * ``gain`` (..., n, p): ``K = A^T Y (Y^T Y + (N-1) R)^-1`` (docs/model/filters.md c), the gain applied
      to the mean by all three filters; zero column for a dropped observation.
    * ``forecast_spread``, ``analysis_spread`` (..., n): member standard deviation, ddof = 1, of
      the input and of the analysed states.
    * ``valid_observation`` (..., p) bool and ``updated`` (...) bool.
    """

    states: np.ndarray
    forecast_mean: np.ndarray
    analysis_mean: np.ndarray
    increment: np.ndarray
    innovation: np.ndarray
    normalised_innovation: np.ndarray
    gain: np.ndarray
    forecast_spread: np.ndarray
    analysis_spread: np.ndarray
    valid_observation: np.ndarray
    updated: np.ndarray

    def as_dict(self) -> dict[str, np.ndarray]:
        """Diagnostics (everything except the analysed states) as a plain dict of arrays."""
        return {f.name: getattr(self, f.name) for f in attrs.fields(type(self)) if f.name != "states"}


# ---------------------------------------------------------------------------------------------
# validation and shared preparation
# ---------------------------------------------------------------------------------------------


def _first_bad(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _as_float_array(name: str, value: object, min_ndim: int) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be a real numeric array, got dtype {array.dtype}")
    if array.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimensions, got shape {array.shape}")
    return array.astype(np.float64, copy=False)


def _check_inflation(inflation: float) -> float:
    inflation = float(inflation)
    if not np.isfinite(inflation) or inflation <= 0:
        raise ValueError(f"inflation must be a finite number > 0, got {inflation}")
    return inflation


def _validate(states, predicted, observed, error_variance):
    """Check shapes and values; return float64 arrays, the valid mask and R broadcast to d."""
    states = _as_float_array("states", states, 2)
    predicted = _as_float_array("predicted", predicted, 2)
    observed = _as_float_array("observed", observed, 1)
    error_variance = _as_float_array("error_variance", error_variance, 0)

    batch = states.shape[:-2]
    n_members = states.shape[-2]
    if predicted.shape[:-2] != batch:
        raise ValueError(
            f"batch axes differ: states {states.shape} has batch {batch}, predicted {predicted.shape} "
            f"has batch {predicted.shape[:-2]} (expected states (..., member, n_state), "
            "predicted (..., member, n_obs))"
        )
    if predicted.shape[-2] != n_members:
        raise ValueError(
            f"member axes differ: states has {n_members} members, predicted has {predicted.shape[-2]} "
            f"(states {states.shape}, predicted {predicted.shape})"
        )
    if n_members < 2:
        raise ValueError(f"an ensemble needs at least 2 members, got {n_members}")
    if states.shape[-1] < 1 or predicted.shape[-1] < 1:
        raise ValueError(f"empty state or observation axis: states {states.shape}, predicted {predicted.shape}")
    n_obs = predicted.shape[-1]
    if observed.shape != batch + (n_obs,):
        raise ValueError(
            f"observed has shape {observed.shape}, expected {batch + (n_obs,)} "
            f"(batch axes of states followed by n_obs of predicted)"
        )
    try:
        error_variance = np.broadcast_to(error_variance, observed.shape)
    except ValueError:
        raise ValueError(
            f"error_variance of shape {error_variance.shape} does not broadcast to observed {observed.shape}"
        ) from None

    bad = np.isinf(observed)
    if bad.any():
        raise ValueError(
            f"observed contains infinite values, first at index {_first_bad(bad)}; use NaN for a missing observation"
        )
    valid = ~np.isnan(observed)
    bad = (error_variance < 0) | np.isinf(error_variance)
    if bad.any():
        raise ValueError(
            f"error_variance must be finite and > 0, got {error_variance[bad][0]} at index {_first_bad(bad)}"
        )
    bad = valid & ~(error_variance > 0)  # zero or NaN R for an observation that is used
    if bad.any():
        raise ValueError(
            f"error_variance must be finite and > 0 where an observation is given, got "
            f"{error_variance[bad][0]} at index {_first_bad(bad)}"
        )
    # predicted is checked lazily (``_raise_non_finite_predicted``): a non-finite prediction makes
    # its innovation variance non-finite, which saves a pass over (..., member, n_obs)
    return states, predicted, observed, error_variance, valid


def _raise_non_finite_predicted(predicted: np.ndarray, valid: np.ndarray) -> None:
    bad = valid[..., None, :] & ~np.isfinite(predicted)
    if bad.any():
        raise ValueError(
            f"predicted contains non-finite values for a valid observation, first at index "
            f"{_first_bad(bad)} (..., member, n_obs)"
        )
    raise ValueError("predicted values are too large: their member variance overflows float64")


@attrs.frozen(eq=False)
class _Observations:
    """Validated inputs and the observation-space quantities (small arrays) of one analysis.

    ``predicted_anomalies`` is Y in the column convention of docs/model/filters.md (c), (..., p, N),
    inflated by λ and zero for a dropped observation.
    """

    states: np.ndarray  # input, float64, (..., N, n)
    predicted_anomalies: np.ndarray  # λY, (..., p, N)
    innovation: np.ndarray  # d - ȳ, 0 where dropped, (..., p)
    raw_innovation: np.ndarray  # d - ȳ, NaN where dropped
    error_variance: np.ndarray  # R, 1 where dropped, (..., p)
    innovation_variance: np.ndarray  # Σ_i (λY_i)² + (N-1) R per observation, (..., p)
    valid: np.ndarray  # (..., p)
    updated: np.ndarray  # (...)
    inflation: float
    n_members: int


def _observations(states, predicted, observed, error_variance, inflation) -> _Observations:
    inflation = _check_inflation(inflation)
    states, predicted, observed, error_variance, valid = _validate(states, predicted, observed, error_variance)
    n_members = states.shape[-2]
    all_valid = valid.all()
    # Predictions for a dropped observation may be NaN: zero them before the mean.
    columns = np.swapaxes(predicted if all_valid else np.where(valid[..., None, :], predicted, 0.0), -1, -2)
    # (a view for p = 1; einsum sums over the members are much faster than .mean on short rows)
    with np.errstate(over="ignore", invalid="ignore"):  # non-finite predictions: raised below
        predicted_mean = np.einsum("...pi->...p", columns) / n_members
        predicted_anomalies = columns - predicted_mean[..., None]  # fresh, (..., p, N)
        if inflation != 1.0:
            predicted_anomalies *= inflation
        innovation_variance = np.einsum("...pi,...pi->...p", predicted_anomalies, predicted_anomalies)
    raw_innovation = observed - predicted_mean  # NaN where the observation is missing
    masked_error_variance = error_variance if all_valid else np.where(valid, error_variance, 1.0)
    innovation_variance += (n_members - 1) * masked_error_variance
    if not np.isfinite(innovation_variance).all():
        _raise_non_finite_predicted(predicted, valid)
    return _Observations(
        states=states,
        predicted_anomalies=predicted_anomalies,
        innovation=raw_innovation if all_valid else np.where(valid, raw_innovation, 0.0),
        raw_innovation=raw_innovation,
        error_variance=masked_error_variance,
        innovation_variance=innovation_variance,
        valid=valid,
        updated=valid.any(axis=-1),
        inflation=inflation,
        n_members=n_members,
    )


def _raise_non_finite_states(states: np.ndarray) -> None:
    bad = ~np.isfinite(states)
    if bad.any():
        raise ValueError(f"states contain non-finite values, first at index {_first_bad(bad)} (..., member, n_state)")
    raise ValueError("states are too large: their member mean overflows float64")


def _finish(
    obs: _Observations,
    analysed: np.ndarray,
    forecast_mean: np.ndarray,
    analysis_mean: np.ndarray,
    forecast_spread: np.ndarray,
    analysis_spread: np.ndarray,
    gain: np.ndarray,
) -> AnalysisResult:
    """Restore the batches without observations (bit-identical) and collect the diagnostics.

    ``analysed`` (..., N, n) is a fresh array and may be modified here.
    """
    if not np.isfinite(forecast_mean).all():
        # checked on the mean (NaN/inf propagate into it) to save a pass over the states
        _raise_non_finite_states(obs.states)
    updated = obs.updated
    if not updated.all():
        if updated.ndim == 0:
            analysed = obs.states.copy()
        else:
            analysed[~updated] = obs.states[~updated]
        analysis_mean = np.where(updated[..., None], analysis_mean, forecast_mean)
        analysis_spread = np.where(updated[..., None], analysis_spread, forecast_spread)
    # var(λy) + R = (Σ (λY_i)² + (N-1) R) / (N-1), the expected innovation variance
    normalised = obs.raw_innovation / np.sqrt(obs.innovation_variance / (obs.n_members - 1))
    return AnalysisResult(
        states=analysed,
        forecast_mean=forecast_mean,
        analysis_mean=analysis_mean,
        increment=np.where(updated[..., None], analysis_mean - forecast_mean, 0.0),
        innovation=obs.raw_innovation,
        normalised_innovation=np.where(obs.valid, normalised, np.nan),
        gain=gain,
        forecast_spread=forecast_spread,
        analysis_spread=analysis_spread,
        valid_observation=obs.valid,
        updated=updated,
    )


# ---------------------------------------------------------------------------------------------
# p = 1: rank-one update
# ---------------------------------------------------------------------------------------------


def _rank_one(obs: _Observations, coefficients, scale, use_numba) -> AnalysisResult:
    """x_iᵃ = x_i + (λ-1) a_i + c_i · scale · A (λY)ᵀ for p = 1 (docs/model/filters.md c).

    The weights are always the inflated predicted anomalies λY, so the kernel's projection
    A (λY)ᵀ also gives the gain.
    """
    weights = obs.predicted_anomalies[..., 0, :]
    with np.errstate(over="ignore", invalid="ignore"):
        result = rank_one_update(obs.states, weights, coefficients, scale, obs.inflation, use_numba=use_numba)
    return _finish(
        obs,
        result.analysed,
        result.forecast_mean,
        result.analysis_mean,
        result.forecast_spread,
        result.analysis_spread,
        _rank_one_gain(obs, result.projection),
    )


def _rank_one_gain(obs: _Observations, cross: np.ndarray) -> np.ndarray:
    """K = λ · A (λY)ᵀ / (Σ (λY_i)² + (N-1) R), shape (..., n, 1)."""
    return (obs.inflation * cross / obs.innovation_variance[..., 0, None])[..., None]


# ---------------------------------------------------------------------------------------------
# any p: gain with a p x p solve, ETKF with an N x N eigh
# ---------------------------------------------------------------------------------------------


@attrs.frozen(eq=False)
class _Forecast:
    """The forecast ensemble in columns, E (..., n, N), with its mean, anomalies and spread."""

    ensemble: np.ndarray
    mean: np.ndarray  # (..., n)
    anomalies: np.ndarray  # raw (uninflated) A, (..., n, N)
    spread: np.ndarray  # (..., n)


def _forecast(states: np.ndarray) -> _Forecast:
    ensemble = np.ascontiguousarray(np.swapaxes(states, -1, -2))
    with np.errstate(over="ignore", invalid="ignore"):
        mean = ensemble.mean(axis=-1)
        anomalies = ensemble - mean[..., None]
    return _Forecast(ensemble, mean, anomalies, _member_std(anomalies))


def _member_std(anomalies: np.ndarray) -> np.ndarray:
    """Standard deviation (ddof = 1) over members (last axis) from centred anomalies."""
    return np.sqrt(np.einsum("...i,...i->...", anomalies, anomalies) / (anomalies.shape[-1] - 1))


def _gain(obs: _Observations, forecast: _Forecast) -> np.ndarray:
    """Ensemble gain K = A Yᵀ (Y Yᵀ + (N-1) R)^-1, docs/model/filters.md (c); shape (..., n, p).

    With inflation λ both A and Y are inflated; Y already is, so A Yᵀ gets one more factor λ.
    """
    y_anom = obs.predicted_anomalies
    cross = forecast.anomalies @ np.swapaxes(y_anom, -1, -2)  # A (λY)ᵀ, (..., n, p)
    if obs.inflation != 1.0:
        cross = cross * obs.inflation
    innovation_covariance = y_anom @ np.swapaxes(y_anom, -1, -2)  # (..., p, p)
    diagonal = np.arange(y_anom.shape[-2])
    innovation_covariance[..., diagonal, diagonal] += (obs.n_members - 1) * obs.error_variance
    # C is symmetric, so K = (C^-1 (A Yᵀ)ᵀ)ᵀ
    return np.swapaxes(np.linalg.solve(innovation_covariance, np.swapaxes(cross, -1, -2)), -1, -2)


def _finish_columns(obs: _Observations, forecast: _Forecast, analysed: np.ndarray, gain: np.ndarray) -> AnalysisResult:
    """Analysis mean and spread from the column ensemble (..., n, N), then transpose back."""
    analysis_mean = analysed.mean(axis=-1)
    # the forecast anomalies are no longer needed: reuse their memory
    analysis_spread = _member_std(np.subtract(analysed, analysis_mean[..., None], out=forecast.anomalies))
    rows = np.ascontiguousarray(np.swapaxes(analysed, -1, -2))
    return _finish(obs, rows, forecast.mean, analysis_mean, forecast.spread, analysis_spread, gain)


def _general_update(obs: _Observations, member_innovations: np.ndarray) -> AnalysisResult:
    """Eᵃ = x̄1ᵀ + λA + K M for member innovations M (..., p, N) (DEnKF and stochastic EnKF)."""
    forecast = _forecast(obs.states)
    gain = _gain(obs, forecast)
    analysed = gain @ member_innovations  # fresh; the rest is added in place
    analysed += forecast.ensemble
    if obs.inflation != 1.0:
        analysed += (obs.inflation - 1.0) * forecast.anomalies
    return _finish_columns(obs, forecast, analysed, gain)


def _use_rank_one(obs: _Observations, fast: bool) -> bool:
    return fast and obs.predicted_anomalies.shape[-2] == 1


# ---------------------------------------------------------------------------------------------
# the three analyses
# ---------------------------------------------------------------------------------------------


def denkf_analysis(
    states,
    predicted,
    observed,
    error_variance,
    *,
    inflation: float = 1.0,
    fast: bool = True,
    use_numba: bool | None = None,
) -> AnalysisResult:
    """Deterministic EnKF (Sakov & Oke 2008), docs/model/filters.md (c).

    ``x̄ᵃ = x̄ + K (d - ȳ)`` with the full gain and ``Aᵃ = A - ½ K Y`` with half the gain; no
    perturbed observations.  Shapes: see the module docstring and :class:`AnalysisResult`.

    Both updates are one product: ``Eᵃ = x̄1ᵀ + λA + K M`` with ``M = (d - ȳ)1ᵀ - ½ λY``, whose
    member mean is ``d - ȳ`` because Y is centred.  For p = 1, ``K = λ A (λY)ᵀ / C`` and the
    update is rank one (``fast=True``; ``use_numba`` picks the kernel, None = when installed).
    """
    obs = _observations(states, predicted, observed, error_variance, inflation)
    member_innovations = np.multiply(obs.predicted_anomalies, -0.5)  # (..., p, N), one temporary
    member_innovations += obs.innovation[..., :, None]
    return _gain_update(obs, member_innovations, fast, use_numba)


def _gain_update(obs, member_innovations: np.ndarray, fast: bool, use_numba: bool | None) -> AnalysisResult:
    """``Eᵃ = x̄1ᵀ + λA + K M`` for member innovations ``M`` (..., p, N): rank one when p = 1."""
    if _use_rank_one(obs, fast):
        scale = obs.inflation / obs.innovation_variance[..., 0]
        return _rank_one(obs, member_innovations[..., 0, :], scale, use_numba)
    return _general_update(obs, member_innovations)


def stochastic_enkf_analysis(
    states,
    predicted,
    observed,
    error_variance,
    *,
    standard_normal: np.ndarray,
    inflation: float = 1.0,
    fast: bool = True,
    use_numba: bool | None = None,
) -> AnalysisResult:
    """Stochastic EnKF with perturbed observations (Burgers et al. 1998), docs/model/filters.md (c).

    ``x_iᵃ = x_i + K (d + ε_i - y_i)`` with ``ε_i = √R (z_i - z̄)``: ``standard_normal`` holds the
    draws ``z`` shaped like ``predicted`` (..., member, n_obs); they are centred over members so
    that ``Σ ε_i = 0`` and the analysis mean equals the DEnKF/ETKF mean.  Centring keeps the
    expected ddof=1 sample variance of ε equal to R, so no rescaling is applied.
    """
    obs = _observations(states, predicted, observed, error_variance, inflation)
    z = np.asarray(standard_normal, dtype=np.float64)
    expected = obs.states.shape[:-1] + obs.predicted_anomalies.shape[-2:-1]
    if z.shape != expected:
        raise ValueError(f"standard_normal has shape {z.shape}, expected {expected} (like predicted)")
    if not np.isfinite(z).all():
        raise ValueError(f"standard_normal contains non-finite values, first at index {_first_bad(~np.isfinite(z))}")
    z = np.swapaxes(z, -1, -2)  # (..., p, N)
    perturbations = (z - z.mean(axis=-1, keepdims=True)) * np.sqrt(obs.error_variance)[..., None]
    # d + ε_i - y_i = (d - ȳ) + ε_i - λY_i, zero for a dropped observation
    member_innovations = np.where(
        obs.valid[..., None],
        obs.innovation[..., None] + perturbations - obs.predicted_anomalies,
        0.0,
    )
    return _gain_update(obs, member_innovations, fast, use_numba)


def etkf_analysis(
    states,
    predicted,
    observed,
    error_variance,
    *,
    inflation: float = 1.0,
    fast: bool = True,
    use_numba: bool | None = None,
) -> AnalysisResult:
    """Ensemble transform Kalman filter, symmetric square root (Bishop et al. 2001), docs/model/filters.md (c).

    In ensemble space with ``S = R^-½ λY`` (p x N per batch)::

        Π = ((N-1) I + Sᵀ S)^-1,   w̄ = Π Sᵀ R^-½ (d - ȳ),   T = √(N-1) Π^½,
        x̄ᵃ = x̄ + λA w̄,            Aᵃ = λA T

    The general path (``fast=False`` or p > 1) uses a batched N x N ``eigh``.  For one
    observation ``SᵀS = s sᵀ`` is rank one and ``T = I + c s sᵀ`` with
    ``c = ((1 + |s|²/(N-1))^-½ - 1) / |s|²``, written without the cancellation as
    ``c = -1 / ((N-1) q (1 + q))``, ``q = √(1 + |s|²/(N-1))``; and ``w̄ = s δ / ((N-1) + |s|²)``
    (δ = R^-½ (d - ȳ)).  Every member then moves along ``λA s``:
    ``x_iᵃ = x_i + (λ-1) a_i + (δ / ((N-1) + |s|²) + c s_i) λA s``.  Both paths agree to
    rounding (tested).
    """
    obs = _observations(states, predicted, observed, error_variance, inflation)
    a = float(obs.n_members - 1)
    inv_sqrt_r = 1.0 / np.sqrt(obs.error_variance)
    scaled_y = obs.predicted_anomalies * inv_sqrt_r[..., None]  # S, (..., p, N)
    scaled_innovation = obs.innovation * inv_sqrt_r  # δ, (..., p)
    if _use_rank_one(obs, fast):
        s = scaled_y[..., 0, :]
        s_norm2 = np.einsum("...i,...i->...", s, s)
        q = np.sqrt(1.0 + s_norm2 / a)
        c = -1.0 / (a * q * (1.0 + q))
        coefficients = (scaled_innovation[..., 0] / (a + s_norm2))[..., None] + c[..., None] * s  # (..., N)
        # λA s = λ A (λY)ᵀ / √R: scale λ / √R on the projection A (λY)ᵀ
        return _rank_one(obs, coefficients, obs.inflation * inv_sqrt_r[..., 0], use_numba)
    forecast = _forecast(obs.states)
    gain = _gain(obs, forecast)
    matrix = np.swapaxes(scaled_y, -1, -2) @ scaled_y  # SᵀS, (..., N, N)
    diagonal = np.arange(obs.n_members)
    matrix[..., diagonal, diagonal] += a
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    vt = np.swapaxes(eigenvectors, -1, -2)
    s_delta = np.swapaxes(scaled_y, -1, -2) @ scaled_innovation[..., None]  # Sᵀ δ, (..., N, 1)
    weights = eigenvectors @ ((vt @ s_delta) / eigenvalues[..., None])  # w̄, (..., N, 1)
    transform = np.sqrt(a) * (eigenvectors * (1.0 / np.sqrt(eigenvalues))[..., None, :]) @ vt
    # Eᵃ = x̄1ᵀ + λA (w̄1ᵀ + T)
    inflated_anomalies = forecast.anomalies * obs.inflation if obs.inflation != 1.0 else forecast.anomalies
    analysed = forecast.mean[..., None] + inflated_anomalies @ (transform + weights)
    return _finish_columns(obs, forecast, analysed, gain)
