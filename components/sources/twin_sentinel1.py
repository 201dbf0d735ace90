"""Sentinel-1-like acquisitions and the truth backscatter of the twin network.

Acquisition calendar
    Each site is seen from 2-5 relative orbits (more overlap further north), alternating
    ascending/descending, each with its own incidence angle (30-45 deg, IW swath) and a per-orbit
    dB offset N(0, 0.7) (the orbit bias that docs/model/validation.md e step 4 removes).  Sentinel-1A repeats
    an orbit every 12 days from 2014-10-03; Sentinel-1B flies the same orbits 6 days later from
    2016-09-26 to 2021-12-23 (its failure), giving a 6-day repeat per orbit in that era and 12
    days outside it.  Orbit phases are distinct modulo 6 days, so a site has at most one
    acquisition per day (real overlapping ascending/descending passes on one day are averaged by
    the preprocessing anyway, docs/model/validation.md e step 5).
Truth forward model (deliberately NOT either operator of docs/model/operators.md b)
    ``sigma0_lin = A L cos(theta)(1 - t2) + t2 10^((C + D theta_5 + s (theta - 40)) / 10) + S``,
    ``t2 = exp(-2 B L / cos(theta))``, ``sigma0 = 10 log10(sigma0_lin) + o_orbit + r_t + e_t`` dB,
    with L the LAI, theta_5 the 0-5 cm proxy of :mod:`twin_surface_layer` (not the model's
    0-10 cm), theta the orbit's incidence angle, s an incidence slope of the soil term
    (-0.18..-0.08 dB deg-1), S a constant structural term (trunks, buildings), o_orbit the
    orbit offset, r_t an AR(1) "roughness/structure" drift (SD 0.3 dB, coefficient 0.95,
    unmodelled by the operators), and e_t speckle N(0, sd_s), sd_s ~ U(0.5, 1.0) dB per site.
    A, B, S depend on land cover (log-normal jitter 0.2); C ~ U(-24, -18) dB,
    D ~ U(15, 30) dB per m3 m-3.  Typical values: -18 dB (dry bare soil) to -6 dB (wet soil,
    urban), forests around -8 dB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import numpy as np
import pandas as pd
import xarray as xr

from scipy.special import polygamma

from s1da.components.preprocessing.sentinel1 import Sentinel1Preprocessing, preprocess
from s1da.framework.randomness import Purpose

from .twin_random import INDEPENDENT, Draws, Substream, ar1_series, normal_from_uniform
from .twin_surface_layer import SurfaceLayerParameters, truth_shallow_soil_moisture
from s1da.framework.validators import finite_non_negative

if TYPE_CHECKING:
    from .twin import TwinNetwork

MAX_ORBITS = 5
S1A_START = pd.Timestamp("2014-10-03")
S1B_START = pd.Timestamp("2016-09-26")
S1B_END = pd.Timestamp("2021-12-23")
REPEAT_DAYS = 12
N_RELATIVE_ORBITS = 175
PLATFORM_FLAGS = {"none": 0, "S1A": 1, "S1B": 2}

# per land-cover class: vegetation scattering A (linear), attenuation B, structural term S (linear)
RADAR_CLASS_PARAMETERS: dict[str, tuple[float, float, float]] = {
    "cropland": (0.030, 0.15, 0.000),
    "tree_cover": (0.060, 0.12, 0.030),
    "herbaceous": (0.040, 0.15, 0.005),
    "grassland": (0.030, 0.15, 0.000),
    "urban": (0.050, 0.15, 0.080),
}


def draw_orbits(entropy: int, site_ids: np.ndarray, lat: np.ndarray, draws: Draws = INDEPENDENT) -> xr.Dataset:
    """Relative orbits seen by each site, ``(site, orbit_slot)``; unused slots hold 0 / NaN."""
    u = draws.static(entropy, site_ids, Purpose.TWIN_CALENDAR, Substream.ORBITS, 1 + 6 + MAX_ORBITS * 4 + 2)
    n_orbits = np.clip(2 + np.floor((lat - 36.0) / 12.0 + 1.5 * u[:, 0]), 2, MAX_ORBITS).astype(int)
    phase6 = np.argsort(u[:, 1:7], axis=1)[:, :MAX_ORBITS]  # distinct modulo 6
    cursor = 7
    half = (u[:, cursor : cursor + MAX_ORBITS] < 0.5).astype(int)
    cursor += MAX_ORBITS
    phase = phase6 + 6 * half
    incidence = 30.0 + 15.0 * u[:, cursor : cursor + MAX_ORBITS]
    cursor += MAX_ORBITS
    offset = 0.7 * normal_from_uniform(u[:, cursor : cursor + MAX_ORBITS])
    cursor += MAX_ORBITS
    slot = np.arange(MAX_ORBITS)[None, :]
    first = np.floor(u[:, cursor] * N_RELATIVE_ORBITS).astype(int)[:, None]
    relative_orbit = (first + 73 * slot) % N_RELATIVE_ORBITS + 1  # distinct for 5 slots
    ascending_first = (u[:, cursor + 1] < 0.5)[:, None]
    ascending = (slot % 2 == 0) == ascending_first
    used = slot < n_orbits[:, None]
    direction = np.where(used, np.where(ascending, "ascending", "descending"), "")
    dims = ("site", "orbit_slot")
    return xr.Dataset(
        {
            "n_orbits": ("site", n_orbits, {"units": "1", "long_name": "number of relative orbits seeing the site"}),
            "relative_orbit": (dims, np.where(used, relative_orbit, 0).astype(np.int16), {"units": "1", "long_name": "Sentinel-1 relative orbit number (0: unused slot)"}),
            "orbit_direction": (dims, direction, {"units": "1", "long_name": "orbit pass direction"}),
            "orbit_phase": (dims, np.where(used, phase, -1), {"units": "d", "long_name": "day of the 12-day cycle of the Sentinel-1A pass, counted from 2014-10-03"}),
            "orbit_incidence_angle": (dims, np.where(used, incidence, np.nan), {"units": "degree", "long_name": "local incidence angle of the orbit"}),
            "orbit_offset": (dims, np.where(used, offset, np.nan), {"units": "dB", "long_name": "per-orbit backscatter offset of the truth"}),
        },
        coords={"site": site_ids, "orbit_slot": np.arange(MAX_ORBITS)},
    )


def acquisition_calendar(orbits: xr.Dataset, times: pd.DatetimeIndex) -> xr.Dataset:
    """Daily acquisition grid ``(time, site)`` from the orbit table."""
    day_number = np.asarray((times - S1A_START).days)[:, None, None]
    phase = orbits["orbit_phase"].values[None, :, :]
    used = phase >= 0
    date = np.asarray(times)[:, None, None]
    s1a = used & (day_number >= 0) & ((day_number - phase) % REPEAT_DAYS == 0)
    s1b_era = (date >= np.datetime64(S1B_START)) & (date <= np.datetime64(S1B_END))
    s1b = used & s1b_era & ((day_number - phase - 6) % REPEAT_DAYS == 0)
    passes = s1a | s1b
    if (passes.sum(axis=2) > 1).any():  # guaranteed by distinct phases modulo 6
        raise AssertionError("two orbits of one site on the same day")
    acquired = passes.any(axis=2)
    slot = np.argmax(passes, axis=2)
    take = lambda table: np.take_along_axis(np.broadcast_to(table[None], passes.shape), slot[..., None], axis=2)[..., 0]  # noqa: E731
    relative_orbit = np.where(acquired, take(orbits["relative_orbit"].values), 0).astype(np.int16)
    incidence = np.where(acquired, take(orbits["orbit_incidence_angle"].values), np.nan)
    platform = np.where(s1a.any(axis=2), PLATFORM_FLAGS["S1A"], np.where(s1b.any(axis=2), PLATFORM_FLAGS["S1B"], 0))
    dims = ("time", "site")
    return xr.Dataset(
        {
            "acquired": (dims, acquired, {"units": "1", "long_name": "Sentinel-1 acquisition on this day"}),
            "relative_orbit": (dims, relative_orbit, {"units": "1", "long_name": "relative orbit of the acquisition (0: none)"}),
            "orbit_slot": (dims, np.where(acquired, slot, -1), {"units": "1", "long_name": "index into the site's orbit table (-1: none)"}),
            "incidence_angle": (dims, incidence, {"units": "degree", "long_name": "incidence angle of the acquisition"}),
            "platform": (
                dims,
                platform.astype(np.int8),
                {
                    "units": "1",
                    "long_name": "acquiring satellite",
                    "flag_values": np.array(list(PLATFORM_FLAGS.values()), dtype=np.int8),
                    "flag_meanings": " ".join(PLATFORM_FLAGS),
                },
            ),
        },
        coords={"time": times, "site": orbits["site"].values},
    )


def speckle_sd_db(looks) -> np.ndarray:
    """SD (dB) of the speckle of an L-look linear average: ``(10/ln 10) sqrt(psi_1(L))``.

    Xie, Pierce & Ulaby (2002): ``ln I`` of an L-look intensity has variance ``psi_1(L)``.
    """
    looks = np.asarray(looks, dtype=float)
    return 10.0 / np.log(10.0) * np.sqrt(polygamma(1, looks))


def _sensitivity_range(instance, attribute, value):
    if len(value) != 2 or not np.isfinite(value).all() or not (0 <= value[0] <= value[1]):
        raise ValueError(f"{attribute.name} must be (low, high) with 0 <= low <= high, got {value}")


@attrs.frozen
class TruthBackscatterParameters:
    """Truth forward model and noise of the twin's S1 (module docstring); statics in ``network.sites``."""

    looks: float = attrs.field(default=2000.0, metadata={"units": "1", "doc": "independent looks of the 1 km linear average"})
    speckle_scale: float = attrs.field(default=1.0, validator=finite_non_negative, metadata={"units": "1"})
    structure_noise_sd: float = attrs.field(default=0.65, validator=finite_non_negative, metadata={"units": "dB"})
    structure_noise_autocorrelation: float = attrs.field(default=0.7, metadata={"units": "1"})
    soil_sensitivity: tuple = attrs.field(
        default=(7.0, 13.0), converter=tuple, validator=_sensitivity_range, metadata={"units": "dB m3 m-3"}
    )
    vegetation_scale: float = attrs.field(
        default=0.2, validator=finite_non_negative, metadata={"units": "1", "doc": "factor on the land-cover classes' A and B"}
    )
    sensing_depth: float = attrs.field(default=0.05, metadata={"units": "m"})
    record_start: str | None = attrs.field(
        default="2014-10-03", metadata={"doc": "first day of the S1 record used for orbit normalisation (None: the period)"}
    )
    preprocessing: Sentinel1Preprocessing = attrs.field(factory=Sentinel1Preprocessing)
    surface_layer: SurfaceLayerParameters = attrs.field(factory=SurfaceLayerParameters)

    @looks.validator
    def _at_least_one(self, attribute, value):
        if not (np.isfinite(value) and value >= 1):
            raise ValueError(f"{attribute.name} must be a finite number >= 1, got {value}")

    @structure_noise_autocorrelation.validator
    def _unit_interval(self, attribute, value):
        if not 0 <= value < 1:
            raise ValueError(f"{attribute.name} must be in [0, 1), got {value}")

    @sensing_depth.validator
    def _depth(self, attribute, value):
        if not 0.05 <= value <= 0.10:
            raise ValueError(f"{attribute.name} must be within [0.05, 0.10] m (the twin's two truth layers), got {value}")

    @record_start.validator
    def _date(self, attribute, value):
        if value is not None:
            try:
                pd.Timestamp(value)
            except (TypeError, ValueError) as error:
                raise ValueError(f"{attribute.name} must be a date or None, got {value!r}") from error


