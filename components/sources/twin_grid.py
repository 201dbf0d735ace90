"""Gridded synthetic twin: a regular lat/lon tile of land cells fed to the site twin's machinery.

``source: {kind: twin_grid, ...}`` builds a tile of ``ny x nx`` cells of ``resolution`` degrees
(0.01 deg, about 1 km, by default) whose south-west corner is (``south``, ``west``):

* a land mask: a coherent field with the correlation length ``coast_length``, land where its
  quantile is below ``land_fraction`` (so about that share of cells is land, in connected
  patches); sea cells are not sites;
* for each land cell the site twin's statics, weather, forcing errors, LAI/VOD, Sentinel-1 orbit
  table and calendar, truth run, backscatter and in-situ series (modules ``twin_*``), with the
  random numbers of :mod:`twin_grid_draws`: coherent land cover and soils (patches of about
  ``landscape_length``), weather and forcing-product errors (``weather_length``), and an orbit
  table that is constant over swath-sized areas (``swath_length``) with edges where neighbouring
  cells see different relative orbits (and so acquisitions on different days);
* site ids ``y * nx + x`` and a :class:`~s1da.framework.grid.GridInfo` in ``SiteData.grid``.

Every number of a cell depends only on the seed, the cell's row/column and its position, so
``site_ids`` (a subset of land cells, e.g. one task's tile) gives the same numbers as the whole
tile.  The physics is the site twin's; only where its random numbers come from differs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import attrs
import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import ndtr

from s1da.framework import progress
from s1da.framework.domain import DeferredSiteData
from s1da.framework.grid import GridInfo
from s1da.framework.interfaces import LandModel
from s1da.framework.random_fields import LatticeField
from s1da.framework.randomness import Purpose
from s1da.framework.sitedata import SiteData

from .twin import (
    ForcingErrorParameters,
    InsituParameters,
    TruthBackscatterParameters,
    TwinNetwork,
    WeatherParameters,
    _period,
    assemble_network,
)
from .twin_experiment import network_site_data
from .twin_grid_draws import GridDraws
from .twin_sites import LATITUDE_RANGE, LONGITUDE_RANGE, sites_at
from s1da.framework.validators import finite_positive, positive_int, unit_interval

LAND_MASK_BLOCK = 0
"""Block of the land-mask field under ``Purpose.TWIN_GRID_FIELD`` (other blocks are >= 10_000)."""


@attrs.frozen
class TwinGridOptions:
    """``source: {kind: twin_grid, ...}`` (module docstring)."""

    south: float = attrs.field(default=45.0, converter=float, metadata={"units": "degrees_north", "doc": "southern edge of the tile"})
    west: float = attrs.field(default=5.0, converter=float, metadata={"units": "degrees_east", "doc": "western edge of the tile"})
    ny: int = attrs.field(default=40, validator=positive_int, metadata={"units": "1", "doc": "rows (cells south to north)"})
    nx: int = attrs.field(default=40, validator=positive_int, metadata={"units": "1", "doc": "columns (cells west to east)"})
    resolution: float = attrs.field(default=0.01, converter=float, validator=finite_positive, metadata={"units": "degree"})
    land_fraction: float = attrs.field(default=0.9, converter=float, validator=unit_interval, metadata={"units": "1"})
    coast_length: float = attrs.field(default=0.1, converter=float, validator=finite_positive, metadata={"units": "degree"})
    landscape_length: float = attrs.field(default=0.03, converter=float, validator=finite_positive, metadata={"units": "degree"})
    weather_length: float = attrs.field(default=0.5, converter=float, validator=finite_positive, metadata={"units": "degree"})
    swath_length: float = attrs.field(default=0.2, converter=float, validator=finite_positive, metadata={"units": "degree"})
    site_ids: tuple | None = attrs.field(
        default=None, converter=attrs.converters.optional(tuple), metadata={"doc": "build only these land cells (ids y * nx + x)"}
    )
    truth_spinup_years: int = attrs.field(default=1, validator=attrs.validators.ge(0))
    weather: WeatherParameters = attrs.field(factory=WeatherParameters)
    forcing_error: ForcingErrorParameters = attrs.field(factory=ForcingErrorParameters)
    backscatter: TruthBackscatterParameters = attrs.field(factory=TruthBackscatterParameters)
    insitu: InsituParameters = attrs.field(factory=InsituParameters)

    def __attrs_post_init__(self) -> None:
        north = self.south + self.ny * self.resolution
        east = self.west + self.nx * self.resolution
        if not (LATITUDE_RANGE[0] <= self.south and north <= LATITUDE_RANGE[1]):
            raise ValueError(f"the tile spans {self.south}..{north} N; the twin's climate covers {LATITUDE_RANGE[0]}..{LATITUDE_RANGE[1]} N")
        if not (LONGITUDE_RANGE[0] <= self.west and east <= LONGITUDE_RANGE[1]):
            raise ValueError(f"the tile spans {self.west}..{east} E; the twin's climate covers {LONGITUDE_RANGE[0]}..{LONGITUDE_RANGE[1]} E")

    @property
    def lat(self) -> np.ndarray:
        """Cell-centre latitudes ``(y,)``, south to north."""
        return self.south + (np.arange(self.ny) + 0.5) * self.resolution

    @property
    def lon(self) -> np.ndarray:
        """Cell-centre longitudes ``(x,)``, west to east."""
        return self.west + (np.arange(self.nx) + 0.5) * self.resolution

    def draws(self) -> GridDraws:
        return GridDraws(self.lat, self.lon, self.landscape_length, self.weather_length, self.swath_length)


def is_land(options: TwinGridOptions, entropy: int, cells: np.ndarray) -> np.ndarray:
    """Whether the cells ``y * nx + x`` are land (the land field at those cells only)."""
    y, x = np.divmod(np.asarray(cells, dtype=np.int64), options.nx)
    field = LatticeField(options.coast_length, options.coast_length)
    z = field.normals(entropy, options.lat[y], options.lon[x], Purpose.TWIN_GRID_FIELD, LAND_MASK_BLOCK)
    return ndtr(z) < options.land_fraction


def land_cells(options: TwinGridOptions, entropy: int) -> np.ndarray:
    """Ids ``y * nx + x`` of the land cells of the whole tile, ascending."""
    cells = np.arange(options.ny * options.nx, dtype=np.int64)
    return cells[is_land(options, entropy, cells)]


def _requested_cells(options: TwinGridOptions, entropy: int, site_ids: Sequence[int] | None) -> np.ndarray:
    if site_ids is None:
        land = land_cells(options, entropy)
        if land.size == 0:
            raise ValueError(f"the tile has no land cell (land_fraction={options.land_fraction})")
        return land
    ids = np.asarray(site_ids)
    if ids.ndim != 1 or ids.size == 0 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"site_ids must be a non-empty 1-d sequence of integers, got {site_ids!r}")
    inside = (ids >= 0) & (ids < options.ny * options.nx)
    not_land = np.sort(ids[~inside])
    if not not_land.size:
        not_land = ids[~is_land(options, entropy, ids)]
    if not_land.size:
        raise ValueError(f"site_ids {not_land[:10].tolist()} are not land cells of the {options.ny} x {options.nx} tile")
    if np.unique(ids).size != ids.size:
        raise ValueError("site_ids holds duplicates")
    return ids.astype(np.int64)


def build_grid_network(options: TwinGridOptions, start, end, seed: int) -> tuple[TwinNetwork, GridInfo]:
    """The twin network of the tile's land cells (or ``options.site_ids``) for [start, end)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    entropy = int(seed)
    ids = _requested_cells(options, entropy, options.site_ids)
    y, x = np.divmod(ids, options.nx)
    draws = options.draws()
    sites = sites_at(entropy, ids, options.lat[y], options.lon[x], draws)
    network = assemble_network(
        sites, _period(start, end), entropy, weather=options.weather, forcing_error=options.forcing_error, draws=draws
    )
    return network, GridInfo(options.lat, options.lon, y, x)


