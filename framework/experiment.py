"""The experiment object: spin-up -> open loop -> calibration -> DA runs -> validation.

It only orchestrates components behind the interfaces of :mod:`s1da.framework.interfaces`; it
holds no physics and no statistics of its own (docs/architecture.md, "Data flow").  :meth:`Experiment.run` hands the work to the
engine (:mod:`s1da.framework.engine`), which cuts the sites into tasks; each task runs every
stage for its sites on an :meth:`Experiment.for_sites` copy of the experiment (in-process or on
a dask cluster) and writes its region of the store, streaming block by block so that peak
memory grows neither with the number of years nor with the size of the domain.  Network-level
validation runs once every task is done, and every stage resumes where a killed run stopped.
"""

from __future__ import annotations

import contextlib
import copy
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import xarray as xr

from s1da.framework import __version__
from s1da.framework.config import ConfigError
from s1da.framework.interfaces import Filter, LandModel, ObservationOperator, Perturber
from s1da.framework.output_policy import OutputPolicy, member_mean
from s1da.framework.randomness import Purpose, stream
from s1da.framework.site_index import put_sites
from s1da.framework.sitedata import DataError, SiteData
from s1da.framework.store import EnsembleStore, StoreError

FLUXES = ("total_water_storage", "precipitation", "total_evaporation", "deep_drainage", "surface_runoff")
"""Daily water-balance terms written for every member in every run group (closure from the store)."""

DA_MEMBER_DIAGNOSTICS = (
    "analysis_increment",
    "clipped_water",
    "predicted_backscatter",
    "forecast_surface_soil_moisture",
    "analysis_surface_soil_moisture",
)
DA_SITE_DIAGNOSTICS = ("innovation", "normalised_innovation", "observation_error_variance", "analysis_increment_surface")

MODEL_PREFIX = "model__"
PERTURBER_PREFIX = "perturber__"
FILTER_PREFIX = "filter__"
VEGETATION_INPUTS = ("lai", "vod")
"""Operator inputs the forcing may carry, ``(time, site)``: leaf area index (m2 m-2), vegetation optical depth (1)."""
OBSERVATION_INPUTS = {"incidence_angle": 40.0}
"""Operator inputs the observations may carry, ``(time, site)``, NaN on days without an
acquisition, with a placeholder in range that stands in for NaN so an operator can predict every
day (those days' predictions are then NaN again, :func:`_predict_where_defined`).  Each is handed
to the operators that *require* it.  An operator that takes one optionally (the WCM's ``incidence_angle``) keeps its
fixed value: orbit-normalised backscatter refers to one reference geometry (docs/model/validation.md
e), so the acquisition's own angle would be the wrong one."""
"""Checkpoint keys of a filter's per-site memory (a filter with ``initial_state``, e.g. adaptive)."""


def run_variables(layer_names: tuple[str, ...], with_operator: bool) -> dict[str, tuple[str, ...]]:
    """Every variable a run can write, with its dims inside a task (site axis ``site``)."""
    variables = {key: ("time", "member", "site") for key in FLUXES + ("surface_soil_moisture",)}
    if layer_names:
        variables["layer_soil_moisture"] = ("time", "member", "site", "layer")
    if with_operator:
        variables.update({key: ("time", "member", "site") for key in DA_MEMBER_DIAGNOSTICS})
        variables.update({key: ("time", "site") for key in DA_SITE_DIAGNOSTICS})
    return variables


