"""Numerical kernel of the one-observation analyses: a rank-one ensemble update over big arrays.

With one observation per batch (p = 1, the Rains et al. 2022 setting) all three filters of
MODEL_SPEC (c) move every member along one direction of state space::

    x̄ = mean_i x_i,   a_i = x_i - x̄,   v = scale · Σ_i a_i w_i            (w: weights, (..., N))
    x_iᵃ = x_i + (λ - 1) a_i + c_i v                                      (c: coefficients)

(w = λY always, so the projection also gives the gain; DEnKF: scale = λ/C, c = δ - ½ λY;
stochastic EnKF: scale = λ/C, c = δ + ε - λY; ETKF: scale = λ/√R, c = δ̃/((N-1)+|s|²) + c_T s
with s = λY/√R; see ``analysis.py``.)  Only this kernel touches the
(..., member, n_state) arrays; the filter-specific parts work on (..., member) vectors.

Two implementations give the same numbers to rounding (tested):

* ``numpy``: works through blocks of sites (cache-sized temporaries); per block it transposes the
  ensemble so that the member axis is contiguous and updates in place;
* ``numba`` (optional extra ``fast``): two fused passes per batch with the site's ensemble in
  cache (means and spreads from sums shifted by the first member); no transposes, no temporaries.

Both return the analysed ensemble plus the diagnostics that need a pass over it (means,
member standard deviations with ddof = 1, and the projection ``Σ_i a_i w_i`` for the gain).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

__all__ = ["RankOneResult", "numba_available", "rank_one_update"]


class RankOneResult(NamedTuple):
    analysed: np.ndarray  # (..., N, n)
    forecast_mean: np.ndarray  # (..., n)
    analysis_mean: np.ndarray  # (..., n)
    forecast_spread: np.ndarray  # (..., n), ddof = 1
    analysis_spread: np.ndarray  # (..., n), ddof = 1
    projection: np.ndarray  # Σ_i a_i w_i, (..., n)


@functools.cache
def _numba_kernel():
    """Compile (once) and return the numba kernel, or None when numba is not installed."""
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(cache=True, nogil=True, fastmath={"reassoc"})
    def kernel(states, weights, coefficients, scale, inflation):  # pragma: no cover - compiled
        # Per batch and state variable, two passes over the members with scalar accumulators:
        # (1) shifted sums of the forecast, (2) update + shifted sums of the analysis.  Sums are
        # taken about the first member (shifted-data variance), which avoids the cancellation
        # of the one-pass formula sum(x²) - N x̄².
        n_batch, n_members, n_state = states.shape
        analysed = np.empty_like(states)
        forecast_mean = np.empty((n_batch, n_state))
        analysis_mean = np.empty((n_batch, n_state))
        forecast_spread = np.empty((n_batch, n_state))
        analysis_spread = np.empty((n_batch, n_state))
        projection = np.empty((n_batch, n_state))
        inv_n = 1.0 / n_members
        inv_dof = 1.0 / (n_members - 1)
        for b in range(n_batch):
            sum_w = 0.0
            for i in range(n_members):
                sum_w += weights[b, i]
            for k in range(n_state):
                x0 = states[b, 0, k]
                sum_d = 0.0
                sum_dd = 0.0
                sum_dw = 0.0
                for i in range(n_members):
                    d = states[b, i, k] - x0
                    sum_d += d
                    sum_dd += d * d
                    sum_dw += d * weights[b, i]
                shift = sum_d * inv_n
                mean = x0 + shift
                forecast_mean[b, k] = mean
                forecast_spread[b, k] = np.sqrt(max(sum_dd - sum_d * shift, 0.0) * inv_dof)
                # Σ (x_i - x̄) w_i = Σ d_i w_i - (x̄ - x_0) Σ w_i
                cross = sum_dw - shift * sum_w
                projection[b, k] = cross
                direction = scale[b] * cross
                a0 = x0 + (inflation - 1.0) * (x0 - mean) + coefficients[b, 0] * direction
                sum_d = 0.0
                sum_dd = 0.0
                for i in range(n_members):
                    x = states[b, i, k]
                    value = x + (inflation - 1.0) * (x - mean) + coefficients[b, i] * direction
                    analysed[b, i, k] = value
                    d = value - a0
                    sum_d += d
                    sum_dd += d * d
                shift = sum_d * inv_n
                analysis_mean[b, k] = a0 + shift
                analysis_spread[b, k] = np.sqrt(max(sum_dd - sum_d * shift, 0.0) * inv_dof)
        return analysed, forecast_mean, analysis_mean, forecast_spread, analysis_spread, projection

    return kernel


def numba_available() -> bool:
    """True when the optional numba kernel can be used."""
    return _numba_kernel() is not None


def _member_std(anomalies: np.ndarray) -> np.ndarray:
    """Standard deviation (ddof = 1) over the last (member) axis of centred anomalies."""
    return np.sqrt(np.einsum("...i,...i->...", anomalies, anomalies) / (anomalies.shape[-1] - 1))


_CHUNK_BYTES = 2**18
"""Target size of one (chunk, n, N) temporary in the numpy kernel: small enough to stay in the L2
cache and to be recycled by malloc (no fresh pages), large enough to amortise numpy's per-call
overhead.  Measured ~1.5x faster than one pass over 10,000 sites (benchmarks/filters.md)."""


def _rank_one_numpy_block(states, weights, coefficients, scale, inflation):
    ensemble = np.ascontiguousarray(np.swapaxes(states, -1, -2))  # (B, n, N)
    with np.errstate(over="ignore", invalid="ignore"):
        forecast_mean = ensemble.mean(axis=-1)
        anomalies = ensemble - forecast_mean[..., None]
    forecast_spread = _member_std(anomalies)
    projection = np.einsum("...kj,...j->...k", anomalies, weights)
    direction = scale[..., None] * projection
    analysed = direction[..., :, None] * coefficients[..., None, :]  # fresh; updated in place
    analysed += ensemble
    if inflation != 1.0:
        analysed += (inflation - 1.0) * anomalies
    analysis_mean = analysed.mean(axis=-1)
    # the forecast anomalies are no longer needed: reuse their memory
    analysis_spread = _member_std(np.subtract(analysed, analysis_mean[..., None], out=anomalies))
    return np.swapaxes(analysed, -1, -2), forecast_mean, analysis_mean, forecast_spread, analysis_spread, projection


def _rank_one_numpy(states, weights, coefficients, scale, inflation) -> RankOneResult:
    """Vectorised over sites, in blocks of sites (each site's numbers do not depend on the block)."""
    batch = states.shape[:-2]
    n_members, n_state = states.shape[-2:]
    flat_states = states.reshape(-1, n_members, n_state)
    flat_weights = weights.reshape(-1, n_members)
    flat_coefficients = coefficients.reshape(-1, n_members)
    flat_scale = np.reshape(scale, -1)
    n_batch = flat_states.shape[0]
    analysed = np.empty(flat_states.shape)
    diagnostics = [np.empty((n_batch, n_state)) for _ in range(5)]
    block = max(1, _CHUNK_BYTES // (8 * n_members * n_state))
    for start in range(0, n_batch, block):
        part = slice(start, start + block)
        outputs = _rank_one_numpy_block(
            flat_states[part], flat_weights[part], flat_coefficients[part], flat_scale[part], inflation
        )
        analysed[part] = outputs[0]
        for target, value in zip(diagnostics, outputs[1:]):
            target[part] = value
    return RankOneResult(analysed.reshape(states.shape), *(d.reshape(batch + (n_state,)) for d in diagnostics))


def _rank_one_numba(kernel, states, weights, coefficients, scale, inflation) -> RankOneResult:
    batch = states.shape[:-2]
    n_members, n_state = states.shape[-2:]
    flat = np.ascontiguousarray(states).reshape(-1, n_members, n_state)
    out = kernel(
        flat,
        np.ascontiguousarray(weights).reshape(-1, n_members),
        np.ascontiguousarray(coefficients).reshape(-1, n_members),
        np.ascontiguousarray(scale).reshape(-1),
        float(inflation),
    )
    analysed = out[0].reshape(states.shape)
    return RankOneResult(analysed, *(array.reshape(batch + (n_state,)) for array in out[1:]))


def rank_one_update(
    states: np.ndarray,
    weights: np.ndarray,
    coefficients: np.ndarray,
    scale: np.ndarray,
    inflation: float,
    *,
    use_numba: bool | None = None,
) -> RankOneResult:
    """Apply ``x_iᵃ = x_i + (λ-1) a_i + c_i · scale · Σ_j a_j w_j`` to every batch.

    ``states`` (..., N, n) float64; ``weights`` and ``coefficients`` (..., N); ``scale`` (...).
    ``use_numba``: None uses numba when installed, True requires it, False forces numpy.
    """
    if use_numba is None or use_numba:
        kernel = _numba_kernel()
        if kernel is not None:
            return _rank_one_numba(kernel, states, weights, coefficients, scale, inflation)
        if use_numba:
            raise ImportError("use_numba=True but numba is not installed (pip install 's1da[fast]')")
    return _rank_one_numpy(states, weights, coefficients, scale, inflation)
