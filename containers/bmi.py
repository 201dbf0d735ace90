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
from s1da.containers.bmi_core import MEMBERS, SITES, ArrayBmi, Variable, site_grids
from s1da.framework.config import ConfigError, Field, Section, load_yaml
from s1da.framework.tasks import ChunkRun

BMI_SECTION = Section({"members": Field(int, default=1, check=lambda v: None if v > 0 else "must be positive", doc="GleamBmi ensemble size")})


def load_config(config_file: str | Path | None, section: Section = BMI_SECTION) -> tuple[dict[str, Any], dict[str, Any]]:
    """The resolved experiment of a YAML file and its checked ``bmi`` section."""
    from s1da.containers import schema

    if config_file is None:
        raise ConfigError("an s1da BMI needs a configuration file (an s1da experiment YAML)")
    data = load_yaml(config_file)
    options = section.resolve(data.pop("bmi", None), "bmi", config_file)
    return schema.resolve(data, config_file), options


class GleamBmi(ArrayBmi):
    """GLEAM through BMI: ``initialize(config_file)`` with an s1da experiment YAML."""

    _component_name = "s1da GLEAM"

    def initialize(self, config_file: str | None = None) -> None:
        from s1da.containers.assembly import container_for
        from s1da.containers.layers import build

        resolved, options = load_config(config_file)
        if resolved["model"]["kind"] != "gleam":
            raise ConfigError(f"GleamBmi runs GLEAM, the file configures {resolved['model']['kind']!r}", key="model.kind", file=config_file)
        data = container_for(resolved, progress=False).data.site_data()
        experiment = resolved["experiment"]
        self._members = options["members"]
        section = {**resolved["model"], "parameters": attrs.evolve(resolved["model"]["parameters"], outputs="all")}
        self._model = build("model", section, experiment, sites=data.sites)  # the BMI offers every flux (bmi_names.FLUXES)
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
        self._grids = site_grids(data.sites["lon"].values, data.sites["lat"].values, self._members, data.grid)
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
        day = min(day, len(self._forcing_source[key]) - 1)  # past the end the caller sets all forcing
        return np.broadcast_to(self._forcing_source[key][day], (self._members, self._forcing_source[key].shape[1]))

    def _after_set(self, name: str) -> None:
        if name in self._forcing_names:
            self._forcing_set.add(name)
        elif name in self._layer_names:  # the surface soil moisture follows a state set by the caller
            self._store_outputs({"surface_soil_moisture": self._model.surface_soil_moisture(self.state())})

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
        if self._time >= self._end_time and len(self._forcing_set) < len(self._forcing_names):
            raise RuntimeError(
                f"{self._component_name}: the config's forcing ends at day {self._end_time:g}; set every forcing variable to go on"
            )
        state, fluxes = self._model.step(self.state(), self.forcing())
        self._store_state(state)
        self._store_outputs({**fluxes, "surface_soil_moisture": self._model.surface_soil_moisture(state)})
        self._forcing_set.clear()
        self._time += 1.0

    def finalize(self) -> None:
        self._model = None


BMI_ASSIMILATION = Section(
    {
        "operator": Field((str, type(None)), default=None, doc="run label of the DA run to step (default: the first operator)"),
        "store": Field((str, type(None)), default=None, doc="store of the preparatory run (default: a temporary folder)"),
    }
)

SITE_FORCING = ("precipitation", "air_temperature", "net_radiation", "lai", "vod")
DA_OUTPUTS = ("predicted_backscatter", "analysis_increment")


