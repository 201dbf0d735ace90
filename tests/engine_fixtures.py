"""Small inputs for the engine tests: a handmade gridded SiteData (the twin network on a grid)."""

from __future__ import annotations

import numpy as np

from s1da.framework.grid import GridInfo
from s1da.framework.sitedata import SiteData

# a 4 x 5 grid; the cells that are land (row-major ids y * 5 + x), the others are sea
GRID_SHAPE = (4, 5)
LAND_CELLS = np.array([0, 1, 3, 6, 7, 8, 9, 11, 12, 15, 17, 19])


def regrid(data: SiteData, cells: np.ndarray = LAND_CELLS, shape: tuple[int, int] = GRID_SHAPE) -> SiteData:
    """Put the first ``len(cells)`` sites of ``data`` onto the cells ``cells`` of a small grid."""
    ny, nx = shape
    data = data.subset(np.arange(len(cells)))
    lat = 50.0 - 0.25 * np.arange(ny)
    lon = 5.0 + 0.25 * np.arange(nx)
    y_index, x_index = np.divmod(cells, nx)
    grid = GridInfo(lat=lat, lon=lon, y_index=y_index, x_index=x_index)

    def relabel(part):
        if part is None:
            return None
        part = part.assign_coords(site=cells)
        if "lat" in part.coords:
            part = part.assign_coords(
                lat=("site", lat[y_index], part["lat"].attrs), lon=("site", lon[x_index], part["lon"].attrs)
            )
        return part

    return SiteData(
        sites=relabel(data.sites),
        forcing=relabel(data.forcing),
        observations=relabel(data.observations),
        insitu=relabel(data.insitu),
        truth=relabel(data.truth),
        description=f"{data.description} on a {ny} x {nx} test grid",
        grid=grid,
    )
