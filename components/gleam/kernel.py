"""The daily GLEAM step, written once for the numpy and the compiled kernel (docs/model/gleam.md a.2).

:func:`gleam_day` composes the process modules for "points": in the numpy kernel a point is the
whole ``(member, site)`` array (:func:`daily_step` below), in ``kernel_numba`` one member-site
inside a parallel loop.  Layered soil moisture is passed layer first (``pointwise.py``).

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

Pixel closure (docs/model/gleam.md a.13 extended to the open water):
    TWS = sum_k f_k sum_l s_{k,l} + (1 - f_W) D_m + open_water_storage
    E   = I + f_T E_T + f_H E_H + f_B E_B + f_W E_W + (1 - f_W) E_s
    D   = sum_k f_k D_k,  Q = 0 (no infiltration-excess runoff in GLEAM: src G1 calls the
          infiltration with Q = 0; excess over saturation drains downwards instead)
    TWS_t - TWS_{t-1} = P - E - D - Q.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .actual import open_water_evaporation, stressed_evaporation, transpiration_tall
from .interception import gash_interception, mean_rain_rate, saturation_thresholds
from .pointwise import anywhere, jitable, maximum, where
from .potential import equilibrium_evaporation, priestley_taylor
from .snow import snow_swe_forced, snow_temperature_index
from .soil import BARE_LAYER_THICKNESS, SHORT_LAYER_THICKNESS, TALL_LAYER_THICKNESS, fraction_water_balance
from .stress import bare_soil_stress, normalised_vegetation_index, vegetation_stress
from .thermodynamics import (
    KELVIN,
    ice_saturation_vapour_pressure_slope,
    latent_heat_of_sublimation,
    latent_heat_of_vaporisation_ratio,
    saturation_vapour_pressure_slope,
)

FRACTIONS = ("tall", "short", "bare")
LAYER_NAMES = ("tall_1", "tall_2", "tall_3", "short_1", "short_2", "bare_1")
LAYER_THICKNESS = np.array(TALL_LAYER_THICKNESS + SHORT_LAYER_THICKNESS + BARE_LAYER_THICKNESS)
LAYER_SLICES = {"tall": slice(0, 3), "short": slice(3, 5), "bare": slice(5, 6)}
LAYER_FRACTION = np.array([0, 0, 0, 1, 1, 2])
TOP_LAYERS = np.array([0, 3, 5])
DEPTH_INDEX = np.array([0, 1, 2, 0, 1, 0])
LAYER_THICKNESS_TUPLE = tuple(float(dz) for dz in LAYER_THICKNESS)
INVERSE_LAYER_THICKNESS = tuple(1.0 / LAYER_THICKNESS)
TALL_DZ, SHORT_DZ, BARE_DZ = TALL_LAYER_THICKNESS, SHORT_LAYER_THICKNESS + (0.0,), BARE_LAYER_THICKNESS + (0.0, 0.0)
"""Each fraction's layer thicknesses padded to three (the soil functions take three layers)."""


class DayFluxes(NamedTuple):
    """The day's fluxes (mm d-1 per pixel unless named per land or fraction area) and diagnostics.

    The first six are the budget set (``outputs="budget"``): the closure terms and w1."""

    precipitation: np.ndarray
    total_evaporation: np.ndarray
    deep_drainage: np.ndarray
    surface_runoff: np.ndarray
    total_water_storage: np.ndarray  # mm
    surface_soil_moisture: np.ndarray  # m3 m-3
    root_zone_soil_moisture: np.ndarray  # m3 m-3
    interception_loss: np.ndarray
    transpiration: np.ndarray
    soil_evaporation: np.ndarray
    open_water_evaporation: np.ndarray
    sublimation: np.ndarray
    snow_water_equivalent: np.ndarray  # mm per land area
    snowfall: np.ndarray
    snow_sublimation: np.ndarray
    snowmelt: np.ndarray
    snow_mask: np.ndarray  # 1 under the snow mask, else 0
    open_water_storage: np.ndarray  # mm
    potential_evaporation_water: np.ndarray
    potential_evaporation_snow: np.ndarray
    tall_net_input: np.ndarray
    tall_evaporation: np.ndarray
    tall_drainage: np.ndarray
    tall_potential_evaporation: np.ndarray
    tall_stress: np.ndarray
    short_net_input: np.ndarray
    short_evaporation: np.ndarray
    short_drainage: np.ndarray
    short_potential_evaporation: np.ndarray
    short_stress: np.ndarray
    bare_net_input: np.ndarray
    bare_evaporation: np.ndarray
    bare_drainage: np.ndarray
    bare_potential_evaporation: np.ndarray
    bare_stress: np.ndarray


