"""The Zarr ensemble store: one store per experiment, one group per run (docs/architecture.md).

Layout: the root holds the resolved config, the seed entropy and the package version; each run
(``open_loop``, ``da_wcm``, ...) is a group with dimensions ``(time, member, site[, layer])``;
static groups (``observations``, ``insitu``, ``calibration``, ``validation``) are written whole.

Crash safety and resumption:

* A run group is created as a full-length template first (arrays filled with NaN, no chunk
  written), then filled block by block with region writes through xarray.
* Progress is recorded in the group's attributes only *after* a block's data and the model
  checkpoint that belongs to it are on disk.  Checkpoints alternate between two slots, so a
  kill while writing one never destroys the checkpoint that the recorded progress points to.
* A block that was being written when a run was killed is simply written again on resume; the
  numbers are a pure function of the checkpoint, so the final store is bit-identical to an
  uninterrupted run.
* ``complete`` is set on a group after its last block, and on the root after the last group.
  Readers refuse incomplete groups unless asked explicitly.

Verification (:mod:`s1da.framework.verify`):

* Every array is written with Zstandard frames carrying a checksum (:data:`CHECKSUMMED`) and
  every chunk is written, also an all-NaN one, so a flipped byte fails to decode and a deleted
  chunk is missing, never NaN.  The root records the groups that were finished.
* :meth:`EnsembleStore.verify` reports each group complete, incomplete, corrupt (naming array
  and chunk) or missing; ``s1da inspect`` and ``s1da report`` use it.
* A resume never starts from a checkpoint that fails verification: :func:`load_verified_checkpoint`
  falls back to the other slot or to the beginning of the run, and says so (:class:`StoreWarning`);
  :meth:`EnsembleStore.repair` deletes damaged groups so that the resume writes them again.
* The store is created with its s1da attributes in one write; :meth:`EnsembleStore.create`
  replaces only what :func:`~s1da.framework.outputs.check_replaceable` allows.  One writer at a
  time is the caller's lock (:mod:`s1da.framework.lock`).
"""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
import zarr
from zarr.codecs import ZstdCodec

from s1da.framework.outputs import STORE_MARKER, check_replaceable
from s1da.framework.verify import FINISHED_GROUPS, GroupHealth, verify_checkpoint, verify_store
from s1da.framework.variables import attributes as cf_attributes

RESTART_SLOTS = ("restart_slot0", "restart_slot1")
CHECKSUMMED = (ZstdCodec(level=1, checksum=True),)
"""Compressor of every array s1da writes: Zstandard frames with a content checksum, so that a
damaged chunk fails to decode instead of reading as other numbers (:mod:`s1da.framework.verify`).
Level 1: on a block of GLEAM soil moisture it compresses 1.8x (float64) to 2.9x (float32) faster
than zstd's default level 3, for the same size in float64 and 2.5 % more in float32
(``benchmarks/task_kernels.py``, recorded in benchmarks/README.md)."""

# Every chunk is written, also one holding only NaN, so that a chunk file that is absent where
# data was recorded is damage (this sets zarr's process-wide default; s1da never relies on
# chunks being skipped).
zarr.config.set({"array.write_empty_chunks": True})
STORE_FORMAT = 1
"""Value of the root attribute :data:`~s1da.framework.outputs.STORE_MARKER`."""

class StoreError(RuntimeError):
    """The store is missing, truncated or not what the caller expects."""


class IncompleteStoreError(StoreError):
    """A group (or the whole store) was read before it was finished."""


class StoreWarning(UserWarning):
    """Something the store did on its own to stay correct (e.g. a checkpoint that failed verification)."""


def _time_encoding(times: np.ndarray) -> tuple[np.ndarray, dict[str, str]]:
    times = np.asarray(times, dtype="datetime64[D]")
    origin = str(times[0]) if times.size else "1970-01-01"
    days = (times - np.datetime64(origin, "D")).astype("int64")
    return days, {
        "units": f"days since {origin}",
        "calendar": "proleptic_gregorian",
        "standard_name": "time",
        "long_name": "time",
    }


