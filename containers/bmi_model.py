"""Any Python BMI model as s1da's land model: ``model: {kind: bmi, component: "pkg.module:Class", ...}``.

The ensemble is ``members`` instances of the BMI class, each initialised from ``config_file``
(relative to the working directory) over the same sites as the experiment (one node per
site).  The user maps s1da's names onto the model's variables:

* ``forcing``: s1da forcing name (``precipitation``, ``air_temperature``, ``net_radiation``,
  ``lai``, ``vod``) -> the model's input variable; set before every ``update()``;
* ``surface_soil_moisture``: the output the observation operator sees (m3 m-3);
* ``state``: every prognostic variable (set and read each day, so that s1da's state, its
  checkpoints and resume hold the whole model state);
* ``analysis``: the state variables the filter updates (``set_value``), with the water depth
  ``analysis_depths`` (mm) one unit of each holds, for the analysis increments;
* ``fluxes``: s1da's water-balance terms (``total_water_storage`` mm, ``total_evaporation``,
  ``deep_drainage``, ``surface_runoff`` mm d-1; ``precipitation`` defaults to the forcing).

The BMI must report ``surface_soil_moisture`` for the state it was last given (after
``set_value`` of its state as after ``update()``).  A BMI model reads its own parameters from
its configuration, so a twin's truth run uses them too (with the truth's forcing).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from s1da.framework.config import ConfigError
from s1da.framework.interfaces import LandModel

WATER_BALANCE = ("total_water_storage", "total_evaporation", "deep_drainage", "surface_runoff")


def _same_length_as_analysis(instance, attribute, value):
    if len(value) != len(instance.analysis):
        raise ValueError(f"needs one depth (mm) per analysis variable: {len(instance.analysis)} analysis variables, {len(value)} depths")


def _covers_water_balance(instance, attribute, value):
    missing = [term for term in WATER_BALANCE if term not in value]
    if missing:
        raise ValueError(f"must map the water-balance terms {', '.join(missing)} to variables of the model")


def _analysed_state(instance, attribute, value):
    outside = [name for name in value if name not in instance.state]
    if outside:
        raise ValueError(f"analysis variables must be state variables: {', '.join(outside)} not in state")


@attrs.frozen
class BmiModelOptions:
    """Any Python BMI model as the land model, N instances as the ensemble."""

    component: str = attrs.field(validator=attrs.validators.matches_re(r"^[\w.]+:\w+$"), metadata={"doc": "the BMI class, 'package.module:Class'"})
    config_file: str = attrs.field(metadata={"doc": "passed to initialize() of every instance (relative to the working directory)"})
    surface_soil_moisture: str = attrs.field(metadata={"units": "m3 m-3", "doc": "output variable seen by the observation operator"})
    state: tuple[str, ...] = attrs.field(converter=tuple, metadata={"doc": "prognostic variables, set and read every day"})
    analysis: tuple[str, ...] = attrs.field(converter=tuple, validator=_analysed_state, metadata={"units": "m3 m-3", "doc": "state variables the filter updates"})
    analysis_depths: tuple[float, ...] = attrs.field(converter=tuple, validator=_same_length_as_analysis, metadata={"units": "mm", "doc": "water depth per unit of each analysis variable"})
    fluxes: dict = attrs.field(validator=_covers_water_balance, metadata={"doc": "s1da water-balance term -> model variable"})
    forcing: dict = attrs.field(factory=dict, metadata={"doc": "s1da forcing name -> model input variable"})
    analysis_bounds: tuple[float, float] = attrs.field(default=(0.0, 1.0), converter=tuple, metadata={"units": "m3 m-3", "doc": "analysed values are clipped to these bounds"})


def load_class(component: str) -> type:
    """The class named ``package.module:Class``; a clear error naming it when it cannot be imported."""
    module_name, _, class_name = component.partition(":")
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise ConfigError(f"cannot import the BMI class {component!r}: {error}", key="model.component") from error


def _key(name: str) -> str:
    """A state key safe as a store variable name."""
    return re.sub(r"\W", "_", name)


class BmiLandModel(LandModel):
    """``members`` instances of a BMI class behind :class:`~s1da.framework.interfaces.LandModel`."""

    def __init__(self, options: BmiModelOptions, n_sites: int):
        self.options = options
        self.n_sites = int(n_sites)
        self._class = load_class(options.component)
        self._instances: list[Any] = []
        self._state_keys = {_key(name): name for name in options.state}

    def _instance(self, member: int):
        while len(self._instances) <= member:
            instance = self._class()
            instance.initialize(self.options.config_file)
            size = instance.get_grid_size(instance.get_var_grid(self.options.surface_soil_moisture))
            if size != self.n_sites:
                raise ConfigError(
                    f"{self.options.component} from {self.options.config_file} has {size} nodes, the experiment {self.n_sites} sites",
                    key="model.config_file",
                )
            self._instances.append(instance)
        return self._instances[member]

    def _read(self, instance, name: str) -> np.ndarray:
        return instance.get_value(name, np.empty(self.n_sites, dtype="float64"))

    def _load(self, instance, state: Mapping[str, np.ndarray], member: int) -> None:
        for key, name in self._state_keys.items():
            instance.set_value(name, np.ascontiguousarray(state[key][member], dtype="float64"))

    def initial_state(self, n_members: int) -> dict[str, np.ndarray]:
        instances = [self._instance(member) for member in range(n_members)]
        return {key: np.stack([self._read(instance, name) for instance in instances]) for key, name in self._state_keys.items()}

    def step(self, state, forcing):
        n_members = next(iter(state.values())).shape[0]
        new_state = {key: np.empty((n_members, self.n_sites)) for key in self._state_keys}
        terms = dict(self.options.fluxes)
        fluxes = {term: np.empty((n_members, self.n_sites)) for term in terms}
        for member in range(n_members):
            instance = self._instance(member)
            self._load(instance, state, member)
            for ours, theirs in self.options.forcing.items():
                instance.set_value(theirs, np.ascontiguousarray(np.broadcast_to(forcing[ours], (n_members, self.n_sites))[member], dtype="float64"))
            instance.update()
            for key, name in self._state_keys.items():
                new_state[key][member] = self._read(instance, name)
            for term, name in terms.items():
                fluxes[term][member] = self._read(instance, name)
        fluxes.setdefault("precipitation", np.broadcast_to(forcing["precipitation"], (n_members, self.n_sites)).copy())
        return new_state, fluxes

    def surface_soil_moisture(self, state) -> np.ndarray:
        n_members = next(iter(state.values())).shape[0]
        values = np.empty((n_members, self.n_sites))
        for member in range(n_members):
            instance = self._instance(member)
            self._load(instance, state, member)
            values[member] = self._read(instance, self.options.surface_soil_moisture)
        return values

    def analysis_variables(self, state) -> np.ndarray:
        columns = [state[_key(name)] for name in self.options.analysis]  # each (member, site)
        return np.ascontiguousarray(np.stack(columns, axis=-1).swapaxes(0, 1))

    def set_analysis_variables(self, state, values):
        lower, upper = self.options.analysis_bounds
        new_state = {key: value.copy() for key, value in state.items()}
        increment = np.zeros(values.shape[1::-1])
        clipped_water = np.zeros_like(increment)
        for index, (name, depth) in enumerate(zip(self.options.analysis, self.options.analysis_depths)):
            requested = values[..., index].T  # (member, site)
            clipped = np.clip(requested, lower, upper)
            increment += (clipped - state[_key(name)]) * depth
            clipped_water += (requested - clipped) * depth
            new_state[_key(name)] = clipped
        return new_state, {"analysis_increment": increment, "clipped_water": clipped_water}


def bmi_model(options: BmiModelOptions, context) -> BmiLandModel:
    """Factory of the ``bmi`` kind (registered in :mod:`s1da.containers.kinds`)."""
    return BmiLandModel(options, n_sites=context.sites.sizes["site"])