FLUX_NAMES = DayFluxes._fields
BUDGET_FLUXES = FLUX_NAMES[:6]  # what outputs="budget" keeps
N_BUDGET = len(BUDGET_FLUXES)


class SiteRecord(NamedTuple):
    """Per-site constants of the step (arrays (site,) in numpy, floats in the compiled loop).

    The ``inverse_*`` are reciprocals of per-site constants, computed once (:func:`site_record`)
    so that the daily step multiplies instead of dividing."""

    fraction_tall: np.ndarray
    fraction_short: np.ndarray
    fraction_bare: np.ndarray
    fraction_water: np.ndarray
    critical: np.ndarray
    wilting_point: np.ndarray
    residual: np.ndarray
    field_capacity: np.ndarray
    saturation: np.ndarray
    pore_size_index: np.ndarray
    saturated_conductivity: np.ndarray
    permanent_ice: np.ndarray  # bool
    vegetation_p01: np.ndarray  # of VOD, or of LAI for the DD-1 fallback
    inverse_vegetation_range: np.ndarray  # 1 / (p99 - p01)
    inverse_vegetation_stress_range: np.ndarray  # 1 / (w_c - w_wp)
    inverse_bare_stress_range: np.ndarray  # 1 / (w_c - w_r)
    inverse_fraction_tall: np.ndarray  # 1 / f_T, 0 where f_T = 0 (I/c = 0 without cover)
    inverse_land_fraction: np.ndarray  # 1 / (f_T + f_H + f_B)
    inverse_root_zone_depth: np.ndarray  # 1 / sum_k f_k sum_l dz_l


class DayForcing(NamedTuple):
    """One day's forcing of a point: mm d-1, degC, W m-2, vegetation index, mm, fraction."""

    precipitation: np.ndarray
    air_temperature: np.ndarray
    net_radiation: np.ndarray
    vegetation: np.ndarray
    swe: np.ndarray  # unused without SWE
    convective_fraction: np.ndarray


class DayOptions(NamedTuple):
    """How a day runs: SWE-forced snow, per-point rain rates, all fluxes; the Gash thresholds
    (x, P'_G, P''_G) of the synoptic rain rate, used where ``per_point_rain_rate`` is False."""

    swe_forced: bool
    per_point_rain_rate: bool
    all_fluxes: bool
    synoptic_x: float
    synoptic_canopy_threshold: float
    synoptic_trunk_threshold: float


def site_record(statics, vegetation_p01, vegetation_p99, soil=None) -> SiteRecord:
    """The :class:`SiteRecord` of a :class:`~s1da.components.gleam.statics.SiteStatics` with the
    vegetation index percentiles ``vegetation_p01``/``p99`` (broadcasting to (site,)).

    ``soil``: the soil parameters (:data:`~s1da.components.gleam.statics.SOIL_FIELDS`) if not the
    statics' own, e.g. a :class:`~s1da.components.gleam.statics.MemberSoil` of (member, site)
    arrays, which broadcast against the (member, site) state like the forcing."""
    s = statics
    w = statics if soil is None else soil
    tall = s.fraction_tall
    depth = (tall * LAYER_THICKNESS[0:3].sum() + s.fraction_short * LAYER_THICKNESS[3:5].sum()
             + s.fraction_bare * LAYER_THICKNESS[5])  # fmt: skip
    return SiteRecord(
        tall, s.fraction_short, s.fraction_bare, s.fraction_water, w.critical, w.wilting_point, w.residual,
        w.field_capacity, w.saturation, w.pore_size_index, w.saturated_conductivity, s.permanent_ice,
        np.broadcast_to(vegetation_p01, tall.shape), 1.0 / (np.broadcast_to(vegetation_p99, tall.shape) - vegetation_p01),
        1.0 / (w.critical - w.wilting_point), 1.0 / (w.critical - w.residual),
        np.divide(1.0, tall, out=np.zeros_like(tall), where=tall > 0.0),
        1.0 / (tall + s.fraction_short + s.fraction_bare), 1.0 / depth,
    )  # fmt: skip


