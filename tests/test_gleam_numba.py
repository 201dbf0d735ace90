"""The optional numba kernel gives the numpy kernel's numbers (to 1e-12)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("numba")

from s1da.components.gleam import GleamModel, GleamParameters  # noqa: E402
from s1da.components.gleam.soil import SoilParameters  # noqa: E402

from test_gleam_properties import N_MEMBER, N_SITE, random_forcing, random_statics  # noqa: E402


@settings(max_examples=10)
@given(
    seed=st.integers(0, 2**32 - 1),
    with_swe=st.booleans(),
    kappa=st.floats(0.05, 1.0),
    snow_mode=st.sampled_from(["auto", "temperature_index"]),
)
def test_numba_matches_numpy(seed, with_swe, kappa, snow_mode):
    rng = np.random.default_rng(seed)
    statics = random_statics(rng)
    parameters = GleamParameters(soil=SoilParameters(drainage_fraction=kappa), snow_mode=snow_mode)
    fast = GleamModel(statics, parameters, kernel="numba")
    slow = GleamModel(statics, parameters, kernel="numpy")
    state_fast = state_slow = slow.initial_state(N_MEMBER)
    for day in range(30):
        forcing = random_forcing(rng, day, with_swe)
        state_fast, flux_fast = fast.step(state_fast, forcing)
        state_slow, flux_slow = slow.step(state_slow, forcing)
        assert flux_fast.keys() == flux_slow.keys()
        for key in flux_slow:
            np.testing.assert_allclose(flux_fast[key], flux_slow[key], rtol=1e-12, atol=1e-12, err_msg=key)
        for key in state_slow:
            np.testing.assert_allclose(state_fast[key], state_slow[key], rtol=1e-12, atol=1e-12, err_msg=key)


def test_numba_with_lai_and_shape():
    rng = np.random.default_rng(3)
    statics = random_statics(rng)
    model = GleamModel(statics, kernel="numba")
    state = model.initial_state(2)
    forcing = random_forcing(rng, 0, False)
    forcing = {k: v[0] for k, v in forcing.items() if k != "vod"} | {"lai": np.full(N_SITE, 2.0)}
    new, fluxes = model.step(state, forcing)
    assert new["soil_moisture"].shape == (2, N_SITE, 6)
    assert fluxes["total_evaporation"].shape == (2, N_SITE)


def test_budget_outputs_and_reused_buffers_match_numpy():
    rng = np.random.default_rng(5)
    statics = random_statics(rng)
    slow = GleamModel(statics)
    fast = GleamModel(statics, kernel="numba", outputs="budget", reuse_buffers=True)
    state_slow = state_fast = slow.initial_state(N_MEMBER)
    for day in range(12):
        forcing = random_forcing(rng, day, day % 2 == 0)
        if day % 3 == 0:
            del forcing["convective_fraction"]
        before = {k: v.copy() for k, v in state_fast.items()}
        new_fast, flux_fast = fast.step(state_fast, forcing)
        for key in before:  # the input state is never written into
            np.testing.assert_array_equal(state_fast[key], before[key])
        state_slow, flux_slow = slow.step(state_slow, forcing)
        assert set(flux_fast) == {
            "precipitation", "total_evaporation", "deep_drainage", "surface_runoff",
            "total_water_storage", "surface_soil_moisture",
        }
        for key in flux_fast:
            np.testing.assert_allclose(flux_fast[key], flux_slow[key], rtol=1e-12, atol=1e-12, err_msg=key)
        state_fast = new_fast
    for key in state_slow:
        np.testing.assert_allclose(state_fast[key], state_slow[key], rtol=1e-12, atol=1e-12)


def test_budget_outputs_numpy_and_bad_option():
    rng = np.random.default_rng(6)
    statics = random_statics(rng)
    model = GleamModel(statics, outputs="budget")
    _, fluxes = model.step(model.initial_state(2), {k: v[:2] for k, v in random_forcing(rng, 0, False).items()})
    assert len(fluxes) == 6
    with pytest.raises(ValueError, match="reuse_buffers"):
        GleamModel(statics, reuse_buffers=True)
    with pytest.raises(ValueError, match="outputs"):
        GleamModel(statics, outputs="some")
