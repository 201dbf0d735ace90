"""Land-cover classes of the twin network and their GLEAM fractions (docs/model/gleam.md a.1).

Class shares follow Rains et al. (2022)'s network: ~40 % cropland, 20 % tree cover, 15 %
herbaceous, 15 % grassland, 10 % urban.  Each class maps to nominal GLEAM fractions
(f_T tall vegetation, f_H short vegetation, f_B bare soil, f_W open water):

============  =====  =====  =====  =====  ==============================================
class          f_T    f_H    f_B    f_W    reading
============  =====  =====  =====  =====  ==============================================
cropland       0.05   0.75   0.20   0.00   hedgerows; crops are short vegetation; bare
                                           soil between rows and after harvest
tree_cover     0.75   0.15   0.10   0.00   canopy cover ~75 %, understorey, gaps
herbaceous     0.15   0.65   0.20   0.00   natural herbaceous / shrubland, sparse trees
grassland      0.03   0.87   0.10   0.00   closed meadow
urban          0.10   0.30   0.55   0.05   sealed surfaces counted as bare soil; ponds
============  =====  =====  =====  =====  ==============================================

Each site jitters the non-zero nominal fractions by a log-normal factor (log-SD 0.25), 20 % of
non-urban sites get a little open water (up to 3 %), then the fractions are normalised; f_B is
computed as ``1 - f_T - f_H - f_W`` so the sum is one to rounding.  Land-cover classes are drawn
independently per site (a categorical draw), so the network's shares approach the paper's as
the number of sites grows.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from s1da.framework.randomness import Purpose

from .twin_random import INDEPENDENT, Draws, Substream, normal_from_uniform

LAND_COVER_SHARES: dict[str, float] = {
    "cropland": 0.40,
    "tree_cover": 0.20,
    "herbaceous": 0.15,
    "grassland": 0.15,
    "urban": 0.10,
}

NOMINAL_FRACTIONS: dict[str, tuple[float, float, float, float]] = {
    # class: (f_T, f_H, f_B, f_W)
    "cropland": (0.05, 0.75, 0.20, 0.00),
    "tree_cover": (0.75, 0.15, 0.10, 0.00),
    "herbaceous": (0.15, 0.65, 0.20, 0.00),
    "grassland": (0.03, 0.87, 0.10, 0.00),
    "urban": (0.10, 0.30, 0.55, 0.05),
}

FRACTION_JITTER = 0.25
OPEN_WATER_PROBABILITY = 0.2
OPEN_WATER_MAX = 0.03

FRACTION_LONG_NAMES = {
    "f_T": "fraction of tall vegetation",
    "f_H": "fraction of short (herbaceous) vegetation",
    "f_B": "fraction of bare soil",
    "f_W": "fraction of open water",
}


def draw_land_cover(entropy: int, site_ids: np.ndarray, draws: Draws = INDEPENDENT) -> xr.Dataset:
    """Land-cover class and GLEAM fractions per site."""
    names = list(LAND_COVER_SHARES)
    cumulative = np.cumsum([LAND_COVER_SHARES[n] for n in names])
    uniforms = draws.static(entropy, site_ids, Purpose.TWIN_STATIC, Substream.LAND_COVER, 7)
    choice = np.minimum(np.searchsorted(cumulative, uniforms[:, 0] * cumulative[-1], side="right"), len(names) - 1)
    classes = np.array([names[i] for i in choice], dtype=object)

    nominal = np.array([NOMINAL_FRACTIONS[c] for c in classes.tolist()]).reshape(-1, 4)
    normals = normal_from_uniform(uniforms[:, 1:5])
    fractions = nominal * np.exp(FRACTION_JITTER * normals)
    gets_water = (uniforms[:, 5] < OPEN_WATER_PROBABILITY) & (classes != "urban")
    fractions[:, 3] = np.where(gets_water, OPEN_WATER_MAX * uniforms[:, 6], fractions[:, 3])
    fractions /= fractions.sum(axis=1, keepdims=True)
    f_T, f_H, f_W = fractions[:, 0], fractions[:, 1], fractions[:, 3]
    f_B = 1.0 - f_T - f_H - f_W

    data = {
        "land_cover": (
            "site",
            classes.astype(str),
            {"units": "1", "long_name": "land-cover class", "flag_meanings": " ".join(names)},
        )
    }
    for name, values in (("f_T", f_T), ("f_H", f_H), ("f_B", f_B), ("f_W", f_W)):
        data[name] = ("site", values, {"units": "1", "long_name": FRACTION_LONG_NAMES[name]})
    return xr.Dataset(data)
