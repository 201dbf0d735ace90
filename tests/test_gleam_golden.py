"""Golden values for GLEAM thermodynamics and a hand-computed single day per fraction.

The expected numbers are computed here from the formulas of docs/model written out again with
``math`` (not by calling the modules under test), or taken from published tables.
"""

import math

import numpy as np
import pytest

from s1da.components.gleam import GleamModel, GleamParameters, SiteStatics
from s1da.components.gleam.soil import SoilParameters
from s1da.components.gleam.thermodynamics import (
    ice_saturation_vapour_pressure,
    latent_heat_of_sublimation,
    latent_heat_of_vaporisation,
    psychrometric_constant,
    saturation_vapour_pressure,
    saturation_vapour_pressure_slope,
)


def test_ice_saturation_vapour_pressure_at_melting_point():
    # docs/model/gleam.md a.3 check value (Murphy & Koop 2005: 611.657 Pa at the triple point)
    assert ice_saturation_vapour_pressure(273.15) == pytest.approx(611.2, abs=0.5)


def test_latent_heat_of_sublimation_at_melting_point():
    assert latent_heat_of_sublimation(273.15) == pytest.approx(2.834e6, rel=1e-3)


def test_latent_heat_of_vaporisation_at_20_celsius():
    # Henderson-Sellers: 1.91846e6 (293.15 / 259.24)^2; the textbook value is 2.45 MJ kg-1 (FAO-56)
    assert latent_heat_of_vaporisation(293.15) == pytest.approx(2.45e6, rel=2e-3)
    assert latent_heat_of_vaporisation(293.15) == pytest.approx(1.91846e6 * (293.15 / 259.24) ** 2, rel=1e-12)


def test_saturation_vapour_pressure_and_slope_at_20_celsius():
    # FAO-56 Annex 2 table 2.3/2.4: e_s(20 degC) = 2.338 kPa, Delta(20 degC) = 0.145 kPa K-1
    assert saturation_vapour_pressure(20.0) == pytest.approx(2.338, abs=5e-4)
    assert saturation_vapour_pressure_slope(20.0) == pytest.approx(0.145, abs=5e-4)


def test_psychrometric_constant_at_sea_level():
    # FAO-56: gamma = 0.0674 kPa K-1 at 101.3 kPa with lambda = 2.45 MJ kg-1
    assert psychrometric_constant(2.45e6) == pytest.approx(0.0674, abs=2e-4)


# ---------------------------------------------------------------------------- hand-checked day
T_AIR, RN, RAIN, LAI = 20.0, 150.0, 10.0, 3.84  # LAI* = 3.84/6 = 0.64 -> sqrt = 0.8
W_SAT, W_FC, W_C, W_WP = 0.435, 0.331, 0.274, 0.139  # loam (docs/model/gleam.md a.11)
KAPPA = 0.5


def _hand_thermo():
    tk = T_AIR + 273.15
    lam = 1.91846e6 * (tk / (tk - 33.91)) ** 2
    es = 0.6108 * math.exp(17.27 * T_AIR / (T_AIR + 237.3))
    delta = 4098.0 * es / (T_AIR + 237.3) ** 2
    gamma = 1013.0 * 101.3 / (0.622 * lam)
    return lam, delta, gamma


def _hand_ep(alpha, phi):
    lam, delta, gamma = _hand_thermo()
    return alpha * delta / (delta + gamma) * phi * RN * 86400.0 / lam


def _run_one_day(fractions):
    statics = SiteStatics.from_texture([7], "loam", *[[f] for f in fractions], lai_p01=0.0, lai_p99=6.0)
    model = GleamModel(statics, GleamParameters(soil=SoilParameters(drainage_fraction=KAPPA)))
    state = model.initial_state(1)
    forcing = {
        "precipitation": np.array([RAIN]),
        "air_temperature": np.array([T_AIR]),
        "net_radiation": np.array([RN]),
        "lai": np.array([LAI]),
    }
    new_state, fluxes = model.step(state, forcing)
    return model, state, new_state, {k: float(v[0, 0]) for k, v in fluxes.items()}


def _hand_cascade(storages, field_caps, net_input):
    """Drainage cascade with kappa = KAPPA, written out again."""
    out, q = [], net_input
    for s, fc in zip(storages, field_caps):
        s = s + q
        q = max(KAPPA * (s - fc), 0.0)  # never above saturation in this case
        out.append(s - q)
    return out, q


