"""The engine: one way to run every experiment, in-process or on dask.distributed.

The driver (:func:`run_experiment`)

1. opens or creates the store and plans the tasks: chunks of ``sites_per_task`` sites (tiles of
   about that many cells on a grid, see :mod:`s1da.framework.layout`); a resumed store keeps
   the plan it was started with;
2. creates the template of every group the tasks write (all arrays, coordinates, attributes),
   with store chunks aligned with the tasks, and one progress record per task;
3. runs every unfinished task with :func:`s1da.framework.tasks.run_task`, in this process or
   on a dask cluster (``workers``: a ``distributed.LocalCluster`` of single-threaded worker
   processes; ``scheduler``/``client``: an existing cluster), with one progress bar over all
   tasks' days; each task ends by scoring the validation of its own tile;
4. assembles the network-level groups: the calibration table from every task's fits, the
   validation tables pooled from the tiles' scores, and marks the store complete.

Tasks only write their own chunks and their own records, so they never contend, and every
number is a function of the site alone (random streams are keyed by site id): the finished
store holds the same values and attributes, bit for bit, for any worker count, any
``sites_per_task``, in-process or on a cluster, and after any resume.  Its chunking follows the
tasks, so the Zarr chunk shapes do follow ``sites_per_task``.  A task whose worker dies is
rescheduled by dask and continues from its last checkpoint.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from s1da.framework import store_regions
from s1da.framework.experiment import MODEL_PREFIX, Experiment, calibration_warning_summary, run_variables
from s1da.framework.layout import GridLayout, SiteLayout, Task, default_sites_per_task, layout_for
from s1da.framework.output_policy import statistic_attributes
from s1da.framework.store import CHECKSUMMED, EnsembleStore, add_time_coordinate
from s1da.framework.store_regions import TaskRecords
from s1da.framework.tasks import input_datasets, input_dims, run_task, stage_offset, task_stages
from s1da.framework.variables import attributes as cf_attributes

POLL_SECONDS = 2.0
"""How often the driver reads the running tasks' records for the progress bar (a finished task is
seen at once: the wait returns on the first completion)."""
STAGE_LABELS = {"spinup": "spin-up"}
"""How the progress bar names a task stage (others by their own name: open_loop, calibration, da_wcm, ...)."""
STATE_SITE_CHUNK = 4096
"""Sites per chunk of the network-level state arrays (written task by task)."""
WORKER_ENVIRONMENT = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""Environment of a local cluster's workers: a worker is one core, so libraries that would start
thread pools of their own (numba's threaded kernels, BLAS) use one thread in it."""
WORKER_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "268435456", "MALLOC_ARENA_MAX": "2"}
"""glibc's allocator settings for a local cluster's workers, set before they start (a nanny's
``pre-spawn-environ``).  dask's default ``MALLOC_TRIM_THRESHOLD_=65536`` also freezes glibc's
mmap threshold at 128 KiB, so every temporary array of a day's step (a few MB: member x cell)
is mapped and unmapped again and its pages faulted in anew: measured on one 4,096-cell task,
sys time 8 -> 38 s and 0.25 -> 19 M page faults, the task 1.4x slower.  32 MiB (glibc's
largest dynamic threshold) keeps those arrays in the heap; trimming above 256 MiB still
returns memory after a task.  Two arenas instead of glibc's default of 8 per core: each thread
that allocates (the task's, zarr's codec pool) would otherwise keep its own heap of freed blocks;
on a 4,096-cell task the worker's peak went 1.45 -> 1.14 GB at the same speed (docs/scale.md,
"Worker memory")."""


