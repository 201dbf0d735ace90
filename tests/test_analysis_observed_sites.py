"""The daily analysis touches only the sites observed that day (docs/model/filters.md c).

Analysing the observed subset gives, at the observed sites, the numbers of the analysis of the
whole domain bit for bit (states, diagnostics, an adaptive filter's memory over several days),
and leaves every other site's state and memory as they were; a day with no observation changes
nothing, a day with every site observed is the full analysis.  The model's ``*_at`` methods
equal their full-domain counterparts at those sites.
"""

from __future__ import annotations

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s1da.components.filters import DEnKF, StochasticEnKF
from s1da.components.filters.adaptive import AdaptiveFilter, AdaptiveInflation, DesroziersR
from s1da.components.gleam import GleamModel, SiteStatics
from s1da.framework.experiment import Experiment
from s1da.framework.interfaces import LandModel, ObservationOperator

N_SITES, N_MEMBERS = 6, 8


class _Linear(ObservationOperator):
    """sigma0 = -20 dB + 30 dB per m3 m-3 of surface soil moisture; R per site."""

    required_inputs = {"soil_moisture": "m3 m-3"}

    def fit(self, inputs, backscatter, **kwargs):
        raise NotImplementedError

    def predict(self, inputs):
        return -20.0 + 30.0 * np.asarray(inputs["soil_moisture"])

    @property
    def error_variance(self):
        return np.linspace(0.2, 0.7, N_SITES)

    @property
    def site_ids(self):
        return np.arange(N_SITES)

    def to_dataset(self):
        raise NotImplementedError

    @classmethod
    def from_dataset(cls, dataset):
        raise NotImplementedError


def _every_site(filter_class):
    """The same filter analysing every site each day (the reference)."""
    return attrs.define(type(f"EverySite{filter_class.__name__}", (filter_class,), {"analyses_observed_sites_only": False}))


def _statics():
    return SiteStatics.from_texture(
        [f"s{i}" for i in range(N_SITES)],
        ["loam", "sand", "clay", "silt", "loam", "sand"],
        fraction_tall=[0.3, 0.0, 0.5, 0.2, 0.0, 1.0],
        fraction_short=[0.5, 0.9, 0.0, 0.4, 0.0, 0.0],
        fraction_bare=[0.2, 0.0, 0.3, 0.3, 1.0, 0.0],
        fraction_water=[0.0, 0.1, 0.2, 0.1, 0.0, 0.0],
    )


def _experiment(model, filter):
    """Just what :meth:`Experiment._analyse` reads of an experiment."""
    fields = {"model": model, "filter": filter, "entropy": 11, "data": type("Data", (), {"site_ids": np.arange(100, 100 + N_SITES)})()}
    experiment = object.__new__(Experiment)
    for name, value in fields.items():
        object.__setattr__(experiment, name, value)
    return experiment


def _state(model, seed):
    """A state inside the bounds, different for every member and site."""
    rng = np.random.default_rng(seed)
    state = model.initial_state(N_MEMBERS)
    lower, upper = model._lower, model._upper
    state["soil_moisture"] = lower + (upper - lower) * rng.uniform(0.05, 0.95, state["soil_moisture"].shape)
    return state


def _observed(mask, day):
    return np.where(mask, -12.0 + 0.3 * np.arange(N_SITES) + 0.1 * day, np.nan)


FILTERS = {
    "denkf": lambda: DEnKF(),
    "enkf": lambda: StochasticEnKF(),
    "adaptive": lambda: AdaptiveFilter(DEnKF(), inflation=AdaptiveInflation(), observation_error=DesroziersR()),
}
REFERENCE = {
    "denkf": lambda: _every_site(DEnKF)(),
    "enkf": lambda: _every_site(StochasticEnKF)(),
    "adaptive": lambda: _every_site(AdaptiveFilter)(DEnKF(), inflation=AdaptiveInflation(), observation_error=DesroziersR()),
}


