"""Model forcing of the twin: the true weather seen through realistic, imperfect products.

The model run does not receive the true forcing (docs/architecture.md, twin experiments).  Error model,
per site ``s`` and day ``t``:

Precipitation (satellite-like product)
    * detection: a true wet day is missed with probability
      ``miss_probability * exp(-P / miss_scale)`` (light rain is missed most);
    * false alarms: a true dry day gets light rain with probability ``false_alarm_probability``,
      amount exponential with mean ``false_alarm_mean``;
    * amounts: ``P_model = b_s * P * exp(s eps - s^2/2)``, ``eps ~ N(0, 1)`` daily and
      ``s = amount_noise`` (mean-one log-normal noise), ``b_s`` a per-site multiplicative bias,
      log-normal with median one and log-SD ``bias_log_sd``.
Air temperature
    ``T_model = T + beta_s + sd_T eps``, per-site bias ``beta_s ~ N(0, temperature_bias_sd)``.
Net radiation
    ``R_model = R_n (1 + sd_R clip(eps, -3, 3)) + gamma_s``, per-site bias
    ``gamma_s ~ N(0, radiation_bias_sd)``; the multiplicative part preserves the sign of R_n.
"""

from __future__ import annotations

import attrs
import numpy as np
import pandas as pd
import xarray as xr

from s1da.framework.randomness import Purpose

from .twin_random import INDEPENDENT, Draws, Substream, normal_from_uniform
from s1da.framework.validators import finite_non_negative, finite_positive


def _probability(instance, attribute, value):
    if not 0 <= value <= 1:
        raise ValueError(f"{attribute.name} must be a probability, got {value}")


@attrs.frozen
class ForcingErrorParameters:
    """Error model of the model forcing (see the module docstring)."""

    bias_log_sd: float = attrs.field(default=0.15, validator=finite_non_negative, metadata={"units": "1"})
    miss_probability: float = attrs.field(default=0.3, validator=_probability, metadata={"units": "1"})
    miss_scale: float = attrs.field(default=3.0, validator=finite_positive, metadata={"units": "mm d-1"})
    false_alarm_probability: float = attrs.field(default=0.05, validator=_probability, metadata={"units": "1"})
    false_alarm_mean: float = attrs.field(default=1.5, validator=finite_positive, metadata={"units": "mm d-1"})
    amount_noise: float = attrs.field(default=0.6, validator=finite_non_negative, metadata={"units": "1"})
    temperature_bias_sd: float = attrs.field(default=0.5, validator=finite_non_negative, metadata={"units": "K"})
    temperature_noise_sd: float = attrs.field(default=0.5, validator=finite_non_negative, metadata={"units": "K"})
    radiation_relative_noise: float = attrs.field(default=0.1, validator=finite_non_negative, metadata={"units": "1"})
    radiation_bias_sd: float = attrs.field(default=5.0, validator=finite_non_negative, metadata={"units": "W m-2"})

    @classmethod
    def perfect(cls) -> ForcingErrorParameters:
        """No forcing error: the model forcing equals the true forcing."""
        return cls(
            bias_log_sd=0.0,
            miss_probability=0.0,
            false_alarm_probability=0.0,
            amount_noise=0.0,
            temperature_bias_sd=0.0,
            temperature_noise_sd=0.0,
            radiation_relative_noise=0.0,
            radiation_bias_sd=0.0,
        )


def draw_forcing_biases(
    entropy: int, site_ids: np.ndarray, parameters: ForcingErrorParameters, draws: Draws = INDEPENDENT
) -> xr.Dataset:
    """Per-site biases of the model forcing."""
    normals = normal_from_uniform(
        draws.static(entropy, site_ids, Purpose.TWIN_MODEL_FORCING_ERROR, Substream.FORCING_ERROR_STATIC, 3)
    )
    return xr.Dataset(
        {
            "precipitation_bias_factor": (
                "site",
                np.exp(parameters.bias_log_sd * normals[:, 0]),
                {"units": "1", "long_name": "multiplicative bias of the model precipitation"},
            ),
            "air_temperature_bias": (
                "site",
                parameters.temperature_bias_sd * normals[:, 1],
                {"units": "K", "long_name": "bias of the model air temperature"},
            ),
            "net_radiation_bias": (
                "site",
                parameters.radiation_bias_sd * normals[:, 2],
                {"units": "W m-2", "long_name": "bias of the model net radiation"},
            ),
        }
    )


def degrade_forcing(
    true_forcing: xr.Dataset,
    entropy: int,
    parameters: ForcingErrorParameters,
    biases: xr.Dataset,
    random: Draws = INDEPENDENT,
) -> xr.Dataset:
    """Model forcing ``(time, site)`` from the true forcing (see the module docstring)."""
    site_ids = true_forcing["site"].values
    times = pd.DatetimeIndex(true_forcing["time"].values)

    def draws(substream: Substream, kind: str) -> np.ndarray:
        return random.yearly(entropy, site_ids, Purpose.TWIN_MODEL_FORCING_ERROR, substream, times, kind)

    precipitation = true_forcing["precipitation"].values
    detected = draws(Substream.PRECIPITATION_DETECTION, "uniform") >= parameters.miss_probability * np.exp(
        -precipitation / parameters.miss_scale
    )
    s = parameters.amount_noise
    noisy = (
        biases["precipitation_bias_factor"].values[None, :]
        * precipitation
        * np.exp(s * draws(Substream.PRECIPITATION_NOISE, "normal") - 0.5 * s**2)
    )
    false_alarm = draws(Substream.PRECIPITATION_FALSE_ALARM, "uniform") < parameters.false_alarm_probability
    false_amount = -parameters.false_alarm_mean * np.log1p(-draws(Substream.FALSE_ALARM_AMOUNT, "uniform"))
    model_precipitation = np.where(
        precipitation > 0, np.where(detected, noisy, 0.0), np.where(false_alarm, false_amount, 0.0)
    )

    air_temperature = (
        true_forcing["air_temperature"].values
        + biases["air_temperature_bias"].values[None, :]
        + parameters.temperature_noise_sd * draws(Substream.TEMPERATURE_NOISE, "normal")
    )
    net_radiation = true_forcing["net_radiation"].values * (
        1.0 + parameters.radiation_relative_noise * np.clip(draws(Substream.RADIATION_NOISE, "normal"), -3.0, 3.0)
    ) + biases["net_radiation_bias"].values[None, :]

    dims = ("time", "site")
    return xr.Dataset(
        {
            "precipitation": (dims, model_precipitation, {"units": "mm d-1", "long_name": "model precipitation (satellite-like product)"}),
            "air_temperature": (dims, air_temperature, {"units": "degC", "long_name": "model daily mean air temperature"}),
            "net_radiation": (dims, net_radiation, {"units": "W m-2", "long_name": "model daily mean net radiation"}),
        },
        coords={"time": true_forcing["time"], "site": true_forcing["site"]},
    )
