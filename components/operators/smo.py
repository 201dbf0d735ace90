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
Without shrinking it takes LIBSVM's steps one for one; with shrinking (Joachims 1999, LIBSVM's
rule and gradient reconstruction, Chang and Lin 2011, 5.1) the search runs over the variables
not stuck at a bound, which most of the 2l are for noisy backscatter (epsilon = 0.1 dB against
~0.5 dB of noise puts most samples at the bound C).  With Newton steps (the grid search), each
time the set of free variables has settled, the dual is minimised over that set at once (an
active-set step, Nocedal and Wright 2006, 16.5): pairwise SMO steps converge slowly inside a set
of tens to hundreds of free variables when C is large, and the step cuts the iterations there by
an order of magnitude; the stopping rule is unchanged.

The grid search reuses what a generic grid search cannot (Chang and Lin 2011, section 9 for
the warm start): the squared distances once per site, the RBF Gram matrix once per gamma and
fold, and along the increasing C path each solve starts from the previous C's solution scaled
by C / C_previous, which stays feasible (alpha seeding, DeCoste and Wagstaff 2000) and keeps
the variables at the bound there; the gradient p + Q a scales with it.  A grid point whose partial
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
_NEAR_ONE = 1.0 - 1e-12  # margin of the division-free pre-test in the pair selection (rounding)
RIDGE = 1e-6  # added to the diagonal of the free block in the Newton step (float32 entries: ~1e-7)
NEWTON_AFTER = 2  # SMO steps with an unchanged free set before a Newton step on it


def _jit(**options):
    def decorate(function):
        return numba.njit(cache=True, **options)(function) if AVAILABLE else function

    return decorate


@_jit()
def _gain_if_best(diff, curvature, best_gain):
    """diff^2 / curvature (curvature floored at TAU) when at least ``best_gain``, else -1.

    That is LIBSVM's test -diff^2 / curvature <= best objective, exactly; the division is done
    only where a product says the candidate can win, which most candidates cannot.
    """
    curvature = curvature if curvature > 0.0 else TAU
    if diff * diff < _NEAR_ONE * best_gain * curvature:
        return -1.0
    gain = diff * diff / curvature
    return gain if gain >= best_gain else -1.0


@_jit()
def _select_pair(kernel, diagonal, grad, alpha, cost, n, positive, n_positive, negative, n_negative, i=-1, g_max=-np.inf):
    """WSS 2 of Fan et al. (2005) over the active variables: (i, j, violation), j = -1 when optimal.

    ``i`` >= 0 and ``g_max`` give the first index when the caller already found it (the pass of
    :func:`_update_pair`, fused with the gradient update).

    Variables s and s + l belong to sample s, and the curvature along a pair is
    K_rr + K_ss - 2 K_rs of the samples for either label.  ``positive[:n_positive]`` lists the
    samples whose y = +1 variable s is active, ``negative[:n_negative]`` those whose y = -1
    variable s + l is, both ascending: the variables are visited in LIBSVM's order (ties go to
    the later index, as in LIBSVM), in two branch-free passes per half.
    """
    if i < 0:
        for k in range(n_positive):  # first half: y = +1, may grow when below C
            s = positive[k]
            if alpha[s] < cost and -grad[s] >= g_max:
                g_max, i = -grad[s], s
        for k in range(n_negative):  # second half: y = -1
            t = negative[k] + n
            if alpha[t] > 0.0 and grad[t] >= g_max:
                g_max, i = grad[t], t
    if i < 0:
        return -1, -1, 0.0
    row = i if i < n else i - n
    g_max2, j, best_gain = -np.inf, -1, -np.inf
    d_row = diagonal[row]
    for k in range(n_positive):
        s = positive[k]
        if alpha[s] > 0.0:
            diff = g_max + grad[s]
            if grad[s] >= g_max2:
                g_max2 = grad[s]
            if diff > 0.0:
                gain = _gain_if_best(diff, d_row + diagonal[s] - 2.0 * kernel[row, s], best_gain)
                if gain > 0.0:
                    j, best_gain = s, gain
    for k in range(n_negative):
        s = negative[k]
        t = s + n
        if alpha[t] < cost:
            diff = g_max - grad[t]
            if -grad[t] >= g_max2:
                g_max2 = -grad[t]
            if diff > 0.0:
                gain = _gain_if_best(diff, d_row + diagonal[s] - 2.0 * kernel[row, s], best_gain)
                if gain > 0.0:
                    j, best_gain = t, gain
    return i, j, g_max + g_max2


