"""Verification of an s1da store: every written chunk decodes, every chunk that should exist does.

Every array of a store is written with a checksummed codec (Zstandard frames carrying a
content checksum, :data:`~s1da.framework.store.CHECKSUMMED`), so a flipped or truncated byte
makes its chunk fail to decode.  And every chunk is written, also one holding only fill values
(zarr's ``write_empty_chunks``), so a chunk file that is absent where data was recorded is
damage, never an all-NaN block.  Which chunks must exist:

* every chunk of every array of a group marked ``complete``;
* in an unfinished run group, the chunks along ``time`` before its ``progress_days``, and every
  chunk of its coordinates (written when the group was created);
* every chunk of the checkpoint slot a record points to (``restart_slot``);
* nothing in a group still being written whole (it is written again on resume).

Besides chunks, the root records the groups that were finished (``finished_groups``); one of
them that is gone is reported ``missing``.  Metadata that does not parse (a truncated
``zarr.json``) makes its group ``corrupt``.

The walk reads the files directly (it must survive metadata that zarr cannot open) and decodes
chunks with zarr, one chunk at a time, so a damaged chunk is named.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zarr

from s1da.framework import progress

FINISHED_GROUPS = "finished_groups"
"""Root attribute: names of the groups that were finished (sorted)."""


@dataclass
class GroupHealth:
    """What :func:`verify_group` found: ``state`` is complete, incomplete, corrupt or missing."""

    name: str
    state: str
    problems: list[str] = field(default_factory=list)
    data_damaged: bool = False
    """A problem outside checkpoint slots (a checkpoint alone is handled by the resume)."""

    @property
    def intact(self) -> bool:
        return self.state in ("complete", "incomplete")


class _Damage(Exception):
    pass


def read_metadata(path: Path) -> dict[str, Any]:
    """The parsed ``zarr.json`` of a node; :class:`_Damage` when absent or unparseable."""
    try:
        metadata = json.loads((path / "zarr.json").read_text())
    except FileNotFoundError:
        raise _Damage("zarr.json is missing") from None
    except (OSError, ValueError) as error:
        raise _Damage(f"zarr.json is unreadable or truncated ({type(error).__name__})") from None
    if not isinstance(metadata, dict) or metadata.get("node_type") not in ("group", "array"):
        raise _Damage("zarr.json is not zarr metadata")
    return metadata


def _chunk_key(metadata: dict[str, Any], coords: tuple[int, ...]) -> str:
    encoding = metadata.get("chunk_key_encoding", {})
    config = encoding.get("configuration", {}) if isinstance(encoding, dict) else {}
    if isinstance(encoding, dict) and encoding.get("name") == "v2":
        return config.get("separator", ".").join(map(str, coords)) or "0"
    return config.get("separator", "/").join(["c", *map(str, coords)])


def _chunk_grid(metadata: dict[str, Any]) -> tuple[list[int], list[int]]:
    shape = list(metadata["shape"])
    chunks = list(metadata["chunk_grid"]["configuration"]["chunk_shape"])
    counts = [-(-size // chunk) if chunk else 0 for size, chunk in zip(shape, chunks, strict=True)]
    return counts, chunks


def _check_array(path: Path, rel: str, required_rows: int | None, problems: list[str], decode: bool = True) -> None:
    """Decode every chunk present (``decode`` False: only see that it is there);
    ``required_rows``: chunks along axis 0 that must exist (None: all)."""
    try:
        metadata = read_metadata(path)
        counts, chunks = _chunk_grid(metadata)
    except (_Damage, KeyError, TypeError) as error:
        problems.append(f"{rel}: {error}")
        return
    array = None
    for coords in itertools.product(*(range(count) for count in counts)):
        key = _chunk_key(metadata, coords)
        if not (path / key).is_file():
            needed = required_rows is None or (bool(coords) and coords[0] * chunks[0] < required_rows)
            if needed:
                problems.append(f"{rel}: chunk {key} is missing")
            continue
        if not decode:
            continue
        try:
            array = array or zarr.open_array(str(path), mode="r", zarr_format=3)
            array.get_block_selection(coords)
        except Exception as error:  # any decoding failure is damage of this chunk
            problems.append(f"{rel}: chunk {key} is corrupt ({str(error).splitlines()[0][:80]})")


def _walk(
    path: Path, rel: str, attrs: dict[str, Any], must_be_whole: bool, problems: list[str], slots: list[str],
    decode_only: bool = False, decode: bool = True,
) -> None:
    """Check the children of the group at ``path`` (its attributes ``attrs``)."""
    complete = bool(attrs.get("complete", False)) and not decode_only
    run_in_progress = attrs.get("group_kind") == "run" and not complete
    referenced = attrs.get("restart_slot")
    children = [p for p in path.iterdir() if p.is_dir() and ((p / "zarr.json").exists() or p.name == referenced)]
    for child in sorted(children):
        child_rel = f"{rel}/{child.name}"
        try:
            metadata = read_metadata(child)
        except _Damage as error:
            problems.append(f"{child_rel}: {error}")
            continue
        if metadata["node_type"] == "group":
            child_attrs = metadata.get("attributes", {})
            is_slot = child.name.startswith("restart_slot")
            # the slot the record points to must be whole; another one may be half-replaced
            whole = child.name == referenced if is_slot else complete
            if is_slot and whole and not child_attrs.get("complete", False):
                problems.append(f"{child_rel}: checkpoint was not finished")
            before = len(problems)
            _walk(child, child_rel, child_attrs, whole, problems, slots, decode_only or (is_slot and not whole), decode)
            if is_slot and len(problems) > before:
                slots.extend(problems[before:])
            continue
        if decode_only:
            rows = 0
        elif must_be_whole or complete:
            rows = None
        elif run_in_progress and (metadata.get("dimension_names") or [None])[0] == "time" and len(metadata["shape"]) > 1:
            rows = int(attrs.get("progress_days", 0))
        elif run_in_progress:
            rows = None  # coordinates, written with the template
        else:
            rows = 0  # a group still being written whole: decode what is there
        _check_array(child, child_rel, rows, problems, decode)
    if referenced and not (path / referenced).is_dir():
        problems.append(f"{rel}/{referenced}: checkpoint is missing")
        slots.append(problems[-1])


def verify_checkpoint(path: str | Path) -> list[str]:
    """Problems of one checkpoint slot (a group whose every chunk must exist and decode)."""
    path = Path(path)
    try:
        attrs = read_metadata(path).get("attributes", {})
    except _Damage as error:
        return [f"{path.name}: {error}"]
    problems: list[str] = [] if attrs.get("complete", False) else [f"{path.name}: checkpoint was not finished"]
    _walk(path, path.name, attrs, True, problems, [])
    return problems


def verify_group(store_path: str | Path, name: str, decode: bool = True) -> GroupHealth:
    """Health of one top-level group of the store at ``store_path`` (``decode`` False: chunks
    are checked to be there, not decoded)."""
    path = Path(store_path) / name
    if not path.is_dir():
        return GroupHealth(name, "missing", [f"group {name} is missing (it was finished, then deleted)"], True)
    try:
        metadata = read_metadata(path)
    except _Damage as error:
        return GroupHealth(name, "corrupt", [f"{name}: {error}"], True)
    attrs = metadata.get("attributes", {})
    problems: list[str] = []
    slots: list[str] = []
    _walk(path, name, attrs, bool(attrs.get("complete", False)), problems, slots, decode=decode)
    if problems:
        return GroupHealth(name, "corrupt", problems, data_damaged=len(problems) > len(slots))
    return GroupHealth(name, "complete" if attrs.get("complete", False) else "incomplete")


def verify_store(store_path: str | Path, root_attrs: dict[str, Any], decode: bool = True) -> dict[str, GroupHealth]:
    """Health of every top-level group present, and of every finished group that is gone
    (``decode`` False: every chunk that must exist is there, none is decoded; a cheap check of
    what a run has just written, whose bytes only ``decode`` True proves intact)."""
    path = Path(store_path)
    names = {child.name for child in path.iterdir() if child.is_dir() and (child / "zarr.json").exists()}
    names |= set(root_attrs.get(FINISHED_GROUPS, []))
    health = {}
    with progress.bar(len(names), f"verifying {path.name}", "group", leave=False) as shown:
        for name in sorted(names):
            shown.set_postfix_str(name)
            health[name] = verify_group(path, name, decode)
            shown.update()
    return health
