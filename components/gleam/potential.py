"""Priestley-Taylor potential evaporation per land-cover fraction (MODEL_SPEC a.4).

``Ep_k = alpha_k * Delta/(Delta+gamma) * phi_k * R_n * 86400/lambda`` in mm d-1, with the ice
properties (Delta_i, gamma_i, L_s) for the snow/ice surface.  Negative R_n gives negative Ep
(condensation, handled by the soil module).
"""

from __future__ import annotations

import attrs
from attrs import validators as v

from .thermodynamics import SECONDS_PER_DAY

_ALPHA = v.and_(v.gt(0.0), v.le(2.0))
_PHI = v.and_(v.gt(0.0), v.le(1.0))


@attrs.frozen
class PriestleyTaylorParameters:
    """alpha and phi = 1 - G/R_n per surface (MODEL_SPEC a.4 table; DD-3 for the phi order)."""

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


def priestley_taylor(alpha, phi, net_radiation, slope, psychrometric, latent_heat):
    """Potential evaporation, mm d-1 (MODEL_SPEC a.4).

    ``net_radiation`` W m-2 (daily mean), ``slope`` and ``psychrometric`` in kPa K-1,
    ``latent_heat`` J kg-1.  1 kg m-2 = 1 mm.
    """
    return alpha * slope / (slope + psychrometric) * phi * net_radiation * SECONDS_PER_DAY / latent_heat
