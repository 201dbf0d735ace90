"""Additive AR(1) state perturbations (SMAP L4 / LIS practice) around GLEAM: closure, bounds, keying."""

import numpy as np
import pytest

from s1da.components.gleam import GleamModel, SiteStatics
from s1da.components.perturbers.state import StatePerturbation, StatePerturbedModel

N_SITE, N_MEMBER, N_DAY = 4, 8, 30


def statics(site_ids):
    n = len(site_ids)
    return SiteStatics(
        site_id=np.asarray(site_ids),
        fraction_tall=np.full(n, 0.2),
        fraction_short=np.full(n, 0.6),
        fraction_bare=np.full(n, 0.2),
        fraction_water=np.zeros(n),
        residual=np.full(n, 0.03),
        wilting_point=np.full(n, 0.08),
        critical=np.full(n, 0.2),
        field_capacity=np.full(n, 0.3),
        saturation=np.full(n, 0.45),
        permanent_ice=np.zeros(n, bool),
        vod_p01=np.full(n, 0.05),
        vod_p99=np.full(n, 0.8),
    )


def forcing(day, site_ids):
    rng = np.random.default_rng(day)
    rain = (rng.exponential(4.0, 10) * (rng.random(10) < 0.4))[np.asarray(site_ids)]
    shape = (N_MEMBER, len(site_ids))
    return {
        "precipitation": np.broadcast_to(rain, shape).copy(),
        "air_temperature": np.full(shape, 15.0),
        "net_radiation": np.full(shape, 120.0),
        "vod": np.full(shape, 0.4),
    }


def run(site_ids, perturbation=StatePerturbation(sd=0.01)):
    model = StatePerturbedModel(GleamModel(statics(site_ids)), perturbation, site_ids, entropy=11)
    state = model.initial_state(N_MEMBER)
    surface, records = [], []
    for day in range(N_DAY):
        before = model.model.total_water_storage({k: v for k, v in state.items() if not k.startswith("state_perturbation")})
        state, fluxes = model.step(state, forcing(day, site_ids))
        records.append((before, fluxes))
        surface.append(model.surface_soil_moisture(state))
    return model, state, np.array(surface), records


def test_state_perturbation_closes_the_water_balance_and_keeps_bounds():
    model, state, surface, records = run(np.arange(N_SITE))
    for before, fluxes in records:
        budget = fluxes["precipitation"] - fluxes["total_evaporation"] - fluxes["deep_drainage"] - fluxes["surface_runoff"]
        np.testing.assert_allclose(fluxes["total_water_storage"] - before, budget + fluxes["state_perturbation"], atol=1e-9)
    layers = model.layer_soil_moisture(state)
    assert (layers >= 0.03 - 1e-12).all() and (layers <= 0.45 + 1e-12).all()
    assert surface.std(axis=1).mean() > 0.002  # the perturbation spreads the ensemble
    assert int(state["state_perturbation_day"].flat[0]) == N_DAY


def test_state_perturbation_is_keyed_by_site():
    _, _, full, _ = run(np.array([3, 5, 8]))
    _, _, part, _ = run(np.array([5]))
    np.testing.assert_array_equal(part[:, :, 0], full[:, :, 1])


def test_zero_sd_is_the_plain_model():
    _, _, perturbed, _ = run(np.arange(2), StatePerturbation(sd=0.0))
    model = GleamModel(statics(np.arange(2)))
    state = model.initial_state(N_MEMBER)
    for day in range(N_DAY):
        state, _ = model.step(state, forcing(day, np.arange(2)))
    np.testing.assert_allclose(perturbed[-1], model.surface_soil_moisture(state), atol=1e-12)


@pytest.mark.parametrize("kwargs", [{"sd": -0.01}, {"correlation_time": 0.0}, {"block_days": 0}])
def test_state_perturbation_parameters_validated(kwargs):
    with pytest.raises(ValueError):
        StatePerturbation(**kwargs)


def test_the_twin_truth_runs_without_the_state_perturbation():
    from s1da.components.gleam.sites import statics_from_sites
    from s1da.components.sources.twin import build_network, run_truth

    network = build_network(2, "2018-01-01", "2018-03-01", 3)
    plain = run_truth(network, lambda sites: GleamModel(statics_from_sites(sites)), spinup_years=0)
    wrapped = run_truth(
        network,
        lambda sites: StatePerturbedModel(GleamModel(statics_from_sites(sites)), StatePerturbation(sd=0.02), sites["site"].values, 1),
        spinup_years=0,
    )
    np.testing.assert_array_equal(plain["surface_soil_moisture"].values, wrapped["surface_soil_moisture"].values)
