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
