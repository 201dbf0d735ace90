"""s1da's own components, announced through the ``s1da.components`` entry point like any plugin.

``BUILTIN`` is the object of the entry point ``builtin`` in s1da's ``pyproject.toml``; adding
a built-in kind means adding a :class:`~s1da.containers.registry.Component` here.
"""

from __future__ import annotations

from typing import Any

import attrs

from s1da.components.filters import DEnKF, ETKF, StochasticEnKF
from s1da.components.filters.adaptive import AdaptiveFilter
from s1da.components.gleam import GleamModel
from s1da.components.gleam.sites import statics_from_sites
from s1da.components.operators import SupportVectorOperator, WaterCloudModel
from s1da.components.operators.cross_validated import CrossValidatedOperator
from s1da.components.operators.seasonal import SeasonalOperator
from s1da.components.perturbers import ForcingPerturbationParameters, ForcingPerturber
from s1da.components.perturbers.spatial import SpatialForcingPerturbationParameters, SpatialForcingPerturber
from s1da.components.perturbers.soil_parameters import SoilPerturbedModel
from s1da.components.perturbers.state import StatePerturbedModel
from s1da.components.sources.grid_files import GridFilesOptions, grid_files_data
from s1da.components.sources.site_files import SiteFilesOptions, site_files_data
from s1da.components.sources.spen_farm import SpenFarmSourceOptions, spen_farm_site_data
from s1da.components.sources.twin_experiment import twin_site_data
from s1da.components.sources.twin_grid import TwinGridOptions, twin_grid_cells
from s1da.containers.bmi_model import BmiModelOptions, bmi_model
from s1da.containers.options import ADAPTIVE_BASES, AdaptiveFilterOptions, CrossValidatedOptions, GleamOptions, SeasonalOptions, TwinSourceOptions
from s1da.containers.registry import BuildContext, Component


def fields_of(options: Any) -> dict[str, Any]:
    """The init fields of an attrs options object as keyword arguments."""
    return {(field.alias or field.name): getattr(options, field.name) for field in attrs.fields(type(options)) if field.init}


def copy_of(prototype: Any, context: BuildContext) -> Any:
    """Filters and operators are their own parameter objects: hand out fresh instances."""
    return attrs.evolve(prototype)


def _gleam(options: GleamOptions, context: BuildContext):
    arguments = fields_of(options)
    perturbation = arguments.pop("state_perturbation")
    soil_perturbation = arguments.pop("soil_perturbation")
    model = GleamModel(statics_from_sites(context.sites), **arguments)
    site_ids, seed = context.sites["site"].values, context.experiment["seed"]
    if soil_perturbation is not None:
        model = SoilPerturbedModel(model, soil_perturbation, site_ids, entropy=seed)
    if perturbation is None:
        return model
    return StatePerturbedModel(model, perturbation, site_ids, entropy=seed)


def _twin(options: TwinSourceOptions, context: BuildContext):
    experiment = context.experiment
    return twin_site_data(
        start=experiment["spinup_start"],
        end=experiment["end"],
        seed=experiment["seed"],
        model_factory=context.model_factory,
        **fields_of(options),
    )


def _spen_farm(options: SpenFarmSourceOptions, context: BuildContext):
    experiment = context.experiment
    return spen_farm_site_data(options, start=experiment["spinup_start"], end=experiment["end"], seed=experiment["seed"])


def _files(options: SiteFilesOptions, context: BuildContext):
    experiment = context.experiment
    return site_files_data(
        options, start=experiment["spinup_start"], end=experiment["end"], seed=experiment["seed"], run_start=experiment["start"]
    )


def _twin_grid(options: TwinGridOptions, context: BuildContext):
    """Deferred: each task of the engine builds its own cells (:mod:`s1da.framework.domain`)."""
    experiment = context.experiment
    return twin_grid_cells(
        options, start=experiment["spinup_start"], end=experiment["end"], seed=experiment["seed"], model_factory=context.model_factory
    )


def _grid_files(options: GridFilesOptions, context: BuildContext):
    return grid_files_data(options, start=context.experiment["spinup_start"], end=context.experiment["end"])


def _spatial_perturber(options: SpatialForcingPerturbationParameters, context: BuildContext) -> SpatialForcingPerturber:
    return SpatialForcingPerturber(options, entropy=context.experiment["seed"], positions=context.sites)


def _forcing_perturber(options: ForcingPerturbationParameters, context: BuildContext) -> ForcingPerturber:
    return ForcingPerturber(options, entropy=context.experiment["seed"])


def _adaptive(options: AdaptiveFilterOptions, context: BuildContext) -> AdaptiveFilter:
    """Fresh memory per build: the experiment restarts it for each DA run and checkpoints it."""
    return AdaptiveFilter(
        ADAPTIVE_BASES[options.base](),
        inflation=None if options.inflation is None else attrs.evolve(options.inflation),
        observation_error=None if options.observation_error is None else attrs.evolve(options.observation_error),
    )


def _cross_validated(options: CrossValidatedOptions, context: BuildContext) -> CrossValidatedOperator:
    return CrossValidatedOperator(options.wrapped(), n_folds=options.n_folds)


def _seasonal(options: SeasonalOptions, context: BuildContext):
    seasonal = SeasonalOperator(
        options.wrapped(), season_starts=options.season_starts,
        min_samples_per_season=options.min_samples_per_season, fallback=options.fallback,
    )
    return seasonal if options.error_variance == "in_sample" else CrossValidatedOperator(seasonal, n_folds=options.n_folds)


BUILTIN = [
    Component("source", "twin", TwinSourceOptions, _twin),
    Component("source", "spen_farm", SpenFarmSourceOptions, _spen_farm),
    Component("source", "files", SiteFilesOptions, _files),
    Component("source", "twin_grid", TwinGridOptions, _twin_grid),
    Component("source", "grid_files", GridFilesOptions, _grid_files),
    Component("model", "gleam", GleamOptions, _gleam),
    Component("model", "bmi", BmiModelOptions, bmi_model),
    Component("perturbation", "forcing", ForcingPerturbationParameters, _forcing_perturber),
    Component("perturbation", "spatial_forcing", SpatialForcingPerturbationParameters, _spatial_perturber),
    Component("filter", "denkf", DEnKF, copy_of),
    Component("filter", "enkf", StochasticEnKF, copy_of),
    Component("filter", "etkf", ETKF, copy_of),
    Component("filter", "adaptive", AdaptiveFilterOptions, _adaptive),
    Component("operator", "wcm", WaterCloudModel, copy_of),
    Component("operator", "svr", SupportVectorOperator, copy_of),
    Component("operator", "cross_validated", CrossValidatedOptions, _cross_validated),
    Component("operator", "seasonal", SeasonalOptions, _seasonal),
]
