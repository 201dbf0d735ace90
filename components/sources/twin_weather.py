"""True daily weather of the twin network: precipitation, air temperature, net radiation, snow.

Everything is vectorised over sites; only the recursions (precipitation occurrence Markov
chain, temperature AR(1) anomalies, snowpack) loop over days.

Precipitation (Richardson-type weather generator)
    Occurrence is a two-state Markov chain with a seasonal wet-day probability
    ``pi(d) = clip(pi_mean + pi_amp cos(2 pi (d - 15) / 365.25), 0.03, 0.85)`` and lag-one
    persistence ``r``: ``p(wet | dry) = pi (1 - r)``, ``p(wet | wet) = pi + r (1 - pi)``, whose
    stationary wet-day fraction is ``pi``.  ``pi_mean = 0.20 + 0.25 (1 - m) + 0.05 n - 0.08 k``
    and ``pi_amp = 0.15 m + 0.05 (1 - m)(1 - k) - 0.04 k (1 - m)`` (winter maximum in the
    Mediterranean, a weak summer maximum inland).  Amounts are gamma distributed with shape
    0.75 and a mean intensity ``mu(d) = mu_mean (1 + b cos(2 pi (d - 200) / 365.25))``,
    ``mu_mean = 4.5 + 3.5 m - 1.0 n + 0.5 k`` mm, ``b = 0.3 (1 - m) - 0.2 m``; minimum 0.1 mm.
    This gives ~550-650 mm yr-1 and ~20 % wet days in the south, ~45-55 % in the north.
Air temperature
    ``T = T_mean + A cos(2 pi (d - 200) / 365.25) + a_t + wet-day effect`` with
    ``T_mean = 19 - 0.62 (lat - 37) - 2 k`` degC and ``A = 5.5 + 0.1 (lat - 37) + 4 k + 2 m`` K;
    anomalies ``a_t = phi a_{t-1} + sqrt(1 - phi^2) sd(d) xi_t`` (phi = 0.75,
    ``sd = (2 + 1.5 k)(1 + 0.3 winterness)``); wet days are 1.5 K cooler in summer and 1 K
    warmer in winter.
Net radiation (FAO-56, Allen et al. 1998)
    Top-of-atmosphere insolation ``R_a`` from latitude and day of year (FAO-56 eqs. 21-25);
    shortwave ``R_s = R_a (0.25 + 0.5 (1 - c))`` (Angstrom-Prescott, eq. 35, with sunshine
    fraction ``1 - c`` for cloudiness ``c``); clear-sky ``R_so = 0.75 R_a`` (eq. 37); net
    longwave ``R_nl = sigma T_K^4 (0.34 - 0.14 sqrt(e_a)) (1.35 min(R_s / R_so, 1) - 0.35)``
    (eq. 39, daily mean temperature); ``R_n = (1 - albedo) R_s - R_nl``.  Cloudiness is lower
    on dry days (mean ``0.25 + 0.25 (1 - m) + 0.1 n + 0.1 winterness``) than on wet days
    (mean 0.85).  Actual vapour pressure ``e_a = e_s(T - depression)``, depression 1 K on wet
    days, ``2 + 6 m`` K on dry days (e_s as docs/model/gleam.md a.3).  Albedo by land cover, 0.6 on snow
    (0.3 for tree cover, whose canopy hides the snow).  Winter R_n is negative at high latitude.
Snow
    Degree-day snowpack of docs/model/gleam.md a.5 fallback mode (DD-5): snowfall ``P_s = P`` if
    ``T <= 0`` degC; melt ``min(D', (1.5 + 0.007 P) max(T, 0))``.  It drives the albedo and the
    snow mask of the Sentinel-1 preprocessing (docs/model/validation.md e); it is not model forcing.
"""

from __future__ import annotations

import attrs
import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import gammaincinv

from s1da.framework.randomness import Purpose

from .twin_random import INDEPENDENT, Draws, Substream
from s1da.framework.validators import finite_positive

STEFAN_BOLTZMANN = 5.670374419e-8  # W m-2 K-4
SOLAR_CONSTANT = 1367.0  # W m-2 (FAO-56: 0.0820 MJ m-2 min-1)
SNOW_ALBEDO_THRESHOLD = 10.0  # mm SWE, as the snow mask threshold of docs/model/gleam.md a.5

ALBEDO = {"cropland": 0.20, "tree_cover": 0.13, "herbaceous": 0.18, "grassland": 0.23, "urban": 0.15}
SNOW_ALBEDO = {"cropland": 0.60, "tree_cover": 0.30, "herbaceous": 0.60, "grassland": 0.60, "urban": 0.45}


def _unit_interval(instance, attribute, value):
    if not 0 <= value < 1:
        raise ValueError(f"{attribute.name} must be in [0, 1), got {value}")