@settings(max_examples=15, deadline=None)
@given(
    masks=st.lists(st.lists(st.booleans(), min_size=N_SITES, max_size=N_SITES), min_size=1, max_size=4),
    kind=st.sampled_from(sorted(FILTERS)),
    vector=st.sampled_from(["top", "top_aggregated", "augmented"]),
)
def test_the_observed_subset_gives_the_full_analysis_and_leaves_the_rest(masks, kind, vector):
    model = GleamModel(_statics(), state_vector=vector, taper=(1.0, 0.5, 0.25))
    subset, full = _experiment(model, FILTERS[kind]()), _experiment(model, REFERENCE[kind]())
    state_subset = state_full = _state(model, len(masks))
    for day, mask in enumerate(masks):
        mask = np.asarray(mask)
        before = state_subset
        state_subset, diagnostics_subset = subset._analyse(state_subset, _Linear(), _observed(mask, day), {}, day)
        state_full, diagnostics_full = full._analyse(state_full, _Linear(), _observed(mask, day), {}, day)
        for key in state_full:
            np.testing.assert_array_equal(state_subset[key], state_full[key])
            np.testing.assert_array_equal(state_subset[key][:, ~mask], before[key][:, ~mask])
        assert diagnostics_subset.keys() == diagnostics_full.keys()
        for key, values in diagnostics_full.items():
            np.testing.assert_array_equal(diagnostics_subset[key], values, err_msg=key)
            assert np.isnan(diagnostics_subset[key][..., ~mask]).all(), key
        if kind == "adaptive":
            for key, values in full.filter.state.items():
                np.testing.assert_array_equal(subset.filter.state[key], values, err_msg=key)


def test_a_day_without_observations_changes_nothing():
    model = GleamModel(_statics())
    filter = AdaptiveFilter(DEnKF(), inflation=AdaptiveInflation())
    experiment = _experiment(model, filter)
    state = _state(model, 3)
    new_state, diagnostics = experiment._analyse(state, _Linear(), np.full(N_SITES, np.nan), {}, 0)
    for key, values in state.items():
        np.testing.assert_array_equal(new_state[key], values)
    assert all(np.isnan(values).all() for values in diagnostics.values())
    assert all((values == 0).all() for values in filter.state.values())  # the memory started, unchanged


@pytest.mark.parametrize("vector", ["top", "top_aggregated", "augmented"])
def test_the_models_at_methods_equal_the_full_ones_at_those_sites(vector):
    model = GleamModel(_statics(), state_vector=vector, taper=(1.0, 0.5, 0.25))
    state = _state(model, 5)
    sites = np.array([1, 2, 5])
    others = np.setdiff1d(np.arange(N_SITES), sites)
    np.testing.assert_array_equal(model.surface_soil_moisture_at(state, sites), model.surface_soil_moisture(state)[:, sites])
    vector_at = model.analysis_variables_at(state, sites)
    np.testing.assert_array_equal(vector_at, model.analysis_variables(state)[sites])
    analysed = model.analysis_variables(state) + np.random.default_rng(0).normal(0.0, 0.3, (N_SITES, N_MEMBERS, model.n_state))
    full_state, full_changes = model.set_analysis_variables(state, analysed)
    for implementation in (model.set_analysis_variables_at, lambda *args: LandModel.set_analysis_variables_at(model, *args)):
        new_state, changes = implementation(state, analysed[sites], sites)
        np.testing.assert_array_equal(new_state["soil_moisture"][:, sites], full_state["soil_moisture"][:, sites])
        np.testing.assert_array_equal(new_state["soil_moisture"][:, others], state["soil_moisture"][:, others])
        for key, values in full_changes.items():
            np.testing.assert_array_equal(changes[key], values[:, sites])
    with pytest.raises(ValueError, match="expected"):
        model.set_analysis_variables_at(state, analysed, sites)
