"""The experiment object: spin-up -> open loop -> calibration -> DA runs -> validation.

It only orchestrates components behind the interfaces of :mod:`s1da.framework.interfaces`; it
holds no physics and no statistics of its own (docs/architecture.md, "Data flow").  Every stage writes to
the :class:`~s1da.framework.store.EnsembleStore`, streaming block by block so that peak memory
does not grow with the number of years, and every stage resumes where a killed run stopped.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

import attrs
import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from s1da.framework import __version__
from s1da.framework.interfaces import Filter, LandModel, ObservationOperator, Perturber
from s1da.framework.randomness import Purpose, stream
from s1da.framework.sitedata import DataError, SiteData
from s1da.framework.store import EnsembleStore, StoreError

FLUXES = ("total_water_storage", "precipitation", "total_evaporation", "deep_drainage", "surface_runoff")
"""Daily water-balance terms written for every member in every run group (closure from the store)."""

MODEL_PREFIX = "model__"
PERTURBER_PREFIX = "perturber__"
FILTER_PREFIX = "filter__"
"""Checkpoint keys of a filter's per-site memory (a filter with ``initial_state``, e.g. adaptive)."""


def _member_coords(data: SiteData, n_members: int, layer_names: tuple[str, ...]) -> dict[str, tuple]:
    coords = {
        "member": ("member", np.arange(n_members), {"standard_name": "realization", "long_name": "ensemble member", "units": "1"}),
        "site": ("site", data.site_ids, {"long_name": "site identifier", "units": "1", "cf_role": "timeseries_id"}),
        "lat": ("site", data.sites["lat"].values, {"standard_name": "latitude", "long_name": "latitude", "units": "degrees_north"}),
        "lon": ("site", data.sites["lon"].values, {"standard_name": "longitude", "long_name": "longitude", "units": "degrees_east"}),
    }
    if layer_names:
        coords["layer"] = ("layer", np.asarray(layer_names), {"long_name": "land-cover fraction and soil layer", "units": "1"})
    return coords


