"""A compiled SMO solver for epsilon-SVR and the cross-validated grid search built on it.

The dual of epsilon-SVR (Vapnik 1995; Smola and Schoelkopf 2004) in the form of LIBSVM
(Chang and Lin 2011, section 2.4) has 2l variables a = (a+, a-) with labels y = (+1, -1):

    min_a 1/2 a^T Q a + p^T a,   y^T a = 0,   0 <= a <= C,
    Q_st = y_s y_t K(s mod l, t mod l),   p = (epsilon - z, epsilon + z),

and the regression function is f(x) = sum_i (a+_i - a-_i) K(x_i, x) - rho.  The solver is
sequential minimal optimisation (Platt 1998) with the second-order working-set selection of
Fan, Chen and Lin (2005, WSS 2), the two-variable update and the stopping rule (maximal
violating pair below ``tol``) of LIBSVM, and rho from the free variables (or the middle of the
feasible interval when none is free), so that it converges to the same optimum as LIBSVM.

The grid search reuses what a generic grid search cannot (Chang and Lin 2011, section 9 for
the warm start): the squared distances once per site, the RBF Gram matrix once per gamma and
fold, and along the increasing C path each solve starts from the previous C's solution, which
stays feasible because the box only grows (alpha seeding, DeCoste and Wagstaff 2000); the
gradient is a function of ``a`` alone and carries over unchanged.  A grid point whose partial
sum of fold RMSDs already exceeds the best complete sum cannot win and is not solved on the
remaining folds (its table entry is NaN).

``numba`` is optional (the ``fast`` extra); without it ``AVAILABLE`` is False and the SVR
operator falls back to LIBSVM through scikit-learn.
"""

from __future__ import annotations

import numpy as np

try:  # numba is an optional dependency (extra "fast")
    import numba

    AVAILABLE = True
except ImportError:  # pragma: no cover - exercised in the CI run without numba
    numba = None
    AVAILABLE = False

_prange = numba.prange if AVAILABLE else range
TAU = 1e-12  # LIBSVM's floor for a non-positive curvature along the working pair
MAX_ITER_PER_SAMPLE = 100  # LIBSVM: max(10^7, 100 l)


def _jit(**options):
    def decorate(function):
        return numba.njit(cache=True, **options)(function) if AVAILABLE else function

    return decorate


@_jit()
def _select_pair(kernel, diagonal, grad, alpha, cost, n):
    """WSS 2 of Fan et al. (2005): (i, j, violation), j = -1 when optimal at ``tol``.

    Variables s and s + l belong to sample s, and the curvature along a pair is
    K_rr + K_ss - 2 K_rs of the samples for either label.  The variables are visited in LIBSVM's
    order (ties go to the later index, as in LIBSVM), in two branch-free passes per half.
    """
    g_max, i = -np.inf, -1
    for s in range(n):  # first half: y = +1, may grow when below C
        if alpha[s] < cost and -grad[s] >= g_max:
            g_max, i = -grad[s], s
    for s in range(n):  # second half: y = -1
        t = s + n
        if alpha[t] > 0.0 and grad[t] >= g_max:
            g_max, i = grad[t], t
    if i < 0:
        return -1, -1, 0.0
    row = i if i < n else i - n
    g_max2, j, best = -np.inf, -1, np.inf
    d_row = diagonal[row]
    for s in range(n):
        if alpha[s] > 0.0:
            diff = g_max + grad[s]
            if grad[s] >= g_max2:
                g_max2 = grad[s]
            if diff > 0.0:
                curvature = d_row + diagonal[s] - 2.0 * kernel[row, s]
                objective = -diff * diff / (curvature if curvature > 0.0 else TAU)
                if objective <= best:
                    j, best = s, objective
    for s in range(n):
        t = s + n
        if alpha[t] < cost:
            diff = g_max - grad[t]
            if -grad[t] >= g_max2:
                g_max2 = -grad[t]
            if diff > 0.0:
                curvature = d_row + diagonal[s] - 2.0 * kernel[row, s]
                objective = -diff * diff / (curvature if curvature > 0.0 else TAU)
                if objective <= best:
                    j, best = t, objective
    return i, j, g_max + g_max2


