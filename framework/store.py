"""The Zarr ensemble store: one store per experiment, one group per run (DESIGN.md).

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
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
import zarr

from s1da.framework.variables import attributes as cf_attributes

RESTART_SLOTS = ("restart_slot0", "restart_slot1")

class StoreError(RuntimeError):
    """The store is missing, truncated or not what the caller expects."""


class IncompleteStoreError(StoreError):
    """A group (or the whole store) was read before it was finished."""


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


class EnsembleStore:
    """A Zarr v3 store holding every ensemble of one experiment."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    # ------------------------------------------------------------------ creation / opening
    @classmethod
    def create(
        cls, path: str | Path, attributes: Mapping[str, Any], *, overwrite: bool = False
    ) -> EnsembleStore:
        """Create a new store with root ``attributes``.

        An existing path is only replaced with ``overwrite=True``; use :meth:`open` to resume.
        """
        path = Path(path)
        if path.exists():
            if not overwrite:
                raise StoreError(f"{path} already exists; pass overwrite=True to replace it")
            shutil.rmtree(path)
        root = zarr.open_group(str(path), mode="w", zarr_format=3)
        root.attrs.update(_json_safe({**attributes, "complete": False}))
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
        return zarr.open_group(str(self.path), mode=mode, zarr_format=3)

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
        self._root().attrs["complete"] = True

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

        ``coords`` maps a coordinate name to ``(dim, values, attrs)``; ``variables`` maps each
        variable (which must be registered in :mod:`s1da.framework.variables`) to its dims.
        Dimension sizes come from ``times`` and the coordinates.
        """
        if self.has_group(name):
            existing = self._group(name, mode="r")
            if existing.attrs.get("group_kind") != "run":
                raise StoreError(f"{self.path}/{name} exists and is not a run group")
            if int(existing.attrs.get("length_days", -1)) != len(times):
                raise StoreError(f"{self.path}/{name} exists with a different length; use --overwrite")
            return
        sizes = {"time": len(times)}
        for coord_name, (dim, values, _) in coords.items():
            sizes[dim] = len(values)
        group = self._root().create_group(name)
        days, time_attrs = _time_encoding(times)
        group.create_array("time", data=days, dimension_names=["time"], attributes=time_attrs)
        for coord_name, (dim, values, attrs) in coords.items():
            values = np.asarray(values)
            if values.dtype.kind == "U":  # zarr v3 specifies variable-length strings only
                values = values.astype(np.dtypes.StringDType())
            group.create_array(coord_name, data=values, dimension_names=[dim], attributes=_json_safe(dict(attrs)))
        auxiliary = {coord_name: dim for coord_name, (dim, _, _) in coords.items() if coord_name != dim}
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
                attributes=self._variable_attributes(var_name, dims, auxiliary),
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

    @staticmethod
    def _variable_attributes(var_name: str, dims: Sequence[str], auxiliary: Mapping[str, str]) -> dict[str, str]:
        attrs = cf_attributes(var_name)
        linked = [coord for coord, dim in auxiliary.items() if dim in dims]
        if linked:  # CF: auxiliary coordinates (lat, lon of each site) are named on the variable
            attrs["coordinates"] = " ".join(linked)
        return attrs

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
            if slot in dict(group.groups()):
                del group[slot]
            holder = group.create_group(slot)
            for key, values in checkpoint.items():
                values = np.asarray(values)
                holder.create_array(key, data=values, dimension_names=[f"dim_{i}" for i in range(values.ndim)])
        group.attrs.update({"progress_days": int(days_done), "restart_slot": slot if checkpoint is not None else None})

    def load_progress(self, name: str) -> tuple[int, dict[str, np.ndarray] | None]:
        """Days already written and the checkpoint to continue from (None when starting)."""
        group = self._group(name, mode="r")
        days = int(group.attrs.get("progress_days", 0))
        slot = group.attrs.get("restart_slot")
        if days == 0 or slot is None:
            return 0, None
        try:
            holder = group[slot]
            checkpoint = {key: np.asarray(array[...]) for key, array in holder.arrays()}
        except Exception as error:
            raise StoreError(f"{self.path}/{name}: checkpoint {slot!r} is unreadable ({error})") from error
        return days, checkpoint

    def finish_run(self, name: str) -> None:
        """Mark a run complete and drop its checkpoints."""
        group = self._group(name)
        if int(group.attrs["progress_days"]) != int(group.attrs["length_days"]):
            raise IncompleteStoreError(
                f"{self.path}/{name}: {group.attrs['progress_days']} of {group.attrs['length_days']} days written"
            )
        for slot in RESTART_SLOTS:
            if slot in dict(group.groups()):
                del group[slot]
        group.attrs.update({"restart_slot": None, "complete": True})

    # ------------------------------------------------------------------ model states
    def write_state(self, name: str, arrays: Mapping[str, np.ndarray]) -> None:
        """Keep a model/perturber state (e.g. the end of the spin-up) so that runs can restart."""
        if self.has_group(name):
            del self._root()[name]
        group = self._root().create_group(name)
        for key, values in arrays.items():
            values = np.asarray(values)
            group.create_array(key, data=values, dimension_names=[f"{key}_dim{i}" for i in range(values.ndim)])
        group.attrs.update({"group_kind": "state", "complete": True})

    def read_state(self, name: str) -> dict[str, np.ndarray]:
        group = self._group(name, mode="r")
        if not group.attrs.get("complete", False):
            raise IncompleteStoreError(f"{self.path}/{name} is incomplete")
        return {key: np.asarray(array[...]) for key, array in group.arrays()}

    # ------------------------------------------------------------------ static groups
    def write_dataset(self, name: str, dataset: xr.Dataset) -> None:
        """Write a whole group at once and mark it complete (replacing an unfinished one)."""
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
        dataset.to_zarr(str(self.path), group=name, mode="w", consolidated=False, zarr_format=3)
        self._group(name).attrs["complete"] = True

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
            dataset.to_zarr(str(self.path), group=path, mode="w", consolidated=False, zarr_format=3)
        group.attrs.update(_json_safe({**tree.attrs, "group_kind": "static", "complete": True}))

    # ------------------------------------------------------------------ reading
    def read(self, name: str, *, allow_incomplete: bool = False) -> xr.Dataset:
        """Open a group lazily with xarray; incomplete groups are refused by default."""
        if not self.has_group(name):
            raise StoreError(f"{self.path} has no group {name!r}")
        if not allow_incomplete and not self.group_complete(name):
            raise IncompleteStoreError(f"{self.path}/{name} is incomplete (the run was interrupted)")
        return xr.open_zarr(str(self.path), group=name, consolidated=False)

    def ensemble_mean(self, name: str, variable: str) -> xr.DataArray:
        """Member mean of a ``(time, member, site)`` run variable, read one time chunk at a time.

        Only ``(time, site)`` is ever held, so memory does not grow with the ensemble size
        times the number of years.
        """
        ds = self.read(name)
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

    def describe(self) -> str:
        """Human-readable summary of what the store holds (for ``s1da inspect``)."""
        attrs = self.attributes
        lines = [
            f"store: {self.path}",
            f"  s1da version: {attrs.get('s1da_version', '?')}",
            f"  seed entropy: {attrs.get('seed_entropy', '?')}",
            f"  experiment: {attrs.get('experiment_name', '?')}",
            f"  complete: {'yes' if attrs.get('complete') else 'NO'}",
            "  groups:",
        ]
        for name, status in self.groups().items():
            state = "complete" if status["complete"] else "INCOMPLETE"
            detail = f" ({status['progress']}/{status['length']} days)" if status["kind"] == "run" else ""
            if status["kind"] == "state":
                lines.append(f"    {name}: {state} (model and perturber state to restart from)")
                continue
            try:
                ds = self.read(name, allow_incomplete=True)
                variables = ", ".join(sorted(ds.data_vars))
                dims = ", ".join(f"{dim}={size}" for dim, size in ds.sizes.items())
            except Exception as error:  # a corrupt group must not hide the others
                variables, dims = f"unreadable: {error}", ""
            lines.append(f"    {name}: {state}{detail} [{dims}]")
            lines.append(f"      {variables}")
        return "\n".join(lines)