@attrs.define
class Experiment:
    """One assimilation experiment over a network of sites.

    ``operators`` maps a run label (``wcm``, ``svr``) to an unfitted observation operator; each
    gets a DA run ``da_<label>``.  Dates are inclusive; the spin-up ends the day before
    ``start``.
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
        for label, operator in self.operators.items():  # refused before any spin-up, not at calibration
            minimum = getattr(operator, "min_samples", None)
            if minimum is not None:
                self.data.require_observations(self.period, int(minimum), f"calibrating operator {label!r}")

    # ------------------------------------------------------------------ helpers
    @property
    def period(self) -> np.ndarray:
        return np.arange(self.start, self.end + 1)

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

    # ------------------------------------------------------------------ stages
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

    def run(self, path: str | Path, *, overwrite: bool = False) -> EnsembleStore:
        """Run (or resume) every stage and return the finished store."""
        store = self.open_store(path, overwrite=overwrite)
        self._write_inputs(store)
        spun_up = self._spinup(store)
        self._integrate(store, "open_loop", spun_up, operator=None)
        operators = self._calibrate(store)
        for label, operator in operators.items():
            self._integrate(store, f"da_{label}", spun_up, operator=operator)
        self._validate(store, operators)
        store.mark_complete()
        return store

    def _write_inputs(self, store: EnsembleStore) -> None:
        period = np.asarray(self.period, dtype="datetime64[ns]")
        site_coords = {"lat": ("site", self.data.sites["lat"].values), "lon": ("site", self.data.sites["lon"].values)}
        if "site_name" in self.data.sites:  # shown by the report instead of "site <id>"
            site_coords["site_name"] = ("site", self.data.sites["site_name"].values.astype(str))
        if not store.group_complete("observations"):
            obs = self.data.observations_on(self.period)
            lai = self.data.forcing["lai"].sel(time=period)
            ds = xr.Dataset({name: obs[name] for name in obs.data_vars})
            ds["lai"] = lai
            store.write_dataset("observations", _with_site_coords(ds, site_coords))
        insitu = self.data.insitu_on(self.period)
        if insitu is not None and not store.group_complete("insitu"):
            ds = xr.Dataset({"insitu_soil_moisture": insitu})
            store.write_dataset("insitu", _with_site_coords(ds, site_coords))
        if self.data.truth is not None and not store.group_complete("truth"):
            store.write_dataset("truth", _with_site_coords(self.data.truth.sel(time=period), site_coords))

    def _spinup(self, store: EnsembleStore) -> dict[str, np.ndarray]:
        """Run the perturbed spin-up (not stored day by day) and keep its final state."""
        if store.group_complete("spinup_state"):
            return store.read_state("spinup_state")
        state = self.model.initial_state(self.members)
        perturber_state = self.perturber.initial_state(self.data.site_ids, self.members)
        days = np.arange(self.spinup_start, self.start)
        for day in tqdm(days, desc=f"{self.name}: spin-up", unit="day", disable=not self.progress):
            forcing, perturber_state = self.perturber.perturb(self._forcing_day(day), self._day_index(day), perturber_state)
            state, _ = self.model.step(state, forcing)
        checkpoint = self._checkpoint(state, perturber_state)
        sizes = {"member": self.members, "site": len(self.data.site_ids), "layer": len(self._layer_names())}
        store.write_state("spinup_state", checkpoint, sizes=sizes)
        return checkpoint

    def _integrate(
        self, store: EnsembleStore, name: str, spun_up: Mapping[str, np.ndarray], operator: ObservationOperator | None
    ) -> None:
        """Integrate one run group (open loop when ``operator`` is None) block by block."""
        if store.group_complete(name):
            return
        period = self.period
        layer_names = self._layer_names()
        per_member = {key: ("time", "member", "site") for key in FLUXES + ("surface_soil_moisture",)}
        if layer_names:
            per_member["layer_soil_moisture"] = ("time", "member", "site", "layer")
        if operator is not None:
            for key in ("analysis_increment", "clipped_water", "predicted_backscatter", "forecast_surface_soil_moisture", "analysis_surface_soil_moisture"):
                per_member[key] = ("time", "member", "site")
            for key in ("innovation", "normalised_innovation", "observation_error_variance", "analysis_increment_surface"):
                per_member[key] = ("time", "site")
        store.create_run(
            name,
            times=period,
            coords=_member_coords(self.data, self.members, layer_names),
            variables=per_member,
            chunk_days=self.chunk_days,
            attributes={"run": name, "operator": "none" if operator is None else type(operator).__name__},
        )
        done, checkpoint = store.load_progress(name)
        state, perturber_state = self._restore(checkpoint if checkpoint is not None else spun_up)
        if hasattr(self.filter, "initial_state"):  # per-site filter memory: fresh per run, resumed from checkpoints
            memory = {key[len(FILTER_PREFIX):]: value for key, value in (checkpoint or {}).items() if key.startswith(FILTER_PREFIX)}
            self.filter.state = memory or None
        observations = self.data.observations_on(period)["backscatter"].values  # (time, site)
        operator_series = self._operator_series(period) if operator is not None else {}
        bar = tqdm(total=len(period), initial=done, desc=f"{self.name}: {name}", unit="day", disable=not self.progress)
        for block_start in range(done, len(period), self.chunk_days):
            block_end = min(block_start + self.chunk_days, len(period))
            buffers = {
                key: np.full((block_end - block_start, *self._shape(dims, layer_names)), np.nan)
                for key, dims in per_member.items()
            }
            for offset, t in enumerate(range(block_start, block_end)):
                day = period[t]
                forcing, perturber_state = self.perturber.perturb(self._forcing_day(day), self._day_index(day), perturber_state)
                state, fluxes = self.model.step(state, forcing)
                if operator is not None and np.isfinite(observations[t]).any():
                    day_inputs = {name: series[t] for name, series in operator_series.items()}
                    state, diagnostics = self._analyse(state, operator, observations[t], day_inputs, self._day_index(day))
                    changes_mm = np.nan_to_num(diagnostics["analysis_increment"])  # NaN: no observation
                    for key, values in diagnostics.items():
                        buffers[key][offset] = values
                    # the increment enters the storage at the end of the day
                    fluxes = dict(fluxes, total_water_storage=fluxes["total_water_storage"] + changes_mm)
                for key in FLUXES:
                    buffers[key][offset] = fluxes[key]
                buffers["surface_soil_moisture"][offset] = self.model.surface_soil_moisture(state)
                if layer_names:
                    buffers["layer_soil_moisture"][offset] = self.model.layer_soil_moisture(state)
                bar.update(1)
            store.write_block(name, block_start, buffers)
            store.save_progress(name, block_end, self._checkpoint(state, perturber_state))
        bar.close()
        store.finish_run(name)

    def _shape(self, dims: tuple[str, ...], layer_names: tuple[str, ...]) -> tuple[int, ...]:
        sizes = {"member": self.members, "site": len(self.data.site_ids), "layer": len(layer_names)}
        return tuple(sizes[dim] for dim in dims[1:])

    def _operator_series(self, times: np.ndarray) -> dict[str, np.ndarray]:
        """Operator inputs the data provide, each ``(time, site)``: the forcing's ``lai`` (m2 m-2)
        and ``vod`` (1) where present, and ``day_of_year`` (1..366)."""
        selection = np.asarray(times, dtype="datetime64[ns]")
        series = {
            name: np.asarray(self.data.forcing[name].sel(time=selection).transpose("time", "site").values, dtype="float64")
            for name in ("lai", "vod")
            if name in self.data.forcing
        }
        series["day_of_year"] = np.repeat(_day_of_year(selection)[:, np.newaxis], len(self.data.site_ids), axis=1)
        return series

    def _operator_day_inputs(self, forcing: Mapping[str, np.ndarray], day: np.datetime64) -> dict[str, np.ndarray]:
        """One day of :meth:`_operator_series` from that day's forcing ``(site,)``."""
        inputs = {name: np.asarray(forcing[name], dtype="float64") for name in ("lai", "vod") if name in forcing}
        inputs["day_of_year"] = np.full(len(self.data.site_ids), _day_of_year(np.array([day]))[0])
        return inputs

    def _analyse(
        self, state: dict, operator: ObservationOperator, observed: np.ndarray, day_inputs: Mapping[str, np.ndarray], day_index: int
    ) -> tuple[dict, dict[str, np.ndarray]]:
        """One analysis at the end of the model day (docs/model/filters.md c); ``day_inputs`` holds the
        operator inputs of the data for this day, each ``(site,)``."""
        forecast_sm = self.model.surface_soil_moisture(state)  # (member, site)
        available = {name: np.broadcast_to(values, forecast_sm.shape) for name, values in day_inputs.items()}
        available["soil_moisture"] = forecast_sm
        predicted = operator.predict(operator.select_inputs(available))  # (member, site)
        states = self.model.analysis_variables(state)  # (site, member, n_state)
        error_variance = np.asarray(operator.error_variance, dtype="float64")
        rng = None
        if self.filter.needs_rng:  # keyed by site and day: independent of how sites are chunked
            rng = np.array(
                [stream(self.entropy, site, Purpose.OBSERVATION_PERTURBATION, day_index) for site in self.data.site_ids],
                dtype=object,
            )
        analysed = self.filter.analyse(
            states, predicted.T[..., None], observed[:, None], error_variance[:, None], rng=rng
        )
        new_state, changes = self.model.set_analysis_variables(state, analysed)
        analysis_sm = self.model.surface_soil_moisture(new_state)
        filter_diagnostics = self.filter.diagnostics  # of this call; observation axis of size 1
        used_error_variance = getattr(self.filter, "used_error_variance", None)  # adaptive R
        if used_error_variance is not None:
            error_variance = np.asarray(used_error_variance)[:, 0]
        has_obs = np.isfinite(observed)
        diagnostics = {
            "analysis_increment": np.where(has_obs, changes["analysis_increment"], np.nan),
            "clipped_water": np.where(has_obs, changes["clipped_water"], np.nan),
            "predicted_backscatter": np.where(has_obs, predicted, np.nan),
            "forecast_surface_soil_moisture": np.where(has_obs, forecast_sm, np.nan),
            "analysis_surface_soil_moisture": np.where(has_obs, analysis_sm, np.nan),
            "innovation": filter_diagnostics.innovation[:, 0],
            "normalised_innovation": filter_diagnostics.normalised_innovation[:, 0],
            "observation_error_variance": np.where(has_obs, error_variance, np.nan),
            "analysis_increment_surface": np.where(has_obs, analysis_sm.mean(axis=0) - forecast_sm.mean(axis=0), np.nan),
        }
        return new_state, diagnostics

    def _calibrate(self, store: EnsembleStore) -> dict[str, ObservationOperator]:
        """Fit each operator per site on open-loop ensemble-mean SM and LAI against S1.

        A finished calibration group is reused as it is (operators rebuilt from their stored
        parameters, no refit), so a resumed run predicts with exactly the stored operators.
        """
        if store.group_complete("calibration"):
            calibration = store.read("calibration").load()
            return {
                label: type(operator).from_dataset(operator_dataset(calibration, label))
                for label, operator in self.operators.items()
            }
        open_loop = store.read("open_loop")
        mean_sm = store.ensemble_mean("open_loop", "surface_soil_moisture").transpose("site", "time").values
        obs = store.read("observations")
        backscatter = obs["backscatter"].transpose("site", "time").values  # dB, NaN = no observation
        available = {name: series.T for name, series in self._operator_series(open_loop["time"].values).items()}
        available["lai"] = obs["lai"].transpose("site", "time").values
        available["soil_moisture"] = mean_sm
        fitted = {}
        pieces = []
        for label, operator in self.operators.items():
            operator = copy.deepcopy(operator)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                inputs = operator.select_inputs(available)
                fitted[label] = operator.fit(
                    inputs, backscatter, site_ids=self.data.site_ids,
                    progress=f"{self.name}: calibrate {label}" if self.progress else None,
                )
            site_warnings = sorted({str(item.message) for item in caught})
            for line in calibration_warning_summary(label, caught):  # one line per kind; all kept in the store
                warnings.warn(line, stacklevel=2)
            parameters = fitted[label].to_dataset()
            attributes = {f"{label}_operator_attributes": dict(parameters.attrs), f"{label}_warnings": site_warnings}
            parameters = parameters.rename({name: f"{label}_{name}" for name in parameters.data_vars})
            parameters.attrs = attributes
            simulated = fitted[label].predict({name: values.T for name, values in inputs.items()})  # (time, site)
            parameters[f"{label}_simulated_backscatter"] = xr.DataArray(
                simulated,
                dims=("time", "site"),
                coords={"time": open_loop["time"].values, "site": self.data.site_ids},
                attrs={"units": "dB", "long_name": f"{label} backscatter simulated from open-loop mean soil moisture"},
            )
            pieces.append(parameters)
        if pieces:
            store.write_dataset("calibration", xr.merge(pieces, combine_attrs="no_conflicts"))
        return fitted

    def _validate(self, store: EnsembleStore, operators: Mapping[str, ObservationOperator]) -> None:
        if store.group_complete("validation") or self.validator is None:
            return
        validation = self.validator(store, list(operators), min_samples=self.min_samples)
        if isinstance(validation, xr.DataTree):  # tidy tables, one sub-group per dimension set
            store.write_tree("validation", validation)
        else:
            store.write_dataset("validation", validation)


