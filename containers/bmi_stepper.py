"""One DA run advanced one day at a time, with the day's forcing and observation given by the caller.

What :class:`~s1da.containers.bmi.AssimilationBmi` steps: the experiment's own perturber, land
model and analysis (``Experiment._analyse``), in the order of a stored DA run, so that a driver
feeding the source's forcing and observations reproduces the ``da_<label>`` group of
``s1da run`` bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from s1da.framework.experiment import FLUXES


class DayStepper:
    """The DA run of ``operator`` over ``days`` from ``checkpoint`` (the spun-up state)."""

    def __init__(self, experiment, days: np.ndarray, checkpoint: Mapping[str, np.ndarray], operator):
        self.experiment = experiment
        self.days = np.asarray(days, dtype="datetime64[D]")
        self.operator = operator
        self.days_done = 0
        self.state, self.perturber_state = experiment._restore(checkpoint)
        self._observed = experiment.data.observations_on(self.days)["backscatter"].transpose("time", "site").values

    @property
    def n_sites(self) -> int:
        return len(self.experiment.data.site_ids)

    def source_inputs(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The source's forcing ``(site,)`` and observed backscatter ``(site,)`` of the next day."""
        day = self.days[self.days_done]
        return self.experiment._forcing_day(day), self._observed[self.days_done].copy()

    def step_day(self, forcing: Mapping[str, np.ndarray], observed: np.ndarray) -> dict[str, np.ndarray]:
        """Perturb ``forcing``, step the model, analyse where ``observed`` is finite; the day's outputs."""
        experiment, day = self.experiment, self.days[self.days_done]
        day_index = experiment._day_index(day)
        forcing = {**experiment._forcing_day(day), **forcing}
        member_forcing, self.perturber_state = experiment.perturber.perturb(forcing, day_index, self.perturber_state)
        self.state, fluxes = experiment.model.step(self.state, member_forcing)
        outputs: dict[str, np.ndarray] = {}
        if np.isfinite(observed).any():
            day_inputs = experiment._operator_day_inputs(forcing, day)
            self.state, outputs = experiment._analyse(self.state, self.operator, observed, day_inputs, day_index)
            # the increment enters the storage at the end of the day, as in the stored run
            fluxes = dict(fluxes, total_water_storage=fluxes["total_water_storage"] + np.nan_to_num(outputs["analysis_increment"]))
        self.days_done += 1
        outputs.update({key: fluxes[key] for key in FLUXES})
        outputs["surface_soil_moisture"] = experiment.model.surface_soil_moisture(self.state)
        return outputs
