"""The daily GLEAM step as a pure numpy kernel over ``(member, site)`` arrays (MODEL_SPEC a.2).

No validation here (``model.py`` wraps it); every function below is vectorised over members and
sites and loops only over the three fractions and their layers.

Water bookkeeping, per unit pixel area (all mm or mm d-1):

* land (1 - f_W) receives P; it is split into snowfall P_s and rain P_r (a.5); the snowpack D_m
  is per unit land area; the tall fraction's canopy intercepts I (pixel mm, a.6) and evaporates
  it the same day (no canopy storage is carried between days: the daily Gash model treats each
  rain day as one storm that ends with a dry canopy);
* each fraction k gets F_k = P_r + F_sn - delta_kT I/c per unit fraction area (a.9.2);
* open water f_W receives f_W P (rain and snow alike) and loses f_W E_W.  GLEAM treats open
  water as an unlimited reservoir (E_W is never water-limited), so its budget cannot close on
  its own; we carry the running balance ``open_water_storage`` (mm per pixel, relative to the
  initial level, may go negative = lateral supply) so that the pixel budget closes exactly.

Pixel closure (MODEL_SPEC a.13 extended to the open water):
    TWS = sum_k f_k sum_l s_{k,l} + (1 - f_W) D_m + open_water_storage
    E   = I + f_T E_T + f_H E_H + f_B E_B + f_W E_W + (1 - f_W) E_s
    D   = sum_k f_k D_k,  Q = 0 (no infiltration-excess runoff in GLEAM: src G1 calls the
          infiltration with Q = 0; excess over saturation drains downwards instead)
    TWS_t - TWS_{t-1} = P - E - D - Q.
"""

from __future__ import annotations

import numpy as np

from .actual import open_water_evaporation, stressed_evaporation, transpiration_tall
from .interception import interception_loss, mean_rain_rate
from .potential import priestley_taylor
from .snow import snow_swe_forced, snow_temperature_index
from .soil import (
    BARE_LAYER_THICKNESS,
    SHORT_LAYER_THICKNESS,
    TALL_LAYER_THICKNESS,
    fraction_water_balance,
)
from .stress import bare_soil_stress, normalised_vegetation_index, vegetation_stress
from .thermodynamics import (
    KELVIN,
    ice_saturation_vapour_pressure_slope,
    latent_heat_of_sublimation,
    latent_heat_of_vaporisation,
    psychrometric_constant,
    saturation_vapour_pressure_slope,
)

FRACTIONS = ("tall", "short", "bare")
LAYER_NAMES = ("tall_1", "tall_2", "tall_3", "short_1", "short_2", "bare_1")
LAYER_THICKNESS = np.array(TALL_LAYER_THICKNESS + SHORT_LAYER_THICKNESS + BARE_LAYER_THICKNESS)
LAYER_SLICES = {"tall": slice(0, 3), "short": slice(3, 5), "bare": slice(5, 6)}
LAYER_FRACTION = np.array([0, 0, 0, 1, 1, 2])
TOP_LAYERS = np.array([0, 3, 5])
DEPTH_INDEX = np.array([0, 1, 2, 0, 1, 0])

BUDGET_FLUXES = (  # what outputs="budget" keeps: the closure terms and w1
    "precipitation",
    "total_evaporation",
    "deep_drainage",
    "surface_runoff",
    "total_water_storage",
    "surface_soil_moisture",
)



def fraction_weights(statics) -> np.ndarray:
    """(site, 3) fractions f_T, f_H, f_B."""
    return np.stack([statics.fraction_tall, statics.fraction_short, statics.fraction_bare], axis=-1)


def lower_bounds(statics) -> np.ndarray:
    """(site, 6) lowest moisture per layer: w_wp for T and H, w_r for B (MODEL_SPEC a.1, a.9)."""
    wp, wr = statics.wilting_point, statics.residual
    return np.stack([wp, wp, wp, wp, wp, wr], axis=-1)