@attrs.frozen
class WeatherParameters:
    """Tunables of the weather generator (the climate maps are in the module docstring)."""

    wet_day_persistence: float = attrs.field(default=0.35, validator=_unit_interval, metadata={"units": "1"})
    amount_shape: float = attrs.field(default=0.75, validator=finite_positive, metadata={"units": "1"})
    minimum_wet_day_amount: float = attrs.field(default=0.1, validator=finite_positive, metadata={"units": "mm d-1"})
    temperature_autocorrelation: float = attrs.field(default=0.75, validator=_unit_interval, metadata={"units": "1"})
    cloudiness_sd: float = attrs.field(default=0.15, validator=finite_positive, metadata={"units": "1"})


def toa_insolation(lat_deg: np.ndarray, day_of_year: np.ndarray) -> np.ndarray:
    """Daily mean top-of-atmosphere insolation, W m-2 (FAO-56 eqs. 21-25), ``(time, site)``."""
    phi = np.deg2rad(np.asarray(lat_deg, dtype=float))[None, :]
    angle = 2.0 * np.pi * np.asarray(day_of_year, dtype=float)[:, None] / 365.0
    inverse_distance = 1.0 + 0.033 * np.cos(angle)
    declination = 0.409 * np.sin(angle - 1.39)
    sunset = np.arccos(np.clip(-np.tan(phi) * np.tan(declination), -1.0, 1.0))
    return (SOLAR_CONSTANT / np.pi) * inverse_distance * (
        sunset * np.sin(phi) * np.sin(declination) + np.cos(phi) * np.cos(declination) * np.sin(sunset)
    )


def saturation_vapour_pressure(temperature: np.ndarray) -> np.ndarray:
    """kPa, docs/model/gleam.md a.3."""
    return 0.6108 * np.exp(17.27 * temperature / (temperature + 237.3))


def _seasonal(day_of_year: np.ndarray, peak: float) -> np.ndarray:
    return np.cos(2.0 * np.pi * (np.asarray(day_of_year, dtype=float)[:, None] - peak) / 365.25)


def simulate_weather(
    sites: xr.Dataset,
    times: pd.DatetimeIndex,
    entropy: int,
    parameters: WeatherParameters = WeatherParameters(),
    draws: Draws = INDEPENDENT,
) -> xr.Dataset:
    """True daily weather ``(time, site)`` for the sites of :func:`twin_sites.draw_sites`."""
    site_ids = sites["site"].values
    climate = _Climate(sites, np.asarray(times.day_of_year))

    def uniforms(substream, kind="uniform"):
        return draws.yearly(entropy, site_ids, Purpose.TWIN_WEATHER, substream, times, kind)

    wet, precipitation = _precipitation(climate, parameters, uniforms)
    air_temperature = _air_temperature(climate, parameters, wet, uniforms(Substream.TEMPERATURE_ANOMALY, "normal"))
    snow = _snowpack(precipitation, air_temperature)
    cloudiness, extraterrestrial, net_radiation = _radiation(
        climate, parameters, wet, air_temperature, snow, uniforms(Substream.CLOUDINESS, "normal"), sites["land_cover"].values.tolist()
    )
    dims = ("time", "site")
    return xr.Dataset(
        {
            "precipitation": (dims, precipitation, {"units": "mm d-1", "long_name": "true precipitation"}),
            "air_temperature": (dims, air_temperature, {"units": "degC", "long_name": "true daily mean air temperature"}),
            "net_radiation": (dims, net_radiation, {"units": "W m-2", "long_name": "true daily mean net radiation"}),
            "snow_water_equivalent": (
                dims,
                snow,
                {"units": "mm", "long_name": "true snowpack water equivalent (degree-day model, docs/model/gleam.md a.5 fallback)"},
            ),
            "cloud_fraction": (dims, cloudiness, {"units": "1", "long_name": "true daily cloudiness"}),
            "toa_insolation": (
                dims,
                np.broadcast_to(extraterrestrial, precipitation.shape).copy(),
                {"units": "W m-2", "long_name": "daily mean top-of-atmosphere insolation"},
            ),
        },
        coords={"time": times, "site": site_ids},
    )


class _Climate:
    """The site climate indices as ``(1, site)`` rows and the seasonal cycles as ``(time, 1)`` columns."""

    def __init__(self, sites: xr.Dataset, doy: np.ndarray):
        self.lat = sites["lat"].values
        self.m = sites["mediterranean_index"].values[None, :]
        self.n = sites["northness"].values[None, :]
        self.k = sites["continentality"].values[None, :]
        self.doy = doy
        self.winterness = 0.5 * (1.0 + _seasonal(doy, 15.0))
        self.summer = _seasonal(doy, 200.0)


