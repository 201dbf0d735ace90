"""Keyed random draws of the synthetic twin network.

Every number of the twin comes from ``s1da.framework.randomness.stream(entropy, site_id,
purpose, block)``.  Within one purpose, a :class:`Substream` says which quantity is drawn, and
time-varying quantities are drawn per calendar year, so the draw for a site on a date depends on
(entropy, site id, purpose, substream, year, day of year) only.  Consequences:

* any subset of sites gives the same numbers for those sites (no draw is shared across sites);
* the random innovations on a date do not depend on the period requested (recursions such as
  AR(1) processes still start from their stationary distribution on the first day of the period).

The block number is ``substream * 10_000 + year`` for yearly draws and ``substream`` for static
draws.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

import numpy as np
import pandas as pd

from s1da.framework.randomness import Purpose, stream

DAYS_IN_BLOCK = 366
"""Every yearly block draws 366 values; day of year ``j`` (1-based) takes element ``j - 1``."""


class Substream(enum.IntEnum):
    """Which quantity a draw is for.  Values are part of the block key: never renumber them."""

    # static draws (Purpose.TWIN_STATIC / TWIN_CALENDAR)
    SITE_GEOGRAPHY = 1
    LAND_COVER = 2
    SOIL = 3
    VEGETATION_STATIC = 4
    RADAR_STATIC = 5
    ORBITS = 6
    INSITU_STATIC = 7
    FORCING_ERROR_STATIC = 8
    # yearly draws (Purpose.TWIN_WEATHER)
    PRECIPITATION_OCCURRENCE = 20
    PRECIPITATION_AMOUNT = 21
    TEMPERATURE_ANOMALY = 22
    CLOUDINESS = 23
    VEGETATION_YEAR = 24
    VOD_NOISE = 25
    # yearly draws (Purpose.TWIN_MODEL_FORCING_ERROR)
    PRECIPITATION_DETECTION = 30
    PRECIPITATION_FALSE_ALARM = 31
    PRECIPITATION_NOISE = 32
    FALSE_ALARM_AMOUNT = 33
    TEMPERATURE_NOISE = 34
    RADIATION_NOISE = 35
    # yearly draws (Purpose.TWIN_OBSERVATION_NOISE)
    SPECKLE = 40
    STRUCTURE_NOISE = 41
    # yearly draws (Purpose.TWIN_INSITU_NOISE)
    INSITU_NOISE = 50
    INSITU_OUTAGE = 51
    INSITU_DROPOUT = 52


class Draws:
    """Where the twin's random numbers come from: by default independent keyed streams per site.

    Every twin module takes its uniforms and normals from a ``Draws`` object, so a source can
    substitute spatially coherent fields (the gridded twin, :mod:`twin_grid_draws`) while the
    twin's physics stays as it is.  Methods have the signatures and shapes of the functions below.
    """

    def static(self, entropy, site_ids, purpose, substream, size, kind="uniform") -> np.ndarray:
        return static_draws(entropy, site_ids, purpose, substream, size, kind)

    def yearly(self, entropy, site_ids, purpose, substream, times, kind="uniform") -> np.ndarray:
        return yearly_draws(entropy, site_ids, purpose, substream, times, kind)

    def per_year(self, entropy, site_ids, purpose, substream, years, size) -> np.ndarray:
        return per_year_draws(entropy, site_ids, purpose, substream, years, size)


INDEPENDENT = Draws()
"""Independent keyed streams per site (the site twin's numbers)."""


def normal_from_uniform(uniforms: np.ndarray) -> np.ndarray:
    """Standard normals by inverse CDF (keeps one uniform per quantity in static draws)."""
    from scipy.special import ndtri

    return ndtri(np.clip(uniforms, 1e-12, 1 - 1e-12))


def static_draws(
    entropy: int, site_ids: np.ndarray, purpose: Purpose, substream: Substream, size: int, kind: str = "uniform"
) -> np.ndarray:
    """``size`` uniforms (or standard normals) per site, shaped ``(site, size)``."""
    out = np.empty((len(site_ids), size))
    for index, site in enumerate(site_ids):
        rng = stream(entropy, int(site), purpose, int(substream))
        out[index] = rng.random(size) if kind == "uniform" else rng.standard_normal(size)
    return out


def yearly_draws(
    entropy: int,
    site_ids: np.ndarray,
    purpose: Purpose,
    substream: Substream,
    times: pd.DatetimeIndex,
    kind: str = "uniform",
) -> np.ndarray:
    """Daily uniforms (or standard normals) shaped ``(time, site)``, keyed by calendar year."""
    draw: Callable[[np.random.Generator], np.ndarray]
    if kind == "uniform":
        draw = lambda rng: rng.random(DAYS_IN_BLOCK)  # noqa: E731
    elif kind == "normal":
        draw = lambda rng: rng.standard_normal(DAYS_IN_BLOCK)  # noqa: E731
    else:
        raise ValueError(f"unknown draw kind {kind!r}; expected 'uniform' or 'normal'")
    years = np.asarray(times.year)
    day_index = np.asarray(times.day_of_year) - 1
    out = np.empty((len(times), len(site_ids)))
    for year in np.unique(years):
        in_year = years == year
        days = day_index[in_year]
        for index, site in enumerate(site_ids):
            rng = stream(entropy, int(site), purpose, int(substream) * 10_000 + int(year))
            out[in_year, index] = draw(rng)[days]
    return out


def per_year_draws(
    entropy: int, site_ids: np.ndarray, purpose: Purpose, substream: Substream, years: np.ndarray, size: int
) -> np.ndarray:
    """``size`` uniforms per site and calendar year, shaped ``(year, site, size)``."""
    out = np.empty((len(years), len(site_ids), size))
    for year_index, year in enumerate(years):
        for index, site in enumerate(site_ids):
            rng = stream(entropy, int(site), purpose, int(substream) * 10_000 + int(year))
            out[year_index, index] = rng.random(size)
    return out


def ar1_series(innovations: np.ndarray, sd, autocorrelation: float) -> np.ndarray:
    """Stationary AR(1) noise along axis 0 with standard deviation ``sd`` from standard normals."""
    noise = np.empty_like(innovations)
    noise[0] = sd * innovations[0]
    scale = sd * np.sqrt(1.0 - autocorrelation**2)
    for t in range(1, len(innovations)):
        noise[t] = autocorrelation * noise[t - 1] + scale * innovations[t]
    return noise
