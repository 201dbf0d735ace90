"""Configuration shapes of the kinds that are not a component's own parameter class.

Filters, operators and the forcing perturber are configured by their own attrs classes; the
GLEAM model needs its sites from the data source first, and the twin source needs the period
and seed of the experiment, so their YAML options are collected here.
"""

from __future__ import annotations

import attrs

from s1da.components.filters import DEnKF, ETKF, StochasticEnKF
from s1da.components.filters.adaptive import AdaptiveInflation, DesroziersR
from s1da.components.gleam import GleamParameters
from s1da.components.operators import SupportVectorOperator, WaterCloudModel
from s1da.components.operators.seasonal import FALLBACKS, METEOROLOGICAL_STARTS, check_season_starts
from s1da.components.perturbers.soil_parameters import SoilParameterPerturbation
from s1da.components.perturbers.state import StatePerturbation
from s1da.components.sources.twin import ForcingErrorParameters, InsituParameters, TruthBackscatterParameters, WeatherParameters


def _one_of(*allowed: str):
    return attrs.validators.in_(allowed)


@attrs.frozen
class GleamOptions:
    """GLEAM v3 land model (Miralles et al. 2011; Martens et al. 2017): ``model: {kind: gleam, ...}``."""

    state_vector: str = attrs.field(default="top", validator=_one_of("top", "top_aggregated", "augmented"))
    kernel: str = attrs.field(default="numpy", validator=_one_of("numpy", "numba"))
    outputs: str = attrs.field(
        default="budget",
        validator=_one_of("budget", "all"),
        metadata={"doc": "fluxes each step computes: the water-budget terms an experiment stores (budget), or also their "
                  "components and per-fraction terms (all; the model's BMI asks for these)"},
    )
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
    soil_perturbation: SoilParameterPerturbation | None = attrs.field(
        default=None, metadata={"doc": "soil hydraulic parameters per member, constant in time; none by default"}
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


def _one_base(instance, attribute, value):
    if instance.wcm is not None and instance.svr is not None:
        raise ValueError("give the options of one wrapped operator, wcm or svr, not both")


@attrs.frozen
class WrappedOperatorOptions:
    """The operator a wrapper kind wraps: ``wcm: {...}`` or ``svr: {...}`` (the options of that kind)."""

    wcm: WaterCloudModel | None = attrs.field(
        default=None, metadata={"doc": "wrap a Water Cloud Model with these options (the default when neither is given)"}
    )
    svr: SupportVectorOperator | None = attrs.field(
        default=None, validator=_one_base, metadata={"doc": "wrap a support-vector operator with these options"}
    )

    def wrapped(self):
        """A fresh instance of the wrapped operator."""
        return attrs.evolve(self.svr) if self.svr is not None else attrs.evolve(self.wcm or WaterCloudModel())


def _folds(instance, attribute, value):
    if value is not None and value < 2:
        raise ValueError(f"n_folds must be >= 2 (or absent for the operator's own), got {value}")


@attrs.frozen
class CrossValidatedOptions(WrappedOperatorOptions):
    """Operator with R from time-blocked cross-validation per site: ``{kind: cross_validated, svr: {...}}``."""

    n_folds: int | None = attrs.field(
        default=None, validator=_folds, metadata={"units": "1", "doc": "folds K (default: the SVR's n_folds, else 5)"}
    )


@attrs.frozen
class SeasonalOptions(WrappedOperatorOptions):
    """Operator calibrated per site and season (day of year): ``{kind: seasonal, wcm: {...}}``."""

    season_starts: tuple[int, ...] = attrs.field(
        default=METEOROLOGICAL_STARTS, converter=tuple, validator=check_season_starts, metadata={"units": "day of year", "doc": "first day of each season (non-leap year)"}
    )
    min_samples_per_season: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.ge(2)),
        metadata={"units": "1", "doc": "fewest samples a season needs (default: the operator's min_samples)"},
    )
    fallback: str = attrs.field(
        default="whole_period", validator=_one_of(*FALLBACKS), metadata={"doc": "a season with too few samples: whole-period fit, or error"}
    )
    error_variance: str = attrs.field(
        default="in_sample", validator=_one_of("in_sample", "cross_validated"), metadata={"doc": "R: in-sample residual, or time-blocked cross-validation"}
    )
    n_folds: int | None = attrs.field(
        default=None, validator=_folds, metadata={"units": "1", "doc": "folds K of the cross-validated R (default: the SVR's n_folds, else 5)"}
    )


def _something_adaptive(instance, attribute, value):
    if instance.inflation is None and value is None:
        raise ValueError("inflation and observation_error are both null: nothing is adaptive (use the base filter's own kind)")


ADAPTIVE_BASES = {"denkf": DEnKF, "enkf": StochasticEnKF, "etkf": ETKF}
"""The filters an ``adaptive`` filter may wrap, by the name its ``base`` option takes."""


@attrs.frozen
class AdaptiveFilterOptions:
    """A base filter with per-site adaptive inflation (Li, Kalnay & Miyoshi 2009) and/or the
    Desroziers et al. (2005) R, docs/model/filters.md: ``filter: {kind: adaptive, base: denkf,
    inflation: {}, observation_error: {}}`` (an empty mapping takes every default; by default
    only the R is adaptive)."""

    base: str = attrs.field(default="denkf", validator=_one_of(*ADAPTIVE_BASES), metadata={"doc": "the filter that analyses"})
    inflation: AdaptiveInflation | None = attrs.field(
        default=None, metadata={"doc": "per-site adaptive multiplicative inflation of the forecast anomalies"}
    )
    observation_error: DesroziersR | None = attrs.field(
        factory=DesroziersR, validator=_something_adaptive,
        metadata={"doc": "per-site R from the innovations (Desroziers et al. 2005) instead of the operator's (null: the operator's R)"},
    )
