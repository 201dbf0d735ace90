"""A domain whose inputs are built task by task, so that no process holds the whole domain.

A gridded source over a continent cannot hand the experiment all its inputs at once (the
gridded twin at 100,000 cells holds about 6 GB of forcing, LAI, observations and truth).
Such a source returns a :class:`DeferredSiteData` instead of a
:class:`~s1da.framework.sitedata.SiteData`: the cells (ids, positions, the grid, the days
covered) and a ``build`` function; :meth:`DeferredSiteData.subset` builds the
:class:`~s1da.framework.sitedata.SiteData` of some cells only.  The source's numbers are keyed
by cell (:mod:`s1da.framework.randomness`), so any subset holds the same numbers, bit for bit,
as the whole domain would.

The engine's driver lays out the store from the cells alone; each task builds its own cells
(:meth:`s1da.framework.experiment.Experiment.for_sites`) and its own land model for them
(``Experiment.model_factory``), so the memory of a task depends on its number of cells, not on
the size of the domain.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import numpy as np
import xarray as xr

from s1da.framework.grid import GridInfo
from s1da.framework.sitedata import DataError, SiteData


@attrs.frozen(eq=False)
class DeferredSiteData:
    """The cells of a domain and how to build their inputs (module docstring).

    * ``sites``: Dataset with dimension ``site`` (integer ids) and coordinates ``lat``,
      ``lon`` (degrees) only: what the driver and a perturber need to place the cells.
    * ``times``: the days the built inputs cover, ``datetime64[D]``.
    * ``build``: site ids ``(n,)`` -> the :class:`SiteData` of those cells, in that order
      (picklable: it travels to dask workers).
    * ``grid``: where the cells sit on the lat/lon grid, as :attr:`SiteData.grid`.
    """

    sites: xr.Dataset
    times: np.ndarray = attrs.field(converter=lambda value: np.asarray(value, dtype="datetime64[D]"))
    build: Callable[[np.ndarray], SiteData]
    description: str = ""
    grid: GridInfo | None = None

    deferred = True
    """Marks data whose inputs are built by :meth:`subset` (a :class:`SiteData` has none)."""

    @property
    def site_ids(self) -> np.ndarray:
        return self.sites["site"].values.astype("int64")

    def restrict(self, site_indices: np.ndarray) -> DeferredSiteData:
        """The same deferred data for the cells at positions ``site_indices`` (nothing is built)."""
        site_indices = np.asarray(site_indices, dtype="int64")
        grid = None if self.grid is None else self.grid.subset(site_indices)
        return attrs.evolve(self, sites=self.sites.isel(site=site_indices), grid=grid)

    def build_all(self) -> SiteData:
        """The built inputs of every cell of this (restricted) domain."""
        return self.subset(np.arange(self.site_ids.size))

    def subset(self, site_indices: np.ndarray) -> SiteData:
        """The built inputs of the cells at positions ``site_indices`` (in that order)."""
        site_indices = np.asarray(site_indices, dtype="int64")
        if site_indices.ndim != 1 or site_indices.size == 0:
            raise ValueError(f"DeferredSiteData.subset: need a non-empty 1-D array of site positions, got shape {site_indices.shape}")
        wanted = self.site_ids[site_indices]
        data = self.build(wanted)
        if not np.array_equal(data.site_ids, wanted):
            raise DataError(f"{self.description or 'deferred source'}: built sites {data.site_ids[:5]}... for {wanted[:5]}...")
        return data
