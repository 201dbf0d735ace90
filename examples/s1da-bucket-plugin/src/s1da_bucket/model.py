"""A one-layer bucket land model (Manabe 1969) behind ``s1da.framework.interfaces.LandModel``.

One soil layer of ``depth`` mm holds ``w`` (m3 m-3) between the wilting point and saturation of
each site (the site table's ``w_wp``, ``w_fc``, ``w_sat``).  Each day, for every member and site:

* rain enters the bucket: ``S = w depth + P``;
* evaporation is the radiation-limited rate ``E_p = efficiency max(R_n, 0) / lambda`` reduced by
  the Manabe (1969) stress ``beta = min(1, (w - w_wp) / (0.75 (w_fc - w_wp)))``, and never takes
  the bucket below the wilting point;
* drainage ``D = k (S - w_fc depth)`` above field capacity;
* runoff ``Q`` is what exceeds saturation.

So ``S(t) - S(t-1) = P - E - D - Q`` exactly.  Written only against the interface: nothing
here is known to s1da beyond ``LandModel``.
"""

from __future__ import annotations

import attrs
import numpy as np

from s1da.framework.interfaces import LandModel

LATENT_HEAT = 2.45e6  # J kg-1 (lambda at about 20 degC)
SECONDS_PER_DAY = 86400.0


@attrs.frozen
class BucketParameters:
    """One-layer bucket land model (Manabe 1969): ``model: {kind: bucket, ...}``."""

    depth: float = attrs.field(default=100.0, validator=attrs.validators.gt(0.0), metadata={"units": "mm", "doc": "thickness of the bucket"})
    drainage_rate: float = attrs.field(default=0.2, validator=[attrs.validators.ge(0.0), attrs.validators.le(1.0)], metadata={"units": "d-1", "doc": "fraction of the water above field capacity drained per day"})
    evaporation_efficiency: float = attrs.field(default=0.8, validator=attrs.validators.gt(0.0), metadata={"units": "1", "doc": "potential evaporation as a fraction of net radiation"})
    stress_fraction: float = attrs.field(default=0.75, validator=[attrs.validators.gt(0.0), attrs.validators.le(1.0)], metadata={"units": "1", "doc": "beta = 1 above this fraction of available water (Manabe 1969)"})


class BucketModel(LandModel):
    """The bucket for the sites of a site table (``w_wp``, ``w_fc``, ``w_sat`` per site)."""

    def __init__(self, sites, parameters: BucketParameters = BucketParameters()):
        self.parameters = parameters
        self.wilting_point = np.asarray(sites["w_wp"].values, dtype="float64")
        self.field_capacity = np.asarray(sites["w_fc"].values, dtype="float64")
        self.saturation = np.asarray(sites["w_sat"].values, dtype="float64")

    def initial_state(self, n_members: int) -> dict[str, np.ndarray]:
        return {"soil_moisture": np.broadcast_to(self.field_capacity, (n_members, self.field_capacity.size)).copy()}

    def step(self, state, forcing):
        p = self.parameters
        storage = state["soil_moisture"] * p.depth + forcing["precipitation"]
        available = (state["soil_moisture"] - self.wilting_point) / (p.stress_fraction * (self.field_capacity - self.wilting_point))
        potential = p.evaporation_efficiency * np.maximum(forcing["net_radiation"], 0.0) * SECONDS_PER_DAY / LATENT_HEAT
        evaporation = np.minimum(np.clip(available, 0.0, 1.0) * potential, np.maximum(storage - self.wilting_point * p.depth, 0.0))
        storage = storage - evaporation
        drainage = p.drainage_rate * np.maximum(storage - self.field_capacity * p.depth, 0.0)
        storage = storage - drainage
        runoff = np.maximum(storage - self.saturation * p.depth, 0.0)
        storage = storage - runoff
        fluxes = {
            "total_water_storage": storage,
            "precipitation": np.broadcast_to(forcing["precipitation"], storage.shape),
            "total_evaporation": evaporation,
            "deep_drainage": drainage,
            "surface_runoff": runoff,
        }
        return {"soil_moisture": storage / p.depth}, fluxes

    def surface_soil_moisture(self, state) -> np.ndarray:
        return state["soil_moisture"]

    def analysis_variables(self, state) -> np.ndarray:
        return np.ascontiguousarray(np.swapaxes(state["soil_moisture"], 0, 1)[..., None])

    def set_analysis_variables(self, state, values):
        requested = np.swapaxes(values[..., 0], 0, 1)
        clipped = np.clip(requested, 0.5 * self.wilting_point, self.saturation)
        depth = self.parameters.depth
        changes = {
            "analysis_increment": (clipped - state["soil_moisture"]) * depth,
            "clipped_water": (requested - clipped) * depth,
        }
        return {"soil_moisture": clipped}, changes
