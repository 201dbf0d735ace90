"""Every error path of the ensemble filters raises a clear message."""

from __future__ import annotations

import numpy as np
import pytest

from s1da.components.filters import (
    DEnKF,
    ETKF,
    StochasticEnKF,
    denkf_analysis,
    etkf_analysis,
    stochastic_enkf_analysis,
)


def _problem(batch=3, members=8, n_state=2, n_obs=1):
    rng = np.random.default_rng(0)
    states = rng.normal(0.25, 0.03, (batch, members, n_state))
    predicted = -10 + 20 * states[..., :n_obs] if n_obs <= n_state else rng.normal(size=(batch, members, n_obs))
    observed = rng.normal(-5, 1, (batch, n_obs))
    r = np.full((batch, n_obs), 1.5)
    return states, predicted, observed, r


FILTERS = [DEnKF, ETKF, StochasticEnKF]


def _analyse(cls, states, predicted, observed, r):
    return cls().analyse(states, predicted, observed, r, rng=np.random.default_rng(0))


@pytest.mark.parametrize("n_obs", [1, 2])
@pytest.mark.parametrize("cls", FILTERS)
@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda s, y, d, r: (s, y[:, :5], d, r), "member axes differ"),
        (lambda s, y, d, r: (s, y[:2], d, r), "batch axes differ"),
        (lambda s, y, d, r: (s, y, d[:2], r), "observed has shape"),
        (lambda s, y, d, r: (s, y, d[:, 0], r), "observed has shape"),
        (lambda s, y, d, r: (s, y, d, np.ones((2, 1))), "does not broadcast"),
        (lambda s, y, d, r: (s, y, d, -r), "error_variance must be finite and > 0"),
        (lambda s, y, d, r: (s, y, d, np.full_like(r, np.inf)), "error_variance must be finite and > 0"),
        (lambda s, y, d, r: (s, y, d, np.zeros_like(r)), "where an observation is given"),
        (lambda s, y, d, r: (s, y, d, np.full_like(r, np.nan)), "where an observation is given"),
        (
            lambda s, y, d, r: (np.where(np.arange(8)[:, None] == 4, np.nan, s), y, d, r),
            r"states contain non-finite values, first at index \(0, 4, 0\)",
        ),
        (
            lambda s, y, d, r: (s, np.where(np.arange(3)[:, None, None] == 1, np.inf, y), d, r),
            r"predicted contains non-finite values for a valid observation, first at index \(1, 0, 0\)",
        ),
        (lambda s, y, d, r: (s, y, np.full_like(d, np.inf), r), "use NaN for a missing observation"),
        (lambda s, y, d, r: (s[:, :1], y[:, :1], d, r), "at least 2 members"),
        (lambda s, y, d, r: (s[0, 0], y, d, r), "states must have at least 2 dimensions"),
        (lambda s, y, d, r: (s, y[0, :, 0], d, r), "predicted must have at least 2 dimensions"),
        (lambda s, y, d, r: (s[..., :0], y, d, r), "empty state or observation axis"),
        (lambda s, y, d, r: (s.astype(str), y, d, r), "states must be a real numeric array"),
    ],
)
def test_filters_invalid_input_raises(cls, mutate, message, n_obs):
    args = mutate(*_problem(n_obs=n_obs))
    with pytest.raises((ValueError, TypeError), match=message):
        _analyse(cls, *args)


@pytest.mark.parametrize("cls", FILTERS)
def test_filters_missing_observation_tolerates_missing_predictions_and_error_variance(cls):
    states, predicted, observed, r = _problem()
    observed[1] = np.nan
    predicted[1] = np.nan
    r[1] = np.nan
    out = _analyse(cls, states, predicted, observed, r)
    assert np.array_equal(out[1], states[1])
    assert np.isfinite(out).all()


@pytest.mark.parametrize("cls", FILTERS)
@pytest.mark.parametrize("inflation", [0.0, -1.0, np.nan, np.inf])
def test_filters_inflation_must_be_positive(cls, inflation):
    with pytest.raises(ValueError, match="inflation must be finite and > 0"):
        cls(inflation=inflation)


@pytest.mark.parametrize("analysis", [denkf_analysis, etkf_analysis])
@pytest.mark.parametrize("inflation", [0.0, -2.0, np.nan])
def test_filters_pure_functions_check_inflation(analysis, inflation):
    with pytest.raises(ValueError, match="inflation must be a finite number > 0"):
        analysis(*_problem(), inflation=inflation)


def test_filters_stochastic_needs_rng():
    with pytest.raises(ValueError, match="StochasticEnKF needs rng"):
        StochasticEnKF().analyse(*_problem())


@pytest.mark.parametrize(
    "rng, message",
    [
        (42, "rng must be a numpy.random.Generator"),
        ([np.random.default_rng(0)] * 2, r"batch shape \(3,\), got shape \(2,\)"),
        ([np.random.default_rng(0), np.random.default_rng(1), 7], r"rng\[\(2,\)\] is int"),
    ],
)
def test_filters_stochastic_rejects_bad_rng(rng, message):
    with pytest.raises(TypeError, match=message):
        StochasticEnKF().analyse(*_problem(), rng=rng)


def test_filters_stochastic_rejects_scalar_predictions():
    states, predicted, observed, r = _problem()
    with pytest.raises(ValueError, match="predicted must have at least 2 dimensions"):
        StochasticEnKF().analyse(states, predicted[0, 0], observed, r, rng=np.random.default_rng(0))


def test_filters_stochastic_checks_standard_normal():
    states, predicted, observed, r = _problem()
    with pytest.raises(ValueError, match="standard_normal has shape"):
        stochastic_enkf_analysis(states, predicted, observed, r, standard_normal=np.zeros((3, 8)))
    bad = np.zeros(predicted.shape)
    bad[2, 3, 0] = np.nan
    with pytest.raises(ValueError, match=r"standard_normal contains non-finite values, first at index \(2, 3, 0\)"):
        stochastic_enkf_analysis(states, predicted, observed, r, standard_normal=bad)


def test_filters_use_numba_true_without_numba_raises(monkeypatch):
    from s1da.components.filters import kernels

    monkeypatch.setattr(kernels, "_numba_kernel", lambda: None)
    with pytest.raises(ImportError, match="numba is not installed"):
        denkf_analysis(*_problem(), use_numba=True)
    # and the default falls back to numpy
    assert denkf_analysis(*_problem()).states.shape == (3, 8, 2)


@pytest.mark.parametrize("cls", FILTERS)
def test_filters_use_numba_must_be_bool_or_none(cls):
    with pytest.raises(TypeError, match="use_numba"):
        cls(use_numba="yes")
    assert cls(use_numba=False).use_numba is False
