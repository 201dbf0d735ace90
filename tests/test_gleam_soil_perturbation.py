"""Soil-parameter perturbations per member: bounds, zero = unperturbed, chunking invariance, config."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tiny_experiment import TINY_YAML, write_tiny_config

from s1da.components.gleam import GleamModel
from s1da.components.gleam.pointwise import NUMBA_INSTALLED
from s1da.components.gleam.statics import SOIL_FIELDS, SOIL_RANGES, MemberSoil
from s1da.components.perturbers.soil_parameters import (
    RETENTION_CHAIN,
    SoilParameterPerturbation,
    SoilPerturbedModel,
    perturbed_soil,
)
from s1da.components.perturbers.state import StatePerturbation, StatePerturbedModel
from s1da.containers import schema
from s1da.framework.config import ConfigError

from test_gleam_properties import N_MEMBER, random_forcing, random_statics

SD = st.floats(0.0, 1.0)
LOGIT_TOLERANCE = 1e-9


def _logit(x):
    return np.log(x / (1.0 - x))


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_members=st.integers(1, 12),
    sds=st.tuples(SD, SD, SD, SD, st.floats(0.0, 2.0), st.floats(0.0, 2.0)),
    truncation=st.floats(0.5, 4.0),
)
def test_every_member_respects_the_order_and_the_truncation_bounds(seed, n_members, sds, truncation):
    rng = np.random.default_rng(seed)
    statics = random_statics(rng)
    perturbation = SoilParameterPerturbation(*sds, truncation=truncation)
    soil = perturbed_soil(statics, perturbation, statics.site_id, seed, n_members)  # validates the order
    assert soil.saturation.shape == (n_members, statics.n_site)
    assert np.all(soil.residual > 0.0) and np.all(soil.saturation < 1.0)
    deviation = np.abs(_logit(soil.saturation) - _logit(statics.saturation))
    assert np.all(deviation <= truncation * perturbation.porosity_sd + LOGIT_TOLERANCE)
    upper, nominal_upper = soil.saturation, statics.saturation
    for name, sd_name in RETENTION_CHAIN:
        ratio, nominal = getattr(soil, name) / upper, getattr(statics, name) / nominal_upper
        assert np.all(np.abs(_logit(ratio) - _logit(nominal)) <= truncation * getattr(perturbation, sd_name) + LOGIT_TOLERANCE)
        upper, nominal_upper = getattr(soil, name), getattr(statics, name)
    np.testing.assert_allclose(soil.residual / soil.wilting_point, np.broadcast_to(statics.residual / statics.wilting_point, soil.residual.shape), rtol=1e-12)
    for name, sd in (("pore_size_index", perturbation.pore_size_index_sd), ("saturated_conductivity", perturbation.conductivity_sd)):
        low, high = SOIL_RANGES[name]
        value, nominal = getattr(soil, name), getattr(statics, name)
        assert np.all((value >= low) & (value <= high))
        factor = np.exp(truncation * sd) * (1 + 1e-12)
        assert np.all((value >= np.minimum(nominal / factor, high)) & (value <= np.maximum(nominal * factor, low)))


def _run(model, statics, n_days=8, seed=1):
    rng = np.random.default_rng(seed)
    state = model.initial_state(N_MEMBER)
    history = []
    for day in range(n_days):
        state, fluxes = model.step(state, random_forcing(rng, day, day % 2 == 0))
        history.append((state["soil_moisture"], fluxes["deep_drainage"], fluxes["total_evaporation"]))
    return history


KERNELS = ["numpy"] + (["numba"] if NUMBA_INSTALLED else [])


@pytest.mark.parametrize("kernel", KERNELS)
def test_zero_perturbation_reproduces_the_unperturbed_run_bit_for_bit(kernel):
    statics = random_statics(np.random.default_rng(2))
    plain = GleamModel(statics, kernel=kernel)
    zero = SoilParameterPerturbation(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    wrapped = SoilPerturbedModel(plain, zero, statics.site_id, entropy=5)
    for a, b in zip(_run(plain, statics), _run(wrapped, statics)):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_member_soil_equal_to_the_statics_gives_the_same_numbers():
    statics = random_statics(np.random.default_rng(3))
    plain = GleamModel(statics)
    broadcast = plain.with_member_soil(MemberSoil.of_statics(statics, N_MEMBER))
    for a, b in zip(_run(plain, statics), _run(broadcast, statics)):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


@pytest.mark.skipif(not NUMBA_INSTALLED, reason="numba not installed")
def test_compiled_and_numpy_paths_agree_with_member_soil():
    statics = random_statics(np.random.default_rng(4))
    perturbation = SoilParameterPerturbation(porosity_sd=0.5, field_capacity_sd=0.5, critical_sd=0.5, wilting_point_sd=0.5)
    slow = SoilPerturbedModel(GleamModel(statics), perturbation, statics.site_id, entropy=9)
    fast = SoilPerturbedModel(GleamModel(statics, kernel="numba"), perturbation, statics.site_id, entropy=9)
    for a, b in zip(_run(slow, statics), _run(fast, statics)):
        for x, y in zip(a, b):
            np.testing.assert_allclose(y, x, rtol=1e-12, atol=1e-12)
    assert np.ptp(a[0], axis=0).max() > 1e-3  # the members differ


def test_numbers_do_not_depend_on_which_sites_run_together():
    statics = random_statics(np.random.default_rng(5))
    model = SoilPerturbedModel(GleamModel(statics), SoilParameterPerturbation(), statics.site_id, entropy=11)
    whole = model.member_model(N_MEMBER).member_soil
    picked = np.array([4, 1])
    part = model.subset(picked).member_model(N_MEMBER).member_soil
    for name in SOIL_FIELDS:
        np.testing.assert_array_equal(getattr(part, name), getattr(whole, name)[:, picked])
    alone = SoilPerturbedModel(GleamModel(statics).subset([1]), SoilParameterPerturbation(), statics.site_id[[1]], entropy=11)
    np.testing.assert_array_equal(alone.member_model(N_MEMBER).member_soil.saturation[:, 0], whole.saturation[:, 1])


def test_layer_bounds_of_an_analysis_are_each_members_own():
    statics = random_statics(np.random.default_rng(6))
    model = SoilPerturbedModel(GleamModel(statics), SoilParameterPerturbation(porosity_sd=1.0), statics.site_id, entropy=3)
    wrapped = StatePerturbedModel(model, StatePerturbation(sd=0.2), statics.site_id, entropy=3)
    state = wrapped.initial_state(N_MEMBER)
    soil = model.member_model(N_MEMBER).member_soil
    np.testing.assert_array_equal(state["soil_moisture"][..., 0], soil.field_capacity)
    x = wrapped.analysis_variables(state)
    new, _ = wrapped.set_analysis_variables(state, x + 1.0)
    present = statics.fraction_tall > 0
    np.testing.assert_array_equal(new["soil_moisture"][:, present, 0], soil.saturation[:, present])
    assert wrapped.unperturbed().unperturbed() is model.model


def test_bad_member_soil_and_member_count_are_named():
    statics = random_statics(np.random.default_rng(7))
    soil = MemberSoil.of_statics(statics, 2)
    fields = {name: getattr(soil, name).copy() for name in SOIL_FIELDS}
    fields["critical"][1, 3] = fields["field_capacity"][1, 3]
    with pytest.raises(ValueError, match="member 1, site index 3: soil parameters out of order: critical"):
        MemberSoil(**fields)
    model = GleamModel(statics).with_member_soil(soil)
    with pytest.raises(ValueError, match="given for 2 members, the state has 3"):
        model.initial_state(3)
    with pytest.raises(ValueError, match="porosity_sd must be in"):
        SoilParameterPerturbation(porosity_sd=-0.1)
    with pytest.raises(TypeError, match="need a GleamModel"):
        SoilPerturbedModel(StatePerturbedModel(GleamModel(statics), StatePerturbation(), statics.site_id, 1), SoilParameterPerturbation(), statics.site_id, 1)


def test_yaml_selects_it_and_blames_a_bad_value_on_its_key(tmp_path):
    good = TINY_YAML.replace("  kind: gleam", "  kind: gleam\n  soil_perturbation:\n    porosity_sd: 0.2", 1)
    resolved = schema.load(write_tiny_config(tmp_path, good))
    assert resolved["model"]["parameters"].soil_perturbation == SoilParameterPerturbation(porosity_sd=0.2)
    bad = TINY_YAML.replace("  kind: gleam", "  kind: gleam\n  soil_perturbation:\n    porosity_sd: 3", 1)
    path = write_tiny_config(tmp_path, bad)
    with pytest.raises(ConfigError) as caught:
        schema.load(path)
    message = str(caught.value)
    assert message.startswith(f"key 'model.soil_perturbation.porosity_sd' in {path}: "), message
    assert "must be in [0, 1.0]" in message and "Attribute(" not in message
