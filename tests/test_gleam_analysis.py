"""Analysis state vector of GleamModel (docs/model/filters.md c, "State vector and propagation to depth")."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from s1da.components.gleam import GleamModel, SiteStatics
from s1da.components.gleam.kernel import LAYER_FRACTION, LAYER_THICKNESS, TOP_LAYERS
from s1da.components.gleam.nudging import NudgingParameters
from s1da.framework.interfaces import LandModel

N_MEMBER = 5


def statics():
    return SiteStatics.from_texture(
        ["a", "b", "c"],
        ["loam", "sand", "clay"],
        fraction_tall=[0.3, 0.0, 0.5],
        fraction_short=[0.5, 0.9, 0.0],
        fraction_bare=[0.2, 0.0, 0.3],
        fraction_water=[0.0, 0.1, 0.2],
    )


def _pixel_soil(model, state):
    weights = np.stack([model.statics.fraction_tall, model.statics.fraction_short, model.statics.fraction_bare], -1)
    return (state["soil_moisture"] * LAYER_THICKNESS * weights[:, LAYER_FRACTION]).sum(-1)


def test_is_a_land_model_and_shapes():
    model = GleamModel(statics())
    assert isinstance(model, LandModel)
    state = model.initial_state(N_MEMBER)
    assert model.layer_names == ("tall_1", "tall_2", "tall_3", "short_1", "short_2", "bare_1")
    assert model.layer_soil_moisture(state).shape == (N_MEMBER, 3, 6)
    assert model.analysis_variables(state).shape == (3, N_MEMBER, 3)
    assert GleamModel(statics(), state_vector="top_aggregated").analysis_variables(state).shape == (3, N_MEMBER, 1)
    assert GleamModel(statics(), state_vector="augmented").analysis_variables(state).shape == (3, N_MEMBER, 6)
    np.testing.assert_allclose(model.surface_soil_moisture(state), np.broadcast_to(statics().field_capacity, (N_MEMBER, 3)))


@given(increment=st.floats(-0.5, 0.5), vector=st.sampled_from(["top", "top_aggregated", "augmented"]))
def test_increment_accounting_and_clipping(increment, vector):
    model = GleamModel(statics(), state_vector=vector, taper=(1.0, 0.5, 0.25))
    state = model.initial_state(N_MEMBER)
    x = model.analysis_variables(state)
    new, diag = model.set_analysis_variables(state, x + increment)
    w = new["soil_moisture"]
    st_ = model.statics
    lower = np.where(LAYER_FRACTION == 2, st_.residual[:, None], st_.wilting_point[:, None])
    assert np.all(w >= lower - 1e-15) and np.all(w <= st_.saturation[:, None] + 1e-15)
    np.testing.assert_allclose(_pixel_soil(model, new) - _pixel_soil(model, state), diag["analysis_increment"], atol=1e-9)
    # absent fractions never change
    absent = np.array([[False] * 3, [True, False, True], [False, True, False]])  # (site, fraction)
    changed = w != state["soil_moisture"]
    assert not np.any(changed & absent[:, LAYER_FRACTION][None])
    if vector != "augmented":
        deep = np.setdiff1d(np.arange(6), TOP_LAYERS)
        assert not changed[..., deep].any()
    if abs(increment) < 1e-3:
        np.testing.assert_allclose(diag["clipped_water"], 0.0, atol=1e-12)


def test_top_sets_values_and_reports_clipping():
    model = GleamModel(statics())
    state = model.initial_state(2)
    x = model.analysis_variables(state)
    x[0, 0, 1] = 0.9  # above saturation at site 0 short layer 1
    new, diag = model.set_analysis_variables(state, x)
    st_ = model.statics
    assert new["soil_moisture"][0, 0, 3] == st_.saturation[0]
    expected = st_.fraction_short[0] * 100.0 * (st_.saturation[0] - st_.field_capacity[0])
    assert diag["analysis_increment"][0, 0] == pytest.approx(expected)
    assert diag["clipped_water"][0, 0] == pytest.approx(st_.fraction_short[0] * 100.0 * (st_.saturation[0] - 0.9))


def test_top_aggregated_shifts_w1_by_the_increment():
    model = GleamModel(statics(), state_vector="top_aggregated")
    state = model.initial_state(N_MEMBER)
    x = model.analysis_variables(state)
    new, diag = model.set_analysis_variables(state, x - 0.02)
    np.testing.assert_allclose(model.surface_soil_moisture(new), x[..., 0].T - 0.02, atol=1e-12)
    np.testing.assert_allclose(diag["clipped_water"], 0.0)


def test_augmented_taper_scales_deep_increments():
    model = GleamModel(statics(), state_vector="augmented", taper=(1.0, 0.5, 0.0))
    state = model.initial_state(1)
    x = model.analysis_variables(state)
    new, _ = model.set_analysis_variables(state, x - 0.01)
    delta = new["soil_moisture"][0, 0] - state["soil_moisture"][0, 0]
    np.testing.assert_allclose(delta, [-0.01, -0.005, 0.0, -0.01, -0.005, -0.01], atol=1e-15)


def test_bad_analysis_values_are_refused():
    model = GleamModel(statics())
    state = model.initial_state(2)
    x = model.analysis_variables(state)
    with pytest.raises(ValueError, match="shape"):
        model.set_analysis_variables(state, x[..., :2])
    x[1, 0, 0] = np.nan
    with pytest.raises(ValueError, match="site index 1"):
        model.set_analysis_variables(state, x)


def test_nudging_is_off_by_default_and_moves_towards_the_observation():
    model = GleamModel(statics())
    state = model.initial_state(2)
    with pytest.raises(RuntimeError, match="disabled"):
        model.nudge(state, np.full(3, 0.2))
    model = GleamModel(statics(), nudging=NudgingParameters(0.01, 0.01))
    obs = np.array([0.2, np.nan, 0.3])
    new, _ = model.nudge(state, obs)
    before, after = model.surface_soil_moisture(state), model.surface_soil_moisture(new)
    np.testing.assert_allclose(after[:, 0], before[:, 0] + 0.5 * (0.2 - before[:, 0]))
    np.testing.assert_allclose(after[:, 1], before[:, 1])
