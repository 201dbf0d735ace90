"""Spen Farm (COSMOS-UK SPENF): real forcing, real in situ and SEMI-REAL Sentinel-1 pseudo-observations.

:func:`spen_farm_site_data` returns one site (id 0, 53.867 N, -1.328 E) as
:class:`~s1da.framework.sitedata.SiteData`, so the real site runs through the same containers as
the twin; only the YAML's ``source.kind`` changes (``spen_farm`` instead of ``twin``).

What is real and what is not
============================
* **forcing (real)**: COSMOS-UK daily precipitation (mm d-1), air temperature (degC) and net
  radiation (MJ m-2 d-1 -> W m-2), read by :func:`~s1da.components.sources.cosmos_uk.read_cosmos_daily`.
  With ``gap_fill="midas"`` (default) precipitation / air-temperature gaps are filled from the
  Met Office MIDAS station src 534 (rain r = 0.98 with COSMOS; temperature = (max + min) / 2) and
  net-radiation gaps by linear interpolation over at most ``max_interpolation_days``; the filled
  dates are listed in the forcing attributes ``filled_<variable>_days`` (2017-2019: 35
  precipitation days, 2017-10-13 and 2019-08-03..09-05, and one net-radiation day, 2019-09-05).
  ``gap_fill="none"`` refuses any gap, naming the column and date.
* **LAI (climatology, not observed)**: the winter-cereal climatology :func:`crop_lai_climatology`
  (the farm's crops rotate per field; one curve for the footprint is a simplification).  No VOD:
  GLEAM uses its LAI fallback (DD-1, docs/decisions.md) with ``lai_p01``/``lai_p99`` = the 1st/99th
  percentiles of the climatology.
* **statics (documented choices, not calibrated)**: fractions f_T 0.05 (hedgerows), f_H 0.85
  (arable crops), f_B 0.10 (tramlines, bare seedbeds), f_W 0; soil texture "loam" from the
  docs/model/gleam.md a.11 table, w_r = 0.5 w_wp (DD-11).
* **observations (SEMI-REAL, synthetic)**: there is no Sentinel-1 series for Spen Farm in the
  shared data.  The pseudo-observations are sigma0 = WCM(COSMOS soil moisture, LAI climatology)
  (docs/model/operators.md b, mixed form, theta = 40 deg) + Gaussian noise, with A-D from real S1 fits (the
  medians of the six MNI/Budrio WCM fits of experiments/operators_real/README.md), on a real S1
  acquisition *pattern* (the MNI 2017 relative orbits and their 6-day phases, see
  :func:`acquisition_pattern`), masked as docs/model/validation.md (e) step 2.  They test the plumbing and the
  filter's behaviour with a real soil-moisture signal; they are NOT real backscatter: no
  vegetation-structure, orbit, speckle or representativeness errors beyond the white noise.
* **in situ (real, independent)**: the mean of the two TDT probes (m3 m-3), a different sensor
  from the cosmic-ray probe that generated the pseudo-observations.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import attrs
import numpy as np
import pandas as pd
import xarray as xr

from s1da.components.gleam.statics import RESIDUAL_TO_WILTING, SOIL_TEXTURES
from s1da.components.operators.wcm import water_cloud_backscatter
from s1da.components.sources.cosmos_uk import GAP_FILL, CosmosReadError, _read_daily_csv, read_cosmos_daily
from s1da.components.sources.mni import read_mni
from s1da.components.sources.twin_masks import FROZEN_THRESHOLD, HEAVY_RAIN_THRESHOLD
from s1da.framework.randomness import Purpose, stream
from s1da.framework.sitedata import DataError, SiteData
from s1da.framework.validators import finite_non_negative, finite_positive

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
COSMOS_FILE = "spen_farm_cosmos_uk/COSMOS-UK_SPENF_daily_2016-2021_from_pkl.csv"
MNI_FILE = "mni_munich_2017_sar_homework/multi.csv"
SITE_ID = 0
LATITUDE = 53.867  # degrees_north, COSMOS-UK SPENF
LONGITUDE = -1.328  # degrees_east
SWE_COLUMN = "SWE_CRNS_1DAY"  # COSMOS-UK cosmic-ray snow water equivalent, mm (mostly empty)

# Winter-cereal LAI climatology, piecewise linear in day of year (m2 m-2): ~0.8 in winter,
# green-up in March-April, peak ~5 in late May-June, senescence in July, harvest early August,
# stubble / bare soil until the autumn sowing.
CROP_LAI_DOY = np.array([1, 60, 100, 140, 170, 200, 220, 260, 300, 366])
CROP_LAI = np.array([0.8, 1.0, 2.0, 4.5, 5.0, 3.0, 0.5, 0.3, 0.6, 0.8])

# Medians of the six real WCM fits (MNI fields 301, 508, 542, 319, 515 and Budrio, S1 VV 2017)
# in experiments/operators_real/README.md:
#   A = [0.000, 0.000, 0.000, 0.047, 5.000, 0.058] -> 0.0235 (linear)
#   B = [0.185, 0.115, 0.017, 0.093, 0.000, 0.310] -> 0.104 (per unit LAI)
#   C = [-8.10, -12.01, -13.26, -11.07, -11.96, -10.92] -> -11.515 dB
#   D = [10.00, 10.00, 10.00, 10.00, 10.00, 21.26] -> 10.0 dB per m3 m-3 (five on the lower bound)
MEDIAN_REAL_WCM = {"a": 0.0235, "b": 0.104, "c": -11.515, "d": 10.0}


class SpenFarmDataError(DataError):
    """The Spen Farm inputs cannot be used; the message names the file, key or date."""


def crop_lai_climatology(day_of_year) -> np.ndarray:
    """Winter-cereal LAI climatology (m2 m-2) for day(s) of year 1..366 (see the module constants)."""
    return np.interp(np.asarray(day_of_year, dtype=float), CROP_LAI_DOY, CROP_LAI)


def crop_lai_percentiles() -> tuple[float, float]:
    """LAI p01 and p99 of the climatology (the DD-1 normalisation of the LAI fallback)."""
    values = crop_lai_climatology(np.arange(1, 367))
    return float(np.percentile(values, 1)), float(np.percentile(values, 99))


# --- options --------------------------------------------------------------------------------------


def _fraction(instance, attribute, value):
    if not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
        raise ValueError(f"'{attribute.name}' must be a number in [0, 1], got {value!r}")


def _texture(instance, attribute, value):
    if str(value).strip().lower().replace("_", " ") not in SOIL_TEXTURES:
        raise ValueError(f"'{attribute.name}' {value!r} is not a docs/model/gleam.md a.11 texture; known: {sorted(SOIL_TEXTURES)}")


@attrs.frozen
class LandCoverFractions:
    """Pixel fractions of the footprint (docs/model/gleam.md a.1); they must sum to one."""

    tall: float = attrs.field(default=0.05, converter=float, validator=_fraction, metadata={"units": "1"})
    short: float = attrs.field(default=0.85, converter=float, validator=_fraction, metadata={"units": "1"})
    bare: float = attrs.field(default=0.10, converter=float, validator=_fraction, metadata={"units": "1"})
    water: float = attrs.field(default=0.0, converter=float, validator=_fraction, metadata={"units": "1"})

    def __attrs_post_init__(self):
        total = self.tall + self.short + self.bare + self.water
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"'fractions' must sum to one (tall+short+bare+water={total!r})")
        if self.water >= 1.0:
            raise ValueError("'water' = 1 leaves no land")


@attrs.frozen
class PseudoObservationOptions:
    """How the semi-real sigma0 is made: WCM(COSMOS SM, LAI) + noise on a real S1 calendar pattern."""

    wcm_a: float = attrs.field(default=MEDIAN_REAL_WCM["a"], converter=float, validator=finite_non_negative, metadata={"units": "1"})
    wcm_b: float = attrs.field(default=MEDIAN_REAL_WCM["b"], converter=float, validator=finite_non_negative, metadata={"units": "1"})
    wcm_c: float = attrs.field(default=MEDIAN_REAL_WCM["c"], converter=float, metadata={"units": "dB"})
    wcm_d: float = attrs.field(default=MEDIAN_REAL_WCM["d"], converter=float, validator=finite_non_negative, metadata={"units": "dB m3 m-3-1"})
    incidence_angle_deg: float = attrs.field(default=40.0, converter=float, metadata={"units": "degree"})
    noise_sd_db: float = attrs.field(default=0.7, converter=float, validator=finite_non_negative, metadata={"units": "dB"})
    calendar_file: str = attrs.field(default=MNI_FILE, validator=attrs.validators.instance_of(str), metadata={"units": "path relative to data_directory"})
    repeat_cycle_days: int = attrs.field(default=6, validator=attrs.validators.in_((6, 12)), metadata={"units": "d"})

    @incidence_angle_deg.validator
    def _angle(self, attribute, value):
        if not 0.0 < value < 90.0:
            raise ValueError(f"'{attribute.name}' must be in (0, 90) degrees, got {value!r}")


@attrs.frozen
class SpenFarmSourceOptions:
    """``source: {kind: spen_farm, ...}``: the real Spen Farm site with semi-real S1 observations.

    ``data_directory`` is the shared data folder; a relative path is looked up from the current
    directory, then from the repository root (the default ``../shared/data`` is the CI layout).
    """

    data_directory: str = attrs.field(default="../shared/data", validator=attrs.validators.instance_of(str), metadata={"units": "path"})
    texture: str = attrs.field(default="loam", validator=_texture, metadata={"units": "docs/model/gleam.md a.11 texture class"})
    fractions: LandCoverFractions = attrs.field(factory=LandCoverFractions)
    gap_fill: str = attrs.field(default="midas", validator=attrs.validators.in_(GAP_FILL), metadata={"units": "policy"})
    max_interpolation_days: int = attrs.field(default=3, validator=[attrs.validators.instance_of(int), finite_positive], metadata={"units": "d"})
    pseudo_observations: PseudoObservationOptions = attrs.field(factory=PseudoObservationOptions)


# --- inputs ---------------------------------------------------------------------------------------


def resolve_data_directory(directory: str | Path) -> Path:
    """The shared data folder: absolute, or relative to the CWD, or to the repository root."""
    path = Path(directory).expanduser()
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, REPOSITORY_ROOT / path]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    raise SpenFarmDataError(
        f"data_directory {str(directory)!r} not found (looked in {', '.join(str(c) for c in candidates)}); "
        "set source.data_directory to the shared data folder"
    )


def _require_file(directory: Path, relative: str, key: str) -> Path:
    path = directory / relative
    if not path.is_file():
        raise SpenFarmDataError(f"{key}: file {path} not found")
    return path


def acquisition_pattern(mni_file: str | Path) -> tuple[np.datetime64, pd.DataFrame]:
    """The S1 acquisition pattern of the MNI 2017 campaign: anchor date and one row per relative orbit.

    With Sentinel-1A and 1B (2016-09 to 2021-12) every relative orbit repeats every 6 days.  MNI
    2017 (121 acquisitions, 2017-03-24..09-21) is seen from relative orbits 95 (descending),
    117 (ascending), 44 (ascending) and 168 (descending); each orbit falls on a fixed day of the
    6-day cycle counted from the first acquisition.  Returns that first day and a table with
    ``phase`` (d), ``relative_orbit``, ``orbit_direction`` and the median ``incidence_angle_deg``.
    The pattern is MNI's (48.3 N), not Spen Farm's real orbits: a realistic sampling, not a
    reconstruction.
    """
    path = Path(mni_file)
    if not path.is_file():
        raise SpenFarmDataError(f"pseudo_observations.calendar_file: file {path} not found")
    with warnings.catch_warnings():  # non-positive VV in one field: irrelevant for the dates
        warnings.simplefilter("ignore")
        tables = read_mni(path)
    frame = pd.concat(tables.values()).drop_duplicates("time").sort_values("time")
    days = frame["time"].dt.normalize()
    anchor = days.iloc[0]
    phase = ((days - anchor).dt.days % 6).to_numpy()
    rows = []
    for orbit, group in frame.assign(phase=phase).groupby("relative_orbit"):
        modal = int(group["phase"].mode().iloc[0])
        if (group["phase"] == modal).mean() < 0.9:
            raise SpenFarmDataError(f"{path}: relative orbit {orbit} does not keep a 6-day phase; not an S1A+B pattern")
        rows.append(
            {
                "phase": modal,
                "relative_orbit": int(orbit),
                "orbit_direction": str(group["orbit_direction"].iloc[0]),
                "incidence_angle_deg": float(group["incidence_angle_deg"].median()),
            }
        )
    pattern = pd.DataFrame(rows).sort_values("phase").reset_index(drop=True)
    if pattern["phase"].duplicated().any():
        raise SpenFarmDataError(f"{path}: two relative orbits share a day of the 6-day cycle")
    return np.datetime64(anchor.date(), "D"), pattern


def acquisition_calendar(times: np.ndarray, anchor: np.datetime64, pattern: pd.DataFrame, repeat_cycle_days: int = 6) -> np.ndarray:
    """Relative orbit acquired on each day of ``times`` (0: none).

    ``repeat_cycle_days`` 6: both satellites (every orbit every 6 days); 12: one satellite (the
    pattern's first 6 days kept, every 12 days).
    """
    offset = (np.asarray(times, dtype="datetime64[D]") - anchor).astype("int64")
    orbit_of_phase = np.zeros(repeat_cycle_days, dtype=np.int64)
    orbit_of_phase[pattern["phase"].to_numpy()] = pattern["relative_orbit"].to_numpy()
    return orbit_of_phase[offset % repeat_cycle_days]


def observation_noise(seed: int, times: np.ndarray, sd_db: float, site_id: int = SITE_ID) -> np.ndarray:
    """Gaussian noise (dB) for each day; one keyed block per calendar year so a date's noise
    does not depend on the period asked for (``stream(seed, site, TWIN_OBSERVATION_NOISE, year)``)."""
    days = pd.DatetimeIndex(np.asarray(times, dtype="datetime64[ns]"))
    noise = np.empty(len(days))
    for year in np.unique(days.year):
        chosen = days.year == year
        draws = stream(seed, site_id, Purpose.TWIN_OBSERVATION_NOISE, block=int(year)).standard_normal(366)
        noise[chosen] = sd_db * draws[days.day_of_year[chosen] - 1]
    return noise


def _snow_water_equivalent(cosmos_file: Path, index: pd.DatetimeIndex) -> np.ndarray:
    frame = _read_daily_csv(cosmos_file, "COSMOS-UK daily file")
    if SWE_COLUMN not in frame.columns:
        raise SpenFarmDataError(f"{cosmos_file}: missing column {SWE_COLUMN!r}")
    return frame[SWE_COLUMN].astype(float).reindex(index).to_numpy()


def _period(start, end) -> pd.DatetimeIndex:
    start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    if end < start:
        raise SpenFarmDataError(f"end {end.date()} is before start {start.date()}")
    return pd.date_range(start, end, freq="D")


# --- the source -----------------------------------------------------------------------------------


def spen_farm_site_data(options: SpenFarmSourceOptions = SpenFarmSourceOptions(), *, start, end, seed: int) -> SiteData:
    """Spen Farm as one-site :class:`SiteData` for ``start`` (spin-up start) .. ``end`` (inclusive).

    ``seed`` keys the pseudo-observation noise.  See the module docstring for what is real.
    """
    directory = resolve_data_directory(options.data_directory)
    cosmos_file = _require_file(directory, COSMOS_FILE, "COSMOS-UK daily file")
    period = _period(start, end)
    try:
        data = read_cosmos_daily(
            cosmos_file,
            str(period[0].date()),
            str(period[-1].date()),
            latitude=LATITUDE,
            gap_fill=options.gap_fill,
            max_interpolation_days=options.max_interpolation_days,
        )
    except CosmosReadError as error:
        raise SpenFarmDataError(f"source.gap_fill={options.gap_fill!r}: {error}") from error
    got = pd.DatetimeIndex(data["time"].values)
    if len(got) != len(period) or not (got == period).all():
        raise SpenFarmDataError(
            f"{cosmos_file}: covers {got[0].date()}..{got[-1].date()}, the experiment needs {period[0].date()}..{period[-1].date()}"
        )
    times = period.values
    site = np.array([SITE_ID])
    lai = crop_lai_climatology(period.day_of_year.to_numpy())

    forcing = xr.Dataset(coords={"time": ("time", times), "site": ("site", site)})
    for name in ("precipitation", "air_temperature", "net_radiation"):
        forcing[name] = (("time", "site"), data[name].values[:, None], dict(data[name].attrs))
    forcing["lai"] = (
        ("time", "site"),
        lai[:, None],
        {"units": "m2 m-2", "long_name": "leaf area index (winter-cereal climatology, not observed)"},
    )
    forcing.attrs["gap_fill"] = options.gap_fill
    for name in ("precipitation", "air_temperature", "net_radiation"):
        flags = data[f"filled_{name}"].values.astype(bool)
        forcing.attrs[f"filled_{name}_days"] = [str(d) for d in np.asarray(times[flags], dtype="datetime64[D]")]
    filled_total = sum(len(forcing.attrs[f"filled_{name}_days"]) for name in ("precipitation", "air_temperature", "net_radiation"))

    sites = _site_table(options)

    observations = _pseudo_observations(options.pseudo_observations, directory, cosmos_file, data, period, lai, seed)

    tdt = np.stack([data["tdt1_vwc"].values, data["tdt2_vwc"].values])
    n_valid = np.isfinite(tdt).sum(axis=0)
    tdt_mean = np.where(n_valid > 0, np.nansum(tdt, axis=0) / np.maximum(n_valid, 1), np.nan)
    insitu = xr.DataArray(
        tdt_mean[:, None],
        dims=("time", "site"),
        coords={"time": times, "site": site},
        name="insitu_soil_moisture",
        attrs={
            "units": "m3 m-3",
            "long_name": "mean of the COSMOS-UK TDT1 and TDT2 probes (near-surface; either one where the other is missing)",
        },
    )
    description = (
        "Spen Farm COSMOS-UK SPENF (real forcing and TDT in situ; semi-real: synthetic backscatter from real COSMOS "
        f"soil moisture); forcing gap fill {options.gap_fill!r}, {filled_total} filled variable-days"
    )
    return SiteData(sites=sites, forcing=forcing, observations=observations, insitu=insitu, description=description)


def _site_table(options: SpenFarmSourceOptions) -> xr.Dataset:
    w_sat, w_fc, w_c, w_wp = SOIL_TEXTURES[options.texture.strip().lower().replace("_", " ")]
    lai_p01, lai_p99 = crop_lai_percentiles()
    fractions = options.fractions
    values = {
        "f_T": (fractions.tall, "1", "tall vegetation fraction (hedgerows)"),
        "f_H": (fractions.short, "1", "short vegetation fraction (arable crops)"),
        "f_B": (fractions.bare, "1", "bare soil fraction"),
        "f_W": (fractions.water, "1", "open water fraction"),
        "w_sat": (w_sat, "m3 m-3", f"soil moisture at saturation ({options.texture}, docs/model/gleam.md a.11)"),
        "w_fc": (w_fc, "m3 m-3", f"soil moisture at field capacity ({options.texture}, docs/model/gleam.md a.11)"),
        "w_c": (w_c, "m3 m-3", f"critical soil moisture ({options.texture}, docs/model/gleam.md a.11)"),
        "w_wp": (w_wp, "m3 m-3", f"soil moisture at wilting point ({options.texture}, docs/model/gleam.md a.11)"),
        "w_r": (RESIDUAL_TO_WILTING * w_wp, "m3 m-3", "residual soil moisture (0.5 w_wp, DD-11)"),
        "lai_p01": (lai_p01, "m2 m-2", "1st percentile of the LAI climatology (DD-1)"),
        "lai_p99": (lai_p99, "m2 m-2", "99th percentile of the LAI climatology (DD-1)"),
    }
    sites = xr.Dataset(
        {name: ("site", [value], {"units": units, "long_name": long_name}) for name, (value, units, long_name) in values.items()},
        coords={"site": ("site", [SITE_ID], {"long_name": "site identifier", "units": "1"})},
    )
    sites = sites.assign_coords(
        lat=("site", [LATITUDE], {"standard_name": "latitude", "units": "degrees_north"}),
        lon=("site", [LONGITUDE], {"standard_name": "longitude", "units": "degrees_east"}),
    )
    sites.attrs["site_name"] = "Spen Farm (COSMOS-UK SPENF)"
    return sites


def _pseudo_observations(
    settings: PseudoObservationOptions,
    directory: Path,
    cosmos_file: Path,
    data: xr.Dataset,
    period: pd.DatetimeIndex,
    lai: np.ndarray,
    seed: int,
) -> xr.Dataset:
    """Semi-real sigma0 (dB): WCM(COSMOS SM, LAI) + noise on the acquisition days, masked (docs/model/validation.md e)."""
    mni_file = _require_file(directory, settings.calendar_file, "pseudo_observations.calendar_file")
    anchor, pattern = acquisition_pattern(mni_file)
    orbit = acquisition_calendar(period.values, anchor, pattern, settings.repeat_cycle_days)
    acquired = orbit > 0
    cosmos_sm = data["cosmos_vwc"].values  # m3 m-3, NaN where missing
    clean = water_cloud_backscatter(  # docs/model/operators.md b, mixed form
        cosmos_sm, lai, settings.wcm_a, settings.wcm_b, settings.wcm_c, settings.wcm_d, settings.incidence_angle_deg
    )
    noisy = clean + observation_noise(seed, period.values, settings.noise_sd_db)
    # docs/model/validation.md e step 2 (DD-26): masks from the unperturbed (station) forcing, DD-22
    frozen = data["air_temperature"].values < FROZEN_THRESHOLD
    heavy_rain = data["precipitation"].values > HEAVY_RAIN_THRESHOLD
    swe = _snow_water_equivalent(cosmos_file, period)
    snow = np.nan_to_num(swe, nan=0.0) > 0.0  # the CRNS SWE is NaN on most (snow-free) days
    masked = frozen | heavy_rain | snow
    usable = acquired & ~masked & np.isfinite(noisy)
    incidence = dict(zip(pattern["relative_orbit"], pattern["incidence_angle_deg"]))
    dims = ("time", "site")
    coords = {"time": period.values, "site": [SITE_ID]}
    observations = xr.Dataset(
        {
            "backscatter": (
                dims,
                np.where(usable, noisy, np.nan)[:, None],
                {
                    "units": "dB",
                    "long_name": "semi-real Sentinel-1 VV backscatter: WCM(COSMOS soil moisture, LAI climatology) + noise, masked",
                },
            ),
            "orbit": (
                dims,
                orbit[:, None],
                {"units": "1", "long_name": "relative orbit of the acquisition pattern (MNI 2017; 0: none)"},
            ),
            "incidence_angle": (
                dims,
                np.array([incidence.get(o, np.nan) for o in orbit])[:, None],
                {"units": "degree", "long_name": "incidence angle of the pattern's orbit (sigma0 itself is simulated at the WCM angle)"},
            ),
            "masked": (
                dims,
                (acquired & masked)[:, None],
                {"units": "1", "long_name": f"acquisition discarded: T < {FROZEN_THRESHOLD} degC, P > {HEAVY_RAIN_THRESHOLD} mm d-1 or snow"},
            ),
        },
        coords=coords,
    )
    observations.attrs.update(
        {
            "kind": "semi-real: synthetic backscatter from real COSMOS soil moisture",
            "forward_model": "water cloud model, docs/model/operators.md b mixed form",
            "wcm_parameters": (
                f"A={settings.wcm_a} B={settings.wcm_b} C={settings.wcm_c} dB D={settings.wcm_d} dB/(m3 m-3) "
                f"at {settings.incidence_angle_deg} deg (medians of the MNI/Budrio fits, experiments/operators_real)"
            ),
            "noise_sd_db": settings.noise_sd_db,
            "calendar": (
                f"MNI 2017 relative orbits {pattern['relative_orbit'].tolist()} on days {pattern['phase'].tolist()} of a 6-day cycle "
                f"from {anchor}, repeated every {settings.repeat_cycle_days} days"
            ),
            "masks": f"T < {FROZEN_THRESHOLD} degC, P > {HEAVY_RAIN_THRESHOLD} mm d-1, COSMOS SWE > 0 (docs/model/validation.md e step 2)",
        }
    )
    return observations