class AssimilationBmi(ArrayBmi):
    """The assimilating experiment of an s1da YAML through BMI: one ``update()`` is one DA day.

    ``initialize`` runs the experiment's spin-up, open loop and calibration (``s1da run`` into
    the ``bmi.store`` folder, default a temporary one), then steps the DA run of ``bmi.operator``
    from the spun-up state with the calibrated operator: each ``update()`` perturbs the day's
    forcing, advances the land model and, when the day has an observation, analyses.  Time 0
    is ``experiment.start``.  Inputs for the next update: the site forcing (before perturbation)
    and the observed backscatter (NaN: no observation), defaulting to the source's.
    """

    _component_name = "s1da assimilation"

    def initialize(self, config_file: str | None = None) -> None:
        from s1da.containers.assembly import container_for
        from s1da.framework.experiment import operator_dataset

        resolved, options = load_config(config_file, BMI_ASSIMILATION)
        labels = list(resolved["operators"])
        label = options["operator"] or (labels[0] if labels else None)
        if label not in labels:
            raise ConfigError(f"no operator {label!r} in the file (operators: {', '.join(labels) or 'none'})", key="bmi.operator", file=config_file)
        experiment = container_for(resolved, progress=False).experiment()
        store = self._prepared(experiment, self._store_path(options["store"]))
        calibration = store.read("calibration").load()
        operator = type(experiment.operators[label]).from_dataset(operator_dataset(calibration, label))
        self._label = label
        # the engine's own day stepper: the same code path as the stored da_<label> run
        self._run = ChunkRun(experiment, experiment.period, store.read_state("spinup_state"), operator)
        self._members = experiment.members
        self._end_time = float(len(experiment.period))
        self._time = 0.0
        sites = experiment.data.sites
        self._grids = site_grids(sites["lon"].values, sites["lat"].values, self._members, experiment.data.grid)
        self._declare_variables(experiment)

    @staticmethod
    def _prepared(experiment, path: Path):
        """The finished store of this experiment at ``path`` (an ``s1da run`` of the same file), or a new run."""
        from s1da.framework.store import EnsembleStore

        if path.exists():
            store = EnsembleStore.open(path)
            if store.is_complete and store.attributes.get("config") == experiment.config_text:
                return store
        return experiment.run(path)

    def _store_path(self, configured: str | None) -> Path:
        if configured is not None:
            return Path(configured)
        import tempfile

        self._scratch = tempfile.TemporaryDirectory(prefix="s1da-bmi-")
        return Path(self._scratch.name) / "preparation.zarr"

    def _declare_variables(self, experiment) -> None:
        self._inputs_set: set[str] = set()
        self._forcing_names = {names.FORCING[key][0]: key for key in SITE_FORCING if key in experiment.data.forcing}
        for name, key in self._forcing_names.items():
            self._declare(Variable(name, names.FORCING[key][1], SITES, settable=True, readable=False))
        observed_name, units = names.ASSIMILATION["backscatter"]
        self._observation_name = observed_name
        self._declare(Variable(observed_name, units, SITES, settable=True, readable=False))
        for key, (name, units) in names.FLUXES.items():
            self._declare(Variable(names.member(name), units, MEMBERS))
            self._declare(Variable(name, units, SITES))
        for key in DA_OUTPUTS:
            name, units = names.ASSIMILATION[key]
            self._declare(Variable(names.member(name), units, MEMBERS))
            self._declare(Variable(name, units, SITES))
        self._declare(Variable(names.ASSIMILATION["innovation"][0], names.ASSIMILATION["innovation"][1], SITES))
        self._fill_inputs()

    def _fill_inputs(self) -> None:
        """The source's forcing and observation of the next day, where the caller set none."""
        if self._time >= self._end_time:
            return
        forcing, observed = self._run.source_inputs()
        for name, key in self._forcing_names.items():
            if name not in self._inputs_set:
                self._store(name, forcing[key])
        if self._observation_name not in self._inputs_set:
            self._store(self._observation_name, observed)

    def _after_set(self, name: str) -> None:
        self._inputs_set.add(name)

    def _site_values(self, name: str) -> np.ndarray:
        cells = self._grids[SITES].cells
        values = self._values[name]
        return values.copy() if cells is None else values[cells]

    def update(self) -> None:
        if self._time >= self._end_time:
            raise RuntimeError(f"{self._component_name}: the DA run ends at day {self._end_time:g} (experiment.end)")
        forcing = {key: self._site_values(name) for name, key in self._forcing_names.items()}
        outputs = self._run.step_day(forcing=forcing, observed=self._site_values(self._observation_name))
        self._store_outputs(outputs)
        self._inputs_set.clear()
        self._time += 1.0
        self._fill_inputs()

    def _store_outputs(self, outputs: Mapping[str, np.ndarray]) -> None:
        for key, (name, _) in names.FLUXES.items():
            self._store_mean_and_members(name, outputs.get(key))
        for key in DA_OUTPUTS:
            self._store_mean_and_members(names.ASSIMILATION[key][0], outputs.get(key))
        innovation = outputs.get("innovation")
        self._store(names.ASSIMILATION["innovation"][0], np.full(self._run.n_sites, np.nan) if innovation is None else innovation)

    def _store_mean_and_members(self, name: str, values: np.ndarray | None) -> None:
        if values is None:  # a day without any observation: no analysis, no DA diagnostics
            values = np.full((self._members, self._run.n_sites), np.nan)
        self._store(names.member(name), values)
        self._store(name, np.mean(values, axis=0))

    def finalize(self) -> None:
        self._run = None
        scratch = getattr(self, "_scratch", None)
        if scratch is not None:  # the preparatory store s1da wrote in its own temporary folder
            scratch.cleanup()
