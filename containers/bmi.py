"""CSDMS Basic Model Interface (BMI 2.0, ``bmipy.Bmi``) to s1da, built from an experiment YAML.

* :class:`GleamBmi`: the GLEAM land model (``members`` members, default 1) over the sites or
  grid of a config file's data source, forced by the source's forcing unless the caller sets
  its own.
* :class:`AssimilationBmi`: the whole assimilating experiment of a YAML file; each
  ``update()`` advances one day of a DA run (perturbation, model step, analysis when an
  observation exists).

Both read an ordinary s1da experiment YAML with an optional extra section::

    bmi:
      members: 1          # GleamBmi only (AssimilationBmi uses experiment.members)

Time is in days (``d``) since the first day of the run (the spin-up start for GleamBmi, the
experiment start for AssimilationBmi).  Variables carry CSDMS Standard Names and UDUNITS units
(:mod:`s1da.containers.bmi_names`); the plain name is the ensemble mean on the site grid, the
``ensemble-member_`` name every member on the member grid (grids in
:mod:`s1da.containers.bmi_core`).  Forcing set with ``set_value`` is used by the next
``update()`` only; state set with ``set_value`` replaces the model state.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from s1da.containers import bmi_names as names
from s1da.containers.bmi_core import MEMBERS, SITES, ArrayBmi, Variable, lattice_order, site_grids
from s1da.framework.config import ConfigError, Field, Section, load_yaml

BMI_SECTION = Section({"members": Field(int, default=1, check=lambda v: None if v > 0 else "must be positive", doc="GleamBmi ensemble size")})


def load_config(config_file: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The resolved experiment of a YAML file and its ``bmi`` section."""
    from s1da.containers import schema

    data = load_yaml(config_file)
    options = BMI_SECTION.resolve(data.pop("bmi", None), "bmi", config_file)
    return schema.resolve(data, config_file), options


def in_grid_order(site_data):
    """Site data reordered row-major when the sites form a regular lattice (the BMI grid order)."""
    order = lattice_order(site_data.sites["lon"].values, site_data.sites["lat"].values)
    if order is None:
        return site_data
    ids = site_data.site_ids[order]

    def by_site(item):
        return None if item is None else item.sel(site=ids)

    return attrs.evolve(
        site_data,
        sites=by_site(site_data.sites),
        forcing=by_site(site_data.forcing),
        observations=by_site(site_data.observations),
        insitu=by_site(site_data.insitu),
        truth=by_site(site_data.truth),
    )


class GleamBmi(ArrayBmi):
    """GLEAM through BMI: ``initialize(config_file)`` with an s1da experiment YAML."""

    _component_name = "s1da GLEAM"

    def initialize(self, config_file: str | None = None) -> None:
        from s1da.containers.assembly import container_for
        from s1da.containers.layers import build

        if config_file is None:
            raise ConfigError("GleamBmi needs a configuration file (an s1da experiment YAML)")
        resolved, options = load_config(config_file)
        if resolved["model"]["kind"] != "gleam":
            raise ConfigError(f"GleamBmi runs GLEAM, the file configures {resolved['model']['kind']!r}", key="model.kind", file=config_file)
        data = in_grid_order(container_for(resolved, progress=False).data.site_data())
        experiment = resolved["experiment"]
        self._members = options["members"]
        self._model = build("model", resolved["model"], experiment, sites=data.sites)
        days = np.arange(np.datetime64(experiment["spinup_start"], "D"), np.datetime64(experiment["end"], "D") + 1)
        times = np.asarray(data.forcing["time"].values, dtype="datetime64[D]")
        index = np.searchsorted(times, days)
        self._forcing_source = {
            name: np.asarray(data.forcing[name].transpose("time", "site").values[index], dtype="float64")
            for name in data.forcing.data_vars
            if name in names.FORCING
        }
        self._end_time = float(len(days))
        self._time = 0.0
        self._grids = site_grids(data.sites["lon"].values, data.sites["lat"].values, self._members)
        self._declare_variables(self._model.initial_state(self._members))

    def _declare_variables(self, state: Mapping[str, np.ndarray]) -> None:
        self._forcing_set: set[str] = set()
        self._forcing_names = {names.member(names.FORCING[key][0]): key for key in self._forcing_source}
        for name, key in self._forcing_names.items():
            self._declare(Variable(name, names.FORCING[key][1], MEMBERS, settable=True, readable=False), self._source_forcing(key, 0))
        self._layer_names = {names.member(names.layer_name(layer)[0]): index for index, layer in enumerate(self._model.layer_names)}
        for name, index in self._layer_names.items():
            self._declare(Variable(name, "m3 m-3", MEMBERS, settable=True), state["soil_moisture"][..., index])
        self._state_names = {names.member(names.STATE[key][0]): key for key in names.STATE if key in state}
        for name, key in self._state_names.items():
            self._declare(Variable(name, names.STATE[key][1], MEMBERS, settable=True), state[key])
        for key, (name, units) in names.FLUXES.items():
            self._declare(Variable(names.member(name), units, MEMBERS))
            self._declare(Variable(name, units, SITES))
        self._store_outputs({"surface_soil_moisture": self._model.surface_soil_moisture(state)})

    def _source_forcing(self, key: str, day: int) -> np.ndarray:
        return np.broadcast_to(self._forcing_source[key][day], (self._members, self._forcing_source[key].shape[1]))

    def _after_set(self, name: str) -> None:
        if name in self._forcing_names:
            self._forcing_set.add(name)

    def state(self) -> dict[str, np.ndarray]:
        """The model state from the buffers (what the caller set included), arrays (member, site, ...)."""
        layers = [self._array(name, self._members) for name in self._layer_names]
        state = {key: self._array(name, self._members) for name, key in self._state_names.items()}
        state["soil_moisture"] = np.stack(layers, axis=-1)
        return state

    def forcing(self) -> dict[str, np.ndarray]:
        """The forcing of the next update: what the caller set, else the source's, (member, site)."""
        day = int(self._time)
        forcing = {}
        for name, key in self._forcing_names.items():
            if name not in self._forcing_set:
                self._store(name, self._source_forcing(key, day))
            forcing[key] = self._array(name, self._members)
        return forcing

    def _store_state(self, state: Mapping[str, np.ndarray]) -> None:
        for name, index in self._layer_names.items():
            self._store(name, state["soil_moisture"][..., index])
        for name, key in self._state_names.items():
            self._store(name, state[key])

    def _store_outputs(self, outputs: Mapping[str, np.ndarray]) -> None:
        for key, value in outputs.items():
            if key in names.FLUXES:
                name = names.FLUXES[key][0]
                self._store(names.member(name), value)
                self._store(name, np.mean(value, axis=0))

    def update(self) -> None:
        if self._time >= self._end_time:
            raise RuntimeError(f"{self._component_name}: the run ends at day {self._end_time:g} (the config's end)")
        state, fluxes = self._model.step(self.state(), self.forcing())
        self._store_state(state)
        self._store_outputs({**fluxes, "surface_soil_moisture": self._model.surface_soil_moisture(state)})
        self._forcing_set.clear()
        self._time += 1.0

    def finalize(self) -> None:
        self._model = None
