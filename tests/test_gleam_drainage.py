"""The soil options of GLEAM: gravity drainage through K(w) and the extraction orders.

Property tests (hypothesis): the pixel budget closes to 1e-9 mm, every layer stays within
[lower bound, w_sat], and without precipitation and evaporation the column only dries.  Golden
behaviour: a wet 10 cm layer drains over days under gravity drainage, within one day under the
cascade with kappa = 1 (Clapp & Hornberger 1978 conductivity).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s1da.components.gleam import GleamModel, GleamParameters, SiteStatics
from s1da.components.gleam.kernel import LAYER_FRACTION, LAYER_THICKNESS, lower_bounds
from s1da.components.gleam.soil import DRAINAGE_SCHEMES, EXTRACTION_ORDERS, SoilParameters, gravity_drained_storage
from s1da.components.gleam.statics import CLAPP_HORNBERGER, SOIL_TEXTURES

from test_gleam_properties import N_MEMBER, random_forcing, random_statics

TEXTURES = sorted(set(SOIL_TEXTURES) - {"loam / silt"})


def _model(statics, drainage, order, kappa=1.0):
    soil = SoilParameters(drainage_fraction=kappa, drainage=drainage, extraction_order=order)
    return GleamModel(statics, GleamParameters(soil=soil, snow_mode="temperature_index"))


@settings(max_examples=15)
@given(
    seed=st.integers(0, 2**32 - 1),
    drainage=st.sampled_from(DRAINAGE_SCHEMES),
    order=st.sampled_from(EXTRACTION_ORDERS),
    wet=st.floats(0.0, 1.0),
)
def test_budget_closes_and_layers_stay_in_bounds(seed, drainage, order, wet):
    rng = np.random.default_rng(seed)
    statics = random_statics(rng)
    model = _model(statics, drainage, order)
    state = model.initial_state(N_MEMBER)
    # start anywhere between the lower bound and saturation
    low, high = lower_bounds(statics), statics.saturation[:, None]
    state["soil_moisture"] = low + wet * (high - low) * rng.uniform(0.5, 1.0, state["soil_moisture"].shape)
    storage = model.total_water_storage(state)
    for day in range(20):
        state, fluxes = model.step(state, random_forcing(rng, day, False))
        new_storage = fluxes["total_water_storage"]
        budget = fluxes["precipitation"] - fluxes["total_evaporation"] - fluxes["deep_drainage"] - fluxes["surface_runoff"]
        np.testing.assert_allclose(new_storage - storage, budget, rtol=0, atol=1e-9)
        storage = new_storage
        w = state["soil_moisture"]
        assert np.all(w >= low - 1e-12) and np.all(w <= high + 1e-12)
        assert np.all(fluxes["deep_drainage"] >= 0.0)


@settings(max_examples=15)
@given(texture=st.sampled_from(TEXTURES), drainage=st.sampled_from(DRAINAGE_SCHEMES), wet=st.floats(0.0, 1.0))
def test_without_water_input_or_loss_the_column_only_dries(texture, drainage, wet):
    statics = SiteStatics.from_texture([1, 2, 3], texture, [0.5, 0.0, 0.0], [0.3, 1.0, 0.0], [0.2, 0.0, 1.0])
    model = _model(statics, drainage, "wettest_first", kappa=0.3)
    state = model.initial_state(2)
    low, high = lower_bounds(statics), statics.saturation[:, None]
    start = low + wet * (high - low) * np.linspace(0.6, 1.0, 6)
    state["soil_moisture"] = np.broadcast_to(start, state["soil_moisture"].shape).copy()
    dry = {"precipitation": np.zeros(3), "air_temperature": np.full(3, 10.0), "net_radiation": np.zeros(3), "lai": np.ones(3)}
    weights = statics.fraction_tall[:, None] * (LAYER_FRACTION == 0) + statics.fraction_short[:, None] * (LAYER_FRACTION == 1)
    weights = weights + statics.fraction_bare[:, None] * (LAYER_FRACTION == 2)
    previous = state["soil_moisture"]
    for _ in range(10):
        state, fluxes = model.step(state, dry)
        w = state["soil_moisture"]
        assert np.all(fluxes["total_evaporation"] == 0.0)
        column = (w * LAYER_THICKNESS * weights).sum(-1)
        assert np.all(column <= (previous * LAYER_THICKNESS * weights).sum(-1) + 1e-12)
        top = [0, 3, 5]  # the top layers receive nothing
        assert np.all(w[..., top] <= previous[..., top] + 1e-15)
        previous = w


def test_a_wet_top_layer_drains_over_days_under_gravity_and_within_a_day_under_the_cascade():
    statics = SiteStatics.from_texture([1], "loam", [0.0], [0.0], [1.0])  # one bare 10 cm layer
    dry = {"precipitation": np.zeros(1), "air_temperature": np.full(1, 10.0), "net_radiation": np.zeros(1), "lai": np.ones(1)}
    series = {}
    for drainage in DRAINAGE_SCHEMES:
        model = _model(statics, drainage, "wettest_first")
        state = model.initial_state(1)
        state["soil_moisture"][..., 5] = statics.saturation[0]
        w = []
        for _ in range(5):
            state, _ = model.step(state, dry)
            w.append(state["soil_moisture"][0, 0, 5])
        series[drainage] = np.array(w)
    fc = statics.field_capacity[0]
    assert series["cascade"] == pytest.approx(np.full(5, fc), abs=1e-12)  # kappa = 1: all above w_fc in a day
    gravity = series["gravity"]
    assert np.all(np.diff(gravity) < 0.0)  # still draining on day 5
    assert np.all(np.diff(gravity, 2) > 0.0)  # ever more slowly


@pytest.mark.parametrize("texture", TEXTURES)
def test_gravity_drainage_is_the_exact_solution_of_free_drainage(texture):
    """One day of dz dw/dt = -K_sat (w/w_sat)^c equals the analytic solution; a fine explicit
    integration agrees (Clapp & Hornberger 1978 b and K_sat)."""
    b, conductivity = CLAPP_HORNBERGER[texture]
    saturation, dz, c = SOIL_TEXTURES[texture][0], 100.0, 2 * b + 3
    s0 = 0.9 * saturation * dz
    analytic = gravity_drained_storage(s0, dz, saturation, c, conductivity, 0.0)
    s, steps = s0, 200_000
    for _ in range(steps):
        s -= conductivity * (s / (saturation * dz)) ** c / steps
    assert analytic == pytest.approx(s, rel=1e-4)
    assert 0.0 < analytic < s0


def test_soil_options_are_validated():
    with pytest.raises(ValueError, match="drainage"):
        SoilParameters(drainage="instant")
    with pytest.raises(ValueError, match="extraction_order"):
        SoilParameters(extraction_order="random")
    with pytest.raises(ValueError, match="pore_size_index"):
        SiteStatics.from_texture([1], "loam", 0.2, 0.6, 0.2, pore_size_index=0.1)


def test_extraction_orders_take_the_same_water_from_different_layers():
    statics = SiteStatics.from_texture([1], "loam", [1.0], [0.0], [0.0], vod_p01=0.0, vod_p99=1.0)
    forcing = {"precipitation": np.zeros(1), "air_temperature": np.full(1, 20.0), "net_radiation": np.full(1, 150.0), "vod": np.ones(1)}
    taken = {}
    for order in EXTRACTION_ORDERS:
        model = _model(statics, "cascade", order)
        state = model.initial_state(1)
        state["soil_moisture"][0, 0, :3] = (0.2, 0.3, 0.25)  # layer 2 is wettest
        new, fluxes = model.step(state, forcing)
        taken[order] = (state["soil_moisture"] - new["soil_moisture"])[0, 0, :3] * LAYER_THICKNESS[:3]
        assert taken[order].sum() == pytest.approx(fluxes["tall_evaporation"][0, 0], abs=1e-12)
    assert np.count_nonzero(taken["wettest_first"]) == 1 and taken["wettest_first"][1] > 0
    assert np.count_nonzero(taken["top_down"]) == 1 and taken["top_down"][0] > 0
    assert np.all(taken["proportional"] > 0)


def test_the_soil_options_reach_gleam_from_the_configuration():
    from s1da.containers.options import GleamOptions
    from s1da.framework.config import ConfigError, build_parameters

    options = build_parameters(
        GleamOptions, {"parameters": {"soil": {"drainage": "gravity", "extraction_order": "top_down"}}}, "model", "x.yaml"
    )
    assert options.parameters.soil == SoilParameters(drainage="gravity", extraction_order="top_down")
    with pytest.raises(ConfigError, match=r"model\.parameters\.soil\.drainage"):
        build_parameters(GleamOptions, {"parameters": {"soil": {"drainage": "fast"}}}, "model", "x.yaml")