def twin_grid_cells(
    options: TwinGridOptions, *, start, end, seed: int, model_factory: Callable[[xr.Dataset], LandModel]
) -> DeferredSiteData:
    """The tile's land cells (or ``options.site_ids``) with their inputs built on demand, cells
    at a time (:class:`~s1da.framework.domain.DeferredSiteData`): the engine's tasks build only
    their own cells, with the numbers :func:`twin_grid_site_data` gives for the whole tile."""
    ids = _requested_cells(options, int(seed), options.site_ids)
    y, x = np.divmod(ids, options.nx)
    sites = xr.Dataset(
        coords={
            "site": ("site", ids, {"long_name": "site identifier", "units": "1"}),
            "lat": ("site", options.lat[y], {"units": "degrees_north", "long_name": "latitude", "standard_name": "latitude"}),
            "lon": ("site", options.lon[x], {"units": "degrees_east", "long_name": "longitude", "standard_name": "longitude"}),
        }
    )
    build = functools.partial(_build_cells, options, start, end, int(seed), model_factory, _description(options, ids.size, seed))
    return DeferredSiteData(
        sites=sites, times=np.arange(np.datetime64(str(start)[:10], "D"), np.datetime64(str(end)[:10], "D") + 1), build=build,
        description=_description(options, ids.size, seed), grid=GridInfo(options.lat, options.lon, y, x),
    )


