"""Adaptive R (Desroziers et al. 2005) and adaptive inflation (Miyoshi 2011) on linear-Gaussian problems."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s1da.components.filters import DEnKF
from s1da.components.filters.adaptive import AdaptiveFilter, AdaptiveInflation, DesroziersR

N_SITES = 100
N_MEMBERS = 24


def _cycle(adaptive: AdaptiveFilter, true_r, forecast_variance, ensemble_variance, prior_r, n_steps, seed):
    """Independent scalar analyses per site: truth ~ N(xb, P), ensemble ~ N(xb, P_ens), y ~ N(truth, R)."""
    rng = np.random.default_rng(seed)
    memory = adaptive.initial_state(N_SITES)
    for _ in range(n_steps):
        truth = np.sqrt(forecast_variance) * rng.standard_normal(N_SITES)
        members = np.sqrt(ensemble_variance) * rng.standard_normal((N_SITES, N_MEMBERS, 1))
        observed = truth + np.sqrt(true_r) * rng.standard_normal(N_SITES)
        observed[rng.random(N_SITES) < 0.1] = np.nan  # missing observations keep the memory
        _, memory = adaptive.analyse_with_state(
            memory, members, members, observed[:, None], np.full((N_SITES, 1), prior_r)
        )
    return memory


@settings(max_examples=3, deadline=None)
@given(
    true_r=st.floats(0.2, 2.0),
    variance_ratio=st.floats(0.1, 0.5),
    prior_factor=st.sampled_from([0.5, 2.0]),
)
def test_desroziers_recovers_a_known_r(true_r, variance_ratio, prior_factor):
    # the fixed-point iteration contracts by P / (P + R) per memory length: quick for P <= R
    # (the regime of S1 assimilation, where var(y) is far below R), slow for P >> R
    forecast_variance = variance_ratio * true_r
    desroziers = DesroziersR(prior_weight=1.0, forgetting=0.99)
    adaptive = AdaptiveFilter(DEnKF(), observation_error=desroziers)
    prior = np.full(N_SITES, prior_factor * true_r)
    memory = _cycle(adaptive, true_r, forecast_variance, forecast_variance, prior_factor * true_r, 300, seed=1)
    estimate = desroziers.estimate(memory, prior)
    np.testing.assert_allclose(np.mean(estimate), true_r, rtol=0.1)
    assert adaptive.used_error_variance.shape == (N_SITES, 1)


@settings(max_examples=3, deadline=None)
@given(under_dispersion=st.floats(1.5, 4.0), r_ratio=st.floats(0.3, 1.5))
def test_adaptive_inflation_recovers_a_known_under_dispersion(under_dispersion, r_ratio):
    forecast_variance = 1.0
    inflation = AdaptiveInflation(prior_weight=0.1, forgetting=1.0, min_inflation=0.1)
    adaptive = AdaptiveFilter(DEnKF(), inflation=inflation)
    memory = _cycle(adaptive, r_ratio, forecast_variance, forecast_variance / under_dispersion, r_ratio, 300, seed=2)
    # the mean over sites: single-analysis estimates are ratio-of-chi-square skewed, so the median
    # of a finite running mean sits below its expectation
    np.testing.assert_allclose(np.mean(inflation.estimate(memory)), under_dispersion, rtol=0.1)


def test_spread_far_below_r_carries_no_information_on_inflation():
    # S1 regime: var(y) of a few 0.001 dB2 against R near 0.5 dB2; the estimate stays near 1
    inflation = AdaptiveInflation()
    memory = _cycle(AdaptiveFilter(DEnKF(), inflation=inflation), 0.5, 0.012, 0.004, 0.5, 300, seed=5)
    assert np.abs(inflation.estimate(memory) - 1.0).max() < 0.1


def test_consistent_ensemble_needs_no_inflation():
    inflation = AdaptiveInflation(prior_weight=0.1, min_inflation=0.1)
    memory = _cycle(AdaptiveFilter(DEnKF(), inflation=inflation), 1.0, 1.0, 1.0, 1.0, 200, seed=3)
    np.testing.assert_allclose(np.mean(inflation.estimate(memory)), 1.0, atol=0.1)
    assert (AdaptiveInflation().estimate(memory) >= 1.0).all()


def test_without_observations_the_memory_and_states_stay():
    adaptive = AdaptiveFilter(DEnKF(), inflation=AdaptiveInflation(initial=2.0), observation_error=DesroziersR())
    memory = adaptive.initial_state(3)
    states = np.random.default_rng(0).normal(size=(3, 8, 2))
    predicted = states[..., :1]
    analysed, after = adaptive.analyse_with_state(memory, states, predicted, np.full((3, 1), np.nan), np.ones((3, 1)))
    np.testing.assert_array_equal(analysed, states)
    for key in memory:
        np.testing.assert_array_equal(after[key], memory[key])


def test_plain_interface_keeps_memory_on_the_filter():
    adaptive = AdaptiveFilter(DEnKF(), observation_error=DesroziersR())
    rng = np.random.default_rng(4)
    states = rng.normal(size=(5, 8, 1))
    adaptive.analyse(states, states, rng.normal(size=(5, 1)), np.ones((5, 1)))
    assert adaptive.state["r_weight"].tolist() == [1.0] * 5
    assert adaptive.diagnostics.innovation.shape == (5, 1)
    assert adaptive.needs_rng is False


@pytest.mark.parametrize(
    "make",
    [
        lambda: DesroziersR(forgetting=0.0),
        lambda: DesroziersR(prior_weight=-1.0),
        lambda: AdaptiveInflation(prior_weight=0.0),
        lambda: AdaptiveInflation(initial=0.5),
        lambda: AdaptiveFilter("denkf"),
    ],
)
def test_adaptive_parameters_validated(make):
    with pytest.raises((ValueError, TypeError)):
        make()
