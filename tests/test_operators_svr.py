"""epsilon-SVR operator: agreement with sklearn's grid search, determinism, broadcasting, persistence."""

import numpy as np
from operator_inputs import named
import pytest
import xarray as xr
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.svm import SVR

from s1da.components.operators import SupportVectorOperator, diagnose, water_cloud_backscatter
from s1da.components.operators.svr import contiguous_folds, cross_validation_folds


def simulate(n_sites=3, n_time=60, seed=0):
    rng = np.random.default_rng(seed)
    sm = rng.uniform(0.08, 0.42, (n_sites, n_time))
    lai = 0.2 + 4.0 * np.sin(np.linspace(0, np.pi, n_time)) ** 2 + rng.uniform(0, 0.2, (n_sites, n_time))
    sigma = water_cloud_backscatter(sm, lai, 0.1, 0.2, -20.0, 40.0) + rng.normal(0, 0.4, sm.shape)
    return sm, lai, sigma


@pytest.fixture(scope="module")
def network():
    return simulate()


@pytest.fixture(scope="module")
def fitted(network):
    sm, lai, sigma = network
    return SupportVectorOperator(n_jobs=1).fit(named(sm, lai), sigma, site_ids=[7, 3, 9])


def sklearn_search(sm, lai, sigma, operator, cv):
    features = np.stack([sm, lai], axis=-1)
    features = (features - features.mean(axis=0)) / features.std(axis=0)
    search = GridSearchCV(
        SVR(kernel="rbf", epsilon=operator.epsilon),
        {"C": list(operator.c_grid), "gamma": list(operator.gamma_grid)},
        cv=cv,
        scoring="neg_root_mean_squared_error",
        n_jobs=1,
    )
    return search.fit(features, sigma), features


@pytest.mark.parametrize("solver", ["smo", "libsvm"])
def test_operators_svr_matches_sklearn_grid_search(network, fitted, solver):
    sm, lai, sigma = network
    if solver == "libsvm":
        fitted = SupportVectorOperator(n_jobs=1, solver="libsvm").fit(named(sm[:2], lai[:2]), sigma[:2], site_ids=[7, 3])
    hyper = fitted.hyperparameters
    for site in range(2):
        search, features = sklearn_search(sm[site], lai[site], sigma[site], fitted, KFold(5))
        assert search.best_params_ == {"C": hyper["C"][site], "gamma": hyper["gamma"][site]}
        reference = -search.cv_results_["mean_test_score"].reshape(len(fitted.c_grid), len(fitted.gamma_grid))
        ours = fitted.to_dataset()["cv_rmsd"].values[site]
        if solver == "libsvm":  # the same LIBSVM fits on slices of the Gram matrix
            np.testing.assert_allclose(ours, reference, rtol=1e-9)
        else:  # warm-started SMO at LIBSVM's tolerance; NaN = abandoned, and never below the best
            solved = np.isfinite(ours)
            np.testing.assert_allclose(ours[solved], reference[solved], rtol=2e-3)
            assert np.all(reference[~solved] > reference.min())
        np.testing.assert_allclose(
            fitted.predict(named(sm.T[:, :2], lai.T[:, :2]) if solver == "libsvm" else named(sm.T, lai.T))[:, site],
            search.best_estimator_.predict(features),
            atol=1e-9,
        )


def test_operators_svr_shuffled_folds_match_explicit_cv():
    sm, lai, sigma = simulate(n_sites=1)
    operator = SupportVectorOperator(folds="shuffled", entropy=42, n_jobs=1)
    fitted = operator.fit(named(sm[0], lai[0]), sigma[0], site_ids=[5])
    from s1da.components.operators.inputs import site_stream_key
    from s1da.framework.randomness import Purpose, stream

    folds = cross_validation_folds(60, 5, "shuffled", stream(42, site_stream_key(5), Purpose.OPERATOR_FIT, 1))
    search, _ = sklearn_search(sm[0], lai[0], sigma[0], operator, folds)
    assert search.best_params_ == {k: v[0] for k, v in fitted.hyperparameters.items()}


def test_operators_folds_cover_samples_like_kfold():
    for n in (10, 23, 60):
        ours = contiguous_folds(n, 5)
        theirs = list(KFold(5).split(np.zeros(n)))
        for (train, test), (train_ref, test_ref) in zip(ours, theirs):
            np.testing.assert_array_equal(train, train_ref)
            np.testing.assert_array_equal(test, test_ref)
    rng = np.random.default_rng(0)
    shuffled = cross_validation_folds(23, 5, "shuffled", rng)
    np.testing.assert_array_equal(np.sort(np.concatenate([t for _, t in shuffled])), np.arange(23))
    with pytest.raises(ValueError, match="folds"):
        SupportVectorOperator(folds="random")


def test_operators_svr_workers_do_not_change_results(network, fitted):
    sm, lai, sigma = network
    parallel = SupportVectorOperator(n_jobs=2).fit(named(sm, lai), sigma, site_ids=[7, 3, 9])
    for name, values in fitted.to_dataset().data_vars.items():
        np.testing.assert_array_equal(parallel.to_dataset()[name].values, values.values, err_msg=name)


def test_operators_svr_site_subset_reproduces_site(network):
    # shuffled folds are keyed by site id, not by position in the network
    sm, lai, sigma = network
    operator = SupportVectorOperator(folds="shuffled", entropy=1, n_jobs=1)
    whole = operator.fit(named(sm, lai), sigma, site_ids=[7, 3, 9])
    alone = operator.fit(named(sm[2:], lai[2:]), sigma[2:], site_ids=[9])
    np.testing.assert_array_equal(alone.predict(named(sm[2:].T, lai[2:].T))[:, 0], whole.predict(named(sm.T, lai.T))[:, 2])
    for name in ("C", "gamma", "cv_rmsd", "intercept", "error_variance"):
        np.testing.assert_array_equal(alone.to_dataset()[name].values[0], whole.to_dataset()[name].values[2], err_msg=name)


