"""Daily LAI and VOD of the twin network, by land-cover class and climate.

Season markers (day of year) follow latitude, so green-up is later in the north:
start of season ``sos = 75 + 2.5 (lat - 36)``, end ``eos = 300 - 1.5 (lat - 36)``, each site
shifted by N(0, 5 d) and each site-year by N(0, 7 d).  ``dl(d)`` is a double logistic
``sigmoid((d - sos) / 8) - sigmoid((d - eos) / 12)`` (clipped at zero).

==========  =================================================================================
class       LAI (m2 m-2)
==========  =================================================================================
cropland    winter cereal (60 % of crop sites): ``0.2 + L bell(d; 140 + 2 (lat - 36))``;
            summer crop: ``0.2 + L bell(d; 210 + (lat - 36))``; the bell rises with a 35 d
            (cereal) / 30 d (summer crop) SD and collapses after the peak with 15 / 20 d
            (harvest); L ~ 4.5 * site scale.
tree_cover  evergreen share e = clip(0.3 + 0.5 n + 0.4 m, 0, 1):
            ``e 3.0 (1 - 0.15 winterness) + (1 - e)(0.6 + 4.0 dl(d))``
grassland   ``(1 - m)(0.5 + 2.0 dl(d; sos - 10, eos + 10)) + m (0.4 + 1.6 (1 - dl(d; 140, 280)))``
            (Mediterranean grass is green from autumn to spring and dry in summer)
herbaceous  ``(1 - m)(0.6 + 1.4 dl(d)) + m (0.5 + 1.0 (1 - dl(d; 150, 290)))``
urban       ``0.3 + 0.8 dl(d)`` (parks and street trees)
==========  =================================================================================

The seasonal parts are scaled per site (log-normal, log-SD 0.15) and per site-year (N(1, 0.08)).

VOD (X/C-band-like, unitless) grows with woody biomass and leaf water:
``VOD = 0.05 + 0.6 f_T + 0.08 LAI + a_t``, ``a_t`` AR(1) with coefficient 0.9 and SD 0.02,
floored at 0.01.  The percentiles p01/p99 (docs/model/gleam.md a.1 statics) are taken over the
simulated period, so they depend on [start, end).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from s1da.framework.randomness import Purpose

from .twin_random import INDEPENDENT, Draws, Substream, normal_from_uniform

WINTER_CEREAL_SHARE = 0.6
VOD_AUTOCORRELATION = 0.9
VOD_NOISE_SD = 0.02


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _double_logistic(doy: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    return np.clip(_sigmoid((doy - start) / 8.0) - _sigmoid((doy - end) / 12.0), 0.0, 1.0)


def _bell(doy: np.ndarray, peak: np.ndarray, rise_sd: float, fall_sd: float) -> np.ndarray:
    width = np.where(doy <= peak, rise_sd, fall_sd)
    return np.exp(-0.5 * ((doy - peak) / width) ** 2)


def draw_vegetation_statics(entropy: int, site_ids: np.ndarray, sites: xr.Dataset, draws: Draws = INDEPENDENT) -> xr.Dataset:
    """Per-site vegetation traits: crop type, evergreen share, LAI scale, timing shift."""
    uniforms = draws.static(entropy, site_ids, Purpose.TWIN_STATIC, Substream.VEGETATION_STATIC, 3)
    normals = normal_from_uniform(uniforms[:, 1:])
    m = sites["mediterranean_index"].values
    n = sites["northness"].values
    return xr.Dataset(
        {
            "crop_type": (
                "site",
                np.where(uniforms[:, 0] < WINTER_CEREAL_SHARE, "winter_cereal", "summer_crop"),
                {"units": "1", "long_name": "crop calendar (used on cropland sites only)"},
            ),
            "evergreen_share": (
                "site",
                np.clip(0.3 + 0.5 * n + 0.4 * m, 0.0, 1.0),
                {"units": "1", "long_name": "evergreen share of the tree cover"},
            ),
            "lai_scale": ("site", np.exp(0.15 * normals[:, 0]), {"units": "1", "long_name": "site scale of the LAI seasonal amplitude"}),
            "phenology_shift": ("site", 5.0 * normals[:, 1], {"units": "d", "long_name": "site shift of the vegetation season"}),
        }
    )


def simulate_lai(sites: xr.Dataset, times: pd.DatetimeIndex, entropy: int, draws: Draws = INDEPENDENT) -> np.ndarray:
    """Daily LAI ``(time, site)`` in m2 m-2 (sites must hold the vegetation statics)."""
    site_ids = sites["site"].values
    lat = sites["lat"].values[None, :]
    m = sites["mediterranean_index"].values[None, :]
    doy = np.asarray(times.day_of_year, dtype=float)[:, None]
    years = np.asarray(times.year)
    unique_years, year_index = np.unique(years, return_inverse=True)
    yearly = normal_from_uniform(
        draws.per_year(entropy, site_ids, Purpose.TWIN_WEATHER, Substream.VEGETATION_YEAR, unique_years, 2)
    )
    shift = sites["phenology_shift"].values[None, :] + 7.0 * yearly[year_index, :, 0]
    amplitude = sites["lai_scale"].values[None, :] * np.maximum(1.0 + 0.08 * yearly[year_index, :, 1], 0.5)

    sos = 75.0 + 2.5 * (lat - 36.0) + shift
    eos = 300.0 - 1.5 * (lat - 36.0) + shift
    season = _double_logistic(doy, sos, eos)
    winterness = 0.5 * (1.0 + np.cos(2.0 * np.pi * (doy - 15.0) / 365.25))

    cereal = 0.2 + 4.5 * amplitude * _bell(doy, 140.0 + 2.0 * (lat - 36.0) + shift, 35.0, 15.0)
    summer_crop = 0.2 + 4.5 * amplitude * _bell(doy, 210.0 + 1.0 * (lat - 36.0) + shift, 30.0, 20.0)
    crop = np.where(sites["crop_type"].values[None, :] == "winter_cereal", cereal, summer_crop)

    evergreen = sites["evergreen_share"].values[None, :]
    trees = evergreen * 3.0 * (1.0 - 0.15 * winterness) + (1.0 - evergreen) * (0.6 + 4.0 * amplitude * season)
    grass = (1.0 - m) * (0.5 + 2.0 * amplitude * _double_logistic(doy, sos - 10.0, eos + 10.0)) + m * (
        0.4 + 1.6 * amplitude * (1.0 - _double_logistic(doy, 140.0 + shift, 280.0 + shift))
    )
    herbaceous = (1.0 - m) * (0.6 + 1.4 * amplitude * season) + m * (
        0.5 + 1.0 * amplitude * (1.0 - _double_logistic(doy, 150.0 + shift, 290.0 + shift))
    )
    urban = 0.3 + 0.8 * amplitude * season

    land_cover = sites["land_cover"].values[None, :]
    lai = np.select(
        [land_cover == "cropland", land_cover == "tree_cover", land_cover == "grassland", land_cover == "herbaceous"],
        [crop, trees, grass, herbaceous],
        default=urban,
    )
    return lai


def simulate_vod(
    sites: xr.Dataset, lai: np.ndarray, times: pd.DatetimeIndex, entropy: int, draws: Draws = INDEPENDENT
) -> np.ndarray:
    """Daily VOD ``(time, site)`` (unitless) from LAI and tall-vegetation cover."""
    innovations = draws.yearly(entropy, sites["site"].values, Purpose.TWIN_WEATHER, Substream.VOD_NOISE, times, "normal")
    noise = np.empty_like(lai)
    noise[0] = VOD_NOISE_SD * innovations[0]
    scale = VOD_NOISE_SD * np.sqrt(1.0 - VOD_AUTOCORRELATION**2)
    for t in range(1, len(times)):
        noise[t] = VOD_AUTOCORRELATION * noise[t - 1] + scale * innovations[t]
    return np.maximum(0.05 + 0.6 * sites["f_T"].values[None, :] + 0.08 * lai + noise, 0.01)
