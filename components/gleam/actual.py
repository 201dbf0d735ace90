"""Actual evaporation per fraction (docs/model/gleam.md a.8).

E_T = max(0, S_T Ep_T - beta I/c); E_H = S_H Ep_H; E_B = S_B Ep_B when Ep_k >= 0.  When Ep_k < 0
(condensation) E_k = Ep_k without stress (docs/model/gleam.md a.4).  Under the snow mask E_T = E_H = E_B = 0
(src G1).  These are *demands*: the soil module may reduce them when the layers run dry
(docs/model/gleam.md a.9.1), and the reduced value is the one reported.
"""

from __future__ import annotations

import attrs
from attrs import validators as v

from .pointwise import jitable, maximum, where


@attrs.frozen
class ActualEvaporationParameters:
    """beta couples interception to tall-canopy transpiration (DD-8; 0 disables)."""

    interception_coupling: float = attrs.field(
        default=0.07, validator=v.and_(v.ge(0.0), v.le(1.0)), metadata={"units": "1"}
    )


@jitable
def transpiration_tall(potential, stress, interception_per_cover, snow_mask, parameters):
    """E_T (docs/model/gleam.md a.8); ``interception_per_cover`` is I/c (0 where c = 0)."""
    stressed = maximum(0.0, stress * potential - parameters.interception_coupling * interception_per_cover)
    return where(snow_mask, 0.0, where(potential < 0.0, potential, stressed))


@jitable
def stressed_evaporation(potential, stress, snow_mask):
    """E_H or E_B (docs/model/gleam.md a.8)."""
    return where(snow_mask, 0.0, where(potential < 0.0, potential, stress * potential))


@jitable
def open_water_evaporation(potential):
    """E_W = max(Ep_W, 0) (docs/model/gleam.md a.4, src G1): open water is never water-limited."""
    return maximum(potential, 0.0)
