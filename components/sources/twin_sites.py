"""Where the twin's sites are and what climate they have.

Sites lie on a Mediterranean -> boreal gradient (latitude 36-65 N, longitude -9-30 E).  A
site's position is drawn from its own stream, so it does not depend on how many sites the
network has.  Three climate indices in [0, 1] drive the weather and vegetation modules:

* ``mediterranean_index`` m = clip((46 - lat) / 8, 0, 1): dry summers, wet winters;
* ``northness`` n = clip((lat - 46) / 19, 0, 1): cold winters, late green-up;
* ``continentality`` k = clip((lon + 9) / 39, 0, 1): distance from the Atlantic.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from s1da.framework.randomness import Purpose

from .twin_land_cover import draw_land_cover
from .twin_random import INDEPENDENT, Draws, Substream, static_draws
from .twin_soils import draw_soils

LATITUDE_RANGE = (36.0, 65.0)
LONGITUDE_RANGE = (-9.0, 30.0)


def _longitude_bounds(lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Land of Europe, coarsely: Iberia to Anatolia in the south, Norway to Finland in the north."""
    north = np.clip((lat - 44.0) / 14.0, 0.0, 1.0)
    west = LONGITUDE_RANGE[0] + north * 14.0  # -9 E (Portugal) .. 5 E (Norway)
    east = np.full_like(lat, LONGITUDE_RANGE[1])
    return west, east


def climate_indices(lat: np.ndarray, lon: np.ndarray) -> dict[str, np.ndarray]:
    """The three climate indices of the module docstring."""
    return {
        "mediterranean_index": np.clip((46.0 - lat) / 8.0, 0.0, 1.0),
        "northness": np.clip((lat - 46.0) / 19.0, 0.0, 1.0),
        "continentality": np.clip((lon - LONGITUDE_RANGE[0]) / (LONGITUDE_RANGE[1] - LONGITUDE_RANGE[0]), 0.0, 1.0),
    }


def draw_sites(entropy: int, site_ids: np.ndarray) -> xr.Dataset:
    """Static description of each site: position, climate indices, land cover, soil."""
    site_ids = np.asarray(site_ids, dtype=np.int64)
    uniforms = static_draws(entropy, site_ids, Purpose.TWIN_STATIC, Substream.SITE_GEOGRAPHY, 2)
    lat = LATITUDE_RANGE[0] + (LATITUDE_RANGE[1] - LATITUDE_RANGE[0]) * uniforms[:, 0]
    west, east = _longitude_bounds(lat)
    lon = west + (east - west) * uniforms[:, 1]
    return sites_at(entropy, site_ids, lat, lon)


def sites_at(entropy: int, site_ids: np.ndarray, lat: np.ndarray, lon: np.ndarray, draws: Draws = INDEPENDENT) -> xr.Dataset:
    """Static description of sites at given positions: climate indices, land cover, soil."""
    indices = climate_indices(lat, lon)

    sites = xr.Dataset(
        {
            "mediterranean_index": ("site", indices["mediterranean_index"], {"units": "1", "long_name": "Mediterranean climate index"}),
            "northness": ("site", indices["northness"], {"units": "1", "long_name": "boreal climate index"}),
            "continentality": ("site", indices["continentality"], {"units": "1", "long_name": "continentality index"}),
        },
        coords={
            "site": ("site", site_ids, {"long_name": "site identifier", "units": "1"}),
            "lat": ("site", lat, {"units": "degrees_north", "long_name": "latitude", "standard_name": "latitude"}),
            "lon": ("site", lon, {"units": "degrees_east", "long_name": "longitude", "standard_name": "longitude"}),
        },
    )
    sites = sites.merge(draw_land_cover(entropy, site_ids, draws).assign_coords(site=site_ids))
    sites = sites.merge(draw_soils(entropy, site_ids, draws).assign_coords(site=site_ids))
    return sites
