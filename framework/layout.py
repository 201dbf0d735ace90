"""How a task's ``(..., site)`` arrays land in the store: a site network or a lat/lon grid.

Inside a task every array has the site axis the components use (``(time, member, site[,
layer])``).  A :class:`SiteLayout` stores it like that, the task's sites being one contiguous
block of the store's ``site`` dimension.  A :class:`GridLayout` stores ``(time, member[, layer],
y, x)`` maps (``(time, y, x)`` for statistics and per-site diagnostics) with 1-D ``lat(y)`` and
``lon(x)`` and a CF grid mapping; a task is the land cells of one tile, and the cells of the
tile that are not land stay NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs
import numpy as np

from s1da.framework.grid import GridInfo
from s1da.framework.sitedata import SiteData

LAT_ATTRS = {"standard_name": "latitude", "long_name": "latitude", "units": "degrees_north"}
LON_ATTRS = {"standard_name": "longitude", "long_name": "longitude", "units": "degrees_east"}
SITE_ATTRS = {"long_name": "site identifier", "units": "1", "cf_role": "timeseries_id"}


@attrs.frozen(eq=False)
class Task:
    """One unit of work: the sites at ``sites`` (positions in the site table) and their store ``region``."""

    index: int
    sites: np.ndarray
    region: dict[str, slice]


@attrs.frozen(eq=False)
class SiteLayout:
    """Sites along one ``site`` dimension; a task is a contiguous block of ``sites_per_task`` sites."""

    data_sites: int
    gridded = False

    def tasks(self, sites_per_task: int) -> list[Task]:
        starts = range(0, self.data_sites, sites_per_task)
        return [
            Task(index, np.arange(start, min(start + sites_per_task, self.data_sites)), {"site": slice(start, min(start + sites_per_task, self.data_sites))})
            for index, start in enumerate(starts)
        ]

    @staticmethod
    def coords(data: SiteData) -> dict[str, tuple]:
        return {
            "site": (("site",), data.site_ids, SITE_ATTRS),
            "lat": (("site",), data.sites["lat"].values, LAT_ATTRS),
            "lon": (("site",), data.sites["lon"].values, LON_ATTRS),
        }

    @staticmethod
    def chunks(plan: dict) -> dict[str, int]:
        return {"site": int(plan["sites_per_task"])}

    @staticmethod
    def empty_regions(plan: dict, tasks: Sequence[Task]) -> list[dict[str, slice]]:
        """Store regions no task writes: none, every site is in a task."""
        return []

    @staticmethod
    def dims(dims: Sequence[str]) -> tuple[str, ...]:
        return tuple(dims)

    @staticmethod
    def to_store(values: np.ndarray, dims: Sequence[str], task: Task) -> np.ndarray:
        return values


@attrs.frozen(eq=False)
class GridLayout:
    """Maps on ``grid``; a task is the land cells of one tile (``cells_per_task`` rounded to a square)."""

    grid: GridInfo
    gridded = True

    def tasks(self, cells_per_task: int) -> list[Task]:
        tiles = self.grid.tiles(self.grid.tile_shape(cells_per_task))
        return [Task(index, tile.sites, {"y": tile.y, "x": tile.x}) for index, tile in enumerate(tiles)]

    def coords(self, data: SiteData) -> dict[str, tuple]:
        return {
            "lat": (("y",), self.grid.lat, LAT_ATTRS),
            "lon": (("x",), self.grid.lon, LON_ATTRS),
        }

    def chunks(self, plan: dict) -> dict[str, int]:
        tile_y, tile_x = self.grid.tile_shape(int(plan["sites_per_task"]))
        return {"y": tile_y, "x": tile_x}

    def empty_regions(self, plan: dict, tasks: Sequence[Task]) -> list[dict[str, slice]]:
        """The tiles without a land cell (no task writes them), as store regions."""
        tile_y, tile_x = self.grid.tile_shape(int(plan["sites_per_task"]))
        taken = {(task.region["y"].start, task.region["x"].start) for task in tasks}
        return [
            {"y": slice(y, min(y + tile_y, self.grid.ny)), "x": slice(x, min(x + tile_x, self.grid.nx))}
            for y in range(0, self.grid.ny, tile_y)
            for x in range(0, self.grid.nx, tile_x)
            if (y, x) not in taken
        ]

    @staticmethod
    def dims(dims: Sequence[str]) -> tuple[str, ...]:
        """``(time, member, site, layer)`` -> ``(time, member, layer, y, x)``: maps last."""
        return tuple(dim for dim in dims if dim != "site") + ("y", "x")

    def to_store(self, values: np.ndarray, dims: Sequence[str], task: Task) -> np.ndarray:
        """Scatter the sites of this (chunk's) grid onto the task's tile; other cells NaN (0 for integers)."""
        values = np.moveaxis(values, list(dims).index("site"), -1)
        tile_shape = (task.region["y"].stop - task.region["y"].start, task.region["x"].stop - task.region["x"].start)
        y = self.grid.y_index - task.region["y"].start
        x = self.grid.x_index - task.region["x"].start
        if y.size == tile_shape[0] * tile_shape[1] and np.array_equal(y * tile_shape[1] + x, np.arange(y.size)):
            return values.reshape(values.shape[:-1] + tile_shape)  # an all-land tile in row-major order
        fill = np.nan if values.dtype.kind == "f" else 0
        out = np.full(values.shape[:-1] + tile_shape, fill, dtype=values.dtype)
        out[..., y, x] = values
        return out


def layout_for(data: SiteData) -> SiteLayout | GridLayout:
    return SiteLayout(len(data.site_ids)) if data.grid is None else GridLayout(data.grid)


def default_sites_per_task(data: SiteData, n_workers: int) -> int:
    """All sites in one task in-process; about two tasks per worker on a cluster; tiles <= 64 x 64."""
    n_sites = len(data.site_ids)
    per_task = n_sites if n_workers <= 1 else math.ceil(n_sites / (2 * n_workers))
    if data.grid is not None:
        per_task = min(per_task, 64 * 64)
    return max(1, per_task)
