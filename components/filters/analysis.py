"""Pure, batched ensemble Kalman analyses: DEnKF, stochastic (perturbed-observation) EnKF, ETKF.

MODEL_SPEC (c) writes the ensemble with members as columns (E is n x N).  Here arrays follow the
s1da filter convention (``framework/interfaces.py``): members are the second-to-last axis and
leading axes are independent batches (sites)::

    states     (..., member, n_state)     E^T
    predicted  (..., member, n_obs)       y_i = h(x_i), rows of Y^T after centring
    observed   (..., n_obs)               d  (NaN = no observation)
    error_variance (..., n_obs)           diagonal of R, squared observation units

so the spec's ``A Y^T`` is ``A^T @ Y`` here, and ``A T`` (ETKF) is ``T @ A``.  Every batch is
updated at once with matmul / batched solve / batched ``eigh``; there is no Python loop over
batches or members.

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
    * ``gain`` (..., n, p): ``K = A^T Y (Y^T Y + (N-1) R)^-1`` (MODEL_SPEC c), the gain applied
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

    bad = ~np.isfinite(states)
    if bad.any():
        raise ValueError(f"states contain non-finite values, first at index {_first_bad(bad)} (..., member, n_state)")
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
    bad = valid[..., None, :] & ~np.isfinite(predicted)
    if bad.any():
        raise ValueError(
            f"predicted contains non-finite values for a valid observation, first at index "
            f"{_first_bad(bad)} (..., member, n_obs)"
        )
    return states, predicted, observed, error_variance, valid


@attrs.frozen(eq=False)
class _Prepared:
    """Forecast quantities shared by the three analyses, in the column convention of MODEL_SPEC (c).

    The (..., member, n) input is transposed once into ``ensemble`` E (..., n, N) so that every
    reduction and broadcast over members runs along the contiguous last axis (several times
    faster than over the middle axis of a (site, 32, 3) array; benchmarks/filters.md).  Only the
    small predicted anomalies Y (..., p, N) are inflated; the big state anomalies stay raw and the
    inflation λ enters through ``_add_inflated_base`` and a scalar factor on the cross covariance.
    """

    states: np.ndarray  # input, (..., N, n)
    ensemble: np.ndarray  # E, (..., n, N)
    forecast_mean: np.ndarray  # x̄, (..., n)
    anomalies: np.ndarray  # raw (uninflated) A, (..., n, N); _finish reuses it as scratch
    forecast_spread: np.ndarray  # (..., n)
    predicted_anomalies: np.ndarray  # inflated, masked Y, (..., p, N)
    innovation: np.ndarray  # d - ȳ, 0 where dropped, (..., p)
    raw_innovation: np.ndarray  # d - ȳ, NaN where dropped
    error_variance: np.ndarray  # R, 1 where dropped, (..., p)
    valid: np.ndarray  # (..., p)
    updated: np.ndarray  # (...)
    inflation: float
    n_members: int


def _member_std(anomalies: np.ndarray) -> np.ndarray:
    """Standard deviation (ddof = 1) over members (last axis) from centred anomalies."""
    return np.sqrt(np.einsum("...i,...i->...", anomalies, anomalies) / (anomalies.shape[-1] - 1))


def _prepare(states, predicted, observed, error_variance, inflation) -> _Prepared:
    inflation = _check_inflation(inflation)
    states, predicted, observed, error_variance, valid = _validate(states, predicted, observed, error_variance)
    n_members = states.shape[-2]
    ensemble = np.ascontiguousarray(np.swapaxes(states, -1, -2))
    forecast_mean = ensemble.mean(axis=-1)
    anomalies = ensemble - forecast_mean[..., None]
    # Predictions for a dropped observation may be NaN: zero them before the mean.
    predicted = np.ascontiguousarray(np.swapaxes(np.where(valid[..., None, :], predicted, 0.0), -1, -2))
    predicted_mean = predicted.mean(axis=-1)
    predicted_anomalies = predicted - predicted_mean[..., None]
    if inflation != 1.0:
        predicted_anomalies *= inflation
    raw_innovation = observed - predicted_mean  # NaN where the observation is missing
    return _Prepared(
        states=states,
        ensemble=ensemble,
        forecast_mean=forecast_mean,
        anomalies=anomalies,
        forecast_spread=_member_std(anomalies),
        predicted_anomalies=predicted_anomalies,
        innovation=np.where(valid, raw_innovation, 0.0),
        raw_innovation=raw_innovation,
        error_variance=np.where(valid, error_variance, 1.0),
        valid=valid,
        updated=valid.any(axis=-1),
        inflation=inflation,
        n_members=n_members,
    )


def _add_inflated_base(prep: _Prepared, update: np.ndarray) -> np.ndarray:
    """``update + x̄1ᵀ + λA`` (the inflated forecast ensemble), in place in the fresh ``update``.

    In-place arithmetic on the (..., n, N) arrays avoids fresh multi-megabyte temporaries, whose
    first-touch page faults dominated the batched run time (benchmarks/filters.md).
    """
    update += prep.ensemble
    if prep.inflation != 1.0:
        update += (prep.inflation - 1.0) * prep.anomalies
    return update


def _project(anomalies: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """A vᵀ for anomalies (..., n, N) and vectors (..., p, N) -> (..., n, p)."""
    if vectors.shape[-2] == 1:
        return np.einsum("...kj,...j->...k", anomalies, vectors[..., 0, :])[..., None]
    return anomalies @ np.swapaxes(vectors, -1, -2)


def _gain(prep: _Prepared) -> np.ndarray:
    """Ensemble gain K = A Yᵀ (Y Yᵀ + (N-1) R)^-1, MODEL_SPEC (c); shape (..., n, p).

    With inflation λ both A and Y are inflated; Y already is, so A Yᵀ gets one more factor λ.
    """
    y_anom, r = prep.predicted_anomalies, prep.error_variance
    n_members = prep.n_members
    cross = _project(prep.anomalies, y_anom)  # A (λY)ᵀ, (..., n, p)
    if prep.inflation != 1.0:
        cross = cross * prep.inflation
    if y_anom.shape[-2] == 1:
        # p = 1: K = sum_i a_i (y_i - ybar) / (sum_i (y_i - ybar)^2 + (N-1) R)  (MODEL_SPEC c)
        y = y_anom[..., 0, :]
        innovation_covariance = np.einsum("...i,...i->...", y, y) + (n_members - 1) * r[..., 0]
        return cross / innovation_covariance[..., None, None]
    innovation_covariance = y_anom @ np.swapaxes(y_anom, -1, -2)  # (..., p, p)
    diagonal = np.arange(y_anom.shape[-2])
    innovation_covariance[..., diagonal, diagonal] += (n_members - 1) * r
    # C is symmetric, so K = (C^-1 (A Yᵀ)ᵀ)ᵀ
    return np.swapaxes(np.linalg.solve(innovation_covariance, np.swapaxes(cross, -1, -2)), -1, -2)


def _apply(gain: np.ndarray, member_innovations: np.ndarray) -> np.ndarray:
    """K M for K (..., n, p) and M (..., p, N) -> (..., n, N) (an outer product when p = 1)."""
    if gain.shape[-1] == 1:
        return gain * member_innovations
    return gain @ member_innovations


def _finish(prep: _Prepared, analysed: np.ndarray, gain: np.ndarray) -> AnalysisResult:
    """Transpose back, restore batches without observations (bit-identical), collect diagnostics.

    ``analysed`` is the analysis ensemble in columns (..., n, N).
    """
    updated = prep.updated
    analysis_mean = analysed.mean(axis=-1)
    # the forecast anomalies are no longer needed: reuse their memory for the analysis anomalies
    analysis_spread = _member_std(np.subtract(analysed, analysis_mean[..., None], out=prep.anomalies))
    states = np.ascontiguousarray(np.swapaxes(analysed, -1, -2))
    if updated.ndim == 0:
        if not updated:
            states = prep.states.copy()
    elif not updated.all():
        states[~updated] = prep.states[~updated]
    forecast_spread = prep.forecast_spread
    if not updated.all():
        analysis_mean = np.where(updated[..., None], analysis_mean, prep.forecast_mean)
        analysis_spread = np.where(updated[..., None], analysis_spread, forecast_spread)
    predicted_variance = np.einsum("...i,...i->...", prep.predicted_anomalies, prep.predicted_anomalies) / (
        prep.n_members - 1
    )
    with np.errstate(invalid="ignore"):
        normalised = prep.raw_innovation / np.sqrt(predicted_variance + prep.error_variance)
    return AnalysisResult(
        states=states,
        forecast_mean=prep.forecast_mean,
        analysis_mean=analysis_mean,
        increment=np.where(updated[..., None], analysis_mean - prep.forecast_mean, 0.0),
        innovation=prep.raw_innovation,
        normalised_innovation=np.where(prep.valid, normalised, np.nan),
        gain=gain,
        forecast_spread=forecast_spread,
        analysis_spread=analysis_spread,
        valid_observation=prep.valid,
        updated=updated,
    )


# ---------------------------------------------------------------------------------------------
# the three analyses
# ---------------------------------------------------------------------------------------------


def denkf_analysis(
    states, predicted, observed, error_variance, *, inflation: float = 1.0
) -> AnalysisResult:
    """Deterministic EnKF (Sakov & Oke 2008), MODEL_SPEC (c).

    ``x̄ᵃ = x̄ + K (d - ȳ)`` with the full gain and ``Aᵃ = A - ½ K Y`` with half the gain; no
    perturbed observations.  Shapes: see the module docstring and :class:`AnalysisResult`.

    Both updates are one product: ``Eᵃ = x̄1ᵀ + λA + K M`` with ``M = (d - ȳ)1ᵀ - ½ Y``, whose
    member mean is ``d - ȳ`` because Y is centred.
    """
    prep = _prepare(states, predicted, observed, error_variance, inflation)
    gain = _gain(prep)
    member_innovations = prep.innovation[..., :, None] - 0.5 * prep.predicted_anomalies
    return _finish(prep, _add_inflated_base(prep, _apply(gain, member_innovations)), gain)


def stochastic_enkf_analysis(
    states,
    predicted,
    observed,
    error_variance,
    *,
    standard_normal: np.ndarray,
    inflation: float = 1.0,
) -> AnalysisResult:
    """Stochastic EnKF with perturbed observations (Burgers et al. 1998), MODEL_SPEC (c).

    ``x_iᵃ = x_i + K (d + ε_i - y_i)`` with ``ε_i = √R (z_i - z̄)``: ``standard_normal`` holds the
    draws ``z`` shaped like ``predicted`` (..., member, n_obs); they are centred over members so
    that ``Σ ε_i = 0`` and the analysis mean equals the DEnKF/ETKF mean.  Centring keeps the
    expected ddof=1 sample variance of ε equal to R, so no rescaling is applied.
    """
    prep = _prepare(states, predicted, observed, error_variance, inflation)
    z = np.asarray(standard_normal, dtype=np.float64)
    expected = prep.states.shape[:-1] + prep.predicted_anomalies.shape[-2:-1]
    if z.shape != expected:
        raise ValueError(f"standard_normal has shape {z.shape}, expected {expected} (like predicted)")
    if not np.isfinite(z).all():
        raise ValueError(f"standard_normal contains non-finite values, first at index {_first_bad(~np.isfinite(z))}")
    z = np.swapaxes(z, -1, -2)  # (..., p, N)
    perturbations = (z - z.mean(axis=-1, keepdims=True)) * np.sqrt(prep.error_variance)[..., None]
    gain = _gain(prep)
    # d + ε_i - y_i = (d - ȳ) + ε_i - Y_i, zero for a dropped observation
    member_innovations = np.where(
        prep.valid[..., None],
        prep.innovation[..., None] + perturbations - prep.predicted_anomalies,
        0.0,
    )
    return _finish(prep, _add_inflated_base(prep, _apply(gain, member_innovations)), gain)


def etkf_analysis(
    states, predicted, observed, error_variance, *, inflation: float = 1.0, closed_form: bool | None = None
) -> AnalysisResult:
    """Ensemble transform Kalman filter, symmetric square root (Bishop et al. 2001), MODEL_SPEC (c).

    In ensemble space with ``S = R^-½ Y`` (p x N per batch)::

        Π = ((N-1) I + Sᵀ S)^-1,   w̄ = Π Sᵀ R^-½ (d - ȳ),   T = √(N-1) Π^½,
        x̄ᵃ = x̄ + A w̄,             Aᵃ = A T

    The general path uses a batched N x N ``eigh``.  For one observation (p = 1) ``SᵀS = s sᵀ`` is
    rank one and ``T = I + c s sᵀ`` with ``c = ((1 + |s|²/(N-1))^-½ - 1) / |s|²``, written without
    the cancellation as ``c = -1 / ((N-1) q (1 + q))``, ``q = √(1 + |s|²/(N-1))``; and
    ``w̄ = s δ / ((N-1) + |s|²)``.  Then every member moves along ``A s``:
    ``x_iᵃ = x_i + (δ / ((N-1) + |s|²) + c s_i) A s``.  ``closed_form=None`` picks it when p = 1;
    both paths agree to rounding (tested).
    """
    prep = _prepare(states, predicted, observed, error_variance, inflation)
    gain = _gain(prep)
    n_members = prep.n_members
    a = float(n_members - 1)
    inv_sqrt_r = 1.0 / np.sqrt(prep.error_variance)
    scaled_y = prep.predicted_anomalies * inv_sqrt_r[..., None]  # S (inflated), (..., p, N)
    scaled_innovation = prep.innovation * inv_sqrt_r  # δ, (..., p)
    if closed_form is None:
        closed_form = scaled_y.shape[-2] == 1
    if closed_form:
        if scaled_y.shape[-2] != 1:
            raise ValueError(f"the closed-form ETKF needs exactly one observation, got n_obs={scaled_y.shape[-2]}")
        s = scaled_y[..., 0, :]
        s_norm2 = np.einsum("...i,...i->...", s, s)
        q = np.sqrt(1.0 + s_norm2 / a)
        c = -1.0 / (a * q * (1.0 + q))
        anomalies_s = _project(prep.anomalies, scaled_y)  # A s, (..., n, 1)
        if prep.inflation != 1.0:
            anomalies_s = anomalies_s * prep.inflation  # (λA) s
        coefficients = (scaled_innovation[..., 0] / (a + s_norm2))[..., None] + c[..., None] * s  # (..., N)
        analysed = _add_inflated_base(prep, anomalies_s * coefficients[..., None, :])
    else:
        matrix = np.swapaxes(scaled_y, -1, -2) @ scaled_y  # SᵀS, (..., N, N)
        diagonal = np.arange(n_members)
        matrix[..., diagonal, diagonal] += a
        eigenvalues, eigenvectors = np.linalg.eigh(matrix)
        vt = np.swapaxes(eigenvectors, -1, -2)
        s_delta = np.swapaxes(scaled_y, -1, -2) @ scaled_innovation[..., None]  # Sᵀ δ, (..., N, 1)
        weights = eigenvectors @ ((vt @ s_delta) / eigenvalues[..., None])  # w̄, (..., N, 1)
        transform = np.sqrt(a) * (eigenvectors * (1.0 / np.sqrt(eigenvalues))[..., None, :]) @ vt
        # Eᵃ = x̄1ᵀ + λA (w̄1ᵀ + T)
        inflated_anomalies = prep.anomalies * prep.inflation if prep.inflation != 1.0 else prep.anomalies
        analysed = prep.forecast_mean[..., None] + inflated_anomalies @ (transform + weights)
    return _finish(prep, analysed, gain)