def _json_safe(value: Any) -> Any:
    """Attributes must survive a JSON round trip unchanged (zarr v3 stores them as JSON)."""
    return json.loads(json.dumps(value, default=str))


def create_template_group(
    store: EnsembleStore, name: str, *, times: np.ndarray, coords: Mapping[str, tuple[Any, np.ndarray, Mapping[str, Any]]], kind: str
) -> tuple[zarr.Group, dict[str, int], dict[str, tuple[str, ...]]] | None:
    """A new group ``name`` with its ``time`` and coordinate arrays (checksummed), the start of
    a template filled later block by block or region by region.

    ``coords`` maps a coordinate to ``(dims, values, attrs)``, ``dims`` one name or a sequence.
    Returns the group, the dimension sizes and the auxiliary coordinates (name -> dims, e.g.
    ``lat(site)``); None when the group exists already (a resume), after checking that it is a
    ``kind`` group of the same length.  A group whose creation was interrupted (the template
    writes ``length_days`` last) is made again.
    """
    if store.has_group(name) and "length_days" not in store._group(name, mode="r").attrs:
        del store._root()[name]
    if store.has_group(name):
        existing = store._group(name, mode="r")
        if existing.attrs.get("group_kind") != kind:
            raise StoreError(f"{store.path}/{name} exists and is not a {kind} group")
        if int(existing.attrs.get("length_days", -1)) != len(times):
            raise StoreError(f"{store.path}/{name} exists with a different length; use --overwrite")
        return None
    group = store._root().create_group(name)
    add_time_coordinate(group, times)
    sizes, auxiliary = {"time": len(times)}, {}
    for coord_name, (dims, values, attrs) in coords.items():
        dims = (dims,) if isinstance(dims, str) else tuple(dims)
        values = np.asarray(values)
        if values.dtype.kind == "U":  # zarr v3 specifies variable-length strings only
            values = values.astype(np.dtypes.StringDType())
        group.create_array(coord_name, data=values, dimension_names=list(dims), attributes=_json_safe(dict(attrs)), compressors=CHECKSUMMED)
        sizes.update(zip(dims, values.shape))
        if (coord_name,) != dims:
            auxiliary[coord_name] = dims
    return group, sizes, auxiliary


def add_time_coordinate(group: zarr.Group, times: np.ndarray) -> None:
    """The CF-encoded ``time`` coordinate (days since the first day) of a group written array by array."""
    days, time_attrs = _time_encoding(times)
    group.create_array("time", data=days, dimension_names=["time"], attributes=time_attrs, compressors=CHECKSUMMED)


