"""Declarative containers, one per layer (docs/architecture.md, "Containers and YAML").

Each layer builds the component its config's ``kind`` names through the one registry of kinds
(:mod:`s1da.containers.registry`); the already-checked parameters (see
:mod:`s1da.containers.schema`) arrive in ``parameters``.  ``Dependency(instance_of=...)``
guards the seams between layers.  Library code never imports this package; tests override
providers on fresh containers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dependency_injector import containers, providers

from s1da.containers.registry import BuildContext, registry
from s1da.framework.experiment import Experiment
from s1da.framework.interfaces import Filter, LandModel, Perturber
from s1da.framework.sitedata import SiteData
from s1da.framework.validation import validate_store


def build(layer: str, section: Mapping[str, Any], experiment: Mapping[str, Any], **context: Any) -> Any:
    """Build the component of a resolved section (``{"kind": ..., "parameters": ...}``)."""
    component = registry().get(layer, section["kind"])
    return component.build(section["parameters"], BuildContext(experiment=experiment, **context))


def model_factory(section: Mapping[str, Any], experiment: Mapping[str, Any]):
    """The configured land model for any site table (the twin's truth run uses it too)."""
    return lambda sites: build("model", section, experiment, sites=sites)


def _site_data(section, model_section, experiment) -> SiteData:
    return build("source", section, experiment, model_factory=model_factory(model_section, experiment))


def _operators(resolved: Mapping[str, Any], experiment: Mapping[str, Any]) -> dict[str, Any]:
    return {label: build("operator", section, experiment) for label, section in resolved.items()}


class DataLayer(containers.DeclarativeContainer):
    config = providers.Configuration()
    experiment = providers.Configuration()
    model_config = providers.Configuration()
    site_data = providers.Singleton(_site_data, config, model_config, experiment)


class ModelLayer(containers.DeclarativeContainer):
    config = providers.Configuration()
    experiment = providers.Configuration()
    sites = providers.Dependency()
    model = providers.Factory(build, "model", config, experiment, sites=sites)


class PerturbationLayer(containers.DeclarativeContainer):
    config = providers.Configuration()
    experiment = providers.Configuration()
    sites = providers.Dependency()
    perturber = providers.Factory(build, "perturbation", config, experiment, sites=sites)


class FilterLayer(containers.DeclarativeContainer):
    config = providers.Configuration()
    experiment = providers.Configuration()
    filter = providers.Factory(build, "filter", config, experiment)


class ExperimentLayer(containers.DeclarativeContainer):
    config = providers.Configuration()
    config_text = providers.Object("")
    progress = providers.Object(True)
    attributes = providers.Object({})

    data = providers.Container(DataLayer, config=config.source, experiment=config.experiment, model_config=config.model)
    sites = providers.Callable(lambda site_data: site_data.sites, data.site_data)
    models = providers.Container(ModelLayer, config=config.model, experiment=config.experiment, sites=sites)
    perturbation = providers.Container(PerturbationLayer, config=config.perturbation, experiment=config.experiment, sites=sites)
    filters = providers.Container(FilterLayer, config=config.filter, experiment=config.experiment)

    model = providers.Dependency(instance_of=LandModel, default=models.model)
    perturber = providers.Dependency(instance_of=Perturber, default=perturbation.perturber)
    filter = providers.Dependency(instance_of=Filter, default=filters.filter)

    experiment = providers.Factory(
        Experiment,
        name=config.experiment.name,
        data=data.site_data,
        model=model,
        perturber=perturber,
        operators=providers.Callable(_operators, config.operators, config.experiment),
        filter=filter,
        members=config.experiment.members,
        spinup_start=config.experiment.spinup_start,
        start=config.experiment.start,
        end=config.experiment.end,
        entropy=config.experiment.seed,
        chunk_days=config.experiment.chunk_days,
        min_samples=config.experiment.min_samples,
        sites_per_task=config.experiment.sites_per_task,
        output=config.output,
        config_text=config_text,
        attributes=attributes,
        progress=progress,
        validator=providers.Object(validate_store),
    )
