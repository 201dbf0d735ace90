"""Rainfall interception by tall vegetation: revised (sparse) Gash model (docs/model/gleam.md a.6).

Each rain day is one storm (Miralles et al. 2010).  Canopy cover c = f_T.  With
x = (1 - eps) E_c / R:

* P'_G  = -(R S_c / ((1 - eps) E_c)) ln(1 - x)                  rain that saturates the canopy
* P''_G = P'_G + R S_t / (p_t (R - (1 - eps) E_c))              rain that saturates the trunks
* I_c = c P_r (P_r < P'_G), else c [P'_G + x (P_r - P'_G)]
* I_t = 0 (P_r < P'_G); c p_t (1 - x)(P_r - P'_G) (P'_G <= P_r < P''_G); c S_t otherwise
* I = min(I_c + I_t, c P_r)

The trunk branches follow Valente et al. (1997) (one public implementation has the two
branches swapped; see docs/model/gleam.md a.6).  With these definitions I_t is continuous at P''_G:
c p_t (1 - x)(P''_G - P'_G) = c p_t (1 - x) R S_t / (p_t R (1 - x)) = c S_t.
"""

from __future__ import annotations

import attrs
import numpy as np
from attrs import validators as v

from .pointwise import jitable, minimum, where


@attrs.frozen
class InterceptionParameters:
    """Sparse Gash parameters (docs/model/gleam.md a.6 table; DD-6 for the convective share)."""

    canopy_storage: float = attrs.field(default=1.2, validator=v.and_(v.gt(0.0), v.le(10.0)), metadata={"units": "mm"})
    wet_canopy_evaporation: float = attrs.field(
        default=0.3, validator=v.and_(v.gt(0.0), v.le(5.0)), metadata={"units": "mm h-1"}
    )
    trunk_storage: float = attrs.field(default=0.02, validator=v.and_(v.ge(0.0), v.le(5.0)), metadata={"units": "mm"})
    trunk_drainage_fraction: float = attrs.field(
        default=0.02, validator=v.and_(v.gt(0.0), v.lt(1.0)), metadata={"units": "1"}
    )
    trunk_evaporation_fraction: float = attrs.field(
        default=0.02, validator=v.and_(v.ge(0.0), v.lt(1.0)), metadata={"units": "1"}
    )
    convective_rain_rate: float = attrs.field(
        default=5.6, validator=v.and_(v.gt(0.0), v.le(100.0)), metadata={"units": "mm h-1"}
    )
    synoptic_rain_rate: float = attrs.field(
        default=1.5, validator=v.and_(v.gt(0.0), v.le(100.0)), metadata={"units": "mm h-1"}
    )

    def __attrs_post_init__(self):
        evap = (1.0 - self.trunk_evaporation_fraction) * self.wet_canopy_evaporation
        if min(self.convective_rain_rate, self.synoptic_rain_rate) <= evap:
            raise ValueError(
                "InterceptionParameters: rain rates must exceed (1 - eps) E_c "
                f"= {evap} mm h-1 (docs/model/gleam.md a.6, DD-6)"
            )


@jitable
def mean_rain_rate(convective_fraction, parameters):
    """R = f_conv R_conv + (1 - f_conv) R_syn, mm h-1 (docs/model/gleam.md a.6, DD-6)."""
    p = parameters
    return convective_fraction * p.convective_rain_rate + (1.0 - convective_fraction) * p.synoptic_rain_rate


@jitable
def saturation_thresholds(rain_rate, parameters):
    """(x, P'_G, P''_G): the evaporation-to-rain-rate ratio and the thresholds, mm (docs/model/gleam.md a.6)."""
    p = parameters
    evap = (1.0 - p.trunk_evaporation_fraction) * p.wet_canopy_evaporation
    x = evap / rain_rate
    canopy = -(rain_rate * p.canopy_storage / evap) * np.log1p(-x)
    trunks = canopy + rain_rate * p.trunk_storage / (p.trunk_drainage_fraction * (rain_rate - evap))
    return x, canopy, trunks


@jitable
def gash_interception(rainfall, cover, x, canopy_threshold, trunk_threshold, parameters):
    """Interception loss I, mm d-1 per unit pixel area, from :func:`saturation_thresholds` (a.6)."""
    p = parameters
    below = rainfall < canopy_threshold
    canopy = where(below, cover * rainfall, cover * (canopy_threshold + x * (rainfall - canopy_threshold)))
    trunk = where(
        below,
        0.0,
        where(
            rainfall < trunk_threshold,
            cover * p.trunk_drainage_fraction * (1.0 - x) * (rainfall - canopy_threshold),
            cover * p.trunk_storage,
        ),
    )
    return minimum(canopy + trunk, cover * rainfall)


def interception_loss(rainfall, cover, rain_rate, parameters: InterceptionParameters = InterceptionParameters()):
    """Interception loss I, mm d-1 per unit pixel area (docs/model/gleam.md a.6).

    ``rainfall`` P_r mm d-1, ``cover`` c = f_T, ``rain_rate`` R mm h-1; broadcasting arrays.
    Zero when c = 0 or P_r = 0 (the snow mask is applied by the caller).
    """
    x, canopy_threshold, trunk_threshold = saturation_thresholds(rain_rate, parameters)
    return gash_interception(rainfall, cover, x, canopy_threshold, trunk_threshold, parameters)
