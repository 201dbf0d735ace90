"""Property tests of the docs/model/gleam.md a.13 invariants over random forcing, statics and parameters."""

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from s1da.components.gleam import GleamModel, GleamParameters, SiteStatics
from s1da.components.gleam.actual import ActualEvaporationParameters
from s1da.components.gleam.interception import InterceptionParameters, interception_loss, saturation_thresholds
from s1da.components.gleam.kernel import LAYER_FRACTION, LAYER_SLICES, LAYER_THICKNESS
from s1da.components.gleam.potential import PriestleyTaylorParameters, equilibrium_evaporation, priestley_taylor
from s1da.components.gleam.thermodynamics import ThermodynamicParameters
from s1da.components.gleam.soil import SoilParameters
from s1da.components.gleam.stress import bare_soil_stress, normalised_vegetation_index, vegetation_stress

N_MEMBER, N_SITE, N_DAY = 3, 6, 40
TOL = 1e-9


def random_statics(rng, n_site=N_SITE):
    raw = rng.dirichlet(np.ones(4), size=n_site)
    raw[rng.random((n_site, 4)) < 0.3] = 0.0  # absent fractions
    raw[:, 1] += 0.05  # keep some land
    fractions = raw / raw.sum(axis=1, keepdims=True)
    fractions[0] = (0.0, 1.0, 0.0, 0.0)  # pure short vegetation
    fractions[1] = (0.25, 0.25, 0.25, 0.25)
    cuts = np.sort(rng.uniform(0.02, 0.6, size=(n_site, 5)), axis=1)
    return SiteStatics(
        site_id=np.arange(100, 100 + n_site),
        fraction_tall=fractions[:, 0],
        fraction_short=fractions[:, 1],
        fraction_bare=fractions[:, 2],
        fraction_water=1.0 - fractions[:, :3].sum(axis=1),
        residual=cuts[:, 0],
        wilting_point=cuts[:, 1] + 1e-3,
        critical=cuts[:, 2] + 2e-3,
        field_capacity=cuts[:, 3] + 3e-3,
        saturation=cuts[:, 4] + 4e-3,
        permanent_ice=np.arange(n_site) == n_site - 1,
        vod_p01=rng.uniform(0.0, 0.2, n_site),
        vod_p99=rng.uniform(0.5, 1.2, n_site),
    )


def random_forcing(rng, day, with_swe):
    shape = (N_MEMBER, N_SITE)
    season = np.cos(2 * np.pi * day / 40.0)
    forcing = {
        "precipitation": rng.exponential(6.0, shape) * (rng.random(shape) < 0.5),
        "air_temperature": rng.normal(3.0 + 10.0 * season, 6.0, shape),
        "net_radiation": rng.normal(60.0 + 60.0 * season, 50.0, shape),
        "vod": rng.uniform(0.0, 1.3, shape),
        "convective_fraction": rng.uniform(0.0, 1.0, shape),
    }
    if with_swe:
        forcing["swe"] = np.maximum(rng.normal(5.0 - 30.0 * season, 10.0, shape), 0.0)
    return forcing


parameters_strategy = st.builds(
    GleamParameters,
    priestley_taylor=st.builds(
        PriestleyTaylorParameters,
        alpha_tall=st.floats(0.5, 1.5),
        alpha_short=st.floats(0.5, 1.5),
        phi_bare=st.floats(0.3, 1.0),
    ),
    evaporation=st.builds(ActualEvaporationParameters, interception_coupling=st.floats(0.0, 1.0)),
    soil=st.builds(SoilParameters, drainage_fraction=st.floats(0.05, 1.0)),
    snow_mode=st.sampled_from(["auto", "temperature_index"]),
)


def _soil_storage(model, state, fraction):
    sl = LAYER_SLICES[fraction]
    return (state["soil_moisture"][..., sl] * LAYER_THICKNESS[sl]).sum(axis=-1)