def draw_radar_parameters(
    entropy: int,
    site_ids: np.ndarray,
    land_cover: np.ndarray,
    parameters: TruthBackscatterParameters = TruthBackscatterParameters(),
    draws: Draws = INDEPENDENT,
) -> xr.Dataset:
    """Per-site parameters of the truth forward model (module docstring)."""
    u = draws.static(entropy, site_ids, Purpose.TWIN_STATIC, Substream.RADAR_STATIC, 7)
    normals = normal_from_uniform(u[:, :3])
    table = np.array([RADAR_CLASS_PARAMETERS[c] for c in np.asarray(land_cover).tolist()]).reshape(-1, 3)
    low, high = parameters.soil_sensitivity
    scale = parameters.vegetation_scale
    values = {
        "radar_A": (scale * table[:, 0] * np.exp(0.2 * normals[:, 0]), "1", "truth vegetation scattering coefficient A (linear)"),
        "radar_B": (scale * table[:, 1] * np.exp(0.2 * normals[:, 1]), "m2 m-2", "truth vegetation attenuation coefficient B per unit LAI"),
        "radar_structure": (table[:, 2] * np.exp(0.2 * normals[:, 2]), "1", "truth constant structural backscatter (linear)"),
        "radar_C": (-24.0 + 6.0 * u[:, 3], "dB", "truth bare-soil backscatter at zero soil moisture"),
        "radar_D": (low + (high - low) * u[:, 4], "dB m3 m-3", "truth soil-moisture sensitivity (dB per m3 m-3)"),
        "radar_incidence_slope": (-0.18 + 0.10 * u[:, 5], "dB degree-1", "truth incidence-angle slope of the soil term"),
    }
    return xr.Dataset({name: ("site", v, {"units": units, "long_name": ln}) for name, (v, units, ln) in values.items()})


