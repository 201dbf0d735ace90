"""Forcing perturbers (docs/model/perturbations.md d): member forcing from site forcing."""

from s1da.components.perturbers.forcing import (
    LDAS_CORRELATION,
    PERTURBABLE_VARIABLES,
    ForcingPerturbationParameters,
    ForcingPerturber,
)

__all__ = ["LDAS_CORRELATION", "PERTURBABLE_VARIABLES", "ForcingPerturbationParameters", "ForcingPerturber"]
