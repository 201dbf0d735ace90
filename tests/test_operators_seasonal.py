"""Seasonal operators (docs/model/operators.md, "Seasonal operators"): seasonal training, fallback, persistence, YAML."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from s1da.components.operators import SupportVectorOperator, WaterCloudModel
from s1da.components.operators.cross_validated import CrossValidatedOperator
from s1da.components.operators.seasonal import METEOROLOGICAL_STARTS, SeasonalOperator, season_index
from s1da.containers.assembly import build_experiment
from s1da.framework.config import ConfigError

# C of the bare-soil line sigma0 = C + D SM per season (MAM, JJA, SON, DJF): a relation that
# changes by season.  LAI below 0.1 fixes A = B = 0 (DD-16), so the WCM is that line exactly.
SEASONAL_C = np.array([-18.0, -13.0, -16.0, -11.0])


def series(n_sites=2, n_days=730, c=SEASONAL_C, d=25.0, noise=0.2, seed=0, lai=0.05):
    rng = np.random.default_rng(seed)
    day_of_year = np.broadcast_to((np.arange(n_days) % 365 + 1).astype(float), (n_sites, n_days)).copy()
    sm = rng.uniform(0.08, 0.42, (n_sites, n_days))
    c_of_day = np.asarray(c, float)[season_index(day_of_year, METEOROLOGICAL_STARTS)]
    sigma = c_of_day + d * sm + rng.normal(0.0, noise, sm.shape)
    inputs = {"soil_moisture": sm, "lai": np.full(sm.shape, lai), "day_of_year": day_of_year}
    return inputs, sigma


def without_day(inputs):
    return {name: values for name, values in inputs.items() if name != "day_of_year"}


def transposed(inputs):
    return {name: values.T for name, values in inputs.items()}


def test_season_index_at_the_boundaries():
    days = np.array([1, 59, 60, 151, 152, 243, 244, 334, 335, 365, 366])
    assert season_index(days, METEOROLOGICAL_STARTS).tolist() == [3, 3, 0, 0, 1, 1, 2, 2, 3, 3, 3]


def test_a_relation_that_changes_by_season_is_fitted_better_per_season():
    inputs, sigma = series()
    seasonal = SeasonalOperator(WaterCloudModel()).fit(inputs, sigma)
    whole = WaterCloudModel().fit(without_day(inputs), sigma)
    assert np.all(seasonal.error_variance < 0.1 * whole.error_variance)
    np.testing.assert_allclose(seasonal.error_variance, 0.2**2, rtol=0.15)  # the noise, no structural error left
    # and out of sample (time-blocked cross-validation): per season still wins
    seasonal_cv = CrossValidatedOperator(SeasonalOperator(WaterCloudModel())).fit(inputs, sigma)
    whole_cv = CrossValidatedOperator(WaterCloudModel()).fit(without_day(inputs), sigma)
    assert np.all(seasonal_cv.error_variance < 0.1 * whole_cv.error_variance)


@settings(max_examples=8)
@given(c=st.floats(-30.0, -5.0), d=st.floats(12.0, 50.0), seed=st.integers(0, 2**16))
def test_one_relation_in_all_seasons_gives_the_whole_period_fit(c, d, seed):
    inputs, sigma = series(n_sites=1, n_days=400, c=[c] * 4, d=d, noise=1e-3, seed=seed)
    seasonal = SeasonalOperator(WaterCloudModel()).fit(inputs, sigma)
    whole = seasonal.whole_period_operator
    # the seasonal fits differ from the whole-period one by their estimation error only (noise 1e-3 dB)
    np.testing.assert_allclose(seasonal.predict(transposed(inputs)), whole.predict(transposed(without_day(inputs))), atol=2e-3)
    np.testing.assert_allclose(seasonal.error_variance, whole.error_variance, rtol=0.1)


def test_too_few_samples_in_a_season_is_an_error_naming_site_and_season():
    inputs, sigma = series(n_days=365)
    jja = season_index(inputs["day_of_year"], METEOROLOGICAL_STARTS) == 1
    sigma = np.where(jja & (np.arange(365) % 30 != 0), np.nan, sigma)  # JJA keeps 3 or 4 samples a site
    with pytest.raises(ValueError, match=r"site 0 \(index 0\): season JJA has \d valid samples, at least 8"):
        SeasonalOperator(WaterCloudModel(), fallback="error").fit(inputs, sigma)


def test_too_few_samples_in_a_season_falls_back_to_the_whole_period_fit():
    inputs, sigma = series(n_days=365)
    season = season_index(inputs["day_of_year"], METEOROLOGICAL_STARTS)
    sigma[1] = np.where((season[1] == 1) & (np.arange(365) % 30 != 0), np.nan, sigma[1])  # only site 1 lacks JJA
    fitted = SeasonalOperator(WaterCloudModel()).fit(inputs, sigma)
    flags = fitted.to_dataset()["season_fallback"]
    assert flags.sel(season="JJA").values.tolist() == [0, 1] and int(flags.sum()) == 1
    predicted = fitted.predict(transposed(inputs))
    whole = fitted.whole_period_operator.predict(transposed(without_day(inputs)))
    summer = season[1] == 1
    np.testing.assert_array_equal(predicted[summer, 1], whole[summer, 1])
    assert not np.allclose(predicted[summer, 0], whole[summer, 0])


def test_seasonal_operator_needs_the_day_of_year():
    inputs, sigma = series()
    with pytest.raises(ValueError, match="day_of_year"):
        SeasonalOperator(WaterCloudModel()).fit(without_day(inputs), sigma)
    fitted = SeasonalOperator(WaterCloudModel()).fit(inputs, sigma)
    with pytest.raises(ValueError, match="day_of_year"):
        fitted.predict(transposed(without_day(inputs)))
    with pytest.raises(KeyError, match="day_of_year"):
        fitted.select_inputs(without_day(inputs))


@pytest.mark.parametrize("base", [WaterCloudModel(), SupportVectorOperator(gamma_grid=(0.1, 1.0), c_grid=(1.0, 10.0), n_folds=3)])
def test_stored_seasonal_operator_predicts_bit_for_bit(base):
    inputs, sigma = series(n_days=365, lai=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = SeasonalOperator(base).fit(inputs, sigma)
    dataset = fitted.to_dataset()
    for name, variable in dataset.variables.items():
        assert "units" in variable.attrs and "long_name" in variable.attrs, name
    rebuilt = SeasonalOperator.from_dataset(dataset)
    ensemble = {name: np.stack([values.T, values.T]) for name, values in inputs.items()}  # (member, time, site)
    np.testing.assert_array_equal(rebuilt.predict(ensemble), fitted.predict(ensemble))
    np.testing.assert_array_equal(rebuilt.error_variance, fitted.error_variance)


def test_one_site_series_is_accepted():
    inputs, sigma = series(n_sites=1)
    fitted = SeasonalOperator(WaterCloudModel()).fit({name: values[0] for name, values in inputs.items()}, sigma[0])
    assert fitted.predict({name: values[0] for name, values in inputs.items()}).shape == (730,)


def config(tmp_path, operator):
    text = f"""