@_jit()
def _update_pair(kernel, diagonal, grad, alpha, cost, n, i, j, positive, n_positive, negative, n_negative, bound_sum):
    """LIBSVM's analytic two-variable step, then the update of the active gradient (Chang and Lin
    2011, 4.1) and of ``bound_sum`` (G_bar of LIBSVM, per sample: sum over the variables u at
    their upper bound of C y_u K(., u)) when i or j reaches or leaves the bound.

    Returns (first index, its -y G) of the next working set, found in the same pass over the
    active variables as the gradient update and in the same order as :func:`_select_pair`.
    """
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
    g_max, next_i = -np.inf, -1
    for k in range(n_positive):  # grad of s (y = +1) and of s + l (y = -1) move by opposite amounts
        s = positive[k]
        grad[s] += kernel[ri, s] * step_i + kernel[rj, s] * step_j
        if alpha[s] < cost and -grad[s] >= g_max:
            g_max, next_i = -grad[s], s
    for k in range(n_negative):
        s = negative[k]
        t = s + n
        grad[t] -= kernel[ri, s] * step_i + kernel[rj, s] * step_j
        if alpha[t] > 0.0 and grad[t] >= g_max:
            g_max, next_i = grad[t], t
    _track_upper_bound(kernel, bound_sum, ri, y_i, old_i >= cost, a_i >= cost, cost, n)
    _track_upper_bound(kernel, bound_sum, rj, y_j, old_j >= cost, a_j >= cost, cost, n)
    return next_i, g_max


@_jit()
def _track_upper_bound(kernel, bound_sum, row, sign, was_at_bound, is_at_bound, cost, n):
    if was_at_bound != is_at_bound:
        change = sign * cost if is_at_bound else -sign * cost
        for s in range(n):
            bound_sum[s] += change * kernel[row, s]


@_jit()
def _bound_sum(kernel, alpha, cost, n):
    """G_bar of LIBSVM per sample: sum over the variables u at their upper bound of C y_u K(., u)."""
    total = np.zeros(n)
    for u in range(2 * n):
        if alpha[u] >= cost:
            change = cost if u < n else -cost
            row = u if u < n else u - n
            for s in range(n):
                total[s] += change * kernel[row, s]
    return total


@_jit()
def _reconstruct_gradient(kernel, alpha, grad, linear, cost, n, positive, n_positive, negative, n_negative, bound_sum):
    """Gradient of the shrunk variables from G_bar and the free variables (Chang and Lin 2011, 5.1):
    G_v = p_v + y_v (G_bar_v + sum over free u of y_u a_u K(v, u)); then every variable is active."""
    if n_positive == n and n_negative == n:
        return
    field = bound_sum.copy()
    for u in range(2 * n):
        if 0.0 < alpha[u] < cost:
            weight = alpha[u] if u < n else -alpha[u]
            row = u if u < n else u - n
            for s in range(n):
                field[s] += weight * kernel[row, s]
    active = np.zeros(2 * n, dtype=np.bool_)
    for k in range(n_positive):
        active[positive[k]] = True
    for k in range(n_negative):
        active[negative[k] + n] = True
    for s in range(n):
        if not active[s]:
            grad[s] = linear[s] + field[s]
        if not active[s + n]:
            grad[s + n] = linear[s + n] - field[s]


