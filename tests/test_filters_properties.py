"""Property tests of the docs/model/filters.md (c) identities for the batched ensemble filters."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given
from hypothesis import strategies as st

from s1da.components.filters import (
    DEnKF,
    ETKF,
    StochasticEnKF,
    denkf_analysis,
    etkf_analysis,
    stochastic_enkf_analysis,
)
from s1da.framework.interfaces import Filter
from s1da.framework.randomness import Purpose, stream

# ------------------------------------------------------------------------------------------
# problem generator: hypothesis draws the sizes, the scales and a seed; numpy fills the arrays
# ------------------------------------------------------------------------------------------


@st.composite
def problems(draw, n_obs=None, n_state=None, min_members=2):
    sizes = {
        "batch": draw(st.integers(1, 4)),
        "members": draw(st.integers(min_members, 12)),
        "n_state": n_state or draw(st.integers(1, 4)),
        "n_obs": n_obs or draw(st.integers(1, 3)),
    }
    seed = draw(st.integers(0, 2**32 - 1))
    state_scale = draw(st.floats(1e-3, 1e2))
    obs_scale = draw(st.floats(1e-2, 1e2))
    r_scale = draw(st.floats(1e-3, 1e2))
    rng = np.random.default_rng(seed)
    b, m, n, p = sizes["batch"], sizes["members"], sizes["n_state"], sizes["n_obs"]
    states = rng.normal(0.3, state_scale, (b, m, n))
    # nonlinear operator with a noise term: nothing below assumes linearity unless stated
    mixing = rng.normal(size=(b, n, p))
    predicted = obs_scale * np.tanh(states @ mixing / state_scale) + rng.normal(0, 0.1 * obs_scale, (b, m, p))
    observed = rng.normal(0, obs_scale, (b, p))
    error_variance = r_scale * obs_scale**2 * rng.uniform(0.5, 2.0, (b, p))
    standard_normal = rng.standard_normal((b, m, p))
    return states, predicted, observed, error_variance, standard_normal


def _stochastic(states, predicted, observed, error_variance, *, standard_normal, **options):
    return stochastic_enkf_analysis(
        states, predicted, observed, error_variance, standard_normal=standard_normal, **options
    )


ANALYSES = {
    # fast = rank-one path for one observation (numba kernel when installed), else general path
    "denkf": lambda s, y, d, r, z, **kw: denkf_analysis(s, y, d, r, **kw),
    "denkf_numpy": lambda s, y, d, r, z, **kw: denkf_analysis(s, y, d, r, use_numba=False, **kw),
    "denkf_general": lambda s, y, d, r, z, **kw: denkf_analysis(s, y, d, r, fast=False, **kw),
    "etkf": lambda s, y, d, r, z, **kw: etkf_analysis(s, y, d, r, **kw),
    "etkf_general": lambda s, y, d, r, z, **kw: etkf_analysis(s, y, d, r, fast=False, **kw),
    "stochastic": lambda s, y, d, r, z, **kw: _stochastic(s, y, d, r, standard_normal=z, **kw),
    "stochastic_general": lambda s, y, d, r, z, **kw: _stochastic(s, y, d, r, standard_normal=z, fast=False, **kw),
}


def _scale(states):
    return np.abs(states).max() + 1e-300


# ------------------------------------------------------------------------------------------
# reference forms written in the column convention of docs/model/filters.md (c), one site at a time
# ------------------------------------------------------------------------------------------


def _reference_gain(states, predicted, r):
    n_members = states.shape[0]
    anomalies = (states - states.mean(0)).T  # A, n x N
    y = (predicted - predicted.mean(0)).T  # Y, p x N
    return anomalies @ y.T @ np.linalg.inv(y @ y.T + (n_members - 1) * np.diag(r))


def _reference_denkf(states, predicted, d, r):
    e = states.T
    y = (predicted - predicted.mean(0)).T
    k = _reference_gain(states, predicted, r)
    mean = e.mean(1) + k @ (d - predicted.mean(0))
    anomalies = (e - e.mean(1)[:, None]) - 0.5 * k @ y
    return (mean[:, None] + anomalies).T


def _reference_etkf(states, predicted, d, r):
    n_members = states.shape[0]
    e = states.T
    anomalies = e - e.mean(1)[:, None]
    y = (predicted - predicted.mean(0)).T
    r_inv = np.diag(1.0 / r)
    pi = np.linalg.inv((n_members - 1) * np.eye(n_members) + y.T @ r_inv @ y)
    w = pi @ y.T @ r_inv @ (d - predicted.mean(0))
    transform = np.sqrt(n_members - 1) * np.real(scipy.linalg.sqrtm(pi))
    return (e.mean(1)[:, None] + anomalies @ w[:, None] + anomalies @ transform).T


# ------------------------------------------------------------------------------------------
# identities
# ------------------------------------------------------------------------------------------


def _reference_stochastic(states, predicted, d, r, z):
    eps = (z - z.mean(0)) * np.sqrt(r)  # centred perturbations, (N, p)
    k = _reference_gain(states, predicted, r)
    return states + (d + eps - predicted) @ k.T


REFERENCES = {
    "denkf": _reference_denkf,
    "etkf": _reference_etkf,
    "stochastic": _reference_stochastic,
}


@pytest.mark.parametrize("name", list(ANALYSES))
@given(problem=problems())
def test_filters_analysis_matches_reference_forms(name, problem):
    """Each path equals the textbook matrix form of docs/model/filters.md (c), written per site."""
    states, predicted, observed, r, z = problem
    result = ANALYSES[name](states, predicted, observed, r, z)
    reference = REFERENCES[name.split("_")[0]]
    tol = 1e-9 * _scale(states)
    for site in range(states.shape[0]):
        args = (states[site], predicted[site], observed[site], r[site])
        if reference is _reference_stochastic:
            args += (z[site],)
        gain = _reference_gain(states[site], predicted[site], r[site])
        np.testing.assert_allclose(result.gain[site], gain, rtol=1e-9, atol=1e-12 * np.abs(gain).max() + 1e-300)
        np.testing.assert_allclose(result.states[site], reference(*args), rtol=0, atol=tol)


@pytest.mark.parametrize("name", list(ANALYSES))
@given(problem=problems())
def test_filters_anomalies_stay_centred_and_mean_uses_full_gain(name, problem):
    """Aᵃ1 = 0: the member mean of the analysis is x̄ + K(d - ȳ) for all three filters."""
    states, predicted, observed, r, z = problem
    result = ANALYSES[name](states, predicted, observed, r, z)
    expected_mean = result.forecast_mean + np.einsum("...np,...p->...n", result.gain, observed - predicted.mean(-2))
    np.testing.assert_allclose(result.analysis_mean, expected_mean, rtol=0, atol=1e-9 * _scale(states))
    np.testing.assert_allclose(
        result.increment, result.analysis_mean - result.forecast_mean, rtol=0, atol=1e-12 * _scale(states)
    )


@given(problems())
def test_filters_three_filters_share_the_analysis_mean(problem):
    """DEnKF mean = perturbed-obs mean (centred ε) = ETKF mean, any h (push-through identity)."""
    states, predicted, observed, r, z = problem
    means = {name: fn(states, predicted, observed, r, z).analysis_mean for name, fn in ANALYSES.items()}
    for name, mean in means.items():
        np.testing.assert_allclose(mean, means["denkf"], rtol=0, atol=1e-9 * _scale(states), err_msg=name)


@pytest.mark.parametrize("name", ["denkf", "etkf", "stochastic"])
@given(problem=problems(n_obs=1), inflation=st.floats(0.5, 2.0))
def test_filters_rank_one_path_equals_general_path(name, problem, inflation):
    """p = 1: the rank-one update (numba and numpy kernels) = the gain/eigh path."""
    states, predicted, observed, r, z = problem
    general = ANALYSES[f"{name}_general"](states, predicted, observed, r, z, inflation=inflation)
    for use_numba in (False, None):
        fast = ANALYSES[name](states, predicted, observed, r, z, inflation=inflation, use_numba=use_numba)
        for field in ("states", "analysis_mean", "forecast_spread", "analysis_spread", "increment"):
            np.testing.assert_allclose(
                getattr(fast, field), getattr(general, field), rtol=0, atol=1e-10 * _scale(states), err_msg=field
            )
        np.testing.assert_allclose(fast.gain, general.gain, rtol=1e-9, atol=1e-12 * np.abs(general.gain).max())


@pytest.mark.parametrize("name", list(ANALYSES))
@given(problem=problems())
def test_filters_infinite_error_variance_changes_nothing(name, problem):
    states, predicted, observed, r, z = problem
    # R * 1e30: K ~ 1e-30, and the stochastic filter's K ε ~ 1/sqrt(R) ~ 1e-15 (relative)
    result = ANALYSES[name](states, predicted, observed, r * 1e30, z)
    np.testing.assert_allclose(result.states, states, rtol=0, atol=1e-9 * _scale(states))


@pytest.mark.parametrize("name", list(ANALYSES))
@given(problem=problems())
def test_filters_zero_predicted_spread_gives_zero_gain(name, problem):
    states, predicted, observed, r, z = problem
    # dyadic values so that the member mean of identical predictions is exact
    flat = np.broadcast_to(np.round(predicted.mean(-2, keepdims=True) * 2**10) / 2**10, predicted.shape)
    result = ANALYSES[name](states, flat, observed, r, z)
    assert np.all(result.gain == 0)
    np.testing.assert_allclose(result.states, states, rtol=0, atol=1e-12 * _scale(states))


@given(
    members=st.integers(3, 40),
    slope=st.floats(0.1, 10) | st.floats(-10, -0.1),
    offset=st.floats(-5, 5),
    r=st.floats(1e-3, 1e3),
    seed=st.integers(0, 2**32 - 1),
)
def test_filters_scalar_linear_variance_factors(members, slope, offset, r, seed):
    """y = h x + c: DEnKF var(Aᵃ) = (1 - k/2)² varᶠ, ETKF (1 - k) varᶠ, k = h² varᶠ / (h² varᶠ + R)."""
    rng = np.random.default_rng(seed)
    states = rng.normal(0.25, 0.05, (members, 1))
    predicted = slope * states + offset
    observed = np.array([offset + slope * 0.3])
    error_variance = np.array([r])
    forecast_variance = states.var(ddof=1)
    k = slope**2 * forecast_variance / (slope**2 * forecast_variance + r)
    for options in ({}, {"use_numba": False}, {"fast": False}):
        denkf = denkf_analysis(states, predicted, observed, error_variance, **options)
        etkf = etkf_analysis(states, predicted, observed, error_variance, **options)
        np.testing.assert_allclose(denkf.states.var(ddof=1), (1 - k / 2) ** 2 * forecast_variance, rtol=1e-9)
        np.testing.assert_allclose(etkf.states.var(ddof=1), (1 - k) * forecast_variance, rtol=1e-9)
        np.testing.assert_allclose(etkf.analysis_spread**2, (1 - k) * forecast_variance, rtol=1e-9)
        # DEnKF keeps k² varᶠ / 4 more variance than the Kalman filter (implicit inflation)
        np.testing.assert_allclose(
            denkf.states.var(ddof=1) - etkf.states.var(ddof=1),
            k**2 * forecast_variance / 4,
            rtol=1e-7,
            atol=1e-12 * forecast_variance,
        )


def test_filters_stochastic_enkf_variance_is_kalman_in_expectation():
    """Perturbed observations: var(Aᵃ) -> (1 - k) varᶠ for a large ensemble (Burgers et al. 1998)."""
    rng = np.random.default_rng(20240607)
    members = 20000
    states = rng.normal(0.25, 0.05, (members, 1))
    r = 0.05**2
    result = stochastic_enkf_analysis(
        states, states.copy(), np.array([0.3]), np.array([r]), standard_normal=rng.standard_normal((members, 1))
    )
    k = states.var(ddof=1) / (states.var(ddof=1) + r)
    # sampling SD of a variance estimate is sqrt(2/N) ~ 1 %: allow 5 %
    np.testing.assert_allclose(result.states.var(ddof=1), (1 - k) * states.var(ddof=1), rtol=0.05)


@pytest.mark.parametrize("name", list(ANALYSES))
@given(problem=problems())
def test_filters_batched_equals_looped(name, problem):
    states, predicted, observed, r, z = problem
    batched = ANALYSES[name](states, predicted, observed, r, z)
    for site in range(states.shape[0]):
        single = ANALYSES[name](states[site], predicted[site], observed[site], r[site], z[site])
        np.testing.assert_allclose(batched.states[site], single.states, rtol=1e-12, atol=1e-12 * _scale(states))
        np.testing.assert_allclose(batched.gain[site], single.gain, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name", list(ANALYSES))
@given(problem=problems())
def test_filters_several_batch_axes(name, problem):
    states, predicted, observed, r, z = problem
    flat = ANALYSES[name](states, predicted, observed, r, z)
    b = states.shape[0]
    nested = ANALYSES[name](states[None], predicted[None], observed[None], r[None], z[None])
    assert nested.states.shape == (1, b) + states.shape[1:]
    np.testing.assert_allclose(nested.states[0], flat.states, rtol=1e-12, atol=1e-12 * _scale(states))


@pytest.mark.parametrize("name", list(ANALYSES))
@given(problem=problems(), data=st.data())
def test_filters_nan_observation_is_dropped(name, problem, data):
    states, predicted, observed, r, z = problem
    b, _, p = predicted.shape
    observed = observed.copy()
    predicted = predicted.copy()
    dead_site = data.draw(st.integers(0, b - 1))
    observed[dead_site] = np.nan
    predicted[dead_site] = np.nan  # predictions for a missing observation are ignored too
    result = ANALYSES[name](states, predicted, observed, r, z, inflation=1.3)
    assert np.array_equal(result.states[dead_site], states[dead_site])  # bit-identical
    assert not result.updated[dead_site]
    assert np.all(result.increment[dead_site] == 0) and np.all(result.gain[dead_site] == 0)
    assert np.all(np.isnan(result.innovation[dead_site]))
    if p > 1:
        # dropping one of several observations = analysing without it
        live = [s for s in range(b) if s != dead_site]
        if live:
            site = live[0]
            missing = data.draw(st.integers(0, p - 1))
            keep = [j for j in range(p) if j != missing]
            partial = observed[site].copy()
            partial[missing] = np.nan
            with_nan = ANALYSES[name](states[site], predicted[site], partial, r[site], z[site])
            without = ANALYSES[name](
                states[site], predicted[site][:, keep], observed[site][keep], r[site][keep], z[site][:, keep]
            )
            np.testing.assert_allclose(with_nan.states, without.states, rtol=0, atol=1e-9 * _scale(states))
            assert np.all(with_nan.gain[:, missing] == 0)


@pytest.mark.parametrize("name", list(ANALYSES))
@given(problem=problems(), inflation=st.floats(0.5, 3.0))
def test_filters_inflation_scales_forecast_anomalies(name, problem, inflation):
    """Inflating inside the filter = analysing an ensemble whose anomalies were inflated first."""
    states, predicted, observed, r, z = problem
    inflated = ANALYSES[name](states, predicted, observed, r, z, inflation=inflation)

    def inflate(x):
        mean = x.mean(-2, keepdims=True)
        return mean + inflation * (x - mean)

    reference = ANALYSES[name](inflate(states), inflate(predicted), observed, r, z)
    np.testing.assert_allclose(inflated.states, reference.states, rtol=0, atol=1e-9 * _scale(states))
    # with no information (R -> inf) the spread grows by exactly the inflation factor
    # (R * 1e30: the stochastic filter's K ε shrinks only like 1/sqrt(R))
    loose = ANALYSES[name](states, predicted, observed, r * 1e30, z, inflation=inflation)
    np.testing.assert_allclose(loose.analysis_spread, inflation * loose.forecast_spread, rtol=1e-5, atol=1e-300)


@pytest.mark.parametrize("name", list(ANALYSES))
@given(problem=problems())
def test_filters_diagnostics(name, problem):
    states, predicted, observed, r, z = problem
    result = ANALYSES[name](states, predicted, observed, r, z)
    b, m, n = states.shape
    p = predicted.shape[-1]
    assert result.states.shape == (b, m, n)
    assert result.gain.shape == (b, n, p)
    for field in ("forecast_mean", "analysis_mean", "increment", "forecast_spread", "analysis_spread"):
        assert getattr(result, field).shape == (b, n), field
    innovation = observed - predicted.mean(-2)
    # absolute tolerance: an innovation can be 0 (round-off of d - mean(y) is ~1e-16 |d|)
    np.testing.assert_allclose(result.innovation, innovation, rtol=0, atol=1e-12 * (1.0 + np.abs(observed).max()))
    np.testing.assert_allclose(
        result.normalised_innovation, innovation / np.sqrt(predicted.var(-2, ddof=1) + r), rtol=1e-9
    )
    np.testing.assert_allclose(result.forecast_spread, states.std(-2, ddof=1), rtol=1e-12, atol=1e-12 * _scale(states))
    np.testing.assert_allclose(result.analysis_spread, result.states.std(-2, ddof=1), rtol=1e-12, atol=1e-12 * _scale(states))
    diagnostics = result.as_dict()
    assert "states" not in diagnostics
    assert diagnostics["increment"] is result.increment and len(diagnostics) == 10


def test_filters_classes_implement_the_interface_and_keep_diagnostics():
    rng = np.random.default_rng(3)
    states = rng.normal(0.25, 0.03, (6, 32, 3))
    predicted = -10 + 20 * states[..., :1] + rng.normal(0, 0.1, (6, 32, 1))
    observed = rng.normal(-5, 1, (6, 1))
    r = np.full((6, 1), 1.5)
    for cls in (DEnKF, ETKF, StochasticEnKF):
        flt = cls(inflation=1.02)
        assert isinstance(flt, Filter)
        assert flt.diagnostics is None
        out = flt.analyse(states, predicted, observed, r, rng=np.random.default_rng(1))
        assert out.shape == states.shape
        assert out is flt.diagnostics.states
        assert flt.diagnostics.gain.shape == (6, 3, 1)


def test_filters_stochastic_per_site_generators_do_not_depend_on_chunking():
    rng = np.random.default_rng(11)
    sites = np.array([4, 17, 23, 99])
    states = rng.normal(0.25, 0.03, (4, 32, 3))
    predicted = -10 + 20 * states[..., :1]
    observed = rng.normal(-5, 1, (4, 1))
    r = np.full((4, 1), 1.5)

    def generators(ids):
        return [stream(2024, int(site), Purpose.OBSERVATION_PERTURBATION, 7) for site in ids]

    flt = StochasticEnKF()
    everything = flt.analyse(states, predicted, observed, r, rng=generators(sites))
    chunk = flt.analyse(states[2:], predicted[2:], observed[2:], r[2:], rng=generators(sites[2:]))
    assert np.array_equal(everything[2:], chunk)
    nested = flt.analyse(
        states.reshape(2, 2, 32, 3),
        predicted.reshape(2, 2, 32, 1),
        observed.reshape(2, 2, 1),
        r.reshape(2, 2, 1),
        rng=np.array(generators(sites), dtype=object).reshape(2, 2),
    )
    assert np.array_equal(nested.reshape(4, 32, 3), everything)


def test_filters_scalar_error_variance_broadcasts():
    rng = np.random.default_rng(5)
    states = rng.normal(size=(3, 8, 2))
    predicted = states[..., :1] * 3
    observed = rng.normal(size=(3, 1))
    full = denkf_analysis(states, predicted, observed, np.full((3, 1), 0.7))
    scalar = denkf_analysis(states, predicted, observed, 0.7)
    assert np.array_equal(full.states, scalar.states)


@pytest.mark.parametrize("name", ["denkf", "etkf", "stochastic"])
@given(problem=problems(n_obs=1), block=st.integers(1, 3))
def test_filters_numpy_kernel_blocks_do_not_change_numbers(name, problem, block):
    """The numpy kernel works through blocks of sites; each site's numbers are independent of it."""
    from s1da.components.filters import kernels

    states, predicted, observed, r, z = problem
    whole = ANALYSES[name](states, predicted, observed, r, z, use_numba=False)
    original = kernels._CHUNK_BYTES
    kernels._CHUNK_BYTES = 8 * states.shape[-2] * states.shape[-1] * block
    try:
        blocked = ANALYSES[name](states, predicted, observed, r, z, use_numba=False)
    finally:
        kernels._CHUNK_BYTES = original
    for field in ("states", "analysis_mean", "analysis_spread", "forecast_spread", "gain"):
        assert np.array_equal(getattr(whole, field), getattr(blocked, field)), field


@pytest.mark.parametrize("name", list(ANALYSES))
def test_filters_empty_batch_and_non_contiguous_input(name):
    empty = ANALYSES[name](
        np.zeros((0, 8, 3)), np.zeros((0, 8, 1)), np.zeros((0, 1)), np.ones((0, 1)), np.zeros((0, 8, 1))
    )
    assert empty.states.shape == (0, 8, 3) and empty.gain.shape == (0, 3, 1)
    rng = np.random.default_rng(9)
    states = rng.normal(0.25, 0.03, (3, 4, 8)).swapaxes(-1, -2)  # (site, member, state), not C-contiguous
    predicted = -10 + 20 * states[..., :1]
    observed = rng.normal(-5, 1, (3, 1))
    z = rng.standard_normal((3, 8, 1))
    strided = ANALYSES[name](states, predicted, observed, 1.5, z)
    contiguous = ANALYSES[name](np.ascontiguousarray(states), predicted, observed, 1.5, z)
    assert np.array_equal(strided.states, contiguous.states)
