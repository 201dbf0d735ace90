"""A gridded store seen as a network of its land cells, for the network-level validation.

Run groups of a gridded store are maps ``(time, [member,] y, x)``; the validation scores sites.
:class:`GridSiteView` offers the reading methods of :class:`~s1da.framework.store.EnsembleStore`
that the validation uses, with every ``(y, x)`` pair of dimensions replaced by the ``site``
dimension of the land cells (site id ``y * nx + x``, in the order of the source's site table).
"""

from __future__ import annotations

import xarray as xr

from s1da.framework.grid import GridInfo
from s1da.framework.store import EnsembleStore


class GridSiteView:
    """``read``, ``ensemble_mean`` and ``has_group`` of a gridded store, by land cell."""

    def __init__(self, store: EnsembleStore, grid: GridInfo):
        self.store = store
        self.grid = grid

    def has_group(self, name: str) -> bool:
        return self.store.has_group(name)

    def read(self, name: str, *, allow_incomplete: bool = False) -> xr.Dataset:
        dataset = self.store.read(name, allow_incomplete=allow_incomplete)
        if "y" not in dataset.dims:
            return dataset
        cells = dataset.isel(
            y=xr.DataArray(self.grid.y_index, dims="site"), x=xr.DataArray(self.grid.x_index, dims="site")
        )
        cells = cells.drop_vars([name for name in ("crs",) if name in cells.variables])
        return cells.assign_coords(site=("site", self.grid.site_ids, {"long_name": "site identifier", "units": "1"}))

    def ensemble_mean(self, name: str, variable: str) -> xr.DataArray:
        """The member mean (from the members if stored, else the stored ``<variable>_mean``)."""
        dataset = self.read(name)
        if variable in dataset and "member" in dataset[variable].dims:
            values = dataset[variable].mean("member")
        else:
            values = dataset[f"{variable}_mean"]
        return values.astype("float64").transpose("time", "site").load()
