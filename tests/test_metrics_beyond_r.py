"""Tests of the validation metrics beyond R: anomaly R, bootstrap intervals, ensemble reliability."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from s1da.framework import metrics
from s1da.framework.randomness import Purpose, stream

DAYS = np.arange(730)
DAY_OF_YEAR = (DAYS % 365) + 1


def _seasonal(amplitude):
    return amplitude * np.sin(2 * np.pi * DAYS / 365.0)


def test_climatology_of_a_constant_is_the_constant_and_gaps_are_skipped():
    values = np.full((730, 2), 0.3)
    values[::3, 0] = np.nan
    np.testing.assert_allclose(metrics.seasonal_climatology(values, DAY_OF_YEAR), 0.3)


def test_climatology_is_a_centred_moving_mean_within_one_year():
    values = np.arange(365.0)[:, None]
    climatology = metrics.seasonal_climatology(values, np.arange(1, 366), window=5, min_samples=1)
    assert climatology[100, 0] == pytest.approx(100.0)  # mean of 98..102
    # circular: day 1 averages days 365, (366: none), 1, 2, 3
    assert climatology[0, 0] == pytest.approx((364 + 0 + 1 + 2) / 4)


def test_anomaly_r_removes_a_shared_seasonal_cycle():
    rng = stream(1, 0, Purpose.VALIDATION_BOOTSTRAP)
    x = _seasonal(0.1) + 0.01 * rng.standard_normal(730)
    y = _seasonal(0.2) + 0.01 * rng.standard_normal(730)  # independent anomalies
    assert metrics.pearson_r(x, y) > 0.95
    assert abs(metrics.anomaly_r(x, y, DAY_OF_YEAR)) < 0.15
    # shared anomalies: anomaly R recovers their correlation
    shared = 0.01 * rng.standard_normal(730)
    assert metrics.anomaly_r(_seasonal(0.1) + shared, _seasonal(0.05) + 2 * shared, DAY_OF_YEAR) > 0.95


@given(st.floats(-5, 5), st.floats(0.1, 10))
def test_anomaly_r_is_invariant_under_positive_affine_maps_and_bounded(offset, scale):
    rng = stream(2, 0, Purpose.VALIDATION_BOOTSTRAP)
    x = _seasonal(0.1)[:, None] + 0.02 * rng.standard_normal((730, 3))
    y = x + 0.02 * rng.standard_normal((730, 3))
    x[rng.random((730, 3)) < 0.3] = np.nan
    r = metrics.anomaly_r(x, y, DAY_OF_YEAR)
    assert np.all((r >= -1) & (r <= 1))
    np.testing.assert_allclose(metrics.anomaly_r(scale * x + offset, y, DAY_OF_YEAR), r, atol=1e-9)
    np.testing.assert_allclose(metrics.anomaly_r(y, x, DAY_OF_YEAR), r, atol=1e-12)


@given(st.floats(-1, 1))
def test_ubrmsd_ignores_an_offset_and_never_exceeds_rmsd(offset):
    rng = stream(3, 0, Purpose.VALIDATION_BOOTSTRAP)
    x, y = rng.standard_normal((2, 50, 4))
    np.testing.assert_allclose(metrics.ubrmsd(x + offset, y), metrics.ubrmsd(x, y), atol=1e-12)
    assert np.all(metrics.ubrmsd(x + offset, y) <= metrics.rmsd(x + offset, y) + 1e-12)


def test_anomaly_r_errors():
    with pytest.raises(ValueError, match="day_of_year has"):
        metrics.anomaly_r(np.zeros(10), np.zeros(10), np.arange(1, 5))
    with pytest.raises(ValueError, match="1..366"):
        metrics.seasonal_climatology(np.zeros(3), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="odd number"):
        metrics.seasonal_climatology(np.zeros(3), np.array([1, 2, 3]), window=4)


def test_bootstrap_interval_covers_the_estimate_and_is_keyed():
    values = np.linspace(-0.05, 0.15, 139)
    values[5] = np.nan
    low, high = metrics.bootstrap_interval(values, metrics.mean_over_sites, stream(7, 0, Purpose.VALIDATION_BOOTSTRAP))
    assert low < np.nanmean(values) < high
    # the standard error of a mean of 138 uniform values of width 0.2 is 0.2 / sqrt(12 * 138) = 0.0049
    assert (high - low) == pytest.approx(2 * 1.96 * 0.2 / np.sqrt(12 * 138), rel=0.15)
    again = metrics.bootstrap_interval(values, metrics.mean_over_sites, stream(7, 0, Purpose.VALIDATION_BOOTSTRAP))
    assert again == (low, high)
    share = metrics.bootstrap_interval(values, metrics.percent_positive, stream(7, 0, Purpose.VALIDATION_BOOTSTRAP))
    assert share[0] <= metrics.percent_improved(values) <= share[1]
    assert all(np.isnan(metrics.bootstrap_interval([0.1], metrics.mean_over_sites, stream(7, 0, Purpose.VALIDATION_BOOTSTRAP))))
    with pytest.raises(ValueError, match="level"):
        metrics.bootstrap_interval(values, metrics.mean_over_sites, stream(7, 0, Purpose.VALIDATION_BOOTSTRAP), level=1.0)


def test_a_reliable_ensemble_has_a_flat_rank_histogram_and_spread_skill_one():
    rng = stream(11, 0, Purpose.VALIDATION_RANK_TIES)
    members, days, sites = 16, 2000, 5
    centre = rng.standard_normal((days, 1, sites))
    ensemble = centre + 0.1 * rng.standard_normal((days, members, sites))
    truth = centre[:, 0, :] + 0.1 * rng.standard_normal((days, sites))  # exchangeable with the members
    ranks = metrics.truth_ranks(ensemble, truth, stream(11, 0, Purpose.VALIDATION_RANK_TIES, 1).random(truth.shape))
    histogram = metrics.rank_histogram(ranks, members)
    assert histogram.sum() == days * sites and histogram.shape == (members + 1,)
    expected = days * sites / (members + 1)
    chi_square = ((histogram - expected) ** 2 / expected).sum()
    assert chi_square < 40  # 16 degrees of freedom: the 99.9 % point is 39.3
    spread = metrics.ensemble_spread(ensemble)
    rmse = metrics.rmsd(ensemble.mean(axis=1), truth)
    ratio = metrics.spread_skill_ratio(metrics.rms_spread(spread), rmse, members)
    np.testing.assert_allclose(ratio, 1.0, atol=0.05)


def test_an_under_dispersive_ensemble_is_u_shaped_and_collapsed():
    rng = stream(12, 0, Purpose.VALIDATION_RANK_TIES)
    ensemble = 0.001 * rng.standard_normal((500, 8, 2))
    truth = 0.01 * rng.standard_normal((500, 2))
    histogram = metrics.rank_histogram(metrics.truth_ranks(ensemble, truth, rng.random(truth.shape)), 8)
    assert histogram[0] + histogram[-1] > 0.8 * histogram.sum()
    spread = metrics.ensemble_spread(ensemble)
    np.testing.assert_allclose(metrics.collapsed_share(spread), 1.0)
    assert metrics.collapsed_share(spread, threshold=1e-9) == pytest.approx(0.0, abs=0)


def test_ties_are_broken_at_random_and_missing_values_have_no_rank():
    ensemble = np.zeros((4000, 3, 1))
    truth = np.zeros((4000, 1))
    truth[0] = np.nan
    ranks = metrics.truth_ranks(ensemble, truth, stream(13, 0, Purpose.VALIDATION_RANK_TIES).random(truth.shape))
    assert np.isnan(ranks[0, 0])
    counts = metrics.rank_histogram(ranks, 3)
    assert counts.sum() == 3999 and counts.min() > 900  # uniform over 4 places
    with pytest.raises(ValueError, match="do not match"):
        metrics.truth_ranks(np.zeros((3, 2, 2)), np.zeros((3, 3)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="at least 2 members"):
        metrics.ensemble_spread(np.zeros((3, 1, 2)))