@_jit()
def _shrinkable(g, at_upper, at_lower, bound_upper, bound_lower):
    """LIBSVM's test of a variable at a bound whose gradient keeps it there (Joachims 1999)."""
    if at_upper:
        return -g > bound_upper
    if at_lower:
        return g > bound_lower
    return False


@_jit()
def _shrink(grad, alpha, cost, n, positive, n_positive, negative, n_negative):
    """Drop the variables that stay at their bound (Chang and Lin 2011, 5.1); returns the new
    counts and the maximal violation over the active set (m(a) - M(a) of Keerthi et al. 2001)."""
    up, low = -np.inf, -np.inf  # max -y G over I_up, max y G over I_low
    for k in range(n_positive):
        s = positive[k]
        if alpha[s] < cost:
            up = max(up, -grad[s])
        if alpha[s] > 0.0:
            low = max(low, grad[s])
    for k in range(n_negative):
        t = negative[k] + n
        if alpha[t] < cost:
            low = max(low, -grad[t])
        if alpha[t] > 0.0:
            up = max(up, grad[t])
    kept = 0
    for k in range(n_positive):
        s = positive[k]
        if not _shrinkable(grad[s], alpha[s] >= cost, alpha[s] <= 0.0, up, low):
            positive[kept] = s
            kept += 1
    n_positive, kept = kept, 0
    for k in range(n_negative):
        s = negative[k]
        t = s + n
        if not _shrinkable(grad[t], alpha[t] >= cost, alpha[t] <= 0.0, low, up):
            negative[kept] = s
            kept += 1
    return n_positive, kept, up + low


@_jit()
def _free_variables(alpha, cost, n):
    """(samples, variables, count) of the free variables 0 < a < C, one per sample; count -1 when
    a sample has both of its variables non-zero (then no Newton step is taken)."""
    samples, variables = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    count = 0
    for s in range(n):
        positive_free, negative_free = 0.0 < alpha[s] < cost, 0.0 < alpha[s + n] < cost
        if positive_free or negative_free:
            if (positive_free and alpha[s + n] != 0.0) or (negative_free and alpha[s] != 0.0):
                return samples, variables, -1
            samples[count] = s
            variables[count] = s if positive_free else s + n
            count += 1
    return samples, variables, count


@_jit(fastmath={"reassoc", "contract", "nsz", "arcp"})  # vectorised dot products; no NaN/inf assumption
def _cholesky_solve(matrix, right_hand_sides):
    """Solve matrix x = b in place for the rows b of ``right_hand_sides`` by the Cholesky
    factorisation of ``matrix`` (overwritten by its lower factor); False when not positive definite.

    Every inner loop runs along a row (contiguous): dot products in the factorisation and the
    forward substitution, column updates in the backward one.
    """
    size = matrix.shape[0]
    for j in range(size):
        pivot = matrix[j, j]
        for k in range(j):
            pivot -= matrix[j, k] * matrix[j, k]
        if not pivot > 0.0:
            return False
        pivot = np.sqrt(pivot)
        matrix[j, j] = pivot
        for i in range(j + 1, size):
            value = matrix[i, j]
            for k in range(j):
                value -= matrix[i, k] * matrix[j, k]
            matrix[i, j] = value / pivot
    for column in range(right_hand_sides.shape[0]):
        x = right_hand_sides[column]
        for i in range(size):
            value = x[i]
            for k in range(i):
                value -= matrix[i, k] * x[k]
            x[i] = value / matrix[i, i]
        for i in range(size - 1, -1, -1):
            x[i] /= matrix[i, i]
            for k in range(i):
                x[k] -= matrix[i, k] * x[i]
    return True


