"""One task of the engine: every stage of an experiment for one chunk of sites.

:func:`run_task` is the unit of work, the same function in-process and on a dask worker.  It
runs, for the sites of its :class:`~s1da.framework.layout.Task`, the stages

``inputs`` (observations, in situ, truth) -> ``spinup`` -> ``open_loop`` -> ``calibration``
-> ``da_<label>`` for each operator,

writing its own region of every group (the driver created the templates) and its own progress
record (:class:`~s1da.framework.store_regions.TaskRecords`).  A task started again (a resume,
or dask rescheduling it after its worker died) continues from its last checkpoint.

:class:`ChunkRun` is the day-level stepping API underneath: one run of one chunk advanced one
day per :meth:`ChunkRun.step_day`, for callers that drive the experiment day by day (a BMI).
"""

from __future__ import annotations

import ctypes
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import xarray as xr

from s1da.framework import store_regions
from s1da.framework.experiment import FLUXES, Experiment, run_variables
from s1da.framework.interfaces import ObservationOperator
from s1da.framework.layout import Task, layout_for
from s1da.framework.output_policy import BlockOutputs, member_mean
from s1da.framework.store import EnsembleStore, StoreWarning
from s1da.framework.store_regions import TaskRecords

CALIBRATION_INPUT = "calibration_input"
"""Per-task series ``(time, site)``: the open-loop ensemble-mean surface soil moisture (float64)."""


def task_results(labels: list[str]) -> list[str]:
    """The finished results a task keeps in its record (read by later stages and the driver)."""
    return ["spinup_state"] + [f"calibration_{label}" for label in labels]