@_jit()
def _update_pair(kernel, diagonal, grad, alpha, cost, n, i, j):
    """LIBSVM's analytic two-variable step, then the gradient update (Chang and Lin 2011, 4.1)."""
    y_i = 1.0 if i < n else -1.0
    y_j = 1.0 if j < n else -1.0
    ri = i if i < n else i - n
    rj = j if j < n else j - n
    q_ij = y_i * y_j * kernel[ri, rj]
    old_i, old_j = alpha[i], alpha[j]
    if y_i != y_j:
        curvature = diagonal[ri] + diagonal[rj] + 2.0 * q_ij
        delta = (-grad[i] - grad[j]) / (curvature if curvature > 0.0 else TAU)
        diff = old_i - old_j
        a_i, a_j = old_i + delta, old_j + delta
        if diff > 0.0:
            if a_j < 0.0:
                a_j, a_i = 0.0, diff
        elif a_i < 0.0:
            a_i, a_j = 0.0, -diff
        if diff > 0.0:  # C_i - C_j = 0 for one C
            if a_i > cost:
                a_i, a_j = cost, cost - diff
        elif a_j > cost:
            a_j, a_i = cost, cost + diff
    else:
        curvature = diagonal[ri] + diagonal[rj] - 2.0 * q_ij
        delta = (grad[i] - grad[j]) / (curvature if curvature > 0.0 else TAU)
        total = old_i + old_j
        a_i, a_j = old_i - delta, old_j + delta
        if total > cost:
            if a_i > cost:
                a_i, a_j = cost, total - cost
        elif a_j < 0.0:
            a_j, a_i = 0.0, total
        if total > cost:
            if a_j > cost:
                a_j, a_i = cost, total - cost
        elif a_i < 0.0:
            a_i, a_j = 0.0, total
    alpha[i], alpha[j] = a_i, a_j
    step_i, step_j = y_i * (a_i - old_i), y_j * (a_j - old_j)
    for s in range(n):  # grad of s (y = +1) and of s + l (y = -1) move by opposite amounts
        change = kernel[ri, s] * step_i + kernel[rj, s] * step_j
        grad[s] += change
        grad[s + n] -= change


@_jit()
def single_precision_kernel(kernel):
    """The kernel as LIBSVM's cache holds it: (entries rounded to float32, diagonal in double)."""
    n = kernel.shape[0]
    diagonal = np.empty(n)
    rounded = np.empty((n, n))
    for s in range(n):
        diagonal[s] = kernel[s, s]
        for t in range(n):
            rounded[s, t] = np.float64(np.float32(kernel[s, t]))
    return rounded, diagonal


@_jit()
def solve(rounded, diagonal, alpha, grad, cost, tol, max_iter):
    """Run SMO on ``alpha`` (2l,) and ``grad`` (2l,) in place; returns the iteration count.

    ``rounded`` and ``diagonal`` come from :func:`single_precision_kernel`.  Start cold with
    ``alpha = 0`` and ``grad = p``, or warm from any feasible ``alpha`` with its gradient (a
    solution for a smaller C).
    """
    n = diagonal.size
    for iteration in range(max_iter):
        i, j, violation = _select_pair(rounded, diagonal, grad, alpha, cost, n)
        if j < 0 or violation < tol:
            return iteration
        _update_pair(rounded, diagonal, grad, alpha, cost, n, i, j)
    return max_iter


@_jit()
def intercept_rho(alpha, grad, cost, n):
    """LIBSVM's rho: mean of y G over free variables, else the middle of the feasible interval."""
    upper, lower, free_sum, n_free = np.inf, -np.inf, 0.0, 0
    for t in range(2 * n):
        y_t = 1.0 if t < n else -1.0
        y_grad = y_t * grad[t]
        at_upper, at_lower = alpha[t] >= cost, alpha[t] <= 0.0
        if at_upper:
            if y_t < 0.0:
                upper = min(upper, y_grad)
            else:
                lower = max(lower, y_grad)
        elif at_lower:
            if y_t > 0.0:
                upper = min(upper, y_grad)
            else:
                lower = max(lower, y_grad)
        else:
            n_free += 1
            free_sum += y_grad
    return free_sum / n_free if n_free > 0 else (upper + lower) / 2.0


@_jit()
def max_iter(n):
    return max(10_000_000, MAX_ITER_PER_SAMPLE * n)


@_jit()
def initial_gradient(target, epsilon):
    """p = (epsilon - z, epsilon + z): the gradient at alpha = 0."""
    n = target.size
    grad = np.empty(2 * n)
    for t in range(n):
        grad[t] = epsilon - target[t]
        grad[t + n] = epsilon + target[t]
    return grad


@_jit()
def fit_svr(kernel, target, cost, epsilon, tol):
    """Cold-start fit: (dual coefficients a+ - a-, intercept b = -rho, iterations)."""
    n = target.size
    alpha = np.zeros(2 * n)
    grad = initial_gradient(target, epsilon)
    rounded, diagonal = single_precision_kernel(kernel)
    iterations = solve(rounded, diagonal, alpha, grad, cost, tol, max_iter(n))
    return alpha[:n] - alpha[n:], -intercept_rho(alpha, grad, cost, n), iterations