def run_experiment(
    experiment: Experiment,
    path: str | Path,
    *,
    overwrite: bool = False,
    workers: int | str | None = None,
    scheduler: str | None = None,
    client: Any = None,
    sites_per_task: int | None = None,
) -> EnsembleStore:
    """Run (or resume) ``experiment`` into the store at ``path``; see the module docstring."""
    store = experiment.open_store(path, overwrite=overwrite)
    layout = layout_for(experiment.data)
    records = TaskRecords(store)
    sample = _input_sample(experiment)
    region_groups = _region_groups(experiment, sample)
    network_groups = ["spinup_state"] + (["calibration"] if experiment.operators else [])
    if store.is_complete:
        return store
    scored: dict[int, Any] = {}  # the validation scores of the tiles of the tasks run now
    with _executor(workers, scheduler, client) as pool:
        if not all(store.group_complete(name) for name in region_groups + network_groups):
            n_workers = 1 if pool is None else max(1, len(pool.scheduler_info().get("workers", {})))
            tasks = _plan(experiment, sample, store, layout, records, sites_per_task, n_workers)
            pending = [task for task in tasks if not records.status(task.index).get("complete")]
            scored = _execute(experiment, store, records, tasks, pending, pool)
            for name in region_groups:
                if not store.group_complete(name):
                    store_regions.finish_group(store, name)
        _finalize(experiment, store, layout, records, pool, scored)
    return store


def _input_sample(experiment: Experiment) -> Experiment:
    """The experiment on its first site only, whose inputs give the input groups' variables,
    attributes and dtypes (deferred data: built for that site; the model is not cut)."""
    if experiment.deferred:
        return experiment.for_sites(np.array([0])).built()
    return attrs.evolve(experiment, data=experiment.data.subset(np.array([0])))


# ---------------------------------------------------------------------- planning
def _plan(experiment, sample, store, layout, records, requested: int | None, n_workers: int) -> list[Task]:
    """The tasks of this store: the stored plan when resuming, else a new one with its templates."""
    records.drop_partial()
    if records.exists():
        stored = int(records.plan()["sites_per_task"])
        if requested is not None and requested != stored:
            print(f"s1da: resuming with the stored chunking of {stored} sites per task (not {requested})", file=sys.stderr)
        return layout.tasks(stored)
    per_task = requested or experiment.sites_per_task or default_sites_per_task(experiment.data, n_workers)
    tasks = layout.tasks(per_task)
    if len(tasks) > 1 and not experiment.can_subset:
        raise ValueError(f"{type(experiment.model).__name__} cannot run a subset of sites; set sites_per_task >= {len(experiment.data.site_ids)}")
    plan = {"sites_per_task": per_task, "layout": "grid" if layout.gridded else "site"}
    for name in _region_groups(experiment, sample):
        if store.has_group(name) and not store.group_complete(name):
            del store._root()[name]  # of an earlier plan (its records were lost): chunked otherwise
    _create_templates(experiment, sample, store, layout, plan, tasks)
    records.create(plan, [task.sites for task in tasks])
    return tasks


def _region_groups(experiment: Experiment, sample: Experiment) -> list[str]:
    """The groups the tasks write region by region (``sample``: the experiment on one site)."""
    return list(input_datasets(sample)) + ["open_loop"] + [f"da_{label}" for label in experiment.operators]