def truth_backscatter_db(
    shallow_soil_moisture: np.ndarray,
    lai: np.ndarray,
    incidence_angle: np.ndarray,
    sites: xr.Dataset,
) -> np.ndarray:
    """Noise-free truth backscatter in dB (no orbit offset), ``(time, site)`` (module docstring)."""
    cos_theta = np.cos(np.deg2rad(incidence_angle))
    A, B, C, D = (sites[f"radar_{x}"].values[None, :] for x in "ABCD")
    slope = sites["radar_incidence_slope"].values[None, :]
    structure = sites["radar_structure"].values[None, :]
    t2 = np.exp(-2.0 * B * lai / cos_theta)
    soil = 10.0 ** ((C + D * shallow_soil_moisture + slope * (incidence_angle - 40.0)) / 10.0)
    vegetation = A * lai * cos_theta * (1.0 - t2)
    return 10.0 * np.log10(vegetation + t2 * soil + structure)


def simulate_backscatter(
    network: TwinNetwork,
    truth_surface_soil_moisture,
    parameters: TruthBackscatterParameters = TruthBackscatterParameters(),
    *,
    apply_masks: bool = True,
) -> xr.Dataset:
    """Truth Sentinel-1 VV backscatter ``(time, site)`` in dB.

    ``truth_surface_soil_moisture`` is the truth run's 0-10 cm soil moisture (m3 m-3), an array
    or DataArray shaped ``(time, site)`` like the network.  The result holds ``backscatter``
    (NaN where no acquisition or masked), ``orbit`` (relative orbit, 0 where none),
    ``incidence_angle``, the unmasked values, the masks, the 0-5 cm proxy and the soil moisture
    at the sensing depth.  These are raw acquisitions: :func:`observe_backscatter` preprocesses them.
    """
    truth = network.check_site_array(truth_surface_soil_moisture, "truth_surface_soil_moisture")
    sites = network.sites
    site_ids = sites["site"].values
    times = network.times
    shallow = truth_shallow_soil_moisture(network, truth, parameters.surface_layer)
    deep_share = (parameters.sensing_depth - 0.05) / 0.05
    sensed = (1.0 - deep_share) * shallow + deep_share * truth
    calendar = network.calendar
    incidence = calendar["incidence_angle"].values
    clean = truth_backscatter_db(sensed, network.lai.values, incidence, sites)

    slot = calendar["orbit_slot"].values
    offsets = np.take_along_axis(
        np.nan_to_num(network.orbits["orbit_offset"].values)[None].repeat(len(times), 0), np.maximum(slot, 0)[..., None], axis=2
    )[..., 0]
    speckle = parameters.speckle_scale * speckle_sd_db(parameters.looks) * network.draws.yearly(
        network.entropy, site_ids, Purpose.TWIN_OBSERVATION_NOISE, Substream.SPECKLE, times, "normal"
    )
    innovations = network.draws.yearly(network.entropy, site_ids, Purpose.TWIN_OBSERVATION_NOISE, Substream.STRUCTURE_NOISE, times, "normal")
    drift = ar1_series(innovations, parameters.structure_noise_sd, parameters.structure_noise_autocorrelation)

    acquired = calendar["acquired"].values
    unmasked = np.where(acquired, clean + offsets + drift + speckle, np.nan)
    masks = network.masks()
    masked = acquired & masks["any"].values
    backscatter = np.where(masked, np.nan, unmasked) if apply_masks else unmasked

    dims = ("time", "site")
    return xr.Dataset(
        {
            "backscatter": (dims, backscatter, {"units": "dB", "long_name": "Sentinel-1 VV backscatter (truth, masked)" if apply_masks else "Sentinel-1 VV backscatter (truth)"}),
            "orbit": (dims, calendar["relative_orbit"].values, {"units": "1", "long_name": "relative orbit of the acquisition (0: none)"}),
            "incidence_angle": (dims, incidence, {"units": "degree", "long_name": "incidence angle of the acquisition"}),
            "backscatter_unmasked": (dims, unmasked, {"units": "dB", "long_name": "Sentinel-1 VV backscatter before masking"}),
            "backscatter_noise_free": (
                dims,
                np.where(acquired, clean, np.nan),
                {"units": "dB", "long_name": "truth backscatter without orbit offset, drift and speckle"},
            ),
            "masked": (dims, masked, {"units": "1", "long_name": "acquisition discarded by the frozen/snow/heavy-rain masks"}),
            "surface_layer_soil_moisture": (dims, shallow, {"units": "m3 m-3", "long_name": "truth 0-5 cm soil moisture proxy"}),
            "sensed_soil_moisture": (
                dims, sensed, {"units": "m3 m-3", "long_name": f"truth soil moisture over the 0-{100 * parameters.sensing_depth:.0f} cm the radar senses"}
            ),
        },
        coords=network.site_coords(),
        attrs={"entropy": str(network.entropy)},
    )


