"""Additive model-state perturbations, as the LIS and SMAP Level-4 ensembles use.

Forcing perturbations alone leave an ensemble under-dispersive where the model forgets its
forcing quickly (soil at field capacity after drainage).  The SMAP Level-4 soil moisture system
therefore also perturbs the soil-moisture prognostic states additively each time step, with
AR(1) noise centred over the ensemble (Reichle et al. 2008, Adv. Water Resour. 31; Reichle et
al. 2017, J. Hydrometeor. 18), and LIS offers the same (Kumar et al. 2008, Adv. Water Resour. 31).

:class:`StatePerturbedModel` wraps any :class:`~s1da.framework.interfaces.LandModel` and after
each day adds to the filter's state vector (``analysis_variables``, m3 m-3; for GLEAM the top
layer of each fraction) ``e_t = c e_{t-1} + sqrt(1 - c^2) sd xi_t``, ``c = exp(-1 / tau)``,
centred over the members, then puts it back through ``set_analysis_variables`` (so each layer's
bounds hold).  The water added or removed (mm) enters ``total_water_storage``, like an analysis
increment, and is reported as the flux ``state_perturbation``.

Randomness: ``xi`` for a site comes from ``stream(entropy, site_id, Purpose.STATE_PERTURBATION,
block)``, one draw ``(block_days, member, n_state)`` per site and block of days; the day is the
number of steps since :meth:`initial_state`, kept in the state (``state_perturbation_day``), so
numbers do not depend on which sites run together and a run restarted from a checkpoint
continues the same sequence.
"""

from __future__ import annotations

import attrs
import numpy as np

from s1da.components.perturbers.wrapped import PerturbedModel
from s1da.framework.interfaces import LandModel
from s1da.framework.randomness import Purpose, stream
from s1da.framework.validators import finite_non_negative, finite_positive

MEMORY = "state_perturbation_memory"
DAY = "state_perturbation_day"


@attrs.frozen
class StatePerturbation:
    """Settings of the additive state perturbation (module docstring)."""

    sd: float = attrs.field(default=0.005, validator=finite_non_negative, metadata={"units": "m3 m-3"})
    correlation_time: float = attrs.field(default=3.0, validator=finite_positive, metadata={"units": "d"})
    block_days: int = attrs.field(default=64, validator=attrs.validators.ge(1), metadata={"units": "d"})


class StatePerturbedModel(PerturbedModel):
    """A land model whose filter state gets additive AR(1) perturbations after each day."""

    def __init__(self, model: LandModel, perturbation: StatePerturbation, site_ids, entropy: int):
        if not isinstance(model, LandModel):
            raise TypeError(f"model must be a LandModel, got {type(model).__name__}")
        super().__init__(model, perturbation, site_ids, entropy)
        self._block: tuple[int, np.ndarray] | None = None

    def initial_state(self, n_members: int):
        state = dict(self.model.initial_state(n_members))
        n_state = self.model.analysis_variables(state).shape[-1]
        state[MEMORY] = np.zeros((n_members, len(self.site_ids), n_state))
        state[DAY] = np.zeros((n_members, len(self.site_ids)), dtype=np.int64)
        return state

    def _innovations(self, day: int, n_members: int, n_state: int) -> np.ndarray:
        """Standard normals ``(member, site, n_state)`` for one day."""
        block, offset = divmod(day, self.perturbation.block_days)
        if self._block is None or self._block[0] != block or self._block[1].shape[2:] != (n_members, n_state):
            draws = np.stack(
                [
                    stream(self.entropy, int(site), Purpose.STATE_PERTURBATION, block).standard_normal(
                        (self.perturbation.block_days, n_members, n_state)
                    )
                    for site in self.site_ids
                ],
                axis=1,
            )  # (day, site, member, n_state)
            self._block = (block, draws)
        return np.moveaxis(self._block[1][offset], 0, 1)

    def _split(self, state):
        inner = {key: value for key, value in state.items() if key not in (MEMORY, DAY)}
        return inner, state[MEMORY], state[DAY]

    def step(self, state, forcing):
        inner, memory, day = self._split(state)
        inner, fluxes = self.model.step(inner, forcing)
        n_members = memory.shape[0]
        xi = self._innovations(int(day.flat[0]), n_members, memory.shape[-1])
        if n_members > 2:
            xi = xi - xi.mean(axis=0, keepdims=True)
        c = np.exp(-1.0 / self.perturbation.correlation_time)
        memory = c * memory + np.sqrt(1.0 - c**2) * self.perturbation.sd * xi
        values = self.model.analysis_variables(inner) + np.moveaxis(memory, 0, 1)
        inner, changes = self.model.set_analysis_variables(inner, values)
        fluxes = dict(fluxes)
        fluxes["total_water_storage"] = fluxes["total_water_storage"] + changes["analysis_increment"]
        fluxes["state_perturbation"] = changes["analysis_increment"]
        return {**inner, MEMORY: memory, DAY: day + 1}, fluxes

    def surface_soil_moisture(self, state):
        return self.model.surface_soil_moisture(self._split(state)[0])

    def layer_soil_moisture(self, state):
        return self.model.layer_soil_moisture(self._split(state)[0])

    def analysis_variables(self, state):
        return self.model.analysis_variables(self._split(state)[0])

    def set_analysis_variables(self, state, values):
        inner, memory, day = self._split(state)
        inner, changes = self.model.set_analysis_variables(inner, values)
        return {**inner, MEMORY: memory, DAY: day}, changes
