"""The compiled SMO solver for epsilon-SVR against LIBSVM (scikit-learn) on random small problems."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.svm import SVR

from s1da.components.operators import smo

pytestmark = pytest.mark.skipif(not smo.AVAILABLE, reason="numba is not installed")


def problem(seed, n):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, 2))
    target = 2.0 * features[:, 0] + np.sin(3.0 * features[:, 1]) + rng.normal(0.0, 0.3, n)
    return features, target


def random_problems(max_samples):
    """Hypothesis cases: a random problem of up to ``max_samples`` samples on the paper's grid."""
    return given(
        seed=st.integers(0, 2**32 - 1),
        n=st.integers(6, max_samples),
        gamma=st.sampled_from([0.001, 0.01, 0.1, 1.0, 10.0]),
        cost=st.sampled_from([0.001, 0.1, 1.0, 10.0, 100.0]),
        epsilon=st.sampled_from([0.0, 0.1, 0.5]),
    )


def ours_and_libsvm(seed, n, gamma, cost, epsilon, shrinking, newton=False):
    """(kernel, target, our (dual, intercept, iterations), LIBSVM's model, LIBSVM's dual) of one problem."""
    features, target = problem(seed, n)
    kernel = np.exp(-gamma * ((features[:, None] - features[None]) ** 2).sum(-1))
    ours = smo.fit_svr(kernel, target, cost, epsilon, 1e-3, shrinking, newton)
    reference = SVR(kernel="precomputed", C=cost, epsilon=epsilon, tol=1e-3, shrinking=shrinking).fit(kernel, target)
    expected = np.zeros(n)
    expected[reference.support_] = reference.dual_coef_[0]
    return kernel, target, ours, reference, expected


@settings(max_examples=200)
@random_problems(40)
def test_operators_smo_follows_libsvm(seed, n, gamma, cost, epsilon):
    # without shrinking LIBSVM takes the same steps: same iterations, same model
    kernel, _, (dual, intercept, iterations), reference, expected = ours_and_libsvm(seed, n, gamma, cost, epsilon, False)
    assert iterations == reference.n_iter_
    np.testing.assert_allclose(dual, expected, rtol=0, atol=1e-9 * max(cost, 1.0))
    np.testing.assert_allclose(kernel @ dual + intercept, reference.predict(kernel), rtol=0, atol=1e-9)
    assert abs(dual.sum()) <= 1e-9 * max(cost, 1.0) and np.all(np.abs(dual) <= cost * (1 + 1e-12))


@settings(max_examples=30)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(20, 45))
def test_operators_smo_grid_search_selects_like_cold_libsvm(seed, n):
    # warm starts and abandoning change no selection beyond ties at LIBSVM's tolerance
    features, target = problem(seed, n)
    gammas, costs = np.array([0.01, 0.1, 1.0, 10.0]), np.array([0.1, 1.0, 10.0, 100.0])
    sizes = np.full(5, n // 5)
    sizes[: n % 5] += 1
    fold_of = np.repeat(np.arange(5), sizes)
    fast = smo.cv_rmsd_site(features, target, fold_of, 5, gammas, costs, 0.1, 1e-3, True, True, True, True).mean(axis=-1)
    cold = smo.cv_rmsd_site(features, target, fold_of, 5, gammas, costs, 0.1, 1e-3, False, False, False, False).mean(axis=-1)
    chosen = np.unravel_index(np.argmin(np.where(np.isnan(fast), np.inf, fast)), fast.shape)
    assert cold[chosen] <= cold.min() * (1 + 1e-3)
    solved = np.isfinite(fast)
    np.testing.assert_allclose(fast[solved], cold[solved], rtol=5e-2)
    assert np.all(cold[~solved] > cold.min())


def dual_objective(kernel, target, epsilon, dual):
    """1/2 b^T K b - z^T b + epsilon |b|_1 of epsilon-SVR in b = a+ - a- (Smola and Schoelkopf 2004)."""
    return 0.5 * dual @ kernel @ dual - target @ dual + epsilon * np.abs(dual).sum()


@settings(max_examples=200)
@random_problems(60)
@pytest.mark.parametrize("newton", [False, True], ids=["smo", "newton"])
def test_operators_smo_with_shrinking_reaches_libsvm_optimum(newton, seed, n, gamma, cost, epsilon):
    # shrinking (Joachims 1999, LIBSVM's rule) and the Newton steps on the free set change the
    # path, not the optimum: the dual objective equals LIBSVM's (with its own shrinking) to far
    # below the stopping tolerance
    kernel, target, (dual, intercept, _), reference, expected = ours_and_libsvm(seed, n, gamma, cost, epsilon, True, newton)
    objective, best = dual_objective(kernel, target, epsilon, dual), dual_objective(kernel, target, epsilon, expected)
    assert abs(objective - best) <= 1e-4 * max(1.0, abs(best))
    assert abs(dual.sum()) <= 1e-9 * max(cost, 1.0) and np.all(np.abs(dual) <= cost * (1 + 1e-12))
    # the gradient kept through shrinking and reconstruction is the true one: same model as a
    # prediction from the coefficients
    np.testing.assert_allclose(kernel @ dual + intercept, reference.predict(kernel), rtol=0, atol=2e-2)


@settings(max_examples=20)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(100, 200), gamma=st.sampled_from([1.0, 10.0]), cost=st.sampled_from([10.0, 100.0]))
def test_operators_smo_newton_steps_on_large_free_sets_reach_libsvm_optimum(seed, n, gamma, cost):
    # large C and gamma leave tens to hundreds of free variables: the Newton step's regime
    kernel, target, (dual, intercept, _), reference, expected = ours_and_libsvm(seed, n, gamma, cost, 0.1, True, True)
    objective, best = dual_objective(kernel, target, 0.1, dual), dual_objective(kernel, target, 0.1, expected)
    assert objective <= best + 1e-4 * max(1.0, abs(best))
    assert abs(dual.sum()) <= 1e-9 * cost and np.all(np.abs(dual) <= cost * (1 + 1e-12))
    np.testing.assert_allclose(kernel @ dual + intercept, reference.predict(kernel), rtol=0, atol=5e-2)