def _day_of_year(times: np.ndarray) -> np.ndarray:
    """Day of the year, 1..366, of each date (float, as the operator inputs)."""
    days = np.asarray(times).astype("datetime64[D]")
    return (days - days.astype("datetime64[Y]")).astype("int64") + 1.0


def calibration_warning_summary(label: str, caught) -> list[str]:
    """One line per kind of calibration warning (``CalibrationWarning.kind``, else the class)."""
    counts: dict[str, set[str]] = {}
    for item in caught:
        kind = getattr(item.category, "kind", None) or item.category.__name__
        counts.setdefault(kind, set()).add(str(item.message))
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


def _with_site_coords(ds: xr.Dataset, coords: Mapping[str, tuple[str, np.ndarray]]) -> xr.Dataset:
    ds = ds.assign_coords({name: (dim, values) for name, (dim, values) in coords.items()})
    ds["lat"].attrs = {"standard_name": "latitude", "long_name": "latitude", "units": "degrees_north"}
    ds["lon"].attrs = {"standard_name": "longitude", "long_name": "longitude", "units": "degrees_east"}
    ds["site"].attrs = {"long_name": "site identifier", "units": "1"}
    if "site_name" in ds.coords:
        ds["site_name"].attrs = {"long_name": "site name", "units": "1"}
    ds["time"].attrs = {"standard_name": "time", "long_name": "time"}
    return ds