@_jit()
def _newton_step(kernel, alpha, grad, cost, n, bound_sum):
    """Minimise the dual over the free variables with the others held (an active-set step, Nocedal
    and Wright 2006, 16.5); returns True when alpha moved.

    In b = a+ - a- the free block of the dual is min 1/2 d^T K_FF d + v^T d subject to
    sum d = 0, v_s = y G of the free variable of sample s; its minimiser solves the KKT system
    K_FF d = rho 1 - v, 1^T d = 0 (rho by the Schur complement).  A ridge RIDGE keeps K_FF (in
    float32, like the solver's Q) positive definite.  The step goes to the exact minimum of the
    dual along d (curvature d^T K_FF d), cut where a variable reaches its bound, so the dual never
    rises and y^T a = 0 and the box hold; the gradient of every variable follows.
    """
    samples, variables, size = _free_variables(alpha, cost, n)
    if size <= 0:
        return False
    matrix, columns = np.empty((size, size)), np.empty((2, size))
    for a in range(size):
        columns[0, a] = 1.0
        columns[1, a] = grad[variables[a]] if variables[a] < n else -grad[variables[a]]  # v = y G
        for b in range(size):
            matrix[a, b] = kernel[samples[a], samples[b]]
        matrix[a, a] += RIDGE
    if not _cholesky_solve(matrix, columns):
        return False
    rho = np.sum(columns[1]) / np.sum(columns[0])
    field = np.zeros(n)  # K d over all samples
    slope, curvature = 0.0, 0.0
    direction = rho * columns[0] - columns[1]
    for a in range(size):
        row = samples[a]
        for s in range(n):
            field[s] += kernel[row, s] * direction[a]
    for a in range(size):
        value = grad[variables[a]] if variables[a] < n else -grad[variables[a]]
        slope += value * direction[a]
        curvature += direction[a] * field[samples[a]]
    if not (slope < 0.0 and curvature > 0.0):
        return False
    length, blocking = min(1.0, -slope / curvature), -1
    for a in range(size):
        t = variables[a]
        step = direction[a] if t < n else -direction[a]
        if step > 0.0 and alpha[t] + length * step > cost:
            length, blocking = (cost - alpha[t]) / step, a
        elif step < 0.0 and alpha[t] + length * step < 0.0:
            length, blocking = -alpha[t] / step, a
    if not length > 0.0:
        return False
    for a in range(size):
        t = variables[a]
        step = direction[a] if t < n else -direction[a]
        value = min(max(alpha[t] + length * step, 0.0), cost)
        if a == blocking:
            value = cost if step > 0.0 else 0.0
        alpha[t] = value
        _track_upper_bound(kernel, bound_sum, samples[a], 1.0 if t < n else -1.0, False, value >= cost, cost, n)
    for s in range(n):
        grad[s] += length * field[s]
        grad[s + n] -= length * field[s]
    return True


@_jit()
def single_precision_kernel(gram, rows):
    """The kernel of the samples ``rows`` of ``gram`` as LIBSVM's cache holds it: (entries in
    float32, diagonal in double).

    Every product with an entry is taken in double (exact promotion), as in LIBSVM; float32
    storage halves the memory traffic of the rows read at each iteration.
    """
    n = rows.size
    diagonal = np.empty(n)
    rounded = np.empty((n, n), dtype=np.float32)
    for s in range(n):
        diagonal[s] = gram[rows[s], rows[s]]
        for t in range(n):
            rounded[s, t] = np.float32(gram[rows[s], rows[t]])
    return rounded, diagonal


