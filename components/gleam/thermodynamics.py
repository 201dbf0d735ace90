"""Thermodynamic properties of air, water and ice (docs/model/gleam.md a.3).

Pure functions of temperature, vectorised over any array shape and compiled by numba for the
fast kernel (:func:`~s1da.components.gleam.pointwise.jitable`).  Temperatures in kelvin unless
the argument name says ``_celsius``.  Every physical constant of the GLEAM step is defined here.
"""

from __future__ import annotations

import attrs
import numpy as np
from attrs import validators as v

from .pointwise import jitable

KELVIN = 273.15
"""0 degC in kelvin."""

SECONDS_PER_DAY = 86400.0


@attrs.frozen
class ThermodynamicParameters:
    """Constants of the psychrometric relation (docs/model/gleam.md a.3)."""

    specific_heat_air: float = attrs.field(
        default=1013.0, validator=v.and_(v.gt(900.0), v.lt(1100.0)), metadata={"units": "J kg-1 K-1"}
    )
    air_pressure: float = attrs.field(
        default=101.3, validator=v.and_(v.gt(30.0), v.lt(110.0)), metadata={"units": "kPa"}
    )
    vapour_to_dry_air_molar_mass_ratio: float = attrs.field(
        default=0.622, validator=v.and_(v.gt(0.6), v.lt(0.65)), metadata={"units": "1"}
    )


@jitable
def latent_heat_of_vaporisation_ratio(temperature_kelvin):
    """(numerator, denominator) of the Henderson-Sellers (1984) latent heat, J kg-1:
    lambda = 1.91846e6 (T / (T - 33.91))^2 = 1.91846e6 T^2 / (T - 33.91)^2 (docs/model/gleam.md a.3).

    As a ratio so that :func:`~s1da.components.gleam.potential.equilibrium_evaporation` needs no
    division of its own for it."""
    shifted = temperature_kelvin - 33.91
    return 1.91846e6 * temperature_kelvin * temperature_kelvin, shifted * shifted


@jitable
def latent_heat_of_vaporisation(temperature_kelvin):
    """Henderson-Sellers (1984) latent heat, J kg-1 (docs/model/gleam.md a.3, G1 ``lambdax``)."""
    numerator, denominator = latent_heat_of_vaporisation_ratio(temperature_kelvin)
    return numerator / denominator


@jitable
def saturation_vapour_pressure(temperature_celsius):
    """Saturation vapour pressure over water, kPa (Tetens form, docs/model/gleam.md a.3)."""
    return 0.6108 * np.exp(17.27 * temperature_celsius / (temperature_celsius + 237.3))


@jitable
def saturation_vapour_pressure_slope(temperature_celsius):
    """Slope Delta of the saturation vapour pressure curve over water, kPa K-1 (docs/model/gleam.md a.3).

    Delta = 4098 e_s / (T + 237.3)^2 with e_s in the Tetens form, sharing 1 / (T + 237.3)."""
    inverse = 1.0 / (temperature_celsius + 237.3)
    es = 0.6108 * np.exp(17.27 * temperature_celsius * inverse)
    return 4098.0 * es * inverse * inverse


@jitable
def psychrometric_numerator(parameters):
    """gamma lambda = c_p P_a / epsilon, kPa J kg-1 K-1 (docs/model/gleam.md a.3)."""
    p = parameters
    return p.specific_heat_air * p.air_pressure / p.vapour_to_dry_air_molar_mass_ratio


@jitable
def psychrometric_constant(latent_heat, parameters=ThermodynamicParameters()):
    """gamma = c_p P_a / (epsilon lambda), kPa K-1 (docs/model/gleam.md a.3); pass L_s for ice."""
    return psychrometric_numerator(parameters) / latent_heat


@jitable
def ice_saturation_vapour_pressure(temperature_kelvin):
    """Murphy & Koop (2005) saturation vapour pressure over ice, Pa (docs/model/gleam.md a.3)."""
    t = temperature_kelvin
    return np.exp(9.550426 - 5723.265 / t + 3.53068 * np.log(t) - 0.00728332 * t)


@jitable
def ice_saturation_vapour_pressure_slope(temperature_kelvin):
    """d e_si / dT over ice, kPa K-1 (docs/model/gleam.md a.3; analytic derivative of Murphy & Koop)."""
    t = temperature_kelvin
    return ice_saturation_vapour_pressure(t) * (5723.265 / (t * t) + 3.53068 / t - 0.00728332) / 1000.0


@jitable
def latent_heat_of_sublimation(temperature_kelvin):
    """Murphy & Koop (2005) latent heat of sublimation, J kg-1 (docs/model/gleam.md a.3)."""
    t = temperature_kelvin
    return (46782.5 + 35.8925 * t - 0.07414 * t * t + 541.5 * np.exp(-((t / 123.75) ** 2))) / 0.018015