def _create_templates(
    experiment: Experiment, sample: Experiment, store: EnsembleStore, layout: SiteLayout | GridLayout, plan: dict, tasks: list[Task]
) -> None:
    """Every group the tasks write, as full templates (idempotent); ``sample`` is the experiment
    on one site, whose inputs name the input groups' variables, attributes and dtypes."""
    policy = experiment.output_policy
    layer_names = experiment._layer_names()
    chunks = {"time": experiment.chunk_days, **layout.chunks(plan)}
    coords = layout.coords(experiment.data)
    empty = layout.empty_regions(plan, tasks)
    common = dict(times=experiment.period, chunks=chunks, grid_mapping=layout.gridded, empty_regions=empty)
    input_coords = dict(coords)
    if not layout.gridded and "site_name" in experiment.data.sites:  # shown by the report instead of "site <id>"
        names = experiment.data.sites["site_name"].values.astype(str)
        input_coords["site_name"] = (("site",), names, {"long_name": "site name", "units": "1"})
    for name, dataset in input_datasets(sample).items():
        variables = {key: (layout.dims(input_dims(variable)), dict(variable.attrs), str(variable.dtype)) for key, variable in dataset.data_vars.items()}
        store_regions.create_chunked_group(store, name, coords=input_coords, variables=variables, attributes={"group_kind": "static"}, **common)
    members = policy.member_coordinate(experiment.members)
    run_coords = dict(coords)
    if members.size:
        run_coords["member"] = (("member",), members, {"standard_name": "realization", "long_name": "ensemble member", "units": "1"})
    if layer_names:
        run_coords["layer"] = (("layer",), np.asarray(layer_names), {"long_name": "land-cover fraction and soil layer", "units": "1"})
    if policy.quantiles:
        run_coords["quantile"] = (("quantile",), np.asarray(policy.quantiles), {"long_name": "ensemble quantile", "units": "1"})
    encoding = policy.encoding()
    for label, operator in {"open_loop": None, **{f"da_{k}": v for k, v in experiment.operators.items()}}.items():
        stored = policy.stored_variables(run_variables(layer_names, operator is not None), experiment.members)
        variables = {key: (layout.dims(dims), _attributes(key, dims), encoding["dtype"]) for key, dims in stored.items()}
        attributes = {"run": label, "operator": "none" if operator is None else type(operator).__name__, "group_kind": "run", "chunk_days": experiment.chunk_days}
        store_regions.create_chunked_group(
            store, label, coords=run_coords, variables=variables, attributes=attributes, compressors=encoding["compressors"], **common
        )


def _attributes(name: str, dims: tuple[str, ...]) -> dict[str, str]:
    for statistic in ("_mean", "_std", "_quantile"):
        if name.endswith(statistic) and "member" not in dims:
            return statistic_attributes(name, cf_attributes(name[: -len(statistic)]))
    return cf_attributes(name)


# ---------------------------------------------------------------------- running
@contextlib.contextmanager
def _executor(workers: int | str | None, scheduler: str | None, client: Any) -> Iterator[Any]:
    """None (in-process), or a ``distributed.Client`` of the cluster to run on."""
    if client is not None:
        yield client
        return
    if scheduler is None and workers is None:
        yield None
        return
    import distributed

    if scheduler is not None:
        with distributed.Client(scheduler) as joined:
            joined.wait_for_workers(1, timeout=60)
            print(f"s1da: joined {scheduler}; dashboard {joined.dashboard_link}", file=sys.stderr)
            yield joined
        return
    n_workers = (os.cpu_count() or 1) if workers == "auto" else int(workers)
    import dask

    spawn_environment = {**dask.config.get("distributed.nanny.pre-spawn-environ", default={}), **WORKER_MALLOC}
    with warnings.catch_warnings(), dask.config.set({"distributed.nanny.pre-spawn-environ": spawn_environment}), _environ(WORKER_MALLOC):
        warnings.simplefilter("ignore")  # e.g. the dashboard port was taken and another was chosen
        cluster = distributed.LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR,
            env=WORKER_ENVIRONMENT,
        )
    with cluster, distributed.Client(cluster) as local:
        print(f"s1da: {n_workers} local workers; dashboard {local.dashboard_link}", file=sys.stderr)
        yield local


