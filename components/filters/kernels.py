"""Numerical kernel of the one-observation analyses: a rank-one ensemble update over big arrays.

With one observation per batch (p = 1, the Rains et al. 2022 setting) all three filters of
docs/model/filters.md (c) move every member along one direction of state space::

    x̄ = mean_i x_i,   a_i = x_i - x̄,   v = scale · Σ_i a_i w_i            (w: weights, (..., N))
    x_iᵃ = x_i + (λ - 1) a_i + c_i v                                      (c: coefficients)

(w = λY always, so the projection also gives the gain; DEnKF: scale = λ/C, c = δ - ½ λY;
stochastic EnKF: scale = λ/C, c = δ + ε - λY; ETKF: scale = λ/√R, c = δ̃/((N-1)+|s|²) + c_T s
with s = λY/√R; see ``analysis.py``.)  Only this kernel touches the
(..., member, n_state) arrays; the filter-specific parts work on (..., member) vectors.

Two implementations give the same numbers to rounding (tested):

* ``numpy``: works through blocks of sites in two reused cache-sized buffers; per block it
  transposes the ensemble so that the member axis is contiguous and forms the analysed
  anomalies ``λA + v (c - c̄)ᵀ`` in place;
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


_CHUNK_BYTES = 2**18
"""Target size of one (chunk, n, N) work buffer in the numpy kernel: small enough to stay in the L2
cache, large enough to amortise numpy's per-call overhead.  Measured best of 2**15-2**20 at
10,000 sites x 32 members x 3 states (benchmarks/filters.md)."""


def _rank_one_numpy(states, weights, coefficients, scale, inflation) -> RankOneResult:
    """Vectorised over sites, in blocks of sites (each site's numbers do not depend on the block).

    Per block the ensemble is copied into a reused (block, n, N) buffer with the member axis
    contiguous (reductions along a short middle axis are numpy's slowest pattern), and the
    analysed anomalies are formed directly::

        Aᵃ = λA + v (c - c̄)ᵀ,   x̄ᵃ = x̄ + c̄ v,   v = scale · A w       (per site, A is n x N)

    which is ``x_i + (λ-1) a_i + c_i v`` regrouped; the analysis spread is taken from ``Aᵃ``
    itself (no one-pass variance formula, no cancellation), then ``x̄ᵃ`` is added and the block
    is written back transposed.  All reductions over members use ``einsum`` (fixed summation
    order per site, so the block size does not change a single bit).
    """
    batch = states.shape[:-2]
    n_members, n_state = states.shape[-2:]
    flat_states = states.reshape(-1, n_members, n_state)
    flat_weights = weights.reshape(-1, n_members)
    flat_coefficients = coefficients.reshape(-1, n_members)
    flat_scale = np.reshape(scale, -1)
    n_batch = flat_states.shape[0]
    analysed = np.empty(flat_states.shape)
    forecast_mean, analysis_mean, forecast_spread, analysis_spread, projection = (
        np.empty((n_batch, n_state)) for _ in range(5)
    )
    # the (..., N) coefficient vectors: split once into their member mean and centred part
    coefficient_mean = np.einsum("bi->b", flat_coefficients) / n_members
    block = max(1, min(n_batch, _CHUNK_BYTES // (8 * n_members * n_state)))
    # small reused buffers only: fresh multi-megabyte temporaries cost page faults on every call
    forecast_buffer = np.empty((block, n_state, n_members))
    analysis_buffer = np.empty((block, n_state, n_members))
    coefficient_buffer = np.empty((block, n_members))
    for start in range(0, n_batch, block):
        part = slice(start, start + block)
        size = min(block, n_batch - start)
        anomalies = forecast_buffer[:size]
        analysed_anomalies = analysis_buffer[:size]
        np.copyto(anomalies, flat_states[part].swapaxes(-1, -2))  # E, (b, n, N)
        mean = forecast_mean[part]
        np.einsum("bki->bk", anomalies, out=mean)
        mean /= n_members
        np.subtract(anomalies, mean[..., None], out=anomalies)  # A
        np.einsum("bki,bki->bk", anomalies, anomalies, out=forecast_spread[part])
        np.einsum("bki,bi->bk", anomalies, flat_weights[part], out=projection[part])
        direction = projection[part] * flat_scale[part, None]  # v, (b, n)
        centred_coefficients = np.subtract(
            flat_coefficients[part], coefficient_mean[part, None], out=coefficient_buffer[:size]
        )
        np.multiply(direction[..., None], centred_coefficients[:, None, :], out=analysed_anomalies)
        if inflation != 1.0:
            anomalies *= inflation
        analysed_anomalies += anomalies
        np.einsum("bki,bki->bk", analysed_anomalies, analysed_anomalies, out=analysis_spread[part])
        new_mean = analysis_mean[part]
        np.multiply(direction, coefficient_mean[part, None], out=new_mean)
        new_mean += mean
        analysed_anomalies += new_mean[..., None]
        np.copyto(analysed[part].swapaxes(-1, -2), analysed_anomalies)
    # sums of squared anomalies -> standard deviations, ddof = 1
    for spread in (forecast_spread, analysis_spread):
        spread /= n_members - 1
        np.sqrt(spread, out=spread)
    diagnostics = (forecast_mean, analysis_mean, forecast_spread, analysis_spread, projection)
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
