"""Configuration shapes of the kinds that are not a component's own parameter class.

Filters, operators and the forcing perturber are configured by their own attrs classes; the
GLEAM model needs its sites from the data source first, and the twin source needs the period
and seed of the experiment, so their YAML options are collected here.
"""

from __future__ import annotations

import attrs

from s1da.components.gleam import GleamParameters
from s1da.components.perturbers.state import StatePerturbation
from s1da.components.sources.twin import ForcingErrorParameters, InsituParameters, TruthBackscatterParameters, WeatherParameters


def _one_of(*allowed: str):
    return attrs.validators.in_(allowed)


@attrs.frozen
class GleamOptions:
    """GLEAM v3 land model (Miralles et al. 2011; Martens et al. 2017): ``model: {kind: gleam, ...}``."""

    state_vector: str = attrs.field(default="top", validator=_one_of("top", "top_aggregated", "augmented"))
    kernel: str = attrs.field(default="numpy", validator=_one_of("numpy", "numba"))
    taper: tuple[float, float, float] = attrs.field(
        default=(1.0, 1.0, 1.0),
        converter=tuple,
        validator=attrs.validators.deep_iterable(attrs.validators.and_(attrs.validators.ge(0.0), attrs.validators.le(1.0))),
        metadata={"units": "1", "doc": "Schur taper (rho_1, rho_2, rho_3) by layer depth, augmented state only"},
    )
    parameters: GleamParameters = attrs.field(factory=GleamParameters)
    state_perturbation: StatePerturbation | None = attrs.field(
        default=None, metadata={"doc": "additive AR(1) perturbations of the filter state (SMAP L4 practice); none by default"}
    )


@attrs.frozen
class TwinSourceOptions:
    """Synthetic twin network, truth, S1 and in situ simulated: ``source: {kind: twin, ...}``."""

    n_sites: int = attrs.field(default=12, validator=[attrs.validators.instance_of(int), attrs.validators.gt(0)])
    site_ids: tuple | None = attrs.field(
        default=None, converter=attrs.converters.optional(tuple), metadata={"doc": "run only these sites (overrides n_sites)"}
    )
    truth_spinup_years: int = attrs.field(default=1, validator=attrs.validators.ge(0))
    weather: WeatherParameters = attrs.field(factory=WeatherParameters)
    forcing_error: ForcingErrorParameters = attrs.field(factory=ForcingErrorParameters)
    backscatter: TruthBackscatterParameters = attrs.field(factory=TruthBackscatterParameters)
    insitu: InsituParameters = attrs.field(factory=InsituParameters)
