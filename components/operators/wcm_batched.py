"""Batched WCM calibration: every site and every start in one compiled bounded Levenberg-Marquardt.

Per site and start the solver minimises 1/2 sum r^2 of the dB residuals with a projected
Levenberg-Marquardt iteration (Levenberg 1944; Marquardt 1963; Marquardt's scaling by the
diagonal of J^T J as in More 1978) on the box of the parameters: a parameter on a bound whose
gradient points out of the box is held (active set, Bertsekas 1982), the step of the others
solves (J^T J + lambda diag(J^T J)) delta = -J^T r and is projected onto the box, and lambda
falls after an accepted step and grows after a rejected one.  The residuals and the analytic
Jacobian come from :func:`s1da.components.operators.wcm.water_cloud_terms` (compiled), summed
sample by sample, so no (site, start, time, parameter) array is ever formed.  The tolerances are
tighter than scipy's ``least_squares`` defaults, so each start ends at the same local minimum as
TRF or closer to it.  The damping follows the gain ratio of the step (Nielsen 1999: lambda times
max(1/3, 1 - (2 rho - 1)^3) after an accepted step, times nu = 2, 4, 8, ... after rejected ones).

Most of the 16 corner starts of a site end in the same minimum.  A start whose iterate comes
within ``BASIN_TOLERANCE`` of every bound span of a minimum already found at that site, at a cost
no lower than that minimum's, would converge to it (the tail of a Levenberg-Marquardt path is
local); it is stopped there, which changes neither the best cost nor the winning start.

Sites run in parallel threads (numba ``prange``); each site's result depends on its own samples
only, so neither the other sites nor the number of threads change it.  Without numba the
operator uses scipy's TRF per site instead.
"""

from __future__ import annotations

import numpy as np

from s1da.components.operators.smo import AVAILABLE, numba
from s1da.components.operators.wcm import water_cloud_terms

MAX_ITERATIONS = 500
COST_TOLERANCE = 1e-14  # relative decrease of the cost below which a start has converged
STEP_TOLERANCE = 1e-13  # relative step length below which a start has converged
BASIN_TOLERANCE = 3e-2  # fraction of each bound span within which a start joins a known minimum
# (3 %: on 5,139 synthetic sites of benchmarks/operators.py the parameters are bit-identical to
# those with 0.1 %, for 23 % fewer evaluations; the per-sample cost, not a fixed one, sets the speed)

if AVAILABLE:
    _terms = numba.njit(cache=True)(water_cloud_terms)
    _jit = numba.njit(cache=True)
    _jit_parallel = numba.njit(cache=True, parallel=True)
    _prange = numba.prange
else:  # pragma: no cover - the operator does not call this module without numba
    _terms = water_cloud_terms

    def _jit(function):
        return function

    _jit_parallel = _jit
    _prange = range


@_jit
def _normal_equations(p, sm, lai, cos_theta, sigma, mixed, hessian, gradient):
    """Cost 1/2 sum r^2 at ``p``; fills J^T J (4, 4) and J^T r (4,).

    The sums are scalars (registers) inside the sample loop, written to the arrays once.
    """
    a, b, c, d = p[0], p[1], p[2], p[3]
    h00 = h01 = h02 = h03 = h11 = h12 = h13 = h22 = h23 = h33 = 0.0
    g0 = g1 = g2 = g3 = 0.0
    cost = 0.0
    for t in range(sigma.size):
        value, j0, j1, j2, j3 = _terms(sm[t], lai[t], cos_theta[t], a, b, c, d, mixed)
        residual = value - sigma[t]
        cost += 0.5 * residual * residual
        g0 += j0 * residual
        g1 += j1 * residual
        g2 += j2 * residual
        g3 += j3 * residual
        h00 += j0 * j0
        h01 += j0 * j1
        h02 += j0 * j2
        h03 += j0 * j3
        h11 += j1 * j1
        h12 += j1 * j2
        h13 += j1 * j3
        h22 += j2 * j2
        h23 += j2 * j3
        h33 += j3 * j3
    gradient[0], gradient[1], gradient[2], gradient[3] = g0, g1, g2, g3
    hessian[0, 0], hessian[1, 1], hessian[2, 2], hessian[3, 3] = h00, h11, h22, h33
    hessian[0, 1] = hessian[1, 0] = h01
    hessian[0, 2] = hessian[2, 0] = h02
    hessian[0, 3] = hessian[3, 0] = h03
    hessian[1, 2] = hessian[2, 1] = h12
    hessian[1, 3] = hessian[3, 1] = h13
    hessian[2, 3] = hessian[3, 2] = h23
    return cost


@_jit
def _damped_step(hessian, gradient, scale, damping, held, matrix, step):
    """Solve (H + damping diag(scale)) step = -g over the parameters not held; held steps are 0.

    Gaussian elimination with partial pivoting on the 4 x 4 system in ``matrix`` (work space),
    held rows and columns replaced by the identity.
    """
    for k in range(4):
        for m in range(4):
            matrix[k, m] = 0.0 if (held[k] or held[m]) else hessian[k, m]
        matrix[k, k] = 1.0 if held[k] else hessian[k, k] + damping * scale[k]
        step[k] = 0.0 if held[k] else -gradient[k]
    for k in range(4):
        pivot = k
        for m in range(k + 1, 4):
            if abs(matrix[m, k]) > abs(matrix[pivot, k]):
                pivot = m
        if pivot != k:
            for m in range(4):
                matrix[k, m], matrix[pivot, m] = matrix[pivot, m], matrix[k, m]
            step[k], step[pivot] = step[pivot], step[k]
        for m in range(k + 1, 4):
            factor = matrix[m, k] / matrix[k, k]
            for n in range(k, 4):
                matrix[m, n] -= factor * matrix[k, n]
            step[m] -= factor * step[k]
    for k in range(3, -1, -1):
        for m in range(k + 1, 4):
            step[k] -= matrix[k, m] * step[m]
        step[k] /= matrix[k, k]


