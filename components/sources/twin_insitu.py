"""In-situ soil moisture of the twin network: truth at the sensor depth plus station errors.

Per site ``s`` and day ``t``:

``insitu = clip(bias_s + scale_s theta_depth + e_t, 0.01, 0.6)``

* ``theta_depth``: the truth at the sensor depth, either the 0-5 cm proxy of
  :mod:`twin_surface_layer` (60 % of sites, ``insitu_sensor_depth = 0.05`` m) or the truth
  run's 0-10 cm layer (``0.10`` m);
* representativeness error of a point against the model cell: ``bias_s ~ N(0, 0.03)`` m3 m-3 and
  ``scale_s`` log-normal with log-SD 0.15 (sensor calibration, soil heterogeneity);
* ``e_t``: AR(1) noise (coefficient 0.7, SD 0.012 m3 m-3), sensor noise plus small-scale rain
  variability.

Gaps, as in ISMN records after quality flags (DD-24):

* outages: per site and calendar year a Poisson(1.5) number of outages, each starting on a
  uniform day and lasting ``ceil(exp(log 10 + 0.8 xi))`` days (days to weeks, at most 90);
* isolated missing days with probability 0.02;
* frozen soil: days with true air temperature < 0 degC are flagged (ISMN flag D) and removed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import numpy as np
import pandas as pd
import xarray as xr
from scipy.stats import poisson

from s1da.framework.randomness import Purpose

from .twin_random import INDEPENDENT, Draws, Substream, ar1_series, normal_from_uniform
from .twin_surface_layer import SurfaceLayerParameters, truth_shallow_soil_moisture
from s1da.framework.validators import finite_non_negative

if TYPE_CHECKING:
    from .twin import TwinNetwork

SHALLOW_SENSOR_SHARE = 0.6
MAX_OUTAGES_PER_YEAR = 8


@attrs.frozen
class InsituParameters:
    """Error and gap model of the in-situ record (module docstring)."""

    noise_sd: float = attrs.field(default=0.012, validator=finite_non_negative, metadata={"units": "m3 m-3"})
    noise_autocorrelation: float = attrs.field(default=0.7, metadata={"units": "1"})
    outages_per_year: float = attrs.field(default=1.5, validator=finite_non_negative, metadata={"units": "yr-1"})
    median_outage_length: float = attrs.field(default=10.0, validator=finite_non_negative, metadata={"units": "d"})
    outage_length_log_sd: float = attrs.field(default=0.8, validator=finite_non_negative, metadata={"units": "1"})
    max_outage_length: int = attrs.field(default=90, metadata={"units": "d"})
    dropout_probability: float = attrs.field(default=0.02, validator=finite_non_negative, metadata={"units": "1"})
    frozen_threshold: float = attrs.field(default=0.0, metadata={"units": "degC"})
    surface_layer: SurfaceLayerParameters = attrs.field(factory=SurfaceLayerParameters)

    @noise_autocorrelation.validator
    def _unit_interval(self, attribute, value):
        if not 0 <= value < 1:
            raise ValueError(f"{attribute.name} must be in [0, 1), got {value}")


def draw_insitu_statics(entropy: int, site_ids: np.ndarray, draws: Draws = INDEPENDENT) -> xr.Dataset:
    """Sensor depth and representativeness bias/scale per site."""
    u = draws.static(entropy, site_ids, Purpose.TWIN_INSITU_NOISE, Substream.INSITU_STATIC, 3)
    normals = normal_from_uniform(u[:, 1:])
    return xr.Dataset(
        {
            "insitu_sensor_depth": ("site", np.where(u[:, 0] < SHALLOW_SENSOR_SHARE, 0.05, 0.10), {"units": "m", "long_name": "depth of the in-situ sensor's sensing volume"}),
            "insitu_bias": ("site", 0.03 * normals[:, 0], {"units": "m3 m-3", "long_name": "in-situ representativeness bias"}),
            "insitu_scale": ("site", np.exp(0.15 * normals[:, 1]), {"units": "1", "long_name": "in-situ representativeness scale factor"}),
        }
    )


def outage_mask(
    entropy: int, site_ids: np.ndarray, times: pd.DatetimeIndex, parameters: InsituParameters, random: Draws = INDEPENDENT
) -> np.ndarray:
    """True on days inside an outage, ``(time, site)``; outages of the year before the period count."""
    years = np.arange(times[0].year - 1, times[-1].year + 1)
    draws = random.per_year(entropy, site_ids, Purpose.TWIN_INSITU_NOISE, Substream.INSITU_OUTAGE, years, 1 + 2 * MAX_OUTAGES_PER_YEAR)
    counts = np.minimum(poisson.ppf(draws[..., 0], parameters.outages_per_year), MAX_OUTAGES_PER_YEAR).astype(int)
    start_fraction = draws[..., 1 : 1 + MAX_OUTAGES_PER_YEAR]
    lengths = np.minimum(
        np.ceil(
            parameters.median_outage_length
            * np.exp(parameters.outage_length_log_sd * normal_from_uniform(draws[..., 1 + MAX_OUTAGES_PER_YEAR :]))
        ),
        parameters.max_outage_length,
    )
    period_start = np.datetime64(times[0], "D")
    n_time = len(times)
    # difference array over the period: +1 at outage start, -1 after its end
    edges = np.zeros((n_time + 1, len(site_ids)), dtype=np.int64)
    for year_index, year in enumerate(years):
        year_start = np.datetime64(f"{year}-01-01", "D")
        days_in_year = pd.Timestamp(f"{year}-12-31").day_of_year
        offset = int((year_start - period_start) / np.timedelta64(1, "D"))
        for k in range(MAX_OUTAGES_PER_YEAR):
            active = counts[year_index] > k
            first = offset + np.floor(start_fraction[year_index, :, k] * days_in_year).astype(int)
            last = first + lengths[year_index, :, k].astype(int)
            first_c = np.clip(first, 0, n_time)
            last_c = np.clip(last, 0, n_time)
            valid = active & (last_c > first_c)
            cols = np.nonzero(valid)[0]
            np.add.at(edges, (first_c[cols], cols), 1)
            np.add.at(edges, (last_c[cols], cols), -1)
    return np.cumsum(edges, axis=0)[:n_time] > 0


def simulate_insitu(
    network: TwinNetwork, truth_surface_soil_moisture, parameters: InsituParameters = InsituParameters()
) -> xr.DataArray:
    """In-situ soil moisture ``(time, site)`` in m3 m-3, NaN in gaps (module docstring)."""
    truth = network.check_site_array(truth_surface_soil_moisture, "truth_surface_soil_moisture")
    sites = network.sites
    site_ids = sites["site"].values
    times = network.times
    shallow = truth_shallow_soil_moisture(network, truth, parameters.surface_layer)
    at_depth = np.where(sites["insitu_sensor_depth"].values[None, :] < 0.075, shallow, truth)

    innovations = network.draws.yearly(network.entropy, site_ids, Purpose.TWIN_INSITU_NOISE, Substream.INSITU_NOISE, times, "normal")
    noise = ar1_series(innovations, parameters.noise_sd, parameters.noise_autocorrelation)
    values = np.clip(
        sites["insitu_bias"].values[None, :] + sites["insitu_scale"].values[None, :] * at_depth + noise, 0.01, 0.6
    )

    dropout = (
        network.draws.yearly(network.entropy, site_ids, Purpose.TWIN_INSITU_NOISE, Substream.INSITU_DROPOUT, times)
        < parameters.dropout_probability
    )
    frozen = network.true_forcing["air_temperature"].values < parameters.frozen_threshold
    gaps = outage_mask(network.entropy, site_ids, times, parameters, network.draws) | dropout | frozen
    return xr.DataArray(
        np.where(gaps, np.nan, values),
        dims=("time", "site"),
        coords=network.site_coords(),
        name="insitu_soil_moisture",
        attrs={"units": "m3 m-3", "long_name": "in-situ volumetric soil moisture (twin: truth at sensor depth plus station error)"},
    )