def test_operators_svr_predict_broadcasts(network, fitted):
    sm, lai, _ = network
    rng = np.random.default_rng(0)
    members = sm.T[:, np.newaxis, :] + rng.normal(0, 0.02, (sm.shape[1], 4, 3))  # (time, member, site)
    predicted = fitted.predict(named(members, lai.T[:, np.newaxis, :]))
    assert predicted.shape == members.shape
    for site in range(3):
        single = fitted.predict(
            named(np.where(np.arange(3) == site, members[..., [site]], 0.2), np.broadcast_to(lai.T[:, np.newaxis, :], members.shape))
        )[..., site]
        np.testing.assert_array_equal(predicted[..., site], single)  # exact: sites are independent
    with pytest.raises(ValueError, match="last axis must be site"):
        fitted.predict(named(np.zeros((4, 2)), np.zeros((4, 2))))


def test_operators_svr_single_site_any_shape_and_sensitivity():
    sm, lai, sigma = simulate(n_sites=1)
    fitted = SupportVectorOperator(n_jobs=1).fit(named(sm[0], lai[0]), sigma[0])
    grid_sm = np.linspace(0.1, 0.4, 12).reshape(3, 4)
    assert fitted.predict(named(grid_sm, 2.0)).shape == (3, 4)
    # the WCM that generated the data increases with SM: the SVR learns a positive slope on average
    assert np.mean(fitted.sensitivity(named(sm[0], lai[0]))) > 0


def test_operators_svr_zarr_round_trip(tmp_path, network, fitted):
    sm, lai, _ = network
    dataset = fitted.to_dataset()
    for name, variable in dataset.variables.items():
        assert "units" in variable.attrs and "long_name" in variable.attrs, name
    dataset.to_zarr(tmp_path / "svr.zarr", zarr_format=3, consolidated=False)
    restored = SupportVectorOperator.from_dataset(xr.open_zarr(tmp_path / "svr.zarr", consolidated=False).load())
    members = sm.T[:, np.newaxis, :] * np.linspace(0.9, 1.1, 5)[:, np.newaxis]
    np.testing.assert_array_equal(restored.predict(named(members, lai.T[:, np.newaxis, :])), fitted.predict(named(members, lai.T[:, np.newaxis, :])))
    np.testing.assert_array_equal(restored.error_variance, fitted.error_variance)


def test_operators_svr_bad_input():
    sm, lai, sigma = simulate(n_sites=2)
    valid = np.ones_like(sm, bool)
    valid[1, 6:] = False
    with pytest.raises(ValueError, match="site 'b'.*only 6 valid samples"):
        SupportVectorOperator(n_jobs=1).fit(named(sm, lai), sigma, valid, site_ids=["a", "b"])
    with pytest.raises(ValueError, match="linear"):
        SupportVectorOperator(n_jobs=1).fit(named(sm, lai), 10 ** (sigma / 10))
    bad = sigma.copy()
    bad[0, 2] = np.inf  # NaN is a missing observation, inf an error
    with pytest.raises(ValueError, match="site 'a'.*non-finite"):
        SupportVectorOperator(n_jobs=1).fit(named(sm, lai), bad, site_ids=["a", "b"])
    with pytest.raises(ValueError, match="min_samples"):
        SupportVectorOperator(n_folds=10, min_samples=10)
    with pytest.raises(RuntimeError, match="not fitted"):
        SupportVectorOperator().predict(named(0.2, 1.0))


def test_operators_diagnostics(network):
    sm, lai, sigma = network
    for operator in (SupportVectorOperator(n_jobs=1), __import__("s1da.components.operators", fromlist=["x"]).WaterCloudModel()):
        table = diagnose(operator, named(sm, lai), sigma, site_ids=[7, 3, 9])
        for name, variable in table.variables.items():
            assert "units" in variable.attrs and "long_name" in variable.attrs, name
        np.testing.assert_array_equal(table["n_train"].values, [36, 36, 36])
        np.testing.assert_array_equal(table["n_test"].values, [24, 24, 24])
        assert np.all(table["r_in_sample"] > 0.5)
        assert np.all(table["mean_sensitivity"] > 0)
        assert np.all(np.isfinite(table["rmsd_out_of_sample"]))
    assert "parameter_correlation" in table
    with pytest.raises(ValueError, match="train fraction"):
        diagnose(operator, named(sm, lai), sigma, train_fraction=1.0)


def test_operators_svr_compiled_expansion_matches_numpy():
    # the compiled predict (numba threads over sites) equals the vectorised numpy sum over the
    # zero-padded support vectors, to rounding of the exponentials
    from s1da.components.operators import smo
    from s1da.components.operators.svr import _rbf_expansion_compiled, rbf_expansion

    if not smo.AVAILABLE:
        pytest.skip("numba is not installed: predict is the numpy sum")
    rng = np.random.default_rng(5)
    n_support = rng.integers(1, 30, 7)
    support_vectors = rng.normal(size=(7, 30, 2))
    dual_coef = rng.normal(size=(7, 30))
    for site, count in enumerate(n_support):
        support_vectors[site, count:], dual_coef[site, count:] = 0.0, 0.0
    features, intercept, gamma = rng.normal(size=(11, 7, 2)), rng.normal(size=7), rng.choice([0.01, 1.0, 10.0], 7)
    np.testing.assert_allclose(
        _rbf_expansion_compiled(features, support_vectors, dual_coef, n_support, intercept, gamma),
        rbf_expansion(features, support_vectors, dual_coef, intercept, gamma),
        rtol=0, atol=1e-12,
    )