def _build_cells(options, start, end, seed, model_factory, description, site_ids: np.ndarray) -> SiteData:
    cells = attrs.evolve(options, site_ids=tuple(np.asarray(site_ids).tolist()))
    with progress.showing(False):  # a task's cells: the engine's bar shows the run's progress
        data = twin_grid_site_data(cells, start=start, end=end, seed=seed, model_factory=model_factory)
    return attrs.evolve(data, description=description)


def _description(options: TwinGridOptions, n_cells: int, seed: int) -> str:
    return (
        f"s1da gridded synthetic twin ({options.ny} x {options.nx} cells of {options.resolution} deg from "
        f"{options.south} N {options.west} E, {n_cells} land cells, seed {seed})"
    )


BLOCK_CELLS = 2048
"""Cells built at once: the twin's intermediate (time, cell) arrays of one block bound the peak memory."""


def twin_grid_site_data(
    options: TwinGridOptions, *, start, end, seed: int, model_factory: Callable[[xr.Dataset], LandModel]
) -> SiteData:
    """Everything the experiment needs for ``start..end`` (inclusive), with ``SiteData.grid``.

    The cells are built in blocks of :data:`BLOCK_CELLS` and joined (the numbers do not depend on
    the blocks), so the peak memory is the result plus one block's working arrays.
    """
    end_exclusive = pd.Timestamp(end) + pd.Timedelta(days=1)
    ids = _requested_cells(options, int(seed), options.site_ids)
    blocks = []
    with progress.bar(ids.size, f"twin_grid: building {ids.size} cells", "cell") as shown:
        for first in range(0, ids.size, BLOCK_CELLS):
            block_options = attrs.evolve(options, site_ids=tuple(ids[first : first + BLOCK_CELLS].tolist()))
            network, _ = build_grid_network(block_options, start, end_exclusive, seed)
            blocks.append(network_site_data(network, model_factory, options.truth_spinup_years, options.backscatter, options.insitu, ""))
            shown.update(len(block_options.site_ids))
    y, x = np.divmod(ids, options.nx)
    description = _description(options, ids.size, seed)
    if len(blocks) == 1:
        return attrs.evolve(blocks[0], description=description, grid=GridInfo(options.lat, options.lon, y, x))

    def joined(name: str):
        parts = [getattr(block, name) for block in blocks]
        return None if parts[0] is None else xr.concat(parts, dim="site", data_vars="all", coords="minimal", compat="override")

    return SiteData(
        sites=joined("sites"),
        forcing=joined("forcing"),
        observations=joined("observations"),
        insitu=joined("insitu"),
        truth=joined("truth"),
        description=description,
        grid=GridInfo(options.lat, options.lon, y, x),
    )