@given(seed=st.integers(0, 2**32 - 1), parameters=parameters_strategy, with_swe=st.booleans())
def test_water_balance_closes_and_stays_bounded(seed, parameters, with_swe):
    rng = np.random.default_rng(seed)
    statics = random_statics(rng)
    model = GleamModel(statics, parameters)
    state = model.initial_state(N_MEMBER)
    lower = np.where(LAYER_FRACTION == 2, statics.residual[:, None], statics.wilting_point[:, None])
    for day in range(N_DAY):
        forcing = random_forcing(rng, day, with_swe)
        new, fl = model.step(state, forcing)
        # per fraction (docs/model/gleam.md a.13): delta sum_l s_l = F_k - E_k - D_k
        for name in ("tall", "short", "bare"):
            change = _soil_storage(model, new, name) - _soil_storage(model, state, name)
            budget = fl[f"{name}_net_input"] - fl[f"{name}_evaporation"] - fl[f"{name}_drainage"]
            np.testing.assert_allclose(change, budget, rtol=0, atol=TOL)
            assert np.all(fl[f"{name}_drainage"] >= 0.0)
            stress = fl[f"{name}_stress"]
            assert np.all((stress >= 0.0) & (stress <= 1.0))
            ok = (fl[f"{name}_evaporation"] >= 0.0) | (fl[f"{name}_potential_evaporation"] < 0.0)
            assert ok.all()
        # snow balance, per unit land area
        np.testing.assert_allclose(
            new["snowpack"] - state["snowpack"],
            fl["snowfall"] - fl["snow_sublimation"] - fl["snowmelt"],
            rtol=0,
            atol=TOL,
        )
        assert np.all(new["snowpack"] >= -1e-12)
        # land budget as written in docs/model/gleam.md a.13
        f_w = statics.fraction_water
        land_side = fl["interception_loss"] + (1 - f_w) * (new["snowpack"] - state["snowpack"] + fl["snow_sublimation"])
        for name, f in (("tall", statics.fraction_tall), ("short", statics.fraction_short), ("bare", statics.fraction_bare)):
            change = _soil_storage(model, new, name) - _soil_storage(model, state, name)
            land_side = land_side + f * (change + fl[f"{name}_drainage"] + fl[f"{name}_evaporation"])
        np.testing.assert_allclose(forcing["precipitation"] * (1 - f_w), land_side, rtol=0, atol=TOL)
        # pixel budget incl. open water: TWS_t - TWS_t-1 = P - E - D - Q
        delta = model.total_water_storage(new) - model.total_water_storage(state)
        np.testing.assert_allclose(fl["total_water_storage"], model.total_water_storage(new), rtol=0, atol=1e-12)
        budget = fl["precipitation"] - fl["total_evaporation"] - fl["deep_drainage"] - fl["surface_runoff"]
        np.testing.assert_allclose(delta, budget, rtol=0, atol=TOL)
        # bounds w_min <= w <= w_sat (initial state at field capacity, so always inside)
        w = new["soil_moisture"]
        assert np.all(w >= lower - 1e-12)
        assert np.all(w <= statics.saturation[:, None] + 1e-12)
        # interception within [0, c P_r]
        assert np.all(fl["interception_loss"] >= 0.0)
        assert np.all(fl["interception_loss"] <= statics.fraction_tall * forcing["precipitation"] + 1e-12)
        state = new


@given(seed=st.integers(0, 2**32 - 1), with_swe=st.booleans())
def test_no_water_appears_without_precipitation(seed, with_swe):
    rng = np.random.default_rng(seed)
    statics = random_statics(rng)
    model = GleamModel(statics)
    state = model.initial_state(N_MEMBER)
    for day in range(N_DAY):  # a wet spin-up, then dry days with positive radiation
        forcing = random_forcing(rng, day, with_swe)
        if day >= N_DAY // 2:
            forcing["precipitation"] = np.zeros((N_MEMBER, N_SITE))
            forcing["net_radiation"] = rng.uniform(1.0, 250.0, (N_MEMBER, N_SITE))
        new, fl = model.step(state, forcing)
        if day >= N_DAY // 2:
            assert np.all(model.total_water_storage(new) <= model.total_water_storage(state) + 1e-12)
            assert np.all(fl["total_evaporation"] >= 0.0)
        state = new


@given(
    rain_rate=st.floats(0.5, 20.0),
    cover=st.floats(0.0, 1.0),
    rain=st.floats(0.0, 200.0),
)
def test_interception_bounds_and_continuity(rain_rate, cover, rain):
    p = InterceptionParameters()
    if rain_rate <= (1 - p.trunk_evaporation_fraction) * p.wet_canopy_evaporation:
        rain_rate = 1.0
    loss = interception_loss(np.array(rain), np.array(cover), np.array(rain_rate), p)
    assert 0.0 <= loss <= cover * rain + 1e-12
    for threshold in saturation_thresholds(np.array(rain_rate), p)[1:]:
        eps = 1e-9 * max(1.0, float(threshold))
        below = interception_loss(np.array(threshold - eps), np.array(cover), np.array(rain_rate), p)
        above = interception_loss(np.array(threshold + eps), np.array(cover), np.array(rain_rate), p)
        assert abs(above - below) <= 1e-7


@given(
    vod=st.floats(-1.0, 3.0),
    w=st.lists(st.floats(0.0, 0.6), min_size=1, max_size=3),
    crit=st.floats(0.15, 0.3),
    wilt=st.floats(0.02, 0.14),
)
def test_stress_in_unit_interval(vod, w, crit, wilt):
    index = normalised_vegetation_index(np.array(vod), 0.1, 1.0 / (0.9 - 0.1))
    stress = vegetation_stress(np.array(w), 0, len(w), index, crit, 1.0 / (crit - wilt))
    assert 0.0 <= stress <= 1.0
    bare = bare_soil_stress(np.array(w[0]), wilt / 2, 1.0 / (crit - wilt / 2))
    assert 0.0 <= bare <= 1.0


def _one_day(statics, forcing, parameters=GleamParameters(), state=None):
    model = GleamModel(statics, parameters)
    if state is None:
        state = model.initial_state(forcing["precipitation"].shape[0])
    return model, model.step(state, forcing)