def day_options(parameters_record, swe_forced, per_point_rain_rate, all_fluxes) -> DayOptions:
    synoptic = saturation_thresholds(parameters_record.interception.synoptic_rain_rate, parameters_record.interception)
    return DayOptions(bool(swe_forced), bool(per_point_rain_rate), bool(all_fluxes), *(float(x) for x in synoptic))


# ---------------------------------------------------------------- aggregates (a.10, a.13)
@jitable
def surface_moisture(moisture, site):
    """w1 = sum_k f_k w_k1 / sum_k f_k (docs/model/gleam.md a.10); ``moisture`` layer first (6, ...)."""
    numerator = moisture[0] * site.fraction_tall + moisture[3] * site.fraction_short + moisture[5] * site.fraction_bare
    return numerator * site.inverse_land_fraction


@jitable
def root_zone_moisture(moisture, site):
    """w_rz = sum_k f_k sum_l w dz / sum_k f_k sum_l dz (docs/model/gleam.md a.10); layer first (6, ...)."""
    return soil_water_storage(moisture, site) * site.inverse_root_zone_depth


@jitable
def soil_water_storage(moisture, site):
    """sum_k f_k sum_l w_{k,l} dz_l, mm per pixel; ``moisture`` layer first (6, ...)."""
    dz, tall, short = LAYER_THICKNESS_TUPLE, site.fraction_tall, site.fraction_short
    total = moisture[0] * dz[0] * tall + moisture[1] * dz[1] * tall + moisture[2] * dz[2] * tall
    return total + moisture[3] * dz[3] * short + moisture[4] * dz[4] * short + moisture[5] * dz[5] * site.fraction_bare


@jitable
def total_water_storage_of(moisture, snowpack, open_water_storage, site):
    """TWS (mm per pixel): soil + snow + open-water balance (module docstring)."""
    return soil_water_storage(moisture, site) + (1.0 - site.fraction_water) * snowpack + open_water_storage


# ---------------------------------------------------------------- the day, once
@jitable
def snow_day(forcing, snowpack, previous_swe, air_kelvin, site, parameters, options):
    """a.3-a.5: (SnowResult, Ep_S, new previous SWE); Ep_S only where it is used."""
    p = parameters
    if options.swe_forced:
        apparent = maximum(forcing.swe, previous_swe)
        needs_sublimation = (apparent >= p.snow.mask_threshold) | site.permanent_ice
    else:
        snowfall = where(forcing.air_temperature <= p.snow.rain_snow_threshold, forcing.precipitation, 0.0)
        needs_sublimation = (snowpack + snowfall >= p.snow.mask_threshold) | site.permanent_ice
    potential_snow = 0.0 * air_kelvin
    if options.all_fluxes or anywhere(needs_sublimation):  # two exp and a log: skipped where unused
        latent_ice = latent_heat_of_sublimation(air_kelvin)
        slope_ice = ice_saturation_vapour_pressure_slope(air_kelvin)
        equilibrium_ice = equilibrium_evaporation(forcing.net_radiation, slope_ice, latent_ice, p.thermodynamics, 1.0)
        potential_snow = priestley_taylor(p.priestley_taylor.alpha_snow, p.priestley_taylor.phi_snow, equilibrium_ice)
    ice = site.permanent_ice
    if options.swe_forced:
        snow = snow_swe_forced(
            forcing.precipitation, forcing.swe, previous_swe, snowpack, potential_snow, forcing.air_temperature, ice, p.snow
        )
        return snow, potential_snow, forcing.swe + 0.0 * previous_swe
    snow = snow_temperature_index(forcing.precipitation, snowpack, potential_snow, forcing.air_temperature, ice, p.snow)
    return snow, potential_snow, previous_swe