@_jit()
def _fold_rmsd(gram, target, train, test, beta, b):
    total = 0.0
    for a in range(test.size):
        prediction = b
        for k in range(train.size):
            if beta[k] != 0.0:
                prediction += beta[k] * gram[test[a], train[k]]
        residual = target[test[a]] - prediction
        total += residual * residual
    return np.sqrt(total / test.size)


@_jit()
def _gram(squared, gamma):
    n = squared.shape[0]
    gram = np.empty((n, n))
    for s in range(n):
        for t in range(n):
            gram[s, t] = np.exp(-gamma * squared[s, t])
    return gram


@_jit()
def _c_path(gram, target, fold_of, fold, costs, epsilon, tol, alive, warm, out):
    """Solve one fold along the ascending C path (skipping dead points); RMSDs into ``out``."""
    train = np.flatnonzero(fold_of != fold)
    test = np.flatnonzero(fold_of == fold)
    m = train.size
    kernel = np.empty((m, m))
    for s in range(m):
        for t in range(m):
            kernel[s, t] = gram[train[s], train[t]]
    rounded, diagonal = single_precision_kernel(kernel)
    start = initial_gradient(target[train], epsilon)
    alpha, grad = np.zeros(2 * m), start.copy()
    for c in range(costs.size):
        if not alive[c]:
            continue
        if not warm:
            alpha[:] = 0.0
            grad[:] = start
        solve(rounded, diagonal, alpha, grad, costs[c], tol, max_iter(m))
        beta = alpha[:m] - alpha[m:]
        out[c] = _fold_rmsd(gram, target, train, test, beta, -intercept_rho(alpha, grad, costs[c], m))


@_jit()
def cv_rmsd_site(features, target, fold_of, n_folds, gammas, costs, epsilon, tol, abandon, warm):
    """Fold RMSDs over the grid for one site, shaped (C, gamma, fold); NaN where abandoned.

    ``features`` (n, 2) standardised, ``target`` (n,) dB, ``fold_of`` (n,) the fold of each
    sample (its test fold); training samples keep their time order.  ``costs`` ascending.
    Fold 0 is solved for every gamma first; the gammas then run in the order of their best
    fold-0 RMSD, so that a strong complete total is known early and abandons more points.
    """
    n = target.size
    squared = np.empty((n, n))
    for s in range(n):
        for t in range(n):
            d0 = features[s, 0] - features[t, 0]
            d1 = features[s, 1] - features[t, 1]
            squared[s, t] = d0 * d0 + d1 * d1
    table = np.full((costs.size, gammas.size, n_folds), np.nan)
    everything = np.ones(costs.size, dtype=np.bool_)
    first_fold_best = np.empty(gammas.size)
    for g in range(gammas.size):
        _c_path(_gram(squared, gammas[g]), target, fold_of, 0, costs, epsilon, tol, everything, warm, table[:, g, 0])
        first_fold_best[g] = np.min(table[:, g, 0])
    best_total = np.inf
    for g in np.argsort(first_fold_best):
        alive = np.ones(costs.size, dtype=np.bool_)
        partial = table[:, g, 0].copy()
        gram = _gram(squared, gammas[g])
        for f in range(1, n_folds):
            if abandon:
                alive &= ~(partial > best_total)
            if not alive.any():
                break
            _c_path(gram, target, fold_of, f, costs, epsilon, tol, alive, warm, table[:, g, f])
            for c in range(costs.size):
                if alive[c]:
                    partial[c] += table[c, g, f]
        for c in range(costs.size):
            if alive[c] and partial[c] < best_total:
                best_total = partial[c]
    for g in range(gammas.size):  # an abandoned point keeps no partial folds: NaN throughout
        for c in range(costs.size):
            if np.isnan(table[c, g, n_folds - 1]):
                table[c, g, :] = np.nan
    return table


@_jit(parallel=True)
def cv_rmsd_sites(features, target, fold_of, offsets, n_folds, gammas, costs, epsilon, tol, abandon, warm):
    """:func:`cv_rmsd_site` for many sites packed end to end (site s holds samples
    ``offsets[s]:offsets[s + 1]``); one thread per site, so results do not depend on threads."""
    n_sites = offsets.size - 1
    out = np.empty((n_sites, costs.size, gammas.size, n_folds))
    for s in _prange(n_sites):
        a, b = offsets[s], offsets[s + 1]
        out[s] = cv_rmsd_site(features[a:b], target[a:b], fold_of[a:b], n_folds, gammas, costs, epsilon, tol, abandon, warm)
    return out
