"""Regular latitude/longitude grids: where each site (land cell) of a gridded source sits.

A gridded source hands the experiment the same :class:`~s1da.framework.sitedata.SiteData` as a
site network, with one site per land cell, plus a :class:`GridInfo` in ``SiteData.grid``.  The
cells of the grid are numbered row-major, ``site id = y * nx + x``, so that a cell's random
streams (keyed by site id, :mod:`s1da.framework.randomness`) do not depend on which other
cells are land or on how the domain is cut into tiles.  Sea and masked cells are simply not
sites; the store shows them as NaN on the ``(y, x)`` maps.

Tiles (:meth:`GridInfo.tiles`) are rectangles of whole rows and columns; a task of the engine
runs the land cells of one tile and writes exactly that tile's chunks of the store.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

CRS_WGS84 = "EPSG:4326"


def _coordinate(value) -> np.ndarray:
    return np.asarray(value, dtype="float64")


def _index(value) -> np.ndarray:
    return np.asarray(value, dtype="int64")


def _strictly_monotonic(instance, attribute, value: np.ndarray) -> None:
    if value.ndim != 1 or value.size == 0:
        raise ValueError(f"GridInfo.{attribute.name} must be a non-empty 1-D array, got shape {value.shape}")
    if not np.isfinite(value).all():
        raise ValueError(f"GridInfo.{attribute.name} holds non-finite values")
    steps = np.diff(value)
    if value.size > 1 and not ((steps > 0).all() or (steps < 0).all()):
        raise ValueError(f"GridInfo.{attribute.name} must be strictly increasing or decreasing")


@attrs.frozen(eq=False)
class GridInfo:
    """A regular lat/lon grid and the cell of each site.

    * ``lat`` ``(y,)`` degrees_north and ``lon`` ``(x,)`` degrees_east: cell centres.
    * ``y_index``, ``x_index`` ``(site,)``: the row and column of each site, in the order of the
      site table; the site ids must be ``y_index * nx + x_index``.
    * ``crs``: the coordinate reference system of ``lat``/``lon`` (only EPSG:4326 is written).
    """

    lat: np.ndarray = attrs.field(converter=_coordinate, validator=_strictly_monotonic, metadata={"units": "degrees_north"})
    lon: np.ndarray = attrs.field(converter=_coordinate, validator=_strictly_monotonic, metadata={"units": "degrees_east"})
    y_index: np.ndarray = attrs.field(converter=_index, metadata={"units": "1"})
    x_index: np.ndarray = attrs.field(converter=_index, metadata={"units": "1"})
    crs: str = attrs.field(default=CRS_WGS84, validator=attrs.validators.in_((CRS_WGS84,)))

    def __attrs_post_init__(self) -> None:
        if self.y_index.ndim != 1 or self.y_index.shape != self.x_index.shape:
            raise ValueError(
                f"GridInfo: y_index and x_index must be 1-D of one length, got {self.y_index.shape} and {self.x_index.shape}"
            )
        for name, index, size in (("y_index", self.y_index, self.ny), ("x_index", self.x_index, self.nx)):
            outside = (index < 0) | (index >= size)
            if outside.any():
                raise ValueError(f"GridInfo.{name}: site {int(np.flatnonzero(outside)[0])} is outside 0..{size - 1}")
        if np.unique(self.site_ids).size != self.site_ids.size:
            raise ValueError("GridInfo: two sites share one cell")

    @property
    def ny(self) -> int:
        return int(self.lat.size)

    @property
    def nx(self) -> int:
        return int(self.lon.size)

    @property
    def shape(self) -> tuple[int, int]:
        return self.ny, self.nx

    @property
    def site_ids(self) -> np.ndarray:
        """Row-major cell numbers ``y * nx + x`` of the sites, ``(site,)`` int64."""
        return self.y_index * self.nx + self.x_index

    @property
    def land_mask(self) -> np.ndarray:
        """``(y, x)`` True where a cell is a site."""
        mask = np.zeros(self.shape, dtype=bool)
        mask[self.y_index, self.x_index] = True
        return mask

    def subset(self, site_indices: np.ndarray) -> GridInfo:
        """The same grid with only the sites at positions ``site_indices``."""
        site_indices = np.asarray(site_indices, dtype="int64")
        return GridInfo(self.lat, self.lon, self.y_index[site_indices], self.x_index[site_indices], self.crs)

    def to_map(self, values: np.ndarray) -> np.ndarray:
        """Scatter ``values (..., site)`` onto ``(..., y, x)``; cells without a site are NaN."""
        values = np.asarray(values)
        if values.shape[-1] != self.y_index.size:
            raise ValueError(f"GridInfo.to_map: last axis has {values.shape[-1]} values for {self.y_index.size} sites")
        out = np.full(values.shape[:-1] + self.shape, np.nan, dtype=np.result_type(values.dtype, np.float32))
        out[..., self.y_index, self.x_index] = values
        return out

    def tile_shape(self, cells_per_tile: int) -> tuple[int, int]:
        """A square tile of about ``cells_per_tile`` cells (side rounded down), clipped to the grid."""
        if cells_per_tile < 1:
            raise ValueError(f"cells per tile must be >= 1, got {cells_per_tile}")
        side = max(1, math.isqrt(int(cells_per_tile)))
        return min(side, self.ny), min(side, self.nx)

    def tiles(self, tile_shape: tuple[int, int]) -> list[Tile]:
        """The tiles holding at least one site, row by row; each lists its sites in table order."""
        tile_y, tile_x = tile_shape
        tile_of_site = (self.y_index // tile_y) * math.ceil(self.nx / tile_x) + self.x_index // tile_x
        order = np.argsort(tile_of_site, kind="stable")  # stable: table order within a tile
        numbers, starts = np.unique(tile_of_site[order], return_index=True)
        tiles = []
        for number, sites in zip(numbers, np.split(order, starts[1:])):
            row, column = divmod(int(number), math.ceil(self.nx / tile_x))
            y = slice(row * tile_y, min((row + 1) * tile_y, self.ny))
            x = slice(column * tile_x, min((column + 1) * tile_x, self.nx))
            tiles.append(Tile(y=y, x=x, sites=sites))
        return tiles


@attrs.frozen(eq=False)
class Tile:
    """Rows ``y`` and columns ``x`` of one tile and the positions ``sites`` of its land cells."""

    y: slice
    x: slice
    sites: np.ndarray