@attrs.define
class Experiment:
    """One assimilation experiment over a network of sites (or the land cells of a grid).

    ``operators`` maps a run label (``wcm``, ``svr``) to an unfitted observation operator; each
    gets a DA run ``da_<label>``.  Dates are inclusive; the spin-up ends the day before
    ``start``.  ``sites_per_task`` chunks the sites into tasks (None: the engine's default,
    see :func:`s1da.framework.layout.default_sites_per_task`); ``output`` is the output policy
    (None: everything for site networks, :data:`~s1da.framework.output_policy.GRID_DEFAULT`
    for grids).
    """

    name: str
    data: SiteData
    model: LandModel
    perturber: Perturber
    operators: Mapping[str, ObservationOperator]
    filter: Filter
    members: int
    spinup_start: np.datetime64
    start: np.datetime64
    end: np.datetime64
    entropy: int
    chunk_days: int = 32
    min_samples: int = 30
    config_text: str = ""
    attributes: Mapping[str, str] = attrs.field(factory=dict)
    """Extra root attributes of the store (the assembly records the components used)."""
    progress: bool = True
    validator: Callable[..., xr.Dataset] | None = None
    sites_per_task: int | None = None
    output: OutputPolicy | None = None
    model_factory: Callable[[xr.Dataset], LandModel] | None = None
    """Builds the land model for a site table; tasks of deferred data (:mod:`s1da.framework.domain`)
    build their own model with it (``model`` is then the model of one cell, for the layout)."""
    _forcing_arrays: dict[str, np.ndarray] | None = attrs.field(default=None, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        times = self.data.times
        self.spinup_start, self.start, self.end = (np.datetime64(d, "D") for d in (self.spinup_start, self.start, self.end))
        if not (self.spinup_start <= self.start <= self.end):
            raise ValueError(f"need spin-up start <= start <= end, got {self.spinup_start}, {self.start}, {self.end}")
        if times[0] > self.spinup_start or times[-1] < self.end:
            raise DataError(
                f"the data cover {times[0]}..{times[-1]}, the experiment needs {self.spinup_start}..{self.end}"
            )
        if self.members < 2:
            raise ValueError(f"an ensemble needs at least 2 members, got {self.members}")
        if self.deferred and self.model_factory is None:
            raise ValueError("deferred data (built per task) need a model_factory to build each task's land model")
        for label, operator in self.operators.items():  # refused before any spin-up, not at calibration
            self._check_operator_inputs(label, operator)
            minimum = getattr(operator, "min_samples", None)
            if minimum is not None and not self.deferred:  # deferred: checked when each task calibrates
                self.data.require_observations(self.period, int(minimum), f"calibrating operator {label!r}")
        if self.sites_per_task is not None and self.sites_per_task < 1:
            raise ValueError(f"sites_per_task must be >= 1, got {self.sites_per_task}")
        try:
            self.output_policy.check_variables(list(run_variables(self._layer_names(), True)))
            self.output_policy.member_numbers(self.members)
        except ValueError as error:
            raise ConfigError(str(error), key="output") from None

    def __getstate__(self) -> dict[str, Any]:
        """Pickled for cluster tasks without the forcing cache (rebuilt on first use)."""
        state = {field.name: getattr(self, field.name) for field in attrs.fields(type(self))}
        state["_forcing_arrays"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)

    # ------------------------------------------------------------------ helpers
    @property
    def period(self) -> np.ndarray:
        return np.arange(self.start, self.end + 1)

    @property
    def spinup_days(self) -> np.ndarray:
        return np.arange(self.spinup_start, self.start)

    @property
    def output_policy(self) -> OutputPolicy:
        """The output policy with the layout's defaults filled in."""
        return (self.output or OutputPolicy()).resolved(gridded=self.data.grid is not None)

    @property
    def deferred(self) -> bool:
        """Whether the data are built per task (:class:`~s1da.framework.domain.DeferredSiteData`)."""
        return bool(getattr(self.data, "deferred", False))

    @property
    def can_subset(self) -> bool:
        """Whether the sites can be cut into tasks (deferred data, or a model with ``subset``)."""
        return self.deferred or hasattr(self.model, "subset")

    def built(self) -> Experiment:
        """This experiment with its inputs built: deferred data and their model are built for
        exactly these sites (in the task that runs them); other experiments are returned as they are."""
        if not self.deferred:
            return self
        data = self.data.build_all()
        return attrs.evolve(self, data=data, model=self.model_factory(data.sites), filter=copy.deepcopy(self.filter))

    def for_sites(self, site_indices: np.ndarray) -> Experiment:
        """The same experiment on the sites at positions ``site_indices`` (one task's chunk).

        Every component works on a subset: the data and the model are cut to the sites, the
        perturber and the filters draw from streams keyed by site id, operators are fitted
        per site.  A model without ``subset`` can only run all its sites at once.  Deferred
        data are only restricted to the sites (nothing is built: see :meth:`built`).
        """
        site_indices = np.asarray(site_indices, dtype="int64")
        if self.deferred:
            perturber = self.perturber.for_sites(self.data.site_ids[site_indices])
            return attrs.evolve(self, data=self.data.restrict(site_indices), perturber=perturber, filter=copy.deepcopy(self.filter))
        if site_indices.size == len(self.data.site_ids) and (site_indices == np.arange(site_indices.size)).all():
            return attrs.evolve(self, filter=copy.deepcopy(self.filter))
        subset = getattr(self.model, "subset", None)
        if subset is None:
            raise ValueError(
                f"{type(self.model).__name__} cannot run a subset of sites (it has no subset method); "
                "run all sites in one task (sites_per_task >= the number of sites)"
            )
        # its own filter: a filter with per-site memory (adaptive) keeps it for these sites only
        return attrs.evolve(
            self, data=self.data.subset(site_indices), model=subset(site_indices),
            perturber=self.perturber.for_sites(self.data.site_ids[site_indices]), filter=copy.deepcopy(self.filter),
        )

    def _day_index(self, day: np.datetime64) -> int:
        """Perturbation day index, counted from the first day of the spin-up."""
        return int((day - self.spinup_start).astype("int64"))

    def _forcing_day(self, day: np.datetime64) -> dict[str, np.ndarray]:
        """One day of the unperturbed forcing, arrays shaped (site,)."""
        if self._forcing_arrays is None:  # read once: an xarray selection per day is slow
            self._forcing_arrays = {
                name: np.asarray(variable.transpose("time", "site").values, dtype="float64")
                for name, variable in self.data.forcing.data_vars.items()
            }
        index = int((day - self.data.times[0]).astype("int64"))
        return {name: values[index] for name, values in self._forcing_arrays.items()}

    def _layer_names(self) -> tuple[str, ...]:
        return tuple(self.model.layer_names)

    def _checkpoint(self, state: Mapping[str, np.ndarray], perturber_state: Mapping[str, np.ndarray]) -> dict:
        arrays = {MODEL_PREFIX + key: np.asarray(value) for key, value in state.items()}
        arrays.update({PERTURBER_PREFIX + key: np.asarray(value) for key, value in perturber_state.items()})
        arrays.update({FILTER_PREFIX + key: np.asarray(value) for key, value in (getattr(self.filter, "state", None) or {}).items()})
        return arrays

    @staticmethod
    def _restore(checkpoint: Mapping[str, np.ndarray]) -> tuple[dict, dict]:
        state = {key[len(MODEL_PREFIX):]: value for key, value in checkpoint.items() if key.startswith(MODEL_PREFIX)}
        pert = {key[len(PERTURBER_PREFIX):]: value for key, value in checkpoint.items() if key.startswith(PERTURBER_PREFIX)}
        return state, pert

    def _restore_filter_memory(self, checkpoint: Mapping[str, np.ndarray] | None, analysing: bool) -> None:
        """Per-site filter memory: fresh for each DA run, resumed from its checkpoints, none outside DA runs."""
        if hasattr(self.filter, "initial_state"):
            memory = {key[len(FILTER_PREFIX):]: value for key, value in (checkpoint or {}).items() if key.startswith(FILTER_PREFIX)}
            self.filter.state = (memory or None) if analysing else None

    def _provided_inputs(self) -> tuple[list[str], list[str]]:
        """The operator inputs this run provides besides ``soil_moisture`` (the model's) and
        ``day_of_year``: the forcing's (:data:`VEGETATION_INPUTS`) and the observations'
        (:data:`OBSERVATION_INPUTS`) that the data hold."""
        forcing = [name for name in VEGETATION_INPUTS if name in self.data.forcing]
        observed = [name for name in OBSERVATION_INPUTS if name in self.data.observations]
        return forcing, observed

    def _check_operator_inputs(self, label: str, operator: ObservationOperator) -> None:
        """Every input the operator requires is one the run provides (deferred data: per task)."""
        if self.deferred:
            return
        forcing, observed = self._provided_inputs()
        provided = {"soil_moisture", "day_of_year", *forcing, *observed}
        missing = [f"{name} ({units})" for name, units in operator.required_inputs.items() if name not in provided]
        if missing:
            raise DataError(
                f"operator {label!r} ({type(operator).__name__}) needs input(s) {', '.join(missing)} that the data "
                f"do not provide (they provide {', '.join(sorted(provided))})"
            )

    def _operator_series(self, times: np.ndarray) -> dict[str, np.ndarray]:
        """Operator inputs the data provide (:meth:`_provided_inputs`), each ``(time, site)``: the
        forcing's ``lai`` (m2 m-2) and ``vod`` (1) where present, ``day_of_year`` (1..366) and the
        observation inputs some operator requires."""
        selection = np.asarray(times, dtype="datetime64[ns]")
        forcing, _ = self._provided_inputs()
        series = {
            name: np.asarray(self.data.forcing[name].sel(time=selection).transpose("time", "site").values, dtype="float64")
            for name in forcing
        }
        series["day_of_year"] = np.repeat(_day_of_year(selection)[:, np.newaxis], len(self.data.site_ids), axis=1)
        series.update(self._observation_inputs(selection))
        return series

    def _operator_day_inputs(self, forcing: Mapping[str, np.ndarray], day: np.datetime64) -> dict[str, np.ndarray]:
        """One day of :meth:`_operator_series` from that day's forcing ``(site,)``."""
        inputs = {name: np.asarray(forcing[name], dtype="float64") for name in VEGETATION_INPUTS if name in forcing}
        inputs["day_of_year"] = np.full(len(self.data.site_ids), _day_of_year(np.array([day]))[0])
        inputs.update({name: values[0] for name, values in self._observation_inputs(np.array([day])).items()})
        return inputs

    def _observation_inputs(self, times: np.ndarray) -> dict[str, np.ndarray]:
        """The observation inputs some operator requires, ``(time, site)``, NaN on days without
        an acquisition (:data:`OBSERVATION_INPUTS`).  None is read when no operator requires one."""
        required = {name for operator in self.operators.values() for name in operator.required_inputs}
        names = [name for name in self._provided_inputs()[1] if name in required]
        if not names:
            return {}
        observations = self.data.observations_on(times)
        return {
            name: np.asarray(observations[name].transpose("time", "site").values, dtype="float64") for name in names
        }

    # ------------------------------------------------------------------ running
    def open_store(self, path: str | Path, *, overwrite: bool = False) -> EnsembleStore:
        """Create the store, or reopen an unfinished one written by the same configuration."""
        path = Path(path)
        attributes = {
            "title": f"s1da experiment {self.name}",
            "Conventions": "CF-1.10",
            "experiment_name": self.name,
            "config": self.config_text,
            "seed_entropy": str(self.entropy),
            "s1da_version": __version__,
            "source": self.data.description,
            **self.attributes,
        }
        if path.exists() and not overwrite:
            store = EnsembleStore.open(path)
            if store.is_complete:
                raise StoreError(f"{path} holds a finished experiment; pass --overwrite to replace it")
            previous = store.attributes
            if previous.get("config") != self.config_text or previous.get("seed_entropy") != str(self.entropy):
                raise StoreError(
                    f"{path} holds an unfinished run of a different configuration or seed; "
                    "pass --overwrite to replace it"
                )
            return store
        return EnsembleStore.create(path, attributes, overwrite=overwrite)

    def run(
        self,
        path: str | Path,
        *,
        overwrite: bool = False,
        workers: int | None = None,
        scheduler: str | None = None,
        client: Any = None,
        sites_per_task: int | None = None,
    ) -> EnsembleStore:
        """Run (or resume) every stage and return the finished store.

        In-process by default; ``workers`` starts a local dask cluster of that many
        single-threaded worker processes, ``scheduler`` (``tcp://host:port``) or ``client``
        joins an existing one.  ``sites_per_task`` overrides the experiment's chunking.  The
        store is the same, bit for bit, whichever way it runs.
        """
        from s1da.framework.engine import run_experiment

        return run_experiment(
            self, path, overwrite=overwrite, workers=workers, scheduler=scheduler, client=client, sites_per_task=sites_per_task
        )

    # ------------------------------------------------------------------ one chunk of sites
    def _analyse(
        self, state: dict, operator: ObservationOperator, observed: np.ndarray, day_inputs: Mapping[str, np.ndarray], day_index: int
    ) -> tuple[dict, dict[str, np.ndarray]]:
        """One analysis at the end of the model day (docs/model/filters.md c); ``day_inputs`` holds the
        operator inputs of the data for this day, each ``(site,)``.

        Only the sites observed that day are analysed: a site's analysis depends on its own
        ensemble, observation and keyed random stream alone, so the others keep their state bit
        for bit and their diagnostics are NaN (unless the filter says otherwise,
        :attr:`Filter.analyses_observed_sites_only`).
        """
        n_sites = observed.shape[0]
        sites = np.flatnonzero(np.isfinite(observed)) if self.filter.analyses_observed_sites_only else np.arange(n_sites)
        forecast_sm, predicted = _forecast_at(self.model, state, operator, day_inputs, sites)  # (member, site) each
        states = self.model.analysis_variables_at(state, sites)  # (site, member, n_state)
        error_variance = np.asarray(operator.error_variance, dtype="float64")[sites]
        rng = None
        if self.filter.needs_rng:  # keyed by site and day: independent of how sites are chunked
            rng = np.array(
                [stream(self.entropy, site, Purpose.OBSERVATION_PERTURBATION, day_index) for site in np.asarray(self.data.site_ids)[sites]],
                dtype=object,
            )
        # contiguous (site, member): reductions over members then do not depend on the site count
        predicted_by_site = np.ascontiguousarray(predicted.T)[..., None]
        with _filter_memory_at(self.filter, sites, n_sites):
            analysed = self.filter.analyse(states, predicted_by_site, observed[sites, None], error_variance[:, None], rng=rng)
        new_state, changes = self.model.set_analysis_variables_at(state, analysed, sites)
        analysis_sm = self.model.surface_soil_moisture_at(new_state, sites)
        filter_diagnostics = self.filter.diagnostics  # of this call; observation axis of size 1
        used_error_variance = getattr(self.filter, "used_error_variance", None)  # adaptive R
        if used_error_variance is not None:
            error_variance = np.asarray(used_error_variance)[:, 0]
        has_obs = np.isfinite(observed[sites])
        diagnostics = {
            "analysis_increment": np.where(has_obs, changes["analysis_increment"], np.nan),
            "clipped_water": np.where(has_obs, changes["clipped_water"], np.nan),
            "predicted_backscatter": np.where(has_obs, predicted, np.nan),
            "forecast_surface_soil_moisture": np.where(has_obs, forecast_sm, np.nan),
            "analysis_surface_soil_moisture": np.where(has_obs, analysis_sm, np.nan),
            "innovation": filter_diagnostics.innovation[:, 0],
            "normalised_innovation": filter_diagnostics.normalised_innovation[:, 0],
            "observation_error_variance": np.where(has_obs, error_variance, np.nan),
            "analysis_increment_surface": np.where(has_obs, member_mean(analysis_sm, 0) - member_mean(forecast_sm, 0), np.nan),
        }
        return new_state, {name: _scatter(values, sites, n_sites) for name, values in diagnostics.items()}

    def _calibrate(self, available: Mapping[str, np.ndarray], backscatter: np.ndarray, times: np.ndarray) -> dict[str, xr.Dataset]:
        """Fit each operator per site on open-loop ensemble-mean SM and the data's inputs against S1.

        ``available`` holds every operator input the run provides (``soil_moisture``, the
        open-loop ensemble mean, ``lai``, ...), each ``(site, time)`` for this experiment's
        sites; ``backscatter`` is ``(site, time)`` dB, NaN where there is no observation.
        Returns, per run label, the operator's :meth:`to_dataset` with ``simulated_backscatter``
        (the fit re-predicted on the calibration inputs) and the fit's warnings in the
        attribute ``calibration_warnings`` (``[kind, message]`` pairs).  The DA runs use
        operators rebuilt from these datasets (``from_dataset``), so a resumed run predicts
        with exactly the stored operators.
        """
        fitted = {}
        for label, operator in self.operators.items():
            operator = copy.deepcopy(operator)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                inputs = _select_inputs(operator, available)
                operator = operator.fit(
                    inputs, backscatter, site_ids=self.data.site_ids,
                    progress=f"{self.name}: calibrate {label}" if self.progress else None,
                )
            parameters = operator.to_dataset()
            # a message names the site; its position within this task's fit depends on the chunking
            found = {(_warning_kind(item), re.sub(r" \(index \d+\)", "", str(item.message))) for item in caught}
            parameters.attrs["calibration_warnings"] = [list(pair) for pair in sorted(found)]
            parameters["simulated_backscatter"] = xr.DataArray(
                _predict_where_defined(operator, {name: values.T for name, values in inputs.items()}),  # (time, site)
                dims=("time", "site"),
                coords={"time": np.asarray(times, dtype="datetime64[ns]"), "site": parameters["site"].values},
                attrs={"units": "dB", "long_name": "backscatter simulated from open-loop mean soil moisture"},
            )
            fitted[label] = parameters
        return fitted

    def operator_from_calibration(self, label: str, parameters: xr.Dataset) -> ObservationOperator:
        """The fitted operator of run ``label`` rebuilt from :meth:`_calibrate` output."""
        parameters = parameters.drop_vars("simulated_backscatter")
        parameters.attrs = {key: value for key, value in parameters.attrs.items() if key != "calibration_warnings"}
        return type(self.operators[label]).from_dataset(parameters)

    def _validate(self, store: Any, labels: list[str], **tiling: Any) -> xr.Dataset | xr.DataTree | None:
        """Network-level scores from the finished runs; ``tiling``: the validator's ``tiles``
        (store regions scored one at a time) and ``mapper`` (runs them, e.g. on a cluster)."""
        if self.validator is None:
            return None
        return self.validator(store, labels, min_samples=self.min_samples, **tiling)


def _select_inputs(operator: ObservationOperator, available: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``operator.select_inputs`` over ``available`` less the observation-carried inputs it does
    not require (:data:`OBSERVATION_INPUTS`), so one operator's need changes no other's inputs."""
    offered = {name: values for name, values in available.items() if name not in OBSERVATION_INPUTS or name in operator.required_inputs}
    return operator.select_inputs(offered)


def _forecast_at(
    model: LandModel, state: dict, operator: ObservationOperator, day_inputs: Mapping[str, np.ndarray], sites: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Forecast surface soil moisture and predicted backscatter at ``sites``, ``(member, site)``.

    An operator with ``predict_at(inputs, sites)`` (inputs of those sites only) predicts there
    alone; any other predicts every site, of which those are taken."""
    at_sites = hasattr(operator, "predict_at")
    where = sites if at_sites else slice(None)
    forecast_sm = model.surface_soil_moisture_at(state, where)
    available = {name: np.broadcast_to(np.asarray(values)[where], forecast_sm.shape) for name, values in day_inputs.items()}
    available["soil_moisture"] = forecast_sm
    inputs = _select_inputs(operator, available)
    if at_sites:
        return forecast_sm, _predict_where_defined(operator, inputs, sites)
    return forecast_sm[:, sites], _predict_where_defined(operator, inputs)[:, sites]


def _predict_where_defined(
    operator: ObservationOperator, inputs: Mapping[str, np.ndarray], sites: np.ndarray | None = None
) -> np.ndarray:
    """``operator.predict(inputs)`` (``sites``: ``operator.predict_at(inputs, sites)``), NaN where
    an observation-carried input is undefined (a day without an acquisition has no incidence angle)."""
    filled, undefined = dict(inputs), False
    for name, placeholder in OBSERVATION_INPUTS.items():
        if name in inputs:
            missing = np.isnan(inputs[name])
            undefined = undefined | missing
            filled[name] = np.where(missing, placeholder, inputs[name])
    predicted = operator.predict(filled) if sites is None else operator.predict_at(filled, sites)
    return np.where(undefined, np.nan, predicted) if np.any(undefined) else predicted


def _scatter(values: np.ndarray, sites: np.ndarray, n_sites: int) -> np.ndarray:
    """``values`` of the sites ``sites`` (last axis) on all ``n_sites`` sites, NaN elsewhere."""
    if sites.size == n_sites:
        return values
    full = np.full(values.shape[:-1] + (n_sites,), np.nan)
    if values.ndim == 2:  # (member, site): member by member (framework/site_index.py)
        put_sites(full, sites, values)
    else:
        full[..., sites] = values
    return full


@contextlib.contextmanager
def _filter_memory_at(filter: Filter, sites: np.ndarray, n_sites: int) -> Iterator[None]:
    """The filter's per-site memory (``state``, arrays ``(site,)``; adaptive filters) cut to
    ``sites`` for one analysis, then put back with the other sites' memory unchanged."""
    if not hasattr(filter, "initial_state") or sites.size == n_sites:
        yield
        return
    memory = filter.state if filter.state is not None else filter.initial_state(n_sites)
    filter.state = {key: np.asarray(value)[sites] for key, value in memory.items()}
    yield
    analysed = filter.state
    filter.state = {key: np.array(value, dtype=np.result_type(value, analysed[key])) for key, value in memory.items()}
    for key, value in analysed.items():
        filter.state[key][sites] = value


def _day_of_year(times: np.ndarray) -> np.ndarray:
    """Day of the year, 1..366, of each date (float, as the operator inputs)."""
    days = np.asarray(times).astype("datetime64[D]")
    return (days - days.astype("datetime64[Y]")).astype("int64") + 1.0


def _warning_kind(item: warnings.WarningMessage) -> str:
    return getattr(item.category, "kind", None) or item.category.__name__


def calibration_warning_summary(label: str, found: list[tuple[str, str]]) -> list[str]:
    """One line per kind of calibration warning, from ``(kind, message)`` pairs
    (``CalibrationWarning.kind``, else the warning's class)."""
    counts: dict[str, set[str]] = {}
    for kind, message in found:
        counts.setdefault(kind, set()).add(message)
    return [
        f"{label}: {len(messages)} calibration warning(s): {kind} (listed in the calibration group's "
        f"'{label}_warnings' attribute)"
        for kind, messages in sorted(counts.items())
    ]


def operator_dataset(calibration: xr.Dataset, label: str) -> xr.Dataset:
    """One operator's parameters from the merged ``calibration`` group, as its ``to_dataset`` wrote them."""
    prefix = f"{label}_"
    names = [name for name in calibration.data_vars if name.startswith(prefix) and name != f"{label}_simulated_backscatter"]
    if not names:
        raise StoreError(f"the calibration group holds no parameters of operator {label!r}")
    dataset = calibration[names].rename({name: name[len(prefix):] for name in names})
    dataset.attrs = dict(calibration.attrs.get(f"{label}_operator_attributes", {}))
    return dataset