def total_water_storage(soil_moisture, snowpack, open_water_storage, statics):
    """TWS (mm per pixel): soil + snow + open-water balance (see module docstring)."""
    weights = fraction_weights(statics)[:, LAYER_FRACTION]  # (site, 6)
    soil = (soil_moisture * LAYER_THICKNESS * weights).sum(axis=-1)
    return soil + (1.0 - statics.fraction_water) * snowpack + open_water_storage


def surface_soil_moisture(soil_moisture, statics):
    """w1 = sum_k f_k w_k1 / sum_k f_k (MODEL_SPEC a.10)."""
    weights = fraction_weights(statics)
    return (soil_moisture[..., TOP_LAYERS] * weights).sum(axis=-1) / weights.sum(axis=-1)


def root_zone_soil_moisture(soil_moisture, statics):
    """w_rz = sum_k f_k sum_l w dz / sum_k f_k sum_l dz (MODEL_SPEC a.10)."""
    weights = fraction_weights(statics)[:, LAYER_FRACTION] * LAYER_THICKNESS
    return (soil_moisture * weights).sum(axis=-1) / weights.sum(axis=-1)


def daily_step(
    soil_moisture,
    snowpack,
    previous_swe,
    open_water_storage,
    precipitation,
    air_temperature,
    net_radiation,
    vegetation_index,
    swe,
    convective_fraction,
    statics,
    parameters,
    vegetation_p01,
    vegetation_p99,
):
    """One day for all members and sites.  Arrays ``(member, site)``; ``soil_moisture`` (member, site, 6).

    ``swe`` is None for the temperature-index snow mode.  Returns (state dict, flux dict).
    """
    p = parameters
    pt = p.priestley_taylor
    f_tall, f_short, f_bare, f_water = (
        statics.fraction_tall,
        statics.fraction_short,
        statics.fraction_bare,
        statics.fraction_water,
    )
    land = 1.0 - f_water
    # 2. thermodynamics (a.3)
    temperature_kelvin = air_temperature + KELVIN
    latent = latent_heat_of_vaporisation(temperature_kelvin)
    slope = saturation_vapour_pressure_slope(air_temperature)
    gamma = psychrometric_constant(latent, p.thermodynamics)
    latent_ice = latent_heat_of_sublimation(temperature_kelvin)
    slope_ice = ice_saturation_vapour_pressure_slope(temperature_kelvin)
    gamma_ice = psychrometric_constant(latent_ice, p.thermodynamics)
    # 5. potential evaporation (a.4) -- needed by the snow step for sublimation
    ep_tall = priestley_taylor(pt.alpha_tall, pt.phi_tall, net_radiation, slope, gamma, latent)
    ep_short = priestley_taylor(pt.alpha_short, pt.phi_short, net_radiation, slope, gamma, latent)
    ep_bare = priestley_taylor(pt.alpha_bare, pt.phi_bare, net_radiation, slope, gamma, latent)
    ep_water = priestley_taylor(pt.alpha_water, pt.phi_water, net_radiation, slope, gamma, latent)
    ep_snow = priestley_taylor(pt.alpha_snow, pt.phi_snow, net_radiation, slope_ice, gamma_ice, latent_ice)
    # 3. snow (a.5)
    ice = statics.permanent_ice
    if swe is None:
        snow = snow_temperature_index(precipitation, snowpack, ep_snow, air_temperature, ice, p.snow)
        new_previous_swe = previous_swe
    else:
        snow = snow_swe_forced(precipitation, swe, previous_swe, snowpack, ep_snow, air_temperature, ice, p.snow)
        new_previous_swe = np.broadcast_to(swe, snowpack.shape).astype(float)
    mask = snow.mask
    # 4. interception (a.6); c = f_T, skipped under the snow mask
    rain_rate = mean_rain_rate(convective_fraction, p.interception)
    interception = np.where(mask, 0.0, interception_loss(snow.rainfall, f_tall, rain_rate, p.interception))
    interception_per_cover = np.divide(
        interception, f_tall, out=np.zeros(np.broadcast_shapes(interception.shape, f_tall.shape)), where=f_tall > 0.0
    )
    # 6. stress from the start-of-day state (a.7, DD-2)
    veg = normalised_vegetation_index(vegetation_index, vegetation_p01, vegetation_p99)
    w_c, w_wp, w_r = statics.critical, statics.wilting_point, statics.residual
    stress_tall = vegetation_stress(soil_moisture[..., LAYER_SLICES["tall"]], veg, w_c, w_wp)
    stress_short = vegetation_stress(soil_moisture[..., LAYER_SLICES["short"]], veg, w_c, w_wp)
    stress_bare = bare_soil_stress(soil_moisture[..., 5], w_c, w_r)
    # 7. actual evaporation demand (a.8)
    demand = {
        "tall": transpiration_tall(ep_tall, stress_tall, interception_per_cover, mask, p.evaporation),
        "short": stressed_evaporation(ep_short, stress_short, mask),
        "bare": stressed_evaporation(ep_bare, stress_bare, mask),
    }
    e_water = open_water_evaporation(ep_water)
    # 8. soil water balance per fraction (a.9)
    base_input = snow.rainfall + snow.melt
    net_input = {"tall": base_input - interception_per_cover, "short": base_input, "bare": base_input}
    bounds = {"tall": w_wp, "short": w_wp, "bare": w_r}
    new_soil = np.empty_like(soil_moisture)
    evaporation, drainage = {}, {}
    for name in FRACTIONS:
        sl = LAYER_SLICES[name]
        thickness = LAYER_THICKNESS[sl]
        storage, evaporation[name], drainage[name] = fraction_water_balance(
            soil_moisture[..., sl],
            demand[name],
            net_input[name],
            thickness,
            bounds[name],
            statics.field_capacity,
            statics.saturation,
            p.soil.drainage_fraction,
        )
        new_soil[..., sl] = storage / thickness
    # 9. aggregate (a.10) and the pixel budget (module docstring)
    new_open_water = open_water_storage + f_water * (precipitation - e_water)
    transpiration = f_tall * evaporation["tall"] + f_short * evaporation["short"]
    soil_evaporation = f_bare * evaporation["bare"]
    sublimation = land * snow.sublimation
    total_evaporation = interception + transpiration + soil_evaporation + f_water * e_water + sublimation
    deep_drainage = f_tall * drainage["tall"] + f_short * drainage["short"] + f_bare * drainage["bare"]
    state = {
        "soil_moisture": new_soil,
        "snowpack": snow.snowpack,
        "previous_swe": new_previous_swe,
        "open_water_storage": new_open_water,
    }
    fluxes = {
        "precipitation": np.array(precipitation, dtype=float),  # a copy, never the caller's array
        "total_evaporation": total_evaporation,
        "deep_drainage": deep_drainage,
        "surface_runoff": np.zeros_like(total_evaporation),
        "total_water_storage": total_water_storage(new_soil, snow.snowpack, new_open_water, statics),
        "surface_soil_moisture": surface_soil_moisture(new_soil, statics),
        "root_zone_soil_moisture": root_zone_soil_moisture(new_soil, statics),
        "interception_loss": interception,
        "transpiration": transpiration,
        "soil_evaporation": soil_evaporation,
        "open_water_evaporation": f_water * e_water,
        "sublimation": sublimation,
        "snow_water_equivalent": snow.snowpack,
        "snowfall": snow.snowfall,
        "snow_sublimation": snow.sublimation,
        "snowmelt": snow.melt,
        "snow_mask": mask.astype(float),
        "open_water_storage": new_open_water,
        "potential_evaporation_water": ep_water,
        "potential_evaporation_snow": ep_snow,
    }
    potentials = {"tall": ep_tall, "short": ep_short, "bare": ep_bare}
    stresses = {"tall": stress_tall, "short": stress_short, "bare": stress_bare}
    for name in FRACTIONS:
        fluxes[f"{name}_net_input"] = net_input[name]
        fluxes[f"{name}_evaporation"] = evaporation[name]
        fluxes[f"{name}_drainage"] = drainage[name]
        fluxes[f"{name}_potential_evaporation"] = potentials[name]
        fluxes[f"{name}_stress"] = stresses[name]
    shape = snowpack.shape
    fluxes = {
        key: (np.broadcast_to(value, shape).astype(float) if np.shape(value) != shape else value)
        for key, value in fluxes.items()
    }
    return state, fluxes
