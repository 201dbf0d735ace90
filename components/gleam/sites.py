"""GLEAM statics from a source's site table (the ``sites`` Dataset of :class:`SiteData`).

Sources describe sites with short CF names (``f_T``, ``w_sat`` ...); GLEAM's
:class:`~s1da.components.gleam.statics.SiteStatics` uses descriptive ones.  This is the one place
that maps the two.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .statics import SiteStatics

SITE_TABLE_NAMES = {
    "f_T": "fraction_tall",
    "f_H": "fraction_short",
    "f_B": "fraction_bare",
    "f_W": "fraction_water",
    "w_sat": "saturation",
    "w_fc": "field_capacity",
    "w_c": "critical",
    "w_wp": "wilting_point",
    "w_r": "residual",
    "vod_p01": "vod_p01",
    "vod_p99": "vod_p99",
    "lai_p01": "lai_p01",
    "lai_p99": "lai_p99",
    "b": "pore_size_index",
    "K_sat": "saturated_conductivity",
}
REQUIRED = ("f_T", "f_H", "f_B", "f_W", "w_sat", "w_fc", "w_c", "w_wp")


def statics_from_sites(sites: xr.Dataset) -> SiteStatics:
    """Build :class:`SiteStatics` from a site table with dimension ``site``."""
    missing = [name for name in REQUIRED if name not in sites]
    if missing:
        raise ValueError(f"site table lacks {missing} needed by GLEAM (fractions and soil parameters)")
    values = {
        target: np.asarray(sites[name].values, dtype=float)
        for name, target in SITE_TABLE_NAMES.items()
        if name in sites
    }
    return SiteStatics(site_id=np.asarray(sites["site"].values), **values)