@jitable
def canopy_interception(rainfall, mask, forcing, site, parameters, options):
    """a.6: (I per pixel, I/c); none under the snow mask; c = f_T."""
    p = parameters.interception
    if options.per_point_rain_rate:
        x, canopy_threshold, trunk_threshold = saturation_thresholds(mean_rain_rate(forcing.convective_fraction, p), p)
    else:  # synoptic rate everywhere: the thresholds are constants (DD-6 default)
        x, canopy_threshold, trunk_threshold = (
            options.synoptic_x, options.synoptic_canopy_threshold, options.synoptic_trunk_threshold
        )
    loss = where(mask, 0.0, gash_interception(rainfall, site.fraction_tall, x, canopy_threshold, trunk_threshold, p))
    return loss, loss * site.inverse_fraction_tall


@jitable(inline=True)
def gleam_day(moisture, snowpack, previous_swe, open_water_storage, forcing, site, parameters, options):
    """One day of GLEAM v3 at a point (docs/model/gleam.md a.2 order).

    ``moisture`` is the start-of-day w, layer first (6 layers: :data:`LAYER_NAMES`; a tuple of
    floats in the compiled loop).  Returns (new w as a 6-tuple, snowpack, previous SWE,
    open-water storage, :class:`DayFluxes`).
    """
    p, pt = parameters, parameters.priestley_taylor
    air_kelvin = forcing.air_temperature + KELVIN
    slope = saturation_vapour_pressure_slope(forcing.air_temperature)
    latent_numerator, latent_denominator = latent_heat_of_vaporisation_ratio(air_kelvin)
    equilibrium = equilibrium_evaporation(
        forcing.net_radiation, slope, latent_numerator, p.thermodynamics, latent_denominator
    )
    ep_tall = priestley_taylor(pt.alpha_tall, pt.phi_tall, equilibrium)
    ep_short = priestley_taylor(pt.alpha_short, pt.phi_short, equilibrium)
    ep_bare = priestley_taylor(pt.alpha_bare, pt.phi_bare, equilibrium)
    ep_water = priestley_taylor(pt.alpha_water, pt.phi_water, equilibrium)
    snow, ep_snow, new_previous_swe = snow_day(forcing, snowpack, previous_swe, air_kelvin, site, p, options)
    interception, per_cover = canopy_interception(snow.rainfall, snow.mask, forcing, site, p, options)
    # a.7 stress from the start-of-day state (DD-2), a.8 demands
    vegetation = normalised_vegetation_index(forcing.vegetation, site.vegetation_p01, site.inverse_vegetation_range)
    stress_range = site.inverse_vegetation_stress_range
    stress_tall = vegetation_stress(moisture, 0, 3, vegetation, site.critical, stress_range)
    stress_short = vegetation_stress(moisture, 3, 2, vegetation, site.critical, stress_range)
    stress_bare = bare_soil_stress(moisture[5], site.residual, site.inverse_bare_stress_range)
    demand_tall = transpiration_tall(ep_tall, stress_tall, per_cover, snow.mask, p.evaporation)
    demand_short = stressed_evaporation(ep_short, stress_short, snow.mask)
    demand_bare = stressed_evaporation(ep_bare, stress_bare, snow.mask)
    e_water = open_water_evaporation(ep_water)
    # a.9 per fraction (placeholders beyond a fraction's layers: 0 mm, never used)
    soil_input = snow.rainfall + snow.melt
    tall_input = soil_input - per_cover
    (s0, s1, s2), e_tall, d_tall = fraction_water_balance(
        (moisture[0], moisture[1], moisture[2]), 3, demand_tall, tall_input, TALL_DZ, site.wilting_point, site, p.soil
    )
    (s3, s4, _), e_short, d_short = fraction_water_balance(
        (moisture[3], moisture[4], 0.0), 2, demand_short, soil_input, SHORT_DZ, site.wilting_point, site, p.soil
    )
    (s5, _, _), e_bare, d_bare = fraction_water_balance(
        (moisture[5], 0.0, 0.0), 1, demand_bare, soil_input, BARE_DZ, site.residual, site, p.soil
    )
    inverse = INVERSE_LAYER_THICKNESS
    storage = (s0 * inverse[0], s1 * inverse[1], s2 * inverse[2], s3 * inverse[3], s4 * inverse[4], s5 * inverse[5])
    # a.10 aggregates and the pixel budget (module docstring)
    land = 1.0 - site.fraction_water
    new_open_water = open_water_storage + site.fraction_water * (forcing.precipitation - e_water)
    transpiration = site.fraction_tall * e_tall + site.fraction_short * e_short
    soil_evaporation = site.fraction_bare * e_bare
    sublimation = land * snow.sublimation
    total_evaporation = interception + transpiration + soil_evaporation + site.fraction_water * e_water + sublimation
    deep = site.fraction_tall * d_tall + site.fraction_short * d_short + site.fraction_bare * d_bare
    fluxes = DayFluxes(
        forcing.precipitation, total_evaporation, deep, 0.0 * deep,
        total_water_storage_of(storage, snow.snowpack, new_open_water, site), surface_moisture(storage, site),
        root_zone_moisture(storage, site), interception, transpiration, soil_evaporation,
        site.fraction_water * e_water, sublimation, snow.snowpack, snow.snowfall, snow.sublimation, snow.melt,
        where(snow.mask, 1.0, 0.0), new_open_water, ep_water, ep_snow,
        tall_input, e_tall, d_tall, ep_tall, stress_tall,
        soil_input, e_short, d_short, ep_short, stress_short,
        soil_input, e_bare, d_bare, ep_bare, stress_bare,
    )  # fmt: skip
    return storage, snow.snowpack, new_previous_swe, new_open_water, fluxes


