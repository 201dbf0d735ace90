"""Cross-validated observation-error variance (docs/model/operators.md, "R options")."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s1da.components.operators import SupportVectorOperator, WaterCloudModel
from s1da.components.operators.cross_validated import CrossValidatedOperator, blocked_test_masks
from s1da.components.operators.svr import contiguous_folds


@settings(max_examples=50)
@given(
    valid=st.lists(st.lists(st.booleans(), min_size=30, max_size=30), min_size=1, max_size=3),
    n_folds=st.integers(2, 6),
)
def test_blocked_folds_are_the_svr_contiguous_folds_of_each_site(valid, n_folds):
    valid = np.array(valid)
    masks = blocked_test_masks(valid, n_folds)
    assert masks.shape == (n_folds, *valid.shape)
    np.testing.assert_array_equal(masks.sum(axis=0), valid)  # every valid sample in exactly one block
    for site, row in enumerate(valid):
        positions = np.flatnonzero(row)
        if positions.size < n_folds:
            continue
        for k, (_, test) in enumerate(contiguous_folds(positions.size, n_folds)):
            np.testing.assert_array_equal(np.flatnonzero(masks[k, site]), positions[test])


def linear_gaussian(n_sites=4, n_days=240, noise_sd=0.5, seed=3):
    """sigma0 = C + D SM + N(0, noise_sd^2) with LAI < 0.1 (A = B = 0): a two-parameter regression."""
    rng = np.random.default_rng(seed)
    sm = rng.uniform(0.08, 0.42, (n_sites, n_days))
    sigma = -15.0 + 30.0 * sm + rng.normal(0.0, noise_sd, sm.shape)
    return {"soil_moisture": sm, "lai": np.full(sm.shape, 0.05)}, sigma


def test_cross_validated_r_recovers_the_noise_variance_and_exceeds_the_in_sample_r():
    inputs, sigma = linear_gaussian()
    fitted = CrossValidatedOperator(WaterCloudModel()).fit(inputs, sigma)
    # in sample: E[MSE] = s2 (1 - p/n); held out: about s2 (1 + p/n_train), p = 2 parameters
    assert np.all(fitted.error_variance > fitted.in_sample_error_variance)
    np.testing.assert_allclose(fitted.error_variance.mean(), 0.25, rtol=0.1)
    # predictions are those of the operator fitted on all samples
    np.testing.assert_array_equal(
        fitted.predict({name: values.T for name, values in inputs.items()}),
        WaterCloudModel().fit(inputs, sigma).predict({name: values.T for name, values in inputs.items()}),
    )


def test_the_svr_in_sample_residual_is_optimistic():
    inputs, sigma = linear_gaussian(n_sites=2, n_days=150)
    inputs["lai"] = np.random.default_rng(4).uniform(0.5, 3.0, sigma.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = CrossValidatedOperator(SupportVectorOperator(gamma_grid=(1.0, 10.0), c_grid=(10.0, 100.0), n_folds=3)).fit(inputs, sigma)
    assert fitted.folds == 3  # the SVR's own folds
    assert np.all(fitted.error_variance > fitted.in_sample_error_variance)


def test_stored_cross_validated_operator_is_rebuilt_without_refit():
    inputs, sigma = linear_gaussian(n_sites=2)
    fitted = CrossValidatedOperator(WaterCloudModel(), n_folds=4).fit(inputs, sigma)
    dataset = fitted.to_dataset()
    assert dataset.attrs["operator"] == "cross_validated" and dataset.attrs["cv_n_folds"] == 4
    np.testing.assert_array_equal(dataset["in_sample_error_variance"].values, fitted.in_sample_error_variance)
    rebuilt = CrossValidatedOperator.from_dataset(dataset)
    np.testing.assert_array_equal(rebuilt.error_variance, fitted.error_variance)
    np.testing.assert_array_equal(rebuilt.in_sample_error_variance, fitted.in_sample_error_variance)
    probe = {"soil_moisture": np.full((3, 2), 0.2), "lai": np.full((3, 2), 0.05)}
    np.testing.assert_array_equal(rebuilt.predict(probe), fitted.predict(probe))


def test_a_fold_the_operator_refuses_is_named():
    inputs, sigma = linear_gaussian(n_sites=1, n_days=16)
    inputs["soil_moisture"][0, 4:] = 0.2  # varies only in the first block: fold 1 trains on constant SM
    with pytest.raises(ValueError, match=r"cross-validation fold 1 of 5 \(time-blocked\): .*soil_moisture is constant"):
        CrossValidatedOperator(WaterCloudModel()).fit(inputs, sigma)


def test_too_few_samples_for_the_folds_is_refused_before_fitting():
    inputs, sigma = linear_gaussian(n_sites=1, n_days=9)
    with pytest.raises(ValueError, match="only 9 valid samples, at least 11"):
        CrossValidatedOperator(WaterCloudModel()).fit(inputs, sigma)


def test_stored_dataset_of_another_operator_is_refused():
    inputs, sigma = linear_gaussian(n_sites=1)
    with pytest.raises(ValueError, match="not written by CrossValidatedOperator"):
        CrossValidatedOperator.from_dataset(WaterCloudModel().fit(inputs, sigma).to_dataset())
