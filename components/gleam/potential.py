"""Priestley-Taylor potential evaporation per land-cover fraction (docs/model/gleam.md a.4).

``Ep_k = alpha_k * Delta/(Delta+gamma) * phi_k * R_n * 86400/lambda`` in mm d-1 (Priestley &
Taylor 1972), with the ice
properties (Delta_i, gamma_i, L_s) for the snow/ice surface.  Negative R_n gives negative Ep
(condensation, handled by the soil module).
"""

from __future__ import annotations

import attrs
from attrs import validators as v

from .pointwise import jitable
from .thermodynamics import SECONDS_PER_DAY, psychrometric_numerator

_ALPHA = v.and_(v.gt(0.0), v.le(2.0))
_PHI = v.and_(v.gt(0.0), v.le(1.0))


@attrs.frozen
class PriestleyTaylorParameters:
    """alpha and phi = 1 - G/R_n per surface (docs/model/gleam.md a.4 table; DD-3 for the phi order)."""

    alpha_tall: float = attrs.field(default=0.97, validator=_ALPHA, metadata={"units": "1"})
    alpha_short: float = attrs.field(default=1.26, validator=_ALPHA, metadata={"units": "1"})
    alpha_bare: float = attrs.field(default=1.26, validator=_ALPHA, metadata={"units": "1"})
    alpha_water: float = attrs.field(default=1.10, validator=_ALPHA, metadata={"units": "1"})
    alpha_snow: float = attrs.field(default=1.26, validator=_ALPHA, metadata={"units": "1"})
    phi_tall: float = attrs.field(default=0.90, validator=_PHI, metadata={"units": "1"})
    phi_short: float = attrs.field(default=0.80, validator=_PHI, metadata={"units": "1"})
    phi_bare: float = attrs.field(default=0.65, validator=_PHI, metadata={"units": "1"})
    phi_water: float = attrs.field(default=0.70, validator=_PHI, metadata={"units": "1"})
    phi_snow: float = attrs.field(default=0.80, validator=_PHI, metadata={"units": "1"})


@jitable
def priestley_taylor(alpha, phi, equilibrium):
    """Ep_k = alpha_k phi_k Delta/(Delta + gamma) R_n 86400/lambda, mm d-1 (docs/model/gleam.md a.4).

    ``equilibrium`` is :func:`equilibrium_evaporation` (with the ice properties for snow)."""
    return alpha * phi * equilibrium


@jitable
def equilibrium_evaporation(net_radiation, slope, latent_heat, thermodynamics, latent_heat_divisor=1.0):
    """Delta / (Delta + gamma) R_n 86400 / lambda, mm d-1: Ep_k = alpha_k phi_k times this (a.4).

    The latent heat is lambda = ``latent_heat / latent_heat_divisor`` (the divisor lets the
    Henderson-Sellers ratio in without a division of its own).  Written with gamma lambda =
    c_p P_a / epsilon as Delta R_n 86400 d / (Delta lambda d + c_p P_a d / epsilon), d the
    divisor: one division for all surfaces that share the air's properties."""
    numerator = slope * net_radiation * SECONDS_PER_DAY * latent_heat_divisor
    return numerator / (slope * latent_heat + psychrometric_numerator(thermodynamics) * latent_heat_divisor)
