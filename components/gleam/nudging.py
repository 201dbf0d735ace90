"""GLEAM-native Newtonian nudging of layer 1 (docs/model/gleam.md a.12, DD-12).

Reference only: disabled in the open-loop and DEnKF runs (Rains et al. replace it by the DEnKF
on backscatter).  ``w1+ = w1- + K (theta* - w1-)``, ``K = sigma_m^2 / (sigma_m^2 + sigma_o^2)``,
theta* = the observation rescaled to the model climatology (done by the caller).
"""

from __future__ import annotations

import attrs
import numpy as np
from attrs import validators as v


@attrs.frozen
class NudgingParameters:
    model_error_variance: float = attrs.field(default=0.0016, validator=v.gt(0.0), metadata={"units": "m6 m-6"})
    observation_error_variance: float = attrs.field(default=0.0016, validator=v.gt(0.0), metadata={"units": "m6 m-6"})

    @property
    def gain(self) -> float:
        return self.model_error_variance / (self.model_error_variance + self.observation_error_variance)


def nudge(first_layer, rescaled_observation, gain):
    """Nudged layer-1 moisture; a NaN observation leaves the value unchanged."""
    updated = first_layer + gain * (rescaled_observation - first_layer)
    return np.where(np.isfinite(rescaled_observation), updated, first_layer)