@given(seed=st.integers(0, 2**32 - 1))
def test_limit_cases(seed):
    rng = np.random.default_rng(seed)
    statics = attrs.evolve(random_statics(rng), permanent_ice=False)  # no snow mask
    forcing = random_forcing(rng, 10, with_swe=False)
    forcing["air_temperature"] = rng.uniform(5.0, 30.0, (N_MEMBER, N_SITE))  # no snow
    forcing["net_radiation"] = rng.uniform(1.0, 250.0, (N_MEMBER, N_SITE))
    # VOD* = 0 => E_T = E_H = 0
    zero_vod = dict(forcing, vod=np.broadcast_to(statics.vod_p01, (N_MEMBER, N_SITE)).copy())
    _, (_, fl) = _one_day(statics, zero_vod)
    assert np.all(fl["tall_evaporation"] == 0.0) and np.all(fl["short_evaporation"] == 0.0)
    # w >= w_c (initial state = w_fc) and VOD* = 1 => E_H = Ep_H
    full_vod = dict(forcing, vod=np.broadcast_to(statics.vod_p99, (N_MEMBER, N_SITE)).copy())
    _, (_, fl) = _one_day(statics, full_vod)
    # where the short layers hold enough water above w_wp (else E_H is water-limited, a.9.1)
    available = (statics.field_capacity - statics.wilting_point) * LAYER_THICKNESS[3:5].sum()
    enough = fl["short_potential_evaporation"] <= available
    np.testing.assert_allclose(fl["short_evaporation"][enough], fl["short_potential_evaporation"][enough], rtol=1e-14)
    # f_T = 0 => I = 0
    no_tall = statics.fraction_tall == 0.0
    assert np.all(fl["interception_loss"][:, no_tall] == 0.0)
    # R_n <= 0 => Ep <= 0 for every surface
    dark = dict(forcing, net_radiation=-rng.uniform(0.0, 100.0, (N_MEMBER, N_SITE)))
    _, (_, fl) = _one_day(statics, dark)
    for key in ("tall", "short", "bare"):
        assert np.all(fl[f"{key}_potential_evaporation"] <= 0.0)
        # condensation is not stressed: E_k = Ep_k (docs/model/gleam.md a.4)
        np.testing.assert_allclose(fl[f"{key}_evaporation"], fl[f"{key}_potential_evaporation"], rtol=1e-14)
    assert np.all(fl["potential_evaporation_water"] <= 0.0) and np.all(fl["potential_evaporation_snow"] <= 0.0)


@given(alpha=st.floats(0.1, 2.0), phi=st.floats(0.1, 1.0), scale=st.floats(0.1, 3.0), rn=st.floats(-200, 400))
def test_potential_evaporation_linear_in_alpha_and_phi(alpha, phi, scale, rn):
    equilibrium = equilibrium_evaporation(rn, 0.145, 2.45e6, ThermodynamicParameters())
    base = priestley_taylor(alpha, phi, equilibrium)
    assert priestley_taylor(alpha * scale, phi, equilibrium) == pytest.approx(scale * base, rel=1e-12, abs=1e-300)
    assert priestley_taylor(alpha, phi * scale, equilibrium) == pytest.approx(scale * base, rel=1e-12, abs=1e-300)


def test_wettest_layer_is_extracted_first():
    statics = SiteStatics.from_texture([1], "loam", [1.0], [0.0], [0.0], vod_p01=0.0, vod_p99=1.0)
    model = GleamModel(statics)
    state = model.initial_state(1)
    state["soil_moisture"][0, 0, :3] = (0.2, 0.3, 0.25)  # layer 2 is wettest
    forcing = {
        "precipitation": np.zeros(1),
        "air_temperature": np.full(1, 20.0),
        "net_radiation": np.full(1, 150.0),
        "vod": np.ones(1),
    }
    new, fl = model.step(state, forcing)
    assert fl["tall_evaporation"][0, 0] > 0
    changed = new["soil_moisture"][0, 0, :3] != state["soil_moisture"][0, 0, :3]
    assert changed.tolist() == [False, True, False]


@given(st.lists(st.floats(0.0, 0.6), min_size=1, max_size=3), st.integers(0, 5))
def test_wettest_first_order_matches_a_stable_sort_with_ties(values, ulps):
    from s1da.components.gleam.soil import TIE_TOLERANCE, wettest_first_order

    w = np.array(values)
    order = [int(o) for o in wettest_first_order(w, 0, len(values))[: len(values)]]
    assert sorted(order) == list(range(len(values)))
    # decreasing up to the tolerance, and tied layers keep their depth order
    for a, b in zip(order[:-1], order[1:]):
        assert w[a] >= w[b] - TIE_TOLERANCE
        if abs(w[a] - w[b]) <= TIE_TOLERANCE:
            assert a < b
    # round-off noise never changes the order (unless a gap sits right at the tolerance)
    gaps = np.abs(w[:, None] - w[None, :])
    if np.all(np.abs(gaps - TIE_TOLERANCE) > 1e-14):
        noisy = w + ulps * np.spacing(w)
        assert [int(o) for o in wettest_first_order(noisy, 0, len(values))[: len(values)]] == order
