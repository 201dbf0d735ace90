"""Declarative containers, one per layer (DESIGN.md, "Containers and YAML").

Each layer chooses between alternatives with ``providers.Selector`` on its config's ``kind``;
the already-checked parameters (see :mod:`s1da.containers.schema`) arrive in ``parameters``.
``Dependency(instance_of=...)`` guards the seams between layers.  Library code never imports
this package; tests override providers on fresh containers.
"""

from __future__ import annotations

from typing import Any

import attrs
from dependency_injector import containers, providers

from s1da.components.gleam import GleamModel
from s1da.components.gleam.sites import statics_from_sites
from s1da.components.perturbers import ForcingPerturber
from s1da.components.perturbers.spatial import SpatialForcingPerturber
from s1da.components.sources.spen_farm import spen_farm_site_data
from s1da.components.sources.site_files import site_files_data
from s1da.components.sources.twin_experiment import twin_site_data
from s1da.components.sources.twin_grid import twin_grid_site_data
from s1da.components.sources.grid_files import grid_files_data
from s1da.framework.experiment import Experiment
from s1da.framework.interfaces import Filter, LandModel, Perturber
from s1da.framework.sitedata import SiteData
from s1da.framework.validation import validate_store


def _fields(options: Any) -> dict[str, Any]:
    """The init fields of an attrs options object as keyword arguments."""
    return {(field.alias or field.name): getattr(options, field.name) for field in attrs.fields(type(options)) if field.init}


def _gleam(sites, options) -> GleamModel:
    return GleamModel(statics_from_sites(sites), **_fields(options))


def _gleam_factory(options):
    """A factory the twin's truth run uses: same model physics, the truth's own statics."""
    return lambda sites: GleamModel(statics_from_sites(sites), parameters=options.parameters, kernel=options.kernel)


def _twin(options, model_options, experiment) -> SiteData:
    return twin_site_data(
        start=experiment["spinup_start"],
        end=experiment["end"],
        seed=experiment["seed"],
        model_factory=_gleam_factory(model_options),
        **_fields(options),
    )


def _twin_grid(options, model_options, experiment) -> SiteData:
    return twin_grid_site_data(
        options,
        start=experiment["spinup_start"],
        end=experiment["end"],
        seed=experiment["seed"],
        model_factory=_gleam_factory(model_options),
    )


def _files(options, experiment) -> SiteData:
    return site_files_data(
        options, start=experiment["spinup_start"], end=experiment["end"], seed=experiment["seed"], run_start=experiment["start"]
    )


def _copy(prototype):
    """Operators and filters are parameter objects; hand out fresh instances."""
    return attrs.evolve(prototype)


class DataLayer(containers.DeclarativeContainer):
    config = providers.Configuration()
    experiment = providers.Configuration()
    model_config = providers.Configuration()
    site_data = providers.Singleton(
        providers.Selector(
            config.kind,
            twin=providers.Factory(_twin, config.parameters, model_config.parameters, experiment),
            spen_farm=providers.Factory(
                spen_farm_site_data, config.parameters, start=experiment.spinup_start, end=experiment.end, seed=experiment.seed
            ),
            files=providers.Factory(_files, config.parameters, experiment),
            twin_grid=providers.Factory(_twin_grid, config.parameters, model_config.parameters, experiment),
            grid_files=providers.Factory(grid_files_data, config.parameters, start=experiment.spinup_start, end=experiment.end),
        )
    )


class ModelLayer(containers.DeclarativeContainer):
    config = providers.Configuration()
    sites = providers.Dependency()
    model = providers.Selector(config.kind, gleam=providers.Factory(_gleam, sites, config.parameters))


class PerturbationLayer(containers.DeclarativeContainer):
    config = providers.Configuration()
    entropy = providers.Dependency(instance_of=int)
    sites = providers.Dependency()
    perturber = providers.Selector(
        config.kind,
        forcing=providers.Factory(ForcingPerturber, config.parameters, entropy=entropy),
        spatial_forcing=providers.Factory(SpatialForcingPerturber, config.parameters, entropy=entropy, positions=sites),
    )


class FilterLayer(containers.DeclarativeContainer):
    config = providers.Configuration()
    filter = providers.Selector(
        config.kind,
        denkf=providers.Factory(_copy, config.parameters),
        enkf=providers.Factory(_copy, config.parameters),
        etkf=providers.Factory(_copy, config.parameters),
    )


def _operators(resolved: dict[str, Any]) -> dict[str, Any]:
    return {label: _copy(section["parameters"]) for label, section in resolved.items()}


class ExperimentLayer(containers.DeclarativeContainer):
    config = providers.Configuration()
    config_text = providers.Object("")
    progress = providers.Object(True)

    data = providers.Container(DataLayer, config=config.source, experiment=config.experiment, model_config=config.model)
    sites = providers.Callable(lambda site_data: site_data.sites, data.site_data)
    models = providers.Container(ModelLayer, config=config.model, sites=sites)
    perturbation = providers.Container(PerturbationLayer, config=config.perturbation, entropy=config.experiment.seed, sites=sites)
    filters = providers.Container(FilterLayer, config=config.filter)

    model = providers.Dependency(instance_of=LandModel, default=models.model)
    perturber = providers.Dependency(instance_of=Perturber, default=perturbation.perturber)
    filter = providers.Dependency(instance_of=Filter, default=filters.filter)

    experiment = providers.Factory(
        Experiment,
        name=config.experiment.name,
        data=data.site_data,
        model=model,
        perturber=perturber,
        operators=providers.Callable(_operators, config.operators),
        filter=filter,
        members=config.experiment.members,
        spinup_start=config.experiment.spinup_start,
        start=config.experiment.start,
        end=config.experiment.end,
        entropy=config.experiment.seed,
        chunk_days=config.experiment.chunk_days,
        min_samples=config.experiment.min_samples,
        config_text=config_text,
        progress=progress,
        validator=providers.Object(validate_store),
    )