class ChunkRun:
    """One run of one chunk of sites, advanced one day per :meth:`step_day`.

    ``days`` are the days to integrate, ``checkpoint`` the model and perturber state before the
    first of them (:meth:`Experiment._checkpoint` layout).  With an ``operator`` each day with
    an observation ends with an analysis (a DA run); without one it is an open loop or a
    spin-up.  Example, the open loop of sites 0..9 from the spun-up state ``spun_up``::

        run = ChunkRun(experiment.for_sites(np.arange(10)), experiment.period, spun_up)
        while not run.finished:
            outputs = run.step_day()  # {"surface_soil_moisture": (member, site), ...}
    """

    def __init__(
        self,
        experiment: Experiment,
        days: np.ndarray,
        checkpoint: Mapping[str, np.ndarray],
        operator: ObservationOperator | None = None,
        *,
        days_done: int = 0,
    ):
        self.experiment = experiment
        self.days = np.asarray(days, dtype="datetime64[D]")
        self.operator = operator
        self.days_done = int(days_done)
        self.state, self.perturber_state = experiment._restore(checkpoint)
        experiment._restore_filter_memory(checkpoint, analysing=operator is not None)
        if operator is not None:
            self._observed = experiment.data.observations_on(self.days)["backscatter"].transpose("time", "site").values

    @classmethod
    def initial(cls, experiment: Experiment, days: np.ndarray) -> ChunkRun:
        """A run from the model's initial state and fresh perturbation memory (the spin-up)."""
        state = experiment.model.initial_state(experiment.members)
        perturber_state = experiment.perturber.initial_state(experiment.data.site_ids, experiment.members)
        return cls(experiment, days, experiment._checkpoint(state, perturber_state))

    @property
    def n_sites(self) -> int:
        return len(self.experiment.data.site_ids)

    @property
    def finished(self) -> bool:
        return self.days_done >= len(self.days)

    @property
    def day(self) -> np.datetime64:
        """The day the next :meth:`step_day` integrates."""
        return self.days[self.days_done]

    def checkpoint(self) -> dict[str, np.ndarray]:
        """The state to continue from after the days done so far."""
        return self.experiment._checkpoint(self.state, self.perturber_state)

    def source_inputs(self) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        """The data's forcing ``(site,)`` and observed backscatter ``(site,)`` (None outside DA runs) of the next day."""
        observed = self._observed[self.days_done].copy() if self.operator is not None else None
        return self.experiment._forcing_day(self.day), observed

    def step_day(
        self, outputs: bool = True, *, forcing: Mapping[str, np.ndarray] | None = None, observed: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Integrate one day (and analyse at its end); return its outputs, ``(member, site)`` or ``(site,)``.

        Keys are those of :func:`~s1da.framework.experiment.run_variables`; DA diagnostics are
        present only on days with an observation.  ``outputs=False`` skips them (spin-up).
        ``forcing`` (arrays ``(site,)``) replaces variables of the data's forcing and
        ``observed`` (``(site,)`` dB) the data's backscatter of that day (a BMI's caller).
        """
        if self.finished:
            raise IndexError(f"the run ended on {self.days[-1]}")
        experiment, day = self.experiment, self.day
        day_forcing = experiment._forcing_day(day)
        if forcing is not None:
            day_forcing = {**day_forcing, **forcing}
        member_forcing, self.perturber_state = experiment.perturber.perturb(
            day_forcing, experiment._day_index(day), self.perturber_state
        )
        self.state, fluxes = experiment.model.step(self.state, member_forcing)
        result: dict[str, np.ndarray] = {}
        if self.operator is not None:
            observed = self._observed[self.days_done] if observed is None else np.asarray(observed, dtype="float64")
        if self.operator is not None and np.isfinite(observed).any():
            day_inputs = experiment._operator_day_inputs(day_forcing, day)
            self.state, result = experiment._analyse(self.state, self.operator, observed, day_inputs, experiment._day_index(day))
            # the increment enters the storage at the end of the day
            fluxes = dict(fluxes, total_water_storage=fluxes["total_water_storage"] + np.nan_to_num(result["analysis_increment"]))
        self.days_done += 1
        if not outputs:
            return {}
        result.update({key: fluxes[key] for key in FLUXES})
        result["surface_soil_moisture"] = experiment.model.surface_soil_moisture(self.state)
        if experiment._layer_names():
            result["layer_soil_moisture"] = experiment.model.layer_soil_moisture(self.state)
        return result


class TaskRunner:
    """Runs the stages of one task; see :func:`run_task`."""

    def __init__(self, experiment: Experiment, task: Task, store: EnsembleStore, report: Callable[[int, str], None] | None):
        self.experiment = experiment
        self.task = task
        self.store = store
        self.records = TaskRecords(store)
        self.layout = layout_for(experiment.data)  # of the chunk: its grid locates the task's cells
        self.policy = experiment.output_policy
        self.report = report or (lambda days, stage: None)
        self.stages = task_stages(list(experiment.operators))
        self._writable: dict[str, bool] = {}

    # ------------------------------------------------------------------ driving
    def run(self) -> None:
        stage, days_done, checkpoint = self.records.load(self.task.index)
        if stage == "done":
            return
        first = self.stages.index(stage) if stage in self.stages else 0
        damaged = self.records.results_intact(self.task.index, task_results(list(self.experiment.operators)))
        if damaged and first > 0:  # a finished result of this task fails verification: start the task again
            warnings.warn(f"{self.store.path}: task {self.task.index}: {damaged[0]}; the task starts again", StoreWarning, stacklevel=2)
            first, days_done, checkpoint = 0, 0, None
        for name in self.stages[first:]:
            resume = (days_done, checkpoint) if name == self.stages[first] else (0, None)
            self.report(stage_offset(self.experiment, self.stages, name) + resume[0], name)
            getattr(self, f"_stage_{name.split('_')[0]}")(name, *resume)
            following = self.stages[self.stages.index(name) + 1] if name != self.stages[-1] else "done"
            if following == "done":
                self.records.finish(self.task.index)
            else:
                self.records.save(self.task.index, following, 0, None)
        self.report(stage_offset(self.experiment, self.stages, "done"), "done")

    def _write(self, group: str, time_start: int, arrays: Mapping[str, np.ndarray], dims: Mapping[str, tuple[str, ...]]) -> None:
        if group not in self._writable:
            self._writable[group] = not self.store.group_complete(group)  # finished (a repaired store): kept as it is
        if not self._writable[group]:
            return
        n_days = {np.shape(values)[dims[key].index("time")] for key, values in arrays.items() if "time" in dims[key]}
        region = {"time": slice(time_start, time_start + max(n_days, default=0)), **self.task.region}
        stored = {key: self.layout.to_store(values, dims[key], self.task) for key, values in arrays.items()}
        store_regions.write_region(self.store, group, region, stored)

    # ------------------------------------------------------------------ stages
    def _stage_inputs(self, name: str, days_done: int, checkpoint) -> None:
        for group, dataset in input_datasets(self.experiment).items():
            dims = {key: input_dims(variable) for key, variable in dataset.data_vars.items()}
            arrays = {key: variable.transpose(*dims[key]).values for key, variable in dataset.data_vars.items()}
            self._write(group, 0, arrays, dims)

    def _stage_spinup(self, name: str, days_done: int, checkpoint) -> None:
        experiment = self.experiment
        days = experiment.spinup_days
        if checkpoint is None:
            run = ChunkRun.initial(experiment, days)
        else:
            run = ChunkRun(experiment, days, checkpoint, days_done=days_done)
        offset = stage_offset(experiment, self.stages, name)
        while not run.finished:
            block_end = min(run.days_done + experiment.chunk_days, len(days))
            while run.days_done < block_end:
                run.step_day(outputs=False)
            self.records.save(self.task.index, name, run.days_done, run.checkpoint())
            self.report(offset + run.days_done, name)
        self.records.write_arrays(self.task.index, "spinup_state", run.checkpoint())

    def _stage_open(self, name: str, days_done: int, checkpoint) -> None:
        self._integrate(name, days_done, checkpoint, operator=None)

    def _stage_da(self, name: str, days_done: int, checkpoint) -> None:
        label = name[len("da_"):]
        parameters = self.records.read_dataset(self.task.index, f"calibration_{label}")
        self._integrate(name, days_done, checkpoint, operator=self.experiment.operator_from_calibration(label, parameters))

    def _stage_calibration(self, name: str, days_done: int, checkpoint) -> None:
        experiment = self.experiment
        observations = input_datasets(experiment)["observations"]
        backscatter = observations["backscatter"].transpose("site", "time").values  # dB, NaN = no observation
        available = {name: series.T for name, series in experiment._operator_series(experiment.period).items()}
        available["lai"] = observations["lai"].transpose("site", "time").values
        available["soil_moisture"] = self.records.read_series(self.task.index, CALIBRATION_INPUT).T  # (site, time)
        for label, parameters in experiment._calibrate(available, backscatter, experiment.period).items():
            self.records.write_dataset(self.task.index, f"calibration_{label}", parameters)

    def _integrate(self, name: str, days_done: int, checkpoint, operator: ObservationOperator | None) -> None:
        """One run group, block by block: outputs through the output policy, then a checkpoint."""
        experiment = self.experiment
        period = experiment.period
        variables = run_variables(experiment._layer_names(), operator is not None)
        stored_dims = self.policy.stored_variables(variables, experiment.members)
        if checkpoint is None:
            checkpoint = self.records.read_arrays(self.task.index, "spinup_state")
            if operator is None:
                self.records.create_series(self.task.index, CALIBRATION_INPUT, (len(period), len(self.task.sites)), experiment.chunk_days)
        run = ChunkRun(experiment, period, checkpoint, operator, days_done=days_done)
        offset = stage_offset(experiment, self.stages, name)
        sizes = {"member": experiment.members, "site": len(self.task.sites), "layer": len(experiment._layer_names())}
        block = BlockOutputs(self.policy, variables, min(experiment.chunk_days, len(period)), sizes)
        mean_sm = np.empty((experiment.chunk_days, sizes["site"]))  # the calibration's input (open loop)
        while not run.finished:
            block_start = run.days_done
            block_days = min(experiment.chunk_days, len(period) - block_start)
            block.restart()  # the buffers of the previous block, written by now
            for offset_day in range(block_days):
                outputs = run.step_day()
                block.add(offset_day, outputs)
                if operator is None:
                    mean_sm[offset_day] = member_mean(outputs["surface_soil_moisture"], 0)
            self._write(name, block_start, block.finish(block_days), stored_dims)
            if operator is None:
                self.records.write_series(self.task.index, CALIBRATION_INPUT, block_start, mean_sm[:block_days])
            self.records.save(self.task.index, name, run.days_done, run.checkpoint())
            self.report(offset + run.days_done, name)


def task_stages(labels: list[str]) -> list[str]:
    stages = ["inputs", "spinup", "open_loop"]
    if labels:
        stages.append("calibration")
    return stages + [f"da_{label}" for label in labels]


def stage_days(experiment: Experiment, stage: str) -> int:
    """Days a stage integrates (0 for the ones that do not step the model)."""
    if stage == "spinup":
        return len(experiment.spinup_days)
    if stage == "open_loop" or stage.startswith("da_"):
        return len(experiment.period)
    return 0


def stage_offset(experiment: Experiment, stages: list[str], stage: str) -> int:
    """Days a task has integrated when it starts ``stage`` (``done``: all of them)."""
    before = stages if stage == "done" else stages[: stages.index(stage)]
    return sum(stage_days(experiment, name) for name in before)


def input_dims(variable: xr.DataArray) -> tuple[str, ...]:
    """Dimensions of an input variable in task order: ``(time, site)`` or ``(site,)``."""
    if not set(variable.dims) <= {"time", "site"} or "site" not in variable.dims:
        raise ValueError(f"input variable {variable.name!r} has dimensions {variable.dims}; expected (time, site) or (site,)")
    return tuple(dim for dim in ("time", "site") if dim in variable.dims)


def input_datasets(experiment: Experiment) -> dict[str, xr.Dataset]:
    """The ``(time, site)`` input groups over the experiment period: observations (+ LAI), in situ, truth."""
    data, period = experiment.data, experiment.period
    times = np.asarray(period, dtype="datetime64[ns]")
    observations = data.observations_on(period)
    groups = {"observations": xr.Dataset({name: observations[name] for name in observations.data_vars})}
    groups["observations"]["lai"] = data.forcing["lai"].sel(time=times)
    insitu = data.insitu_on(period)
    if insitu is not None:
        groups["insitu"] = xr.Dataset({"insitu_soil_moisture": insitu})
    if data.truth is not None:
        groups["truth"] = data.truth.sel(time=times)
    return groups


def run_task(
    experiment: Experiment, task: Task, store_path: str, report: Callable[[int, str], None] | None = None
) -> tuple[int, Any]:
    """Run (or continue) every stage of ``task`` on ``experiment`` (already cut to its sites;
    deferred inputs are built here, in the process that runs the task), then score its tile.

    ``report(days, stage)`` is called with the days this task has integrated so far and the stage it is in.  Returns the
    task's index and the validation scores of its region (:func:`score_own_tile`).  The function is
    the same in-process and on a dask worker.
    """
    built, store = experiment.built(), EnsembleStore(store_path)
    TaskRunner(built, task, store, report).run()
    del built  # a deferred chunk's inputs and model, freed before the tile is read back and scored
    scores = score_own_tile(experiment, task, store)
    return_freed_memory()
    return task.index, scores


def return_freed_memory() -> None:
    """Give the memory freed by a task back to the system (glibc's ``malloc_trim``; nothing
    elsewhere).  A task's day-by-day arrays below glibc's mmap threshold (32 MiB on a local
    cluster's workers: ``engine.WORKER_MALLOC``) come from the heap, and their freed blocks,
    fragmented by small long-lived allocations, stay resident: without this a worker's peak grew
    with the number of tasks it had run (docs/scale.md, "Worker memory")."""
    try:
        ctypes.CDLL(None).malloc_trim(0)  # the process's own symbols: libc's on Linux
    except (OSError, AttributeError):  # not glibc (macOS, musl): the allocator returns memory its own way
        pass


def score_own_tile(experiment: Experiment, task: Task, store: EnsembleStore) -> Any:
    """The validation scores of the task's region, computed where the task ran, while other tasks
    still run (the driver pools them when all are done); the simulated backscatter of the
    forward table comes from the task's own fits.  None when the experiment's validator does not
    score tiles (it runs whole at the end) or the store's validation is already complete."""
    scorer = getattr(experiment.validator, "score_tile", None)
    if scorer is None or store.group_complete("validation"):
        return None
    labels = list(experiment.operators)
    records = TaskRecords(store)
    simulated = {
        f"{label}_simulated_backscatter": records.read_dataset(task.index, f"calibration_{label}")["simulated_backscatter"]
        for label in labels
    }
    calibration = xr.Dataset(simulated) if labels else None
    return scorer(str(store.path), tuple(labels), int(experiment.min_samples), task.region, calibration=calibration, during_run=True)