@_jit
def _predicted_decrease(hessian, gradient, step):
    """Decrease of the quadratic model, -g.step - 1/2 step.H.step (positive for a descent step)."""
    decrease = 0.0
    for k in range(4):
        curvature = 0.0
        for m in range(4):
            curvature += hessian[k, m] * step[m]
        decrease -= step[k] * (gradient[k] + 0.5 * curvature)
    return decrease


@_jit
def _joins_known_minimum(p, cost, minima, n_minima, span):
    """True when ``p`` lies within BASIN_TOLERANCE of every span of a minimum with no higher cost."""
    for q in range(n_minima):
        if cost < minima[q, 4]:
            continue
        close = True
        for m in range(4):
            if abs(p[m] - minima[q, m]) > BASIN_TOLERANCE * span[m]:
                close = False
        if close:
            return True
    return False


@_jit
def _solve_start(p, fixed, lower, upper, sm, lai, cos_theta, sigma, mixed, minima, n_minima):
    """Projected LM from ``p`` (modified in place): (final cost, stopped on joining a known minimum).

    A trial point is evaluated with its normal equations at once: most trials are accepted.
    ``minima[:n_minima]`` holds the (parameters, cost) of the converged starts of this site.
    """
    hessian, gradient = np.empty((4, 4)), np.empty(4)
    trial_hessian, trial_gradient = np.empty((4, 4)), np.empty(4)
    matrix, step, trial = np.empty((4, 4)), np.empty(4), np.empty(4)
    held = np.empty(4, dtype=np.bool_)
    span = upper - lower
    cost = _normal_equations(p, sm, lai, cos_theta, sigma, mixed, hessian, gradient)
    scale = np.diag(hessian).copy()
    floor = 1e-12 * np.max(scale) + 1e-300  # keeps the damped system regular
    damping, growth = 1e-3, 2.0
    for _ in range(MAX_ITERATIONS):
        for m in range(4):
            held[m] = fixed[m] or (p[m] <= lower[m] and gradient[m] > 0.0) or (p[m] >= upper[m] and gradient[m] < 0.0)
            scale[m] = max(scale[m], hessian[m, m], floor)
        _damped_step(hessian, gradient, scale, damping, held, matrix, step)
        for m in range(4):
            trial[m] = p[m] if fixed[m] else min(max(p[m] + step[m], lower[m]), upper[m])
            step[m] = trial[m] - p[m]
        trial_cost = _normal_equations(trial, sm, lai, cos_theta, sigma, mixed, trial_hessian, trial_gradient)
        moved = np.sqrt(np.sum(step**2))
        size = np.sqrt(np.sum(p**2)) + STEP_TOLERANCE
        if trial_cost < cost:
            decrease = cost - trial_cost
            predicted = _predicted_decrease(hessian, gradient, step)
            gain = decrease / predicted if predicted > 0.0 else 0.0
            damping = max(damping * max(1.0 / 3.0, 1.0 - (2.0 * gain - 1.0) ** 3), 1e-15)
            growth = 2.0
            p[:] = trial
            cost = trial_cost
            hessian[:] = trial_hessian
            gradient[:] = trial_gradient
            if decrease <= COST_TOLERANCE * cost or moved <= STEP_TOLERANCE * size:
                break
            if _joins_known_minimum(p, cost, minima, n_minima, span):
                return cost, True
        else:
            damping *= growth
            growth *= 2.0
            if damping > 1e16 or moved <= STEP_TOLERANCE * size:
                break
    return cost, False


@_jit_parallel
def calibrate_sites(sm, lai, cos_theta, sigma, offsets, fixed, starts, lower, upper, mixed):
    """Best of all starts per site: (parameters (site, 4), cost (site,)).

    Samples of site s are ``offsets[s]:offsets[s + 1]`` of the packed arrays; ``fixed`` (site, 4)
    marks parameters held at their start value (DD-16); ``starts`` (start, 4); the first of equal
    costs wins.
    """
    n_sites = offsets.size - 1
    parameters = np.empty((n_sites, 4))
    costs = np.empty(n_sites)
    for s in _prange(n_sites):
        a, b = offsets[s], offsets[s + 1]
        best = np.inf
        minima = np.empty((starts.shape[0], 5))  # (A, B, C, D, cost) of the converged starts
        n_minima = 0
        for k in range(starts.shape[0]):
            p = np.minimum(np.maximum(starts[k].copy(), lower), upper)
            for m in range(4):
                if fixed[s, m]:
                    p[m] = 0.0
            cost, joined = _solve_start(
                p, fixed[s], lower, upper, sm[a:b], lai[a:b], cos_theta[a:b], sigma[a:b], mixed, minima, n_minima
            )
            if not joined:
                minima[n_minima, :4] = p
                minima[n_minima, 4] = cost
                n_minima += 1
            if cost < best:
                best = cost
                parameters[s] = p
        costs[s] = best
    return parameters, costs
