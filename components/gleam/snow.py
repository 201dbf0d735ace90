"""Snowpack: partition of precipitation, sublimation and melt (docs/model/gleam.md a.5).

Two modes share one balance, ``D_m,t = D_m,t-1 + P_s - E_s - F_sn`` (exact by construction):

* GLEAM mode (:func:`snow_swe_forced`), when a SWE product forces the snow mask and melt [src: G1];
* temperature-index fallback (:func:`snow_temperature_index`, DD-5) when no SWE is available.

All arguments are arrays of any common shape (typically ``(member, site)``); water in mm or
mm d-1 per unit *land* area (the open-water fraction carries no snowpack, see ``model.py``).
"""

from __future__ import annotations

from typing import NamedTuple

import attrs
import numpy as np
from attrs import validators as v

from .pointwise import jitable, maximum, minimum, where


@attrs.frozen
class SnowParameters:
    """Snow thresholds and the degree-day melt of the fallback mode (docs/model/gleam.md a.5)."""

    mask_threshold: float = attrs.field(default=10.0, validator=v.and_(v.ge(0.0), v.le(1000.0)), metadata={"units": "mm"})
    sublimation_cap: float = attrs.field(
        default=4.0, validator=v.and_(v.ge(0.0), v.le(50.0)), metadata={"units": "mm d-1"}
    )
    no_melt_below: float = attrs.field(
        default=-10.0, validator=v.and_(v.ge(-60.0), v.le(0.0)), metadata={"units": "degC"}
    )
    rain_snow_threshold: float = attrs.field(
        default=0.0, validator=v.and_(v.ge(-10.0), v.le(10.0)), metadata={"units": "degC"}
    )
    degree_day_factor: float = attrs.field(
        default=1.5, validator=v.and_(v.ge(0.0), v.le(20.0)), metadata={"units": "mm d-1 K-1"}
    )
    rain_melt_factor: float = attrs.field(
        default=0.007, validator=v.and_(v.ge(0.0), v.le(1.0)), metadata={"units": "K-1"}
    )


class SnowResult(NamedTuple):
    """One day of the snowpack, mm d-1 (mm for ``snowpack``) per unit land area."""

    snowfall: np.ndarray
    rainfall: np.ndarray
    sublimation: np.ndarray
    melt: np.ndarray
    snowpack: np.ndarray
    mask: np.ndarray


@jitable
def snow_sublimation(mask, potential_sublimation, cap, available):
    """E_s = M max(0, min(Ep_S, cap, available)) (docs/model/gleam.md a.5)."""
    return where(mask, maximum(0.0, minimum(minimum(potential_sublimation, cap), available)), 0.0)


@jitable
def snow_swe_forced(
    precipitation, swe, previous_swe, snowpack, potential_sublimation, air_temperature, ice, parameters
):
    """GLEAM mode, forced by observed SWE (docs/model/gleam.md a.5, src G1; DD-4 uses today's E_s).

    ``ice`` is the static permanent-ice mask (broadcasts).  ``previous_swe`` is yesterday's
    SWE (zero before the first day, which makes D_a = SWE_t on day one).
    """
    p = parameters
    apparent = maximum(swe, previous_swe)  # D_a,t
    mask = (apparent >= p.mask_threshold) | ice
    snowfall = where(mask, precipitation, 0.0)
    rainfall = precipitation - snowfall
    sublimation = snow_sublimation(mask, potential_sublimation, p.sublimation_cap, snowpack + snowfall)
    pack = snowpack + snowfall - sublimation  # D'
    melt = maximum(0.0, pack - apparent)
    melt = where((air_temperature < p.no_melt_below) | ice, 0.0, melt)
    return SnowResult(snowfall, rainfall, sublimation, melt, pack - melt, mask)


@jitable
def snow_temperature_index(
    precipitation, snowpack, potential_sublimation, air_temperature, ice, parameters
):
    """Fallback without SWE (docs/model/gleam.md a.5, DD-5; melt after S4 ``snp_balance.m``).

    Snowfall when T_a <= threshold; the mask is ``D_m,t-1 + P_s >= 10 mm`` (the snow available
    today, the analogue of D_a including today's snowfall), or permanent ice; melt
    ``min(D', (1.5 + 0.007 P) max(T_a, 0))``, none on permanent ice.
    """
    p = parameters
    snowfall = where(air_temperature <= p.rain_snow_threshold, precipitation, 0.0)
    rainfall = precipitation - snowfall
    mask = (snowpack + snowfall >= p.mask_threshold) | ice
    sublimation = snow_sublimation(mask, potential_sublimation, p.sublimation_cap, snowpack + snowfall)
    pack = snowpack + snowfall - sublimation
    capacity = (p.degree_day_factor + p.rain_melt_factor * precipitation) * maximum(air_temperature, 0.0)
    melt = where(ice, 0.0, minimum(pack, capacity))
    return SnowResult(snowfall, rainfall, sublimation, melt, pack - melt, mask)
