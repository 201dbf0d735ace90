"""Region-written groups and per-task records of an :class:`~s1da.framework.store.EnsembleStore`.

The engine (:mod:`s1da.framework.engine`) cuts an experiment into tasks over chunks of sites.
Before any task runs, the driver creates every group that tasks write as a full template
(:func:`create_chunked_group`: all arrays, coordinates and attributes, no chunk written), with
store chunks aligned with the tasks, so that each chunk of the store is written by exactly one
task (:func:`write_region`).  Concurrent tasks therefore never write one file: not a chunk, and
not an attribute dict either, since each task keeps its progress and checkpoints in its own
group ``tasks/task_NNNNN`` (:class:`TaskRecords`).  The driver removes ``tasks`` once every
task is finished and the network-level groups are written, so a finished store does not depend
on how it was cut into tasks.

Crash safety and verification follow the store's rules (:mod:`s1da.framework.store`): every
array is written with the checksummed codec (:data:`~s1da.framework.store.CHECKSUMMED`, or
the checksummed codec the output policy chose) and every chunk is written, also one of fill
values (a tile with no land cell is written with fill values when its template is made), so
``s1da inspect`` verifies a region-written store like any other.  A task records progress only
after the data and the checkpoint that belong to it are on disk; checkpoints alternate between
two slots and are resumed from only once they verify
(:func:`~s1da.framework.store.load_verified_checkpoint`); a region written by a killed task is
simply written again (the numbers are a pure function of the checkpoint).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
import zarr

from s1da.framework.store import (
    CHECKSUMMED,
    RESTART_SLOTS,
    EnsembleStore,
    StoreError,
    _json_safe,
    create_template_group,
    linked_coordinates,
    load_verified_checkpoint,
    write_checkpoint,
)
from s1da.framework.verify import verify_checkpoint

TASKS_GROUP = "tasks"

GRID_MAPPING_NAME = "crs"
WGS84_WKT = (
    'GEOGCRS["WGS 84",DATUM["World Geodetic System 1984",ELLIPSOID["WGS 84",6378137,298.257223563,'
    'LENGTHUNIT["metre",1]]],PRIMEM["Greenwich",0,ANGLEUNIT["degree",0.0174532925199433]],CS[ellipsoidal,2],'
    'AXIS["geodetic latitude (Lat)",north,ORDER[1],ANGLEUNIT["degree",0.0174532925199433]],'
    'AXIS["geodetic longitude (Lon)",east,ORDER[2],ANGLEUNIT["degree",0.0174532925199433]],ID["EPSG",4326]]'
)
GRID_MAPPING_ATTRIBUTES = {
    "grid_mapping_name": "latitude_longitude",
    "longitude_of_prime_meridian": 0.0,
    "semi_major_axis": 6378137.0,
    "inverse_flattening": 298.257223563,
    "crs_wkt": WGS84_WKT,
    "long_name": "coordinate reference system (EPSG:4326)",
    "units": "1",
}
"""CF-1.10 grid mapping of a regular lat/lon grid on WGS 84 (CF conventions, section 5.6)."""


def _fill_value(dtype: np.dtype):
    return np.nan if np.dtype(dtype).kind == "f" else 0


def create_chunked_group(
    store: EnsembleStore,
    name: str,
    *,
    times: np.ndarray,
    coords: Mapping[str, tuple[Sequence[str], np.ndarray, Mapping[str, Any]]],
    variables: Mapping[str, tuple[Sequence[str], Mapping[str, Any], str]],
    chunks: Mapping[str, int],
    attributes: Mapping[str, Any],
    compressors: Any = CHECKSUMMED,
    grid_mapping: bool = False,
    empty_regions: Sequence[Mapping[str, slice]] = (),
) -> None:
    """Create the template of a group written region by region (idempotent when resuming).

    ``coords`` maps a coordinate to ``(dims, values, attrs)``; ``variables`` maps a variable to
    ``(dims, attrs, dtype)``; ``chunks`` gives the chunk length of each chunked dimension (the
    others are whole).  With ``grid_mapping`` a CF ``crs`` variable is written and named in the
    ``grid_mapping`` attribute of every data variable.  ``empty_regions`` (e.g. the tiles of a
    grid without a land cell, which no task writes) are written with fill values, so that
    every chunk of a finished group exists.  ``compressors`` must carry a checksum.
    """
    template = create_template_group(store, name, times=times, coords=coords, kind=attributes.get("group_kind", "run"))
    if template is None:
        return
    group, sizes, auxiliary = template
    if grid_mapping:
        crs = group.create_array(
            GRID_MAPPING_NAME, shape=(), dtype="int32", fill_value=0, dimension_names=[], attributes=GRID_MAPPING_ATTRIBUTES,
            compressors=CHECKSUMMED,
        )
        crs[...] = 0
    for var_name, (dims, attrs, dtype) in variables.items():
        missing = [dim for dim in dims if dim not in sizes]
        if missing:
            raise StoreError(f"variable {var_name!r} uses dimensions {missing} with no coordinate")
        attrs = linked_coordinates(attrs, dims, auxiliary)
        if grid_mapping:
            attrs["grid_mapping"] = GRID_MAPPING_NAME
        array = group.create_array(
            var_name,
            shape=tuple(sizes[dim] for dim in dims),
            chunks=tuple(min(chunks.get(dim, sizes[dim]), sizes[dim]) or 1 for dim in dims),
            dtype=dtype,
            fill_value=_fill_value(dtype),
            dimension_names=list(dims),
            attributes=_json_safe(attrs),
            compressors=compressors,
        )
        for region in empty_regions:
            array[tuple(region.get(dim, slice(None)) for dim in dims)] = _fill_value(dtype)
    group.attrs.update(
        _json_safe({**attributes, "length_days": len(times), "progress_days": 0, "restart_slot": None, "complete": False})
    )


def write_region(store: EnsembleStore, name: str, region: Mapping[str, slice], data: Mapping[str, np.ndarray]) -> None:
    """Write ``data`` into ``region`` (dimension -> slice; other dimensions whole) of group ``name``.

    Values are cast to each array's stored dtype (float64 -> float32 rounds to nearest).
    """
    try:
        group = zarr.open_group(str(store.path / name), mode="r+", zarr_format=3, use_consolidated=False)
    except Exception as error:
        raise StoreError(f"{store.path} has no writable group {name!r} ({error})") from error
    for key, values in data.items():
        array = group[key]
        index = tuple(region.get(dim, slice(None)) for dim in array.metadata.dimension_names)
        array[index] = np.asarray(values).astype(array.dtype, copy=False)


def finish_group(store: EnsembleStore, name: str) -> None:
    """Mark a region-written group complete once every task has written its regions."""
    group = store._group(name)
    group.attrs.update({"progress_days": int(group.attrs.get("length_days", 0)), "restart_slot": None, "complete": True})
    store._record_finished(name)


class TaskRecords:
    """Progress, checkpoints and small per-task results, one group per task under ``tasks/``.

    A task's attributes hold ``stage`` (the stage it is in), ``days_done`` (days of that stage
    on disk), ``restart_slot`` and ``complete``; only that task ever writes them.
    """

    def __init__(self, store: EnsembleStore):
        self.store = store

    # ------------------------------------------------------------------ plan
    def exists(self) -> bool:
        """True once the records are complete (their plan is written last)."""
        return self.store.has_group(TASKS_GROUP) and "n_tasks" in self.store._group(TASKS_GROUP, mode="r").attrs

    def drop_partial(self) -> None:
        """Delete records whose creation was interrupted (only the writer, holding the lock, calls this)."""
        if self.store.has_group(TASKS_GROUP) and not self.exists():
            del self.store._root()[TASKS_GROUP]

    def create(self, plan: Mapping[str, Any], site_positions: Sequence[np.ndarray]) -> None:
        """The ``tasks`` group with the plan, and one pending record per task."""
        tasks = self.store._root().create_group(TASKS_GROUP)
        for index, positions in enumerate(site_positions):
            record = tasks.create_group(self._name(index))
            record.create_array("sites", data=np.asarray(positions, dtype="int64"), dimension_names=["site"], compressors=CHECKSUMMED)
            record.attrs.update({"stage": None, "days_done": 0, "restart_slot": None, "complete": False})
        tasks.attrs.update(_json_safe({**plan, "group_kind": "tasks", "n_tasks": len(site_positions), "complete": False}))

    def plan(self) -> dict[str, Any]:
        return dict(self.store._group(TASKS_GROUP, mode="r").attrs)

    def site_positions(self) -> list[np.ndarray]:
        tasks = self.store._group(TASKS_GROUP, mode="r")
        return [np.asarray(tasks[self._name(index)]["sites"][...]) for index in range(int(tasks.attrs["n_tasks"]))]

    def remove(self) -> None:
        if self.store.has_group(TASKS_GROUP):
            del self.store._root()[TASKS_GROUP]

    # ------------------------------------------------------------------ one task
    @staticmethod
    def _name(index: int) -> str:
        return f"task_{index:05d}"

    def _record_path(self, index: int) -> Path:
        return self.store.path / TASKS_GROUP / self._name(index)

    def _record(self, index: int, mode: str = "r+") -> zarr.Group:
        """The task's group, opened at its own path: only its ``zarr.json`` is read, not the
        root's, whose consolidated metadata grows with the store (the driver polls records)."""
        path = self._record_path(index)
        if not (path / "zarr.json").is_file():
            raise StoreError(f"{self.store.path} has no group {TASKS_GROUP}/{self._name(index)}")
        return zarr.open_group(str(path), mode=mode, zarr_format=3, use_consolidated=False)

    def status(self, index: int) -> dict[str, Any]:
        return dict(self._record(index, mode="r").attrs)

    def save(self, index: int, stage: str, days_done: int, checkpoint: Mapping[str, np.ndarray] | None) -> None:
        """Record ``days_done`` days of ``stage`` on disk, with the checkpoint to continue from.

        The checkpoint goes to the slot not referenced by the current record, and only then is
        the record switched to it.  The first checkpoint of a stage first drops both slots, so
        that the other slot never holds a checkpoint of an earlier stage.
        """
        record = self._record(index)
        slot = None
        if checkpoint is not None:
            current = record.attrs.get("restart_slot")
            if current is None:
                self._drop_slots(record)
            slot = RESTART_SLOTS[1] if current == RESTART_SLOTS[0] else RESTART_SLOTS[0]
            write_checkpoint(record, slot, checkpoint, {"days_done": int(days_done), "stage": stage})
        record.attrs.update({"stage": stage, "days_done": int(days_done), "restart_slot": slot})

    def load(self, index: int) -> tuple[str | None, int, dict[str, np.ndarray] | None]:
        """The stage, its days on disk and the checkpoint to continue from (None when starting it).

        The checkpoint is one that verifies (:func:`~s1da.framework.store.load_verified_checkpoint`:
        the other slot, or the beginning of the stage, when the recorded one does not).
        """
        record = self._record(index, mode="r")
        stage, days, slot = record.attrs.get("stage"), int(record.attrs.get("days_done", 0)), record.attrs.get("restart_slot")
        if days == 0 or slot is None:
            return stage, 0, None
        days, checkpoint = load_verified_checkpoint(self._record_path(index), slot, days, ("days_done", "restart_slot"))
        return stage, days, checkpoint

    def finish(self, index: int) -> None:
        record = self._record(index)
        record.attrs.update({"stage": "done", "days_done": 0, "restart_slot": None, "complete": True})
        self._drop_slots(record)  # after the record: it never points to a deleted slot

    @staticmethod
    def _drop_slots(record: zarr.Group) -> None:
        for slot in RESTART_SLOTS:
            if slot in dict(record.groups()):
                del record[slot]

    def results_intact(self, index: int, names: Sequence[str]) -> list[str]:
        """Problems of this task's finished results ``names`` (arrays, datasets, series) that exist."""
        base = self.store.path / TASKS_GROUP / self._name(index)
        problems = []
        for name in names:
            if (base / name).exists():
                problems += verify_checkpoint(base / name) if (base / name / "zarr.json").is_file() else [f"{name}: zarr.json is missing"]
        return problems

    def write_arrays(self, index: int, name: str, arrays: Mapping[str, np.ndarray]) -> None:
        write_checkpoint(self._record(index), name, arrays, {})

    def read_arrays(self, index: int, name: str) -> dict[str, np.ndarray]:
        return self._read_arrays(index, name)

    def write_dataset(self, index: int, name: str, dataset: xr.Dataset) -> None:
        """A small per-task result (e.g. one operator's fitted parameters), replaced whole."""
        dataset = dataset.copy()
        for var_name in list(dataset.variables):
            if dataset[var_name].dtype.kind == "U":
                dataset[var_name] = dataset[var_name].astype(np.dtypes.StringDType())
        dataset.attrs = _json_safe({**dataset.attrs, "complete": False})
        path = f"{TASKS_GROUP}/{self._name(index)}/{name}"
        encoding = {var_name: {"compressors": CHECKSUMMED} for var_name in dataset.variables}
        dataset.to_zarr(str(self.store.path), group=path, mode="w", consolidated=False, zarr_format=3, encoding=encoding)
        self.store._group(path).attrs["complete"] = True  # last: an interrupted write is not taken as finished

    def read_dataset(self, index: int, name: str) -> xr.Dataset:
        path = f"{TASKS_GROUP}/{self._name(index)}/{name}"
        dataset = xr.open_zarr(str(self.store.path), group=path, consolidated=False).load()
        dataset.attrs.pop("complete", None)
        return dataset

    def create_series(self, index: int, name: str, shape: tuple[int, int], chunk_days: int) -> None:
        """A ``(time, site)`` float64 series of this task, filled block by block (replaced if present)."""
        record = self._record(index)
        if name in dict(record.arrays()):
            del record[name]
        record.create_array(
            name, shape=shape, chunks=(min(chunk_days, shape[0]), shape[1]), dtype="float64", fill_value=np.nan,
            dimension_names=["time", "site"], compressors=CHECKSUMMED,
        )

    def write_series(self, index: int, name: str, start: int, values: np.ndarray) -> None:
        self._record(index)[name][start : start + len(values)] = values

    def read_series(self, index: int, name: str) -> np.ndarray:
        return np.asarray(self._record(index, mode="r")[name][...])

    def array_layout(self, index: int, name: str) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        """``key -> (shape, dtype)`` of the arrays ``name`` of a task (:meth:`write_arrays`), without reading them."""
        record = self._record(index, mode="r")
        try:
            return {key: (tuple(array.shape), array.dtype) for key, array in record[name].arrays()}
        except Exception as error:
            raise StoreError(f"{self._record_path(index)}: {name!r} is unreadable ({error})") from error

    def read_variable(self, index: int, name: str, variable: str) -> np.ndarray:
        """One variable of a task's dataset ``name`` (:meth:`write_dataset`), read alone."""
        path = f"{TASKS_GROUP}/{self._name(index)}/{name}"
        return np.asarray(xr.open_zarr(str(self.store.path), group=path, consolidated=False)[variable].values)

    def _read_arrays(self, index: int, name: str) -> dict[str, np.ndarray]:
        record = self._record(index, mode="r")
        try:
            return {key: np.asarray(array[...]) for key, array in record[name].arrays()}
        except Exception as error:
            raise StoreError(f"{self._record_path(index)}: {name!r} is unreadable ({error})") from error