# ---------------------------------------------------------------- the numpy kernel
def fraction_weights(statics) -> np.ndarray:
    """(site, 3) fractions f_T, f_H, f_B."""
    return np.stack([statics.fraction_tall, statics.fraction_short, statics.fraction_bare], axis=-1)


def lower_bounds(statics) -> np.ndarray:
    """(site, 6) lowest moisture per layer: w_wp for T and H, w_r for B (docs/model/gleam.md a.1, a.9)."""
    wp, wr = statics.wilting_point, statics.residual
    return np.stack([wp, wp, wp, wp, wp, wr], axis=-1)


def layers_first(soil_moisture):
    """A (6, ...) view of a (..., 6) soil-moisture array."""
    return np.moveaxis(soil_moisture, -1, 0)


def total_water_storage(soil_moisture, snowpack, open_water_storage, statics):
    """TWS (mm per pixel) of a state with ``soil_moisture`` (..., 6)."""
    return total_water_storage_of(layers_first(soil_moisture), snowpack, open_water_storage, site_record(statics, 0.0, 1.0))


def surface_soil_moisture(soil_moisture, statics):
    """w1 (docs/model/gleam.md a.10) of ``soil_moisture`` (..., 6)."""
    return surface_moisture(layers_first(soil_moisture), site_record(statics, 0.0, 1.0))


def root_zone_soil_moisture(soil_moisture, statics):
    """w_rz (docs/model/gleam.md a.10) of ``soil_moisture`` (..., 6)."""
    return root_zone_moisture(layers_first(soil_moisture), site_record(statics, 0.0, 1.0))


def daily_step(soil_moisture, snowpack, previous_swe, open_water_storage, forcing, statics, parameters, options):
    """One day for all members and sites with numpy: :func:`gleam_day` on ``(member, site)`` arrays.

    ``soil_moisture`` (member, site, 6); ``forcing`` a :class:`DayForcing` of (member, site)
    arrays (its p01/p99 chosen by the caller in ``statics``' place, see :func:`site_record`);
    ``statics`` a :class:`SiteRecord`; ``parameters`` a ``GleamParameters.record()``.  Returns
    (state dict, flux dict), every flux (member, site).
    """
    new_moisture, snow, new_previous, new_open, fluxes = gleam_day(
        layers_first(soil_moisture), snowpack, previous_swe, open_water_storage, forcing, statics, parameters, options
    )
    new_soil = np.stack(np.broadcast_arrays(*new_moisture), axis=-1)
    shape = snowpack.shape
    state = {
        "soil_moisture": new_soil,
        "snowpack": snow,
        "previous_swe": new_previous if options.swe_forced else previous_swe,
        "open_water_storage": new_open,
    }
    names = FLUX_NAMES if options.all_fluxes else BUDGET_FLUXES
    out = {}
    for name in names:
        value = getattr(fluxes, name)
        # a copy where the value is an input (precipitation) or does not have the full shape
        out[name] = np.array(np.broadcast_to(value, shape), dtype=float) if value is forcing.precipitation or np.shape(value) != shape else value
    return state, out
