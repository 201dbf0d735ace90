"""The truth's 0-5 cm soil moisture: a shallower, faster layer than the model's 0-10 cm.

Sentinel-1 C-band sees the top few centimetres, and in-situ probes often sit at 5 cm.  The
truth backscatter must therefore not be an exact function of the 10 cm layer that the model
and its operators use.  The proxy, per site and day:

``theta_5 = clip(w_r + (theta_10 - w_r)(1 - delta g_t) + F_t, w_r, w_sat)``

* ``g_t = 1 - exp(-days_since_rain / drying_time)``: the top 5 cm dry faster than the 10 cm
  mean after rain (``days_since_rain = 0`` on a day with P >= rain_threshold; a dry week
  brings the top ``delta`` of the way from the 10 cm value towards w_r);
* ``F_t = F_{t-1} exp(-1 / wet_memory) + wetting_efficiency min(P_t, rain_cap) / layer_depth``:
  a fast wet pulse from same-day and previous-day rain that drains within a couple of days.

``theta_10`` is the truth run's 0-10 cm soil moisture (docs/model/gleam.md a.10 w1), ``P`` the true
precipitation, w_r and w_sat the truth run's soil parameters.
"""

from __future__ import annotations

import attrs
import numpy as np
from s1da.framework.validators import finite_positive


def _unit(instance, attribute, value):
    if not 0 <= value <= 1:
        raise ValueError(f"{attribute.name} must be in [0, 1], got {value}")


@attrs.frozen
class SurfaceLayerParameters:
    """Parameters of the 0-5 cm proxy (see the module docstring)."""

    drying_depth: float = attrs.field(default=0.25, validator=_unit, metadata={"units": "1"})
    drying_time: float = attrs.field(default=3.0, validator=finite_positive, metadata={"units": "d"})
    wetting_efficiency: float = attrs.field(default=0.3, validator=_unit, metadata={"units": "1"})
    wet_memory: float = attrs.field(default=1.5, validator=finite_positive, metadata={"units": "d"})
    rain_threshold: float = attrs.field(default=1.0, validator=finite_positive, metadata={"units": "mm d-1"})
    rain_cap: float = attrs.field(default=20.0, validator=finite_positive, metadata={"units": "mm d-1"})
    layer_depth: float = attrs.field(default=50.0, validator=finite_positive, metadata={"units": "mm"})


def shallow_soil_moisture(
    soil_moisture_10cm: np.ndarray,
    precipitation: np.ndarray,
    residual: np.ndarray,
    saturation: np.ndarray,
    parameters: SurfaceLayerParameters = SurfaceLayerParameters(),
) -> np.ndarray:
    """0-5 cm soil moisture ``(time, site)``, m3 m-3, from the 0-10 cm truth and true rain."""
    n_time, n_site = soil_moisture_10cm.shape
    decay = np.exp(-1.0 / parameters.wet_memory)
    days_since_rain = np.zeros((n_time, n_site))
    pulse = np.zeros((n_time, n_site))
    since = np.full(n_site, 10.0 * parameters.drying_time)  # start as after a long dry spell
    current = np.zeros(n_site)
    for t in range(n_time):
        rained = precipitation[t] >= parameters.rain_threshold
        since = np.where(rained, 0.0, since + 1.0)
        current = decay * current + parameters.wetting_efficiency * np.minimum(
            precipitation[t], parameters.rain_cap
        ) / parameters.layer_depth
        days_since_rain[t] = since
        pulse[t] = current
    drying = 1.0 - np.exp(-days_since_rain / parameters.drying_time)
    residual = residual[None, :]
    shallow = residual + (soil_moisture_10cm - residual) * (1.0 - parameters.drying_depth * drying) + pulse
    return np.clip(shallow, residual, saturation[None, :])


def truth_shallow_soil_moisture(network, truth: np.ndarray, parameters: SurfaceLayerParameters) -> np.ndarray:
    """The 0-5 cm proxy of a twin network's truth run, with the truth's own soil parameters."""
    sites = network.sites
    return shallow_soil_moisture(
        truth,
        network.true_forcing["precipitation"].values,
        sites["truth_w_r"].values,
        sites["truth_w_sat"].values,
        parameters,
    )