@contextlib.contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` holds ``values`` inside (restored after): a nanny takes a variable of its
    pre-spawn environment from ``os.environ`` when set there, and an earlier cluster in this
    process leaves dask's defaults there."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _execute(
    experiment: Experiment, store: EnsembleStore, records: TaskRecords, tasks: list[Task], pending: list[Task], pool: Any
) -> dict[int, Any]:
    """Run the ``pending`` tasks; returns the validation scores of their tiles, by task index."""
    stages = task_stages(list(experiment.operators))
    per_task = stage_offset(experiment, stages, "done")
    done = {task.index: per_task for task in tasks}
    done.update({task.index: 0 for task in pending})
    suffix = f" ({len(tasks)} tasks)" if len(tasks) > 1 else ""
    bar = tqdm(total=per_task * len(tasks), initial=sum(done.values()), desc=f"{experiment.name}{suffix}", unit="day", disable=not experiment.progress)
    shown = {"stage": None}

    def report(index: int, days: int, stage: str | None = None) -> None:
        if stage is not None and stage != shown["stage"]:  # the stage a task (the latest reporting) is in
            shown["stage"] = stage
            bar.set_description(f"{experiment.name}: {STAGE_LABELS.get(stage, stage)}{suffix}", refresh=True)
        bar.update(days - done[index])
        done[index] = days

    scored: dict[int, Any] = {}

    def collect(index: int, scores: Any) -> None:
        if scores is not None:
            scored[index] = scores

    with bar:
        if pool is None:
            for task in pending:
                collect(*run_task(experiment.for_sites(task.sites), task, str(store.path), functools.partial(report, task.index)))
        else:
            _execute_on_cluster(experiment, store, records, stages, pending, pool, report, collect)
    return scored


def _submission_window(client) -> int:
    """How many units of work the driver keeps submitted: two per worker, so each has the next
    at hand while the data of the others are not all in flight."""
    return 2 * max(1, len(client.scheduler_info().get("workers", {})))


def _execute_on_cluster(experiment, store, records, stages, pending: list[Task], client, report, collect) -> None:
    """Submit the tasks, a few per worker at a time (so the chunks' data are not all in flight);
    ``collect(index, scores)`` receives each task's result."""
    import distributed

    queue = list(pending)
    in_flight: dict[Any, Task] = {}
    window = _submission_window(client)
    total = stage_offset(experiment, stages, "done")
    while queue or in_flight:
        while queue and len(in_flight) < window:
            task = queue.pop(0)
            chunk = experiment.for_sites(task.sites)
            key = f"s1da-task-{task.index}-{os.urandom(4).hex()}"
            in_flight[client.submit(run_task, chunk, task, str(store.path), pure=False, key=key)] = task
        try:
            finished = distributed.wait(list(in_flight), timeout=POLL_SECONDS, return_when="FIRST_COMPLETED").done
        except TimeoutError:
            finished = set()
        for future in finished:
            task = in_flight.pop(future)
            collect(*future.result())  # re-raises a task's error here
            report(task.index, total, "done")
        for task in in_flight.values():  # the running tasks' records: progress at block granularity
            status = records.status(task.index)
            if status.get("stage") in stages:
                report(task.index, stage_offset(experiment, stages, status["stage"]) + int(status.get("days_done", 0)), status["stage"])


# ---------------------------------------------------------------------- network level
def _finalize(
    experiment: Experiment, store: EnsembleStore, layout, records: TaskRecords, pool: Any = None, scored: Mapping[int, Any] | None = None
) -> None:
    """Calibration table, validation (tile by tile: the tiles the tasks of this session scored
    are pooled as they are, the others scored on ``pool`` when there is one), completion (each
    skipped when already done)."""
    labels = list(experiment.operators)
    if records.exists() and not store.group_complete("spinup_state"):
        sizes = {"member": experiment.members, "site": len(experiment.data.site_ids), "layer": len(experiment._layer_names())}
        _write_spinup_state(store, records, sizes)
    if labels and not store.group_complete("calibration"):
        simulated = functools.partial(_write_simulated, experiment, records)
        store.write_dataset("calibration", _assemble_calibration(experiment, records), fill=simulated)
    if not store.group_complete("validation"):
        tiles = [task.region for task in layout.tasks(int(records.plan()["sites_per_task"]))] if records.exists() else None
        known = {"scored": scored} if scored and tiles is not None else {}
        validation = experiment._validate(store, labels, tiles=tiles, mapper=_tile_mapper(pool), **known)  # gridded stores by land cell
        if isinstance(validation, xr.DataTree):  # tidy tables, one sub-group per dimension set
            store.write_tree("validation", validation)
        elif validation is not None:
            store.write_dataset("validation", validation)
    records.remove()
    store.mark_complete()


def _tile_mapper(pool: Any):
    """``mapper(function, items)`` running ``function`` on every item on the cluster of ``pool``
    (a few at a time per worker), yielding the results in item order; None in-process."""
    if pool is None:
        return None

    def mapper(function, items: list) -> Iterator[Any]:
        window = _submission_window(pool)
        futures = [pool.submit(function, item, pure=False) for item in items[:window]]
        for position in range(len(items)):
            if position + window < len(items):
                futures.append(pool.submit(function, items[position + window], pure=False))
            yield futures[position].result()
            futures[position] = None  # the driver keeps each tile's scores once, in its own list

    return mapper


def _assemble_calibration(experiment: Experiment, records: TaskRecords) -> xr.Dataset:
    """Every task's fitted operators, in site-table order, in the layout of one network-wide fit:
    the per-site parameter tables (the backscatter they simulate, ``(time, site)``, is written
    task by task by :func:`_write_simulated`, so the driver never holds it for the network)."""
    positions = records.site_positions()
    order = np.argsort(np.concatenate(positions), kind="stable")
    pieces = []
    for label in experiment.operators:
        parts = [_parameters_only(records.read_dataset(index, f"calibration_{label}")) for index in range(len(positions))]
        combined = _concat_sites(parts).isel(site=order)
        found = sorted({tuple(pair) for part in parts for pair in part.attrs.get("calibration_warnings", [])})
        for line in calibration_warning_summary(label, found):  # one line per kind; all kept in the store
            warnings.warn(line, stacklevel=2)
        parameters = combined.rename({name: f"{label}_{name}" for name in combined.data_vars})
        operator_attributes = {key: value for key, value in parts[0].attrs.items() if key != "calibration_warnings"}
        parameters.attrs = {f"{label}_operator_attributes": operator_attributes, f"{label}_warnings": sorted({message for _, message in found})}
        pieces.append(parameters)
    return xr.merge(pieces, combine_attrs="no_conflicts")


def _parameters_only(calibration: xr.Dataset) -> xr.Dataset:
    """A task's calibration without the simulated backscatter (and its time axis)."""
    parameters = calibration.drop_vars("simulated_backscatter")
    if "time" in parameters.coords and not any("time" in variable.dims for variable in parameters.data_vars.values()):
        parameters = parameters.drop_vars("time")
    return parameters


def _write_simulated(experiment: Experiment, records: TaskRecords, group) -> None:
    """``<label>_simulated_backscatter (time, site)`` of the calibration group, task by task in
    site-table order (site chunks of :data:`STATE_SITE_CHUNK`, whatever the tasks)."""
    positions = records.site_positions()
    n_site = sum(len(sites) for sites in positions)
    period = experiment.period
    add_time_coordinate(group, period)
    for label in experiment.operators:
        array = group.create_array(
            f"{label}_simulated_backscatter", shape=(len(period), n_site), chunks=(len(period), min(n_site, STATE_SITE_CHUNK)),
            dtype="float64", fill_value=np.nan, dimension_names=["time", "site"], compressors=CHECKSUMMED,
            attributes={"units": "dB", "long_name": f"{label} backscatter simulated from open-loop mean soil moisture"},
        )
        read = functools.partial(records.read_variable, name=f"calibration_{label}", variable="simulated_backscatter")
        write_site_chunks({"simulated": (array, 1)}, positions, lambda index: {"simulated": read(index)})


def _write_spinup_state(store: EnsembleStore, records: TaskRecords, sizes: Mapping[str, int]) -> None:
    """The network's state at the end of the spin-up, in site-table order, written task by task
    (the driver holds one task's state at a time, not the network's).

    Model arrays are ``(member, site, ...)`` (the :class:`LandModel` convention); perturber
    arrays whose leading axis is the task's sites in every task are written along it, the
    others (e.g. the ensemble size) are the same in every task and written once.  Site axes are
    chunked in :data:`STATE_SITE_CHUNK` sites whatever the tasks, so the group does not depend
    on the chunking.
    """
    positions = records.site_positions()
    layouts = [records.array_layout(index, "spinup_state") for index in range(len(positions))]
    n_site = sum(len(sites) for sites in positions)
    axes: dict[str, int | None] = {}
    for key, (shape, _) in layouts[0].items():
        if key.startswith(MODEL_PREFIX):
            axes[key] = 1
        elif all(layout[key][0] and layout[key][0][0] == len(sites) for layout, sites in zip(layouts, positions)):
            axes[key] = 0
        else:
            axes[key] = None
    full, chunks = {}, {}
    for key, (shape, dtype) in layouts[0].items():
        axis = axes[key]
        full[key] = (shape if axis is None else shape[:axis] + (n_site,) + shape[axis + 1:], dtype)
        if axis is not None:
            chunks[key] = shape[:axis] + (min(n_site, STATE_SITE_CHUNK),) + shape[axis + 1:]
    group = store.start_state("spinup_state", full, sizes, chunks)
    first = records.read_arrays(0, "spinup_state")
    for key, axis in axes.items():
        if axis is None:  # the same in every task
            group[key][...] = first[key]
    along = {key: (group[key], axis) for key, axis in axes.items() if axis is not None}
    write_site_chunks(along, positions, lambda index: records.read_arrays(index, "spinup_state"))
    store.finish_state("spinup_state")


def write_site_chunks(arrays: Mapping[str, tuple[Any, int]], positions: list[np.ndarray], read_part) -> None:
    """Fill the zarr ``arrays`` (``key -> (array, site axis)``, one site chunk size for all)
    with every task's part (``read_part(index)``: ``key -> values``, the task's sites along the
    axis, at site-table ``positions[index]``), one site chunk at a time: each chunk is written
    once and whole (a task's sites are scattered over the chunks of a grid, and writing task by
    task would rewrite every chunk once per task), and a task's part is held only while a chunk
    still needs it (the tasks of about one row of tiles on a grid)."""
    first_array, first_axis = next(iter(arrays.values()))
    n_site, step = first_array.shape[first_axis], first_array.chunks[first_axis]
    lowest = [int(sites.min()) if len(sites) else n_site for sites in positions]
    pending = sorted(range(len(positions)), key=lowest.__getitem__)
    held: dict[int, Mapping[str, np.ndarray]] = {}
    for start in range(0, n_site, step):
        stop = min(start + step, n_site)
        while pending and lowest[pending[0]] < stop:
            index = pending.pop(0)
            held[index] = read_part(index)
        for key, (array, axis) in arrays.items():
            shape = array.shape[:axis] + (stop - start,) + array.shape[axis + 1:]
            block = np.full(shape, np.nan if array.dtype.kind == "f" else 0, dtype=array.dtype)
            for index, part in held.items():
                inside = (positions[index] >= start) & (positions[index] < stop)
                where = (slice(None),) * axis + (np.asarray(positions[index])[inside] - start,)
                block[where] = np.compress(inside, part[key], axis=axis)
            array[(slice(None),) * axis + (slice(start, stop),)] = block
        held = {index: part for index, part in held.items() if int(np.max(positions[index])) >= stop}


def _concat_sites(parts: list[xr.Dataset]) -> xr.Dataset:
    """Concatenate along ``site``; dimensions without coordinates whose size differs between
    tasks (e.g. the SVR's support vectors) are zero-padded to the largest, as an operator pads
    them across the sites of one fit."""
    padded_sizes: dict[str, int] = {}
    for part in parts:
        for dim, size in part.sizes.items():
            if dim != "site" and dim not in part.coords:
                padded_sizes[dim] = max(padded_sizes.get(dim, 0), size)
    padded = []
    for part in parts:
        widths = {dim: (0, size - part.sizes[dim]) for dim, size in padded_sizes.items() if dim in part.dims and part.sizes[dim] < size}
        padded.append(part.pad(widths, mode="constant", constant_values=0) if widths else part)
    return xr.concat(padded, dim="site", data_vars="minimal", coords="minimal", compat="override", combine_attrs="override")