def test_hand_checked_day_tall_vegetation():
    _, _, new_state, fl = _run_one_day((1.0, 0.0, 0.0, 0.0))
    # sparse Gash, c = 1, f_conv = 0 -> R = 1.5 mm/h
    rate, evap = 1.5, 0.98 * 0.3
    x = evap / rate
    pg1 = -(rate * 1.2 / evap) * math.log(1.0 - x)
    pg2 = pg1 + rate * 0.02 / (0.02 * (rate - evap))
    assert RAIN > pg2
    interception = min(pg1 + x * (RAIN - pg1) + 0.02, RAIN)
    assert fl["interception_loss"] == pytest.approx(interception, rel=1e-12)
    ep = _hand_ep(0.97, 0.90)
    assert fl["tall_potential_evaporation"] == pytest.approx(ep, rel=1e-12)
    transpiration = max(0.0, 0.8 * 1.0 * ep - 0.07 * interception)  # g(w_fc) = 1 since w_fc > w_c
    assert fl["tall_evaporation"] == pytest.approx(transpiration, rel=1e-12)
    # all layers equal -> top layer first; it has enough water above w_wp
    dz = (100.0, 900.0, 1500.0)
    start = [W_FC * d for d in dz]
    after_extraction = [start[0] - transpiration] + start[1:]
    layers, drainage = _hand_cascade(after_extraction, start, RAIN - interception)
    assert fl["tall_drainage"] == pytest.approx(drainage, rel=1e-12)
    np.testing.assert_allclose(new_state["soil_moisture"][0, 0, :3], np.array(layers) / np.array(dz), rtol=1e-12)
    assert fl["total_evaporation"] == pytest.approx(interception + transpiration, rel=1e-12)


def test_hand_checked_day_short_vegetation():
    _, _, new_state, fl = _run_one_day((0.0, 1.0, 0.0, 0.0))
    ep = _hand_ep(1.26, 0.80)
    evaporation = 0.8 * ep
    assert fl["short_evaporation"] == pytest.approx(evaporation, rel=1e-12)
    assert fl["interception_loss"] == 0.0
    dz = (100.0, 900.0)
    start = [W_FC * d for d in dz]
    layers, drainage = _hand_cascade([start[0] - evaporation, start[1]], start, RAIN)
    assert fl["deep_drainage"] == pytest.approx(drainage, rel=1e-12)
    np.testing.assert_allclose(new_state["soil_moisture"][0, 0, 3:5], np.array(layers) / np.array(dz), rtol=1e-12)
    assert fl["surface_soil_moisture"] == pytest.approx(layers[0] / 100.0, rel=1e-12)


def test_hand_checked_day_bare_soil():
    _, _, new_state, fl = _run_one_day((0.0, 0.0, 1.0, 0.0))
    ep = _hand_ep(1.26, 0.65)
    w_r = 0.5 * W_WP
    stress = min(max((W_FC - w_r) / (W_C - w_r), 0.0), 1.0)  # = 1 at field capacity
    evaporation = stress * ep
    assert fl["bare_evaporation"] == pytest.approx(evaporation, rel=1e-12)
    layers, drainage = _hand_cascade([W_FC * 100.0 - evaporation], [W_FC * 100.0], RAIN)
    assert fl["deep_drainage"] == pytest.approx(drainage, rel=1e-12)
    assert new_state["soil_moisture"][0, 0, 5] == pytest.approx(layers[0] / 100.0, rel=1e-12)


def test_hand_checked_day_open_water_share():
    _, state, new_state, fl = _run_one_day((0.0, 0.6, 0.0, 0.4))
    ep_w = _hand_ep(1.10, 0.70)
    ep_h = _hand_ep(1.26, 0.80)
    assert fl["open_water_evaporation"] == pytest.approx(0.4 * ep_w, rel=1e-12)
    assert fl["total_evaporation"] == pytest.approx(0.4 * ep_w + 0.6 * 0.8 * ep_h, rel=1e-12)
    assert new_state["open_water_storage"][0, 0] == pytest.approx(0.4 * (RAIN - ep_w), rel=1e-12)