def linked_coordinates(attrs: Mapping[str, Any], dims: Sequence[str], auxiliary: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    """``attrs`` with the CF ``coordinates`` attribute naming the auxiliary coordinates (lat, lon) on ``dims``."""
    attrs = dict(attrs)
    linked = [coord for coord, coord_dims in auxiliary.items() if set(coord_dims) <= set(dims)]
    if linked:
        attrs["coordinates"] = " ".join(linked)
    return attrs


def write_checkpoint(group: zarr.Group, slot: str, arrays: Mapping[str, np.ndarray], attributes: Mapping[str, Any]) -> None:
    """Write checkpoint ``slot`` of ``group`` (replacing it); ``complete`` is set last."""
    if slot in dict(group.groups()):
        del group[slot]
    holder = group.create_group(slot)
    for key, values in arrays.items():
        values = np.asarray(values)
        holder.create_array(key, data=values, dimension_names=[f"dim_{i}" for i in range(values.ndim)], compressors=CHECKSUMMED)
    holder.attrs.update(_json_safe({**attributes, "complete": True}))


def _read_checkpoint(path: Path) -> tuple[list[str], dict[str, np.ndarray] | None, int | None]:
    problems = verify_checkpoint(path)
    if problems:
        return problems, None, None
    holder = zarr.open_group(str(path), mode="r", zarr_format=3)
    days = holder.attrs.get("days_done")
    return [], {key: np.asarray(array[...]) for key, array in holder.arrays()}, None if days is None else int(days)


def load_verified_checkpoint(
    record: str | Path, slot: str, days: int, progress_keys: tuple[str, str] = ("progress_days", "restart_slot")
) -> tuple[int, dict[str, np.ndarray] | None]:
    """``(days, checkpoint)`` to continue from, never from a checkpoint that fails verification.

    ``record`` is the group whose attributes ``progress_keys`` point to checkpoint ``slot``
    after ``days`` days.  When that slot fails :func:`~s1da.framework.verify.verify_checkpoint`,
    the other slot (the previous block) is used if it verifies, else the run starts again from
    its beginning (``(0, None)``); the record is updated to match and a :class:`StoreWarning`
    says so.
    """
    record = Path(record)
    problems, checkpoint, slot_days = _read_checkpoint(record / slot)
    if not problems and slot_days in (None, days):
        return days, checkpoint
    reason = problems[0] if problems else f"{slot} holds day {slot_days}, the record says {days}"
    other = RESTART_SLOTS[1] if slot == RESTART_SLOTS[0] else RESTART_SLOTS[0]
    other_problems, other_checkpoint, other_days = _read_checkpoint(record / other)
    group = zarr.open_group(str(record), mode="r+", zarr_format=3)
    if not other_problems and other_days is not None and 0 < other_days < days:
        group.attrs.update({progress_keys[0]: other_days, progress_keys[1]: other})
        warnings.warn(
            f"{record}: checkpoint {slot} fails verification ({reason}); resuming from the other slot, "
            f"{other}, after {other_days} days",
            StoreWarning,
            stacklevel=3,
        )
        return other_days, other_checkpoint
    group.attrs.update({progress_keys[0]: 0, progress_keys[1]: None})
    warnings.warn(
        f"{record}: checkpoint {slot} fails verification ({reason}) and no other verified checkpoint "
        "exists; the run starts again from its beginning",
        StoreWarning,
        stacklevel=3,
    )
    return 0, None

def _dimension_names(key: str, shape: tuple[int, ...], sizes: Mapping[str, int]) -> list[str]:
    """Names of a state array's axes: the first unused name of ``sizes`` whose length matches."""
    names, used = [], set()
    for axis, length in enumerate(shape):
        name = next((dim for dim, size in sizes.items() if size == length and dim not in used), f"{key}_dim{axis}")
        used.add(name)
        names.append(name)
    return names


class EnsembleStore:
    """A Zarr v3 store holding every ensemble of one experiment."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    # ------------------------------------------------------------------ creation / opening
    @classmethod
    def create(
        cls,
        path: str | Path,
        attributes: Mapping[str, Any],
        *,
        overwrite: bool = False,
        protected: Sequence[str | Path] = (),
    ) -> EnsembleStore:
        """Create a new store with root ``attributes``.

        An existing path is only replaced with ``overwrite=True``, and only when it holds an s1da
        store or is an empty folder (:func:`~s1da.framework.outputs.check_replaceable`; the
        current working directory and the folders in ``protected`` never); use :meth:`open` to
        resume.
        """
        path = Path(path)
        if path.exists() or path.is_symlink():
            if not overwrite:
                raise StoreError(f"{path} already exists; pass overwrite=True to replace it")
            check_replaceable(path, "store", protected=protected)
            shutil.rmtree(path)
        # one metadata write: a store is never seen without its s1da attributes
        zarr.open_group(
            str(path), mode="w", zarr_format=3, attributes=_json_safe({**attributes, STORE_MARKER: STORE_FORMAT, "complete": False})
        )
        return cls(path)

    @classmethod
    def open(cls, path: str | Path) -> EnsembleStore:
        """Open an existing store; a missing or truncated root is a :class:`StoreError`."""
        path = Path(path)
        if not (path / "zarr.json").is_file():
            raise StoreError(f"{path} is not an s1da store (no zarr.json at its root)")
        store = cls(path)
        try:
            store._root(mode="r")
        except Exception as error:  # zarr raises various errors for corrupt metadata
            raise StoreError(f"{path} is truncated or corrupt: {error}") from error
        return store

    def _root(self, mode: str = "r+") -> zarr.Group:
        # the store's own reads never use the consolidated copy, which lags while a run is going
        return zarr.open_group(str(self.path), mode=mode, zarr_format=3, use_consolidated=False)

    def _consolidate(self) -> None:
        """Refresh the consolidated metadata at the root, so that ``xarray.open_zarr(path,
        group=...)`` of a finished store opens without the fallback warning: once, when the store
        is complete (and after a repair, which must not leave deleted groups listed).  Not after
        every group: zarr reads the root's metadata whenever a node is created below it, and the
        copy grows with the store (1.5 MB at 10,000 cells), so each array the driver's network-level
        groups (spin-up state, calibration, validation) create would decode it again."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zarr: consolidated metadata is not yet in the v3 spec
            zarr.consolidate_metadata(str(self.path), zarr_format=3)

    def _group(self, name: str, mode: str = "r+") -> zarr.Group:
        root = self._root(mode="r" if mode == "r" else "r+")
        try:
            group = root[name]
        except KeyError:
            raise StoreError(f"{self.path} has no group {name!r}") from None
        if not isinstance(group, zarr.Group):
            raise StoreError(f"{self.path}/{name} is not a group")
        return group

    # ------------------------------------------------------------------ root attributes
    @property
    def attributes(self) -> dict[str, Any]:
        return dict(self._root(mode="r").attrs)

    @property
    def is_complete(self) -> bool:
        return bool(self.attributes.get("complete", False))

    def mark_complete(self) -> None:
        unfinished = [name for name, status in self.groups().items() if not status["complete"]]
        if unfinished:
            raise IncompleteStoreError(f"cannot mark {self.path} complete: unfinished groups {unfinished}")
        # every finished group, also one whose recording a kill interrupted
        self._root().attrs.update({FINISHED_GROUPS: sorted(self.groups()), "complete": True})
        self._consolidate()

    def _record_finished(self, name: str) -> None:
        """Remember at the root that group ``name`` was finished (a later deletion is then detected)."""
        root = self._root()
        finished = sorted(set(root.attrs.get(FINISHED_GROUPS, [])) | {name})
        root.attrs[FINISHED_GROUPS] = finished

    def verify(self, *, decode: bool = True) -> dict[str, GroupHealth]:
        """Health of every group: each written chunk decodes, each recorded chunk and group exists
        (``decode`` False: the chunks are only seen to exist, see :func:`verify_store`)."""
        return verify_store(self.path, self.attributes, decode)

    def problems(self, health: Mapping[str, GroupHealth] | None = None) -> list[str]:
        """Why the store is not a complete, intact experiment (empty when it is)."""
        health = self.verify() if health is None else health
        found = []
        for name, status in health.items():
            if status.state == "incomplete":
                found.append(f"group {name} is incomplete")
            elif status.state != "complete":
                found.append(f"group {name} is {status.state}: {status.problems[0]}")
        if not self.is_complete and not found:
            found.append("the experiment did not finish (the root is not marked complete)")
        return found

    def repair(self, health: Mapping[str, GroupHealth] | None = None) -> list[str]:
        """Prepare a damaged store for a resume; returns what was done (one line each);
        ``health``: this store's :meth:`verify` just made (else it is verified here, once).

        A damaged group other than a run is deleted (s1da wrote it; the resume writes it
        again); a run group with damaged data is deleted too and recomputed from the spin-up.
        Damage confined to a checkpoint is left to :meth:`load_progress`, which falls back to
        the other slot.  The root is unmarked complete when anything was done.
        """
        actions = []
        health = self.verify() if health is None else health
        for name, status in health.items():
            if status.intact or not status.data_damaged:
                continue
            if status.state != "missing":
                shutil.rmtree(self.path / name)
                actions.append(f"{name} failed verification ({status.problems[0]}); it is computed again")
            else:
                actions.append(f"{status.problems[0]}; it is computed again")
            root = self._root()
            root.attrs[FINISHED_GROUPS] = sorted(set(root.attrs.get(FINISHED_GROUPS, [])) - {name})
        for name, status in health.items():  # left by a kill while a finished run dropped them
            if status.state == "complete" and any((self.path / name / slot).exists() for slot in RESTART_SLOTS):
                self._drop_checkpoints(name)
        if actions:
            self._root().attrs["complete"] = False
            self._consolidate()  # the consolidated copy must not list what was deleted
        return actions

    def groups(self) -> dict[str, dict[str, Any]]:
        """Status of every group: ``complete``, ``progress`` (days written) and ``length``."""
        root = self._root(mode="r")
        status = {}
        for name, group in sorted(root.groups()):
            attrs = dict(group.attrs)
            status[name] = {
                "complete": bool(attrs.get("complete", False)),
                "progress": int(attrs.get("progress_days", 0)),
                "length": int(attrs.get("length_days", 0)),
                "kind": attrs.get("group_kind", "static"),
            }
        return status

    def has_group(self, name: str) -> bool:
        """Whether the group exists; ``name`` may be a path such as ``validation/insitu``."""
        try:
            return isinstance(self._root(mode="r")[name], zarr.Group)
        except KeyError:
            return False

    def group_complete(self, name: str) -> bool:
        return self.has_group(name) and bool(self._group(name, mode="r").attrs.get("complete", False))

    # ------------------------------------------------------------------ run groups
    def create_run(
        self,
        name: str,
        *,
        times: np.ndarray,
        coords: Mapping[str, tuple[str, np.ndarray, Mapping[str, str]]],
        variables: Mapping[str, Sequence[str]],
        chunk_days: int,
        attributes: Mapping[str, Any] | None = None,
    ) -> None:
        """Create the full-length template of a run group (idempotent when resuming).

        ``coords`` maps a coordinate name to ``(dims, values, attrs)``; ``variables`` maps each
        variable (which must be registered in :mod:`s1da.framework.variables`) to its dims.
        Dimension sizes come from ``times`` and the coordinates.
        """
        template = create_template_group(self, name, times=times, coords=coords, kind="run")
        if template is None:
            return
        group, sizes, auxiliary = template
        for var_name, dims in variables.items():
            missing = [dim for dim in dims if dim not in sizes]
            if missing:
                raise StoreError(f"variable {var_name!r} uses dimensions {missing} with no coordinate")
            shape = tuple(sizes[dim] for dim in dims)
            chunks = tuple(min(chunk_days, sizes[dim]) if dim == "time" else sizes[dim] for dim in dims)
            group.create_array(
                var_name,
                shape=shape,
                chunks=chunks,
                dtype="float64",
                fill_value=np.nan,
                dimension_names=list(dims),
                attributes=linked_coordinates(cf_attributes(var_name), dims, auxiliary),
                compressors=CHECKSUMMED,
            )
        group.attrs.update(
            _json_safe(
                {
                    **(attributes or {}),
                    "group_kind": "run",
                    "length_days": len(times),
                    "chunk_days": chunk_days,
                    "progress_days": 0,
                    "restart_slot": None,
                    "complete": False,
                }
            )
        )

    def write_block(self, name: str, start: int, data: Mapping[str, np.ndarray]) -> None:
        """Write days ``start : start + n`` of a run through an xarray region write."""
        group = self._group(name, mode="r")
        dims = {key: tuple(group[key].metadata.dimension_names) for key in data}
        n_days = {np.shape(values)[0] for values in data.values()}
        if len(n_days) != 1:
            raise StoreError(f"block for {name!r} mixes lengths {sorted(n_days)}")
        (length,) = n_days
        block = xr.Dataset({key: (dims[key], np.asarray(values, dtype="float64")) for key, values in data.items()})
        block.to_zarr(
            str(self.path),
            group=name,
            region={"time": slice(start, start + length)},
            mode="r+",
            consolidated=False,
            zarr_format=3,
        )

    def save_progress(self, name: str, days_done: int, checkpoint: Mapping[str, np.ndarray] | None) -> None:
        """Record that ``days_done`` days are on disk, with the state needed to continue.

        The checkpoint goes to the slot *not* referenced by the current progress, and only then
        is the progress attribute switched to it.
        """
        group = self._group(name)
        current = group.attrs.get("restart_slot")
        slot = RESTART_SLOTS[1] if current == RESTART_SLOTS[0] else RESTART_SLOTS[0]
        if checkpoint is not None:
            write_checkpoint(group, slot, checkpoint, {"days_done": int(days_done)})
        group.attrs.update({"progress_days": int(days_done), "restart_slot": slot if checkpoint is not None else None})

    def load_progress(self, name: str) -> tuple[int, dict[str, np.ndarray] | None]:
        """Days already written and the checkpoint to continue from (None when starting)."""
        group = self._group(name, mode="r")
        days = int(group.attrs.get("progress_days", 0))
        slot = group.attrs.get("restart_slot")
        if days == 0 or slot is None:
            return 0, None
        return load_verified_checkpoint(self.path / name, slot, days)

    def finish_run(self, name: str) -> None:
        """Mark a run complete and drop its checkpoints."""
        group = self._group(name)
        if int(group.attrs["progress_days"]) != int(group.attrs["length_days"]):
            raise IncompleteStoreError(
                f"{self.path}/{name}: {group.attrs['progress_days']} of {group.attrs['length_days']} days written"
            )
        group.attrs.update({"restart_slot": None, "complete": True})  # before the slots go: never points to a deleted one
        self._record_finished(name)
        self._drop_checkpoints(name)

    def _drop_checkpoints(self, name: str) -> None:
        group = self._group(name)
        for slot in RESTART_SLOTS:
            if slot in dict(group.groups()):
                del group[slot]

    # ------------------------------------------------------------------ model states
    def write_state(self, name: str, arrays: Mapping[str, np.ndarray], sizes: Mapping[str, int] | None = None) -> None:
        """Keep a model/perturber state (e.g. the end of the spin-up) so that runs can restart.

        ``sizes`` (e.g. ``{"member": 32, "site": 139, "layer": 6}``) names each axis whose length
        matches, in that order of preference; other axes are ``<key>_dim<i>``.
        """
        arrays = {key: np.asarray(values) for key, values in arrays.items()}
        group = self.start_state(name, {key: (values.shape, values.dtype) for key, values in arrays.items()}, sizes)
        for key, values in arrays.items():
            group[key][...] = values
        self.finish_state(name)

    def start_state(
        self,
        name: str,
        layout: Mapping[str, tuple[tuple[int, ...], Any]],
        sizes: Mapping[str, int] | None = None,
        chunks: Mapping[str, tuple[int, ...]] | None = None,
    ) -> zarr.Group:
        """The empty arrays (``key -> (shape, dtype)``, ``chunks`` per key or zarr's choice) of
        a state group, to be filled, e.g. task by task, before :meth:`finish_state`."""
        if self.has_group(name):
            del self._root()[name]
        group = self._root().create_group(name)
        for key, (shape, dtype) in layout.items():
            group.create_array(
                key, shape=tuple(shape), dtype=dtype, chunks=(chunks or {}).get(key, "auto"),
                dimension_names=_dimension_names(key, tuple(shape), sizes or {}), compressors=CHECKSUMMED,
            )
        group.attrs.update({"group_kind": "state", "complete": False})
        return group

    def finish_state(self, name: str) -> None:
        """Mark a state group started with :meth:`start_state` complete."""
        self._group(name).attrs["complete"] = True
        self._record_finished(name)

    def read_state(self, name: str) -> dict[str, np.ndarray]:
        group = self._group(name, mode="r")
        if not group.attrs.get("complete", False):
            raise IncompleteStoreError(f"{self.path}/{name} is incomplete")
        return {key: np.asarray(array[...]) for key, array in group.arrays()}

    # ------------------------------------------------------------------ static groups
    def write_dataset(self, name: str, dataset: xr.Dataset, fill: Callable[[zarr.Group], None] | None = None) -> None:
        """Write a whole group at once and mark it complete (replacing an unfinished one);
        ``fill(group)`` may add arrays (e.g. written piece by piece) before it is marked complete."""
        for var_name, variable in {**dataset.data_vars, **dataset.coords}.items():
            missing = [key for key in ("units", "long_name") if key not in variable.attrs]
            if missing and var_name not in dataset.dims:
                raise StoreError(f"variable {var_name!r} of group {name!r} lacks CF attributes {missing}")
        if self.has_group(name):
            if self.group_complete(name):
                raise StoreError(f"{self.path}/{name} is already complete")
            del self._root()[name]
        dataset = dataset.copy()
        for var_name in list(dataset.variables):
            if dataset[var_name].dtype.kind == "U":  # zarr v3 specifies variable-length strings only
                dataset[var_name] = dataset[var_name].astype(np.dtypes.StringDType())
        dataset.attrs = _json_safe({**dataset.attrs, "group_kind": "static", "complete": False})
        encoding = {var_name: {"compressors": CHECKSUMMED} for var_name in dataset.variables}
        dataset.to_zarr(str(self.path), group=name, mode="w", consolidated=False, zarr_format=3, encoding=encoding)
        if fill is not None:
            fill(self._group(name))
        self._group(name).attrs["complete"] = True
        self._record_finished(name)

    def write_tree(self, name: str, tree: xr.DataTree) -> None:
        """Write a group of sub-groups (e.g. ``validation``'s tidy tables) and mark it complete.

        The children are written first; the group's own attributes, and ``complete``, last, so an
        interrupted write leaves an unfinished group that is replaced on the next attempt.
        """
        if self.has_group(name):
            if self.group_complete(name):
                raise StoreError(f"{self.path}/{name} is already complete")
            del self._root()[name]
        group = self._root().create_group(name)
        group.attrs.update({"group_kind": "static", "complete": False})
        for child in tree.subtree:
            if child is tree:
                continue
            path = f"{name}/{child.relative_to(tree)}"
            dataset = child.to_dataset(inherit=False)
            for var_name, variable in {**dataset.data_vars, **dataset.coords}.items():
                missing = [key for key in ("units", "long_name") if key not in variable.attrs]
                if missing and var_name not in dataset.dims:
                    raise StoreError(f"variable {var_name!r} of group {path!r} lacks CF attributes {missing}")
            for var_name in list(dataset.variables):
                if dataset[var_name].dtype.kind == "U":  # zarr v3 specifies variable-length strings only
                    dataset[var_name] = dataset[var_name].astype(np.dtypes.StringDType())
            dataset.attrs = _json_safe({**dataset.attrs, "complete": True})  # written whole, part of ``name``
            encoding = {var_name: {"compressors": CHECKSUMMED} for var_name in dataset.variables}
            dataset.to_zarr(str(self.path), group=path, mode="w", consolidated=False, zarr_format=3, encoding=encoding)
        group.attrs.update(_json_safe({**tree.attrs, "group_kind": "static", "complete": True}))
        self._record_finished(name)

    # ------------------------------------------------------------------ reading
    def read(self, name: str, *, allow_incomplete: bool = False, dask: bool = True) -> xr.Dataset:
        """Open a group lazily with xarray; incomplete groups are refused by default.  ``dask``
        False: lazily indexed arrays without dask (a selection is read by zarr in one call)."""
        if not self.has_group(name):
            raise StoreError(f"{self.path} has no group {name!r}")
        if not allow_incomplete and not self.group_complete(name):
            raise IncompleteStoreError(f"{self.path}/{name} is incomplete (the run was interrupted)")
        options = {} if dask else {"chunks": None}
        return xr.open_zarr(str(self.path), group=name, consolidated=False, **options)

    def ensemble_mean(self, name: str, variable: str) -> xr.DataArray:
        """Member mean of a ``(time, member, site)`` run variable, read one time chunk at a time.

        Only ``(time, site)`` is ever held, so memory does not grow with the ensemble size
        times the number of years.
        """
        ds = self.read(name)
        if variable not in ds and f"{variable}_mean" in ds:  # the output policy kept only the mean
            return ds[f"{variable}_mean"].astype("float64").transpose("time", "site").load()
        source = ds[variable].transpose("time", "member", "site")
        step = int(ds.attrs.get("chunk_days") or source.sizes["time"])
        mean = np.empty((source.sizes["time"], source.sizes["site"]))
        for start in range(0, source.sizes["time"], step):
            mean[start : start + step] = source.isel(time=slice(start, start + step)).values.mean(axis=1)
        return xr.DataArray(
            mean,
            dims=("time", "site"),
            coords={"time": ds["time"].values, "site": ds["site"].values},
            attrs={**source.attrs, "long_name": f"ensemble mean of {source.attrs.get('long_name', variable)}"},
        )

    def describe(self, health: Mapping[str, GroupHealth] | None = None, *, decoded: bool = True) -> str:
        """Human-readable summary of what the store holds and whether it verifies (``s1da inspect``);
        ``decoded`` False: ``health`` (or the check made here) only saw that every chunk exists."""
        health = self.verify(decode=decoded) if health is None else health
        attrs = self.attributes
        damaged = [name for name, status in health.items() if not status.intact]
        lines = [
            f"store: {self.path}",
            f"  s1da version: {attrs.get('s1da_version', '?')}",
            f"  seed entropy: {attrs.get('seed_entropy', '?')}",
            f"  experiment: {attrs.get('experiment_name', '?')}",
            f"  complete: {'yes' if attrs.get('complete') else 'NO'}",
            f"  verified: {_verified_line(damaged, decoded)}",
            "  groups:",
        ]
        for name, status in health.items():
            if not status.intact:
                lines.append(f"    {name}: {status.state.upper()}")
                lines += [f"      {problem}" for problem in status.problems[:10]]
                if len(status.problems) > 10:
                    lines.append(f"      ... and {len(status.problems) - 10} more")
                continue
            lines += self._describe_group(name, "complete" if status.state == "complete" else "INCOMPLETE")
        return "\n".join(lines)

    def _describe_group(self, name: str, state: str) -> list[str]:
        group_attrs = dict(self._group(name, mode="r").attrs)
        kind = group_attrs.get("group_kind", "static")
        if kind == "state":
            return [f"    {name}: {state} (model and perturber state to restart from)"]
        detail = f" ({group_attrs.get('progress_days', 0)}/{group_attrs.get('length_days', 0)} days)" if kind == "run" else ""
        try:
            ds = self.read(name, allow_incomplete=True)
            variables = ", ".join(sorted(ds.data_vars))
            dims = ", ".join(f"{dim}={size}" for dim, size in ds.sizes.items())
        except Exception as error:  # a group xarray cannot read must not hide the others
            variables, dims = f"unreadable: {error}", ""
        if not variables and not dims:  # a tree of tables (validation): name its sub-groups
            tables = sorted(child.name for child in (self.path / name).iterdir() if (child / "zarr.json").exists())
            return [f"    {name}: {state} (tables: {', '.join(tables) or 'none'})"]
        return [f"    {name}: {state}{detail} [{dims}]", f"      {variables}"]


def _verified_line(damaged: Sequence[str], decoded: bool) -> str:
    if damaged:
        return "DAMAGED: " + ", ".join(damaged)
    return "every written chunk decodes" if decoded else "every chunk is present (`s1da inspect` decodes them all)"
