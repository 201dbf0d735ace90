"""The numba kernel checks the forcing inside its loop and names the offender like the numpy path."""

import numpy as np
import pytest

pytest.importorskip("numba")

from s1da.components.gleam import GleamModel, GleamParameters  # noqa: E402
from s1da.components.gleam.model import ForcingError  # noqa: E402

from test_gleam_properties import N_MEMBER, N_SITE, random_forcing, random_statics  # noqa: E402

BAD_VALUES = [
    ("precipitation", np.nan, "not finite"),
    ("precipitation", -1.0, "plausible range"),
    ("air_temperature", 290.0, "plausible range"),  # kelvin given for degC
    ("net_radiation", np.inf, "not finite"),
    ("vod", 11.0, "plausible range"),
    ("convective_fraction", 1.5, "plausible range"),
    ("swe", np.nan, "not finite"),
]


@pytest.mark.parametrize("kernel", ["numba", "numpy"])
@pytest.mark.parametrize("name, value, why", BAD_VALUES)
def test_bad_forcing_value_is_named_with_member_and_site(kernel, name, value, why):
    rng = np.random.default_rng(11)
    statics = random_statics(rng)
    model = GleamModel(statics, kernel=kernel, outputs="budget", reuse_buffers=kernel == "numba")
    state = model.initial_state(N_MEMBER)
    good = random_forcing(rng, 0, True)
    state, _ = model.step(state, good)
    before = {key: value.copy() for key, value in state.items()}
    bad = {key: value.copy() for key, value in good.items()}
    member, site = N_MEMBER - 1, N_SITE // 2
    bad[name][member, site] = value
    with pytest.raises(ForcingError, match=rf"{name}.*site index {site} .*member {member}: value .*{why}"):
        model.step(state, bad)
    for key in before:  # a refused day leaves the state alone
        np.testing.assert_array_equal(state[key], before[key])
    model.step(state, good)  # and the model goes on


def test_lai_site_vector_checked_and_unused_swe_still_checked():
    rng = np.random.default_rng(12)
    statics = random_statics(rng)
    model = GleamModel(statics, GleamParameters(snow_mode="temperature_index"), kernel="numba")
    state = model.initial_state(2)
    forcing = {k: v[:2] for k, v in random_forcing(rng, 0, True).items() if k != "vod"}
    lai = np.full(N_SITE, 2.0)
    lai[3] = 25.0
    with pytest.raises(ForcingError, match=r"'lai'.*site index 3 .*plausible range"):
        model.step(state, forcing | {"lai": lai})
    forcing["swe"][1, 4] = -5.0  # not used in this snow mode, but still refused
    with pytest.raises(ForcingError, match=r"'swe'.*site index 4 .*member 1"):
        model.step(state, forcing | {"lai": np.full(N_SITE, 2.0)})


def test_unchecked_numba_step_runs_on_any_values():
    rng = np.random.default_rng(13)
    statics = random_statics(rng)
    model = GleamModel(statics, kernel="numba", check_forcing=False)
    forcing = random_forcing(rng, 0, False)
    forcing["air_temperature"] = forcing["air_temperature"] + 300.0
    _, fluxes = model.step(model.initial_state(N_MEMBER), forcing)
    assert fluxes["precipitation"].shape == (N_MEMBER, N_SITE)