def _precipitation(climate: _Climate, parameters: WeatherParameters, uniforms) -> tuple[np.ndarray, np.ndarray]:
    """Wet days from a two-state Markov chain, amounts from a gamma law with a seasonal mean intensity."""
    m, n, k, doy = climate.m, climate.n, climate.k, climate.doy
    wet_probability = np.clip(
        0.20 + 0.25 * (1 - m) + 0.05 * n - 0.08 * k
        + (0.15 * m + 0.05 * (1 - m) * (1 - k) - 0.04 * k * (1 - m)) * _seasonal(doy, 15.0),
        0.03,
        0.85,
    )
    r = parameters.wet_day_persistence
    p_wet_after_dry = wet_probability * (1.0 - r)
    p_wet_after_wet = wet_probability + r * (1.0 - wet_probability)
    occurrence_uniforms = uniforms(Substream.PRECIPITATION_OCCURRENCE)
    wet = np.empty(occurrence_uniforms.shape, dtype=bool)
    wet[0] = occurrence_uniforms[0] < wet_probability[0]
    for t in range(1, len(wet)):
        wet[t] = occurrence_uniforms[t] < np.where(wet[t - 1], p_wet_after_wet[t], p_wet_after_dry[t])
    intensity = (4.5 + 3.5 * m - 1.0 * n + 0.5 * k) * (1.0 + (0.3 * (1 - m) - 0.2 * m) * climate.summer)
    amount_uniforms = uniforms(Substream.PRECIPITATION_AMOUNT)
    shape = parameters.amount_shape
    amounts = intensity / shape * gammaincinv(shape, np.clip(amount_uniforms, 1e-12, 1 - 1e-12))
    return wet, np.where(wet, np.maximum(amounts, parameters.minimum_wet_day_amount), 0.0)


def _air_temperature(climate: _Climate, parameters: WeatherParameters, wet: np.ndarray, innovations: np.ndarray) -> np.ndarray:
    """Climatology + AR(1) anomalies + a wet-day effect (cooler wet summer days, milder wet winter days)."""
    lat, m, k, summer = climate.lat, climate.m, climate.k, climate.summer
    mean_temperature = 19.0 - 0.62 * (lat[None, :] - 37.0) - 2.0 * k
    amplitude = 5.5 + 0.1 * (lat[None, :] - 37.0) + 4.0 * k + 2.0 * m
    anomaly_sd = (2.0 + 1.5 * k) * (1.0 + 0.3 * climate.winterness)
    phi = parameters.temperature_autocorrelation
    anomaly = np.empty(innovations.shape)
    anomaly[0] = anomaly_sd[0] * innovations[0]  # stationary start
    scale = np.sqrt(1.0 - phi**2)
    for t in range(1, len(anomaly)):
        anomaly[t] = phi * anomaly[t - 1] + scale * anomaly_sd[t] * innovations[t]
    wet_day_effect = np.where(wet, -1.5 * np.maximum(summer, 0.0) + 1.0 * np.maximum(-summer, 0.0), 0.0)
    return mean_temperature + amplitude * summer + anomaly + wet_day_effect


def _snowpack(precipitation: np.ndarray, air_temperature: np.ndarray) -> np.ndarray:
    """Degree-day snowpack (docs/model/gleam.md a.5 fallback, DD-5), mm."""
    snow = np.empty(precipitation.shape)
    pack = np.zeros(precipitation.shape[1])
    for t in range(len(snow)):
        snowfall = np.where(air_temperature[t] <= 0.0, precipitation[t], 0.0)
        pack = pack + snowfall
        melt = np.minimum(pack, (1.5 + 0.007 * precipitation[t]) * np.maximum(air_temperature[t], 0.0))
        pack = pack - melt
        snow[t] = pack
    return snow


def _radiation(climate: _Climate, parameters: WeatherParameters, wet, air_temperature, snow, cloud_normals, classes):
    """Cloudiness, top-of-atmosphere insolation and net radiation (W m-2)."""
    m, n = climate.m, climate.n
    dry_cloudiness = 0.25 + 0.25 * (1 - m) + 0.1 * n + 0.1 * climate.winterness
    cloudiness = np.clip(
        np.where(wet, 0.85 + 0.5 * parameters.cloudiness_sd * cloud_normals, dry_cloudiness + parameters.cloudiness_sd * cloud_normals),
        0.0,
        1.0,
    )
    extraterrestrial = toa_insolation(climate.lat, climate.doy)
    shortwave = extraterrestrial * (0.25 + 0.5 * (1.0 - cloudiness))
    clear_sky = 0.75 * extraterrestrial
    relative_shortwave = np.where(clear_sky > 0, np.minimum(shortwave / np.where(clear_sky > 0, clear_sky, 1.0), 1.0), 0.3)
    depression = np.where(wet, 1.0, 2.0 + 6.0 * m)
    vapour_pressure = saturation_vapour_pressure(air_temperature - depression)
    longwave = (
        STEFAN_BOLTZMANN
        * (air_temperature + 273.15) ** 4
        * (0.34 - 0.14 * np.sqrt(vapour_pressure))
        * (1.35 * relative_shortwave - 0.35)
    )
    albedo = np.where(
        snow >= SNOW_ALBEDO_THRESHOLD,
        np.array([SNOW_ALBEDO[c] for c in classes])[None, :],
        np.array([ALBEDO[c] for c in classes])[None, :],
    )
    return cloudiness, extraterrestrial, (1.0 - albedo) * shortwave - longwave