@_jit()
def solve(rounded, diagonal, alpha, grad, linear, cost, tol, max_iter, shrinking, newton=False):
    """Run SMO on ``alpha`` (2l,) and ``grad`` (2l,) in place; returns the iteration count.

    ``rounded`` and ``diagonal`` come from :func:`single_precision_kernel`, ``linear`` is p.
    Start cold with ``alpha = 0`` and ``grad = p``, or warm from any feasible ``alpha`` with its
    gradient (a solution for a smaller C).  Without shrinking the iterations are LIBSVM's with
    ``shrinking=False``, step for step.  With ``shrinking``, every
    min(2l, 1000) iterations the variables that stay at a bound leave the active set (Joachims
    1999; LIBSVM's rule, Chang and Lin 2011, 5.1); once the active set is optimal, or the
    violation first falls below 10 tol, the full gradient is rebuilt and the search goes on over
    all variables, so the stopping rule is checked on the whole problem.  With ``newton``, once
    NEWTON_AFTER SMO steps have left the set of free variables unchanged since it last changed,
    :func:`_newton_step` minimises over that set at once: SMO then only has to find the variables
    that enter or leave it (the pairwise steps converge slowly inside it when C is large).  The
    stopping rule is the same, so the result meets LIBSVM's tolerance.
    """
    n = diagonal.size
    positive, negative = np.arange(n), np.arange(n)
    n_positive, n_negative = n, n
    bound_sum = _bound_sum(rounded, alpha, cost, n) if shrinking else np.zeros(n)
    counter = min(2 * n, 1000) + 1
    unshrunk = False
    next_i, g_max = -1, -np.inf  # first index of the next working set, when already known
    free_set_changed, unchanged_steps = True, NEWTON_AFTER
    for iteration in range(max_iter):
        if newton and free_set_changed and unchanged_steps >= NEWTON_AFTER:
            free_set_changed = _newton_step(rounded, alpha, grad, cost, n, bound_sum)
            if free_set_changed:  # alpha moved: the first index is searched again
                next_i, g_max = -1, -np.inf
        if shrinking:
            counter -= 1
            if counter == 0:
                next_i = -1
                counter = min(2 * n, 1000)
                n_positive, n_negative, violation = _shrink(grad, alpha, cost, n, positive, n_positive, negative, n_negative)
                if not unshrunk and violation <= 10.0 * tol:
                    unshrunk = True
                    _reconstruct_gradient(rounded, alpha, grad, linear, cost, n, positive, n_positive, negative, n_negative, bound_sum)
                    positive[:], negative[:] = np.arange(n), np.arange(n)
                    n_positive, n_negative = _shrink(grad, alpha, cost, n, positive, n, negative, n)[:2]
        i, j, violation = _select_pair(
            rounded, diagonal, grad, alpha, cost, n, positive, n_positive, negative, n_negative, next_i, g_max
        )
        if j < 0 or violation < tol:
            if n_positive == n and n_negative == n:
                return iteration
            _reconstruct_gradient(rounded, alpha, grad, linear, cost, n, positive, n_positive, negative, n_negative, bound_sum)
            positive[:], negative[:] = np.arange(n), np.arange(n)
            n_positive, n_negative = n, n
            i, j, violation = _select_pair(rounded, diagonal, grad, alpha, cost, n, positive, n, negative, n)
            if j < 0 or violation < tol:
                return iteration
            counter = 1  # shrink again at the next iteration
        was_free = (0.0 < alpha[i] < cost, 0.0 < alpha[j] < cost)
        next_i, g_max = _update_pair(
            rounded, diagonal, grad, alpha, cost, n, i, j, positive, n_positive, negative, n_negative, bound_sum
        )
        if was_free != (0.0 < alpha[i] < cost, 0.0 < alpha[j] < cost):
            free_set_changed, unchanged_steps = True, 0
        else:
            unchanged_steps += 1
    _reconstruct_gradient(rounded, alpha, grad, linear, cost, n, positive, n_positive, negative, n_negative, bound_sum)
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
def fit_svr(kernel, target, cost, epsilon, tol, shrinking=False, newton=False):
    """Cold-start fit: (dual coefficients a+ - a-, intercept b = -rho, iterations)."""
    n = target.size
    alpha = np.zeros(2 * n)
    grad = initial_gradient(target, epsilon)
    rounded, diagonal = single_precision_kernel(kernel, np.arange(n))
    iterations = solve(
        rounded, diagonal, alpha, grad, initial_gradient(target, epsilon), cost, tol, max_iter(n), shrinking, newton
    )
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
    for s in range(n):  # symmetric: each exponential once
        for t in range(s, n):
            gram[s, t] = gram[t, s] = np.exp(-gamma * squared[s, t])
    return gram