def acquisition_table(simulated: xr.Dataset) -> pd.DataFrame:
    """The unmasked acquisitions of :func:`simulate_backscatter` as the table real S1 comes in.

    Columns ``site``, ``time``, ``backscatter`` (dB), ``orbit`` (relative orbit) and
    ``incidence_angle`` (degree), as :mod:`s1da.components.sources.sentinel1` reads them.
    """
    values = simulated["backscatter_unmasked"].transpose("time", "site").values
    time_index, site_index = np.nonzero(np.isfinite(values))
    return pd.DataFrame(
        {
            "site": simulated["site"].values[site_index].astype(str),
            "time": pd.DatetimeIndex(simulated["time"].values[time_index]),
            "backscatter": values[time_index, site_index],
            "orbit": pd.array(simulated["orbit"].values[time_index, site_index].astype(np.int64), dtype="Int64"),
            "incidence_angle": simulated["incidence_angle"].values[time_index, site_index],
        }
    )


def observe_backscatter(
    network: TwinNetwork, simulated: xr.Dataset, parameters: TruthBackscatterParameters = TruthBackscatterParameters()
) -> xr.Dataset:
    """The twin's S1 after the real-data preprocessing, ``(time, site)`` over the network period.

    ``simulated`` is :func:`simulate_backscatter`'s output for ``network``.  Masks use the true
    forcing (DD-22), as a real study uses station or reanalysis data.  Returns ``backscatter``
    (dB, NaN where none), ``orbit`` (-1 where none or several) and ``incidence_angle``.
    """
    forcing = network.true_forcing[["air_temperature", "precipitation", "snow_water_equivalent"]]
    forcing = forcing.drop_vars([name for name in ("lat", "lon") if name in forcing.coords])
    forcing = forcing.assign_coords(site=forcing["site"].values.astype(str))
    processed = preprocess(
        acquisition_table(simulated), forcing, parameters.preprocessing, days=network.times, sites=network.site_ids.astype(str)
    )
    processed = processed.assign_coords(site=network.site_ids).assign_coords(lat=network.sites["lat"], lon=network.sites["lon"])
    processed["site"].attrs.update(network.sites["site"].attrs)
    processed["backscatter"].attrs.update(long_name="Sentinel-1 VV backscatter (twin truth, preprocessed as real S1)")
    return processed[["backscatter", "orbit", "incidence_angle", "acquisition_count"]]