experiment: {{name: t, seed: 1, members: 4, spinup_start: 2018-01-01, start: 2018-03-01, end: 2018-04-30}}
source: {{kind: twin, n_sites: 2}}
model: {{kind: gleam}}
perturbation: {{kind: forcing}}
filter: {{kind: denkf}}
operators: {{w: {yaml.safe_dump(operator, default_flow_style=True).strip()}}}
"""
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_yaml_selects_seasonal_and_cross_validated_operators(tmp_path):
    operator = build_experiment(config(tmp_path, {"kind": "seasonal", "svr": {"n_folds": 4}, "error_variance": "cross_validated"})).operators["w"]
    assert isinstance(operator, CrossValidatedOperator) and operator.folds == 4
    assert isinstance(operator.operator, SeasonalOperator) and isinstance(operator.operator.operator, SupportVectorOperator)
    plain = build_experiment(config(tmp_path, {"kind": "cross_validated", "wcm": {"incidence_angle_deg": 35}})).operators["w"]
    assert isinstance(plain.operator, WaterCloudModel) and plain.operator.incidence_angle_deg == 35 and plain.folds == 5


@pytest.mark.parametrize(
    "operator, key",
    [
        ({"kind": "seasonal", "wcm": {}, "svr": {}}, "operators.w.svr"),
        ({"kind": "seasonal", "season_starts": [152, 60]}, "operators.w.season_starts"),
        ({"kind": "seasonal", "fallback": "skip"}, "operators.w.fallback"),
        ({"kind": "cross_validated", "n_folds": 1}, "operators.w.n_folds"),
        ({"kind": "cross_validated", "wcm": {"incidence_angle": 1}}, "operators.w.wcm.incidence_angle"),
    ],
)
def test_bad_wrapper_options_are_config_errors_naming_the_key(tmp_path, operator, key):
    with pytest.raises(ConfigError) as caught:
        build_experiment(config(tmp_path, operator))
    assert caught.value.key == key