@_jit()
def _c_path(gram, target, fold_of, fold, costs, epsilon, tol, alive, warm, shrinking, newton, out):
    """Solve one fold along the ascending C path (skipping dead points); RMSDs into ``out``."""
    train = np.flatnonzero(fold_of != fold)
    test = np.flatnonzero(fold_of == fold)
    m = train.size
    rounded, diagonal = single_precision_kernel(gram, train)
    start = initial_gradient(target[train], epsilon)
    alpha, grad = np.zeros(2 * m), start.copy()
    previous = 0.0
    for c in range(costs.size):
        if not alive[c]:
            continue
        if not warm:
            alpha[:] = 0.0
            grad[:] = start
        elif previous > 0.0:
            # alpha seeding (DeCoste and Wagstaff 2000): the previous C's solution scaled by
            # C / C_previous stays feasible (y^T a = 0, 0 <= a <= C) and keeps the variables at
            # the bound there; the gradient p + Q a scales with it
            ratio = costs[c] / previous
            for t in range(2 * m):
                alpha[t] *= ratio
                grad[t] = start[t] + ratio * (grad[t] - start[t])
        solve(rounded, diagonal, alpha, grad, start, costs[c], tol, max_iter(m), shrinking, newton)
        previous = costs[c]
        beta = alpha[:m] - alpha[m:]
        out[c] = _fold_rmsd(gram, target, train, test, beta, -intercept_rho(alpha, grad, costs[c], m))


@_jit()
def cv_rmsd_site(features, target, fold_of, n_folds, gammas, costs, epsilon, tol, abandon, warm, shrinking, newton):
    """Fold RMSDs over the grid for one site, shaped (C, gamma, fold); NaN where abandoned.

    ``features`` (n, 2) standardised, ``target`` (n,) dB, ``fold_of`` (n,) the fold of each
    sample (its test fold); training samples keep their time order.  ``costs`` ascending.
    Fold 0 is solved for every gamma first; the gammas then run in the order of their best
    fold-0 RMSD, so that a strong complete total is known early and abandons more points.
    """
    n = target.size
    squared = np.empty((n, n))
    for s in range(n):
        for t in range(s, n):
            d0 = features[s, 0] - features[t, 0]
            d1 = features[s, 1] - features[t, 1]
            squared[s, t] = squared[t, s] = d0 * d0 + d1 * d1
    table = np.full((costs.size, gammas.size, n_folds), np.nan)
    everything = np.ones(costs.size, dtype=np.bool_)
    first_fold_best = np.empty(gammas.size)
    grams = np.empty((gammas.size, n, n))
    for g in range(gammas.size):
        grams[g] = _gram(squared, gammas[g])
        _c_path(grams[g], target, fold_of, 0, costs, epsilon, tol, everything, warm, shrinking, newton, table[:, g, 0])
        first_fold_best[g] = np.min(table[:, g, 0])
    best_total = np.inf
    for g in np.argsort(first_fold_best):
        alive = np.ones(costs.size, dtype=np.bool_)
        partial = table[:, g, 0].copy()
        gram = grams[g]
        for f in range(1, n_folds):
            if abandon:
                alive &= ~(partial > best_total)
            if not alive.any():
                break
            _c_path(gram, target, fold_of, f, costs, epsilon, tol, alive, warm, shrinking, newton, table[:, g, f])
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
def cv_rmsd_sites(features, target, fold_of, offsets, n_folds, gammas, costs, epsilon, tol, abandon, warm, shrinking, newton):
    """:func:`cv_rmsd_site` for many sites packed end to end (site s holds samples
    ``offsets[s]:offsets[s + 1]``); one thread per site, so results do not depend on threads."""
    n_sites = offsets.size - 1
    out = np.empty((n_sites, costs.size, gammas.size, n_folds))
    for s in _prange(n_sites):
        a, b = offsets[s], offsets[s + 1]
        out[s] = cv_rmsd_site(
            features[a:b], target[a:b], fold_of[a:b], n_folds, gammas, costs, epsilon, tol, abandon, warm, shrinking, newton
        )
    return out
