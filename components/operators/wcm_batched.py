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
TRF or closer to it.

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
    """Cost 1/2 sum r^2 at ``p``; fills J^T J (4, 4) and J^T r (4,)."""
    hessian[:] = 0.0
    gradient[:] = 0.0
    cost = 0.0
    jac = np.empty(4)
    for t in range(sigma.size):
        value, jac[0], jac[1], jac[2], jac[3] = _terms(sm[t], lai[t], cos_theta[t], p[0], p[1], p[2], p[3], mixed)
        residual = value - sigma[t]
        cost += 0.5 * residual * residual
        for k in range(4):
            gradient[k] += jac[k] * residual
            for m in range(k, 4):
                hessian[k, m] += jac[k] * jac[m]
    for k in range(4):
        for m in range(k):
            hessian[k, m] = hessian[m, k]
    return cost


@_jit
def _damped_step(hessian, gradient, scale, damping, held):
    """Solve (H + damping diag(scale)) delta = -g over the parameters not held (Cholesky)."""
    free = np.flatnonzero(~held)
    n = free.size
    step = np.zeros(4)
    if n == 0:
        return step
    matrix = np.empty((n, n))
    rhs = np.empty(n)
    for a in range(n):
        rhs[a] = -gradient[free[a]]
        for b in range(n):
            matrix[a, b] = hessian[free[a], free[b]]
        matrix[a, a] += damping * scale[free[a]]
    solution = np.linalg.solve(matrix, rhs)
    for a in range(n):
        step[free[a]] = solution[a]
    return step


@_jit
def _solve_start(p, fixed, lower, upper, sm, lai, cos_theta, sigma, mixed):
    """Projected LM from ``p`` (modified in place); returns the final cost.

    A trial point is evaluated with its normal equations at once: most trials are accepted.
    """
    hessian, gradient = np.empty((4, 4)), np.empty(4)
    trial_hessian, trial_gradient = np.empty((4, 4)), np.empty(4)
    cost = _normal_equations(p, sm, lai, cos_theta, sigma, mixed, hessian, gradient)
    scale = np.diag(hessian).copy()
    floor = 1e-12 * np.max(scale) + 1e-300  # keeps the damped system regular
    damping = 1e-3
    for _ in range(MAX_ITERATIONS):
        held = fixed | ((p <= lower) & (gradient > 0.0)) | ((p >= upper) & (gradient < 0.0))
        scale = np.maximum(np.maximum(scale, np.diag(hessian)), floor)
        step = _damped_step(hessian, gradient, scale, damping, held)
        trial = np.minimum(np.maximum(p + step, lower), upper)
        for m in range(4):
            if fixed[m]:
                trial[m] = p[m]
        trial_cost = _normal_equations(trial, sm, lai, cos_theta, sigma, mixed, trial_hessian, trial_gradient)
        moved = np.sqrt(np.sum((trial - p) ** 2))
        size = np.sqrt(np.sum(p**2)) + STEP_TOLERANCE
        if trial_cost < cost:
            decrease = cost - trial_cost
            p[:] = trial
            cost = trial_cost
            hessian[:] = trial_hessian
            gradient[:] = trial_gradient
            damping = max(damping / 3.0, 1e-15)
            if decrease <= COST_TOLERANCE * cost or moved <= STEP_TOLERANCE * size:
                break
        else:
            damping *= 4.0
            if damping > 1e16 or moved <= STEP_TOLERANCE * size:
                break
    return cost


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
        for k in range(starts.shape[0]):
            p = np.minimum(np.maximum(starts[k].copy(), lower), upper)
            for m in range(4):
                if fixed[s, m]:
                    p[m] = 0.0
            cost = _solve_start(p, fixed[s], lower, upper, sm[a:b], lai[a:b], cos_theta[a:b], sigma[a:b], mixed)
            if cost < best:
                best = cost
                parameters[s] = p
        costs[s] = best
    return parameters, costs
