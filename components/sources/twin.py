"""Synthetic twin network: a seeded European network with a truth and an imperfect model view.

The paper's forcing, Sentinel-1 and ISMN data cannot be downloaded here, so the default
experiment runs on a synthetic network (docs/architecture.md, "Twin experiments"), an analogue of the
Rains et al. (2022) network of 139 European sites:

* :func:`build_network` draws sites along a Mediterranean -> boreal gradient with land cover,
  soils, true weather, imperfect model forcing, LAI, VOD and a Sentinel-1 calendar
  (modules ``twin_sites``, ``twin_land_cover``, ``twin_soils``, ``twin_weather``,
  ``twin_forcing_error``, ``twin_vegetation``, ``twin_sentinel1``);
* :func:`run_truth` runs any :class:`~s1da.framework.interfaces.LandModel` with the true forcing
  and the truth's own soil parameters;
* :func:`simulate_backscatter` and :func:`simulate_insitu` turn the truth into observations
  (modules ``twin_sentinel1``, ``twin_surface_layer``, ``twin_insitu``).

Typical use::

    network = build_network(139, "2017-01-01", "2020-01-01", seed=2022)
    truth = run_truth(network, lambda statics: GleamModel(statics, parameters), spinup_years=1)
    observations = simulate_backscatter(network, truth["surface_soil_moisture"])
    insitu = simulate_insitu(network, truth["surface_soil_moisture"])
    # the model run then uses network.model_forcing (or network.forcing_day(t)) with
    # network.model_statics(), network.lai, observations["backscatter"] and insitu.

All randomness comes from ``stream(entropy, site_id, Purpose.TWIN_..., block)``
(:mod:`twin_random`), so a network built for any subset of site ids holds the same numbers for
those sites.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs
import numpy as np
import pandas as pd
import xarray as xr

from s1da.framework import progress
from s1da.framework.interfaces import LandModel
from s1da.framework.variables import VARIABLES

from .twin_forcing_error import ForcingErrorParameters, degrade_forcing, draw_forcing_biases
from .twin_insitu import InsituParameters, draw_insitu_statics, simulate_insitu
from .twin_masks import observation_masks
from .twin_random import INDEPENDENT, Draws
from .twin_sentinel1 import (
    TruthBackscatterParameters,
    acquisition_calendar,
    draw_orbits,
    draw_radar_parameters,
    observe_backscatter,
    simulate_backscatter,
)
from .twin_sites import draw_sites
from .twin_soils import SOIL_PARAMETER_NAMES
from .twin_surface_layer import SurfaceLayerParameters
from .twin_vegetation import draw_vegetation_statics, simulate_lai, simulate_vod
from .twin_weather import WeatherParameters, simulate_weather

__all__ = [
    "TwinNetwork",
    "build_network",
    "run_truth",
    "simulate_backscatter",
    "observe_backscatter",
    "simulate_insitu",
    "ForcingErrorParameters",
    "InsituParameters",
    "SurfaceLayerParameters",
    "TruthBackscatterParameters",
    "WeatherParameters",
]

FORCING_VARIABLES = ("precipitation", "air_temperature", "net_radiation")
STATIC_VARIABLES = ("texture", "f_T", "f_H", "f_B", "f_W", *SOIL_PARAMETER_NAMES, "vod_p01", "vod_p99", "lai_p01", "lai_p99")


@attrs.frozen(eq=False)
class TwinNetwork:
    """A synthetic network: statics, true and model forcing, vegetation and the S1 calendar.

    ``sites`` (dim ``site``) holds position, climate indices, land cover and GLEAM fractions
    (f_T, f_H, f_B, f_W), the model's soil parameters (w_sat, w_fc, w_c, w_wp, w_r, from the
    texture table) and the truth's (``truth_w_*``), VOD percentiles, truth radar parameters,
    in-situ station parameters and model-forcing biases.  ``true_forcing`` and ``model_forcing``
    hold ``precipitation`` (mm d-1), ``air_temperature`` (degC) and ``net_radiation`` (W m-2)
    shaped ``(time, site)``; ``true_forcing`` also holds the snowpack and cloudiness.  ``lai``
    (m2 m-2) and ``vod`` (1) are ``(time, site)``.  ``calendar`` is the daily acquisition grid
    ``(time, site)``; ``orbits`` the per-site orbit table ``(site, orbit_slot)``.
    """

    sites: xr.Dataset
    true_forcing: xr.Dataset
    model_forcing: xr.Dataset
    lai: xr.DataArray
    vod: xr.DataArray
    calendar: xr.Dataset
    orbits: xr.Dataset
    entropy: int
    draws: Draws = INDEPENDENT

    @property
    def site_ids(self) -> np.ndarray:
        return self.sites["site"].values

    @property
    def times(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.true_forcing["time"].values)

    @property
    def n_sites(self) -> int:
        return self.sites.sizes["site"]

    def site_coords(self) -> dict:
        """Coordinates ``time``, ``site``, ``lat``, ``lon`` for ``(time, site)`` outputs."""
        return {
            "time": self.true_forcing["time"],
            "site": self.sites["site"],
            "lat": self.sites["lat"],
            "lon": self.sites["lon"],
        }

    def model_statics(self) -> xr.Dataset:
        """Static parameters for the model run (table soil parameters of each texture)."""
        return self.sites[list(STATIC_VARIABLES)]

    def truth_statics(self) -> xr.Dataset:
        """Static parameters of the truth run: the truth's own soil parameters."""
        statics = self.model_statics().copy()
        for name in SOIL_PARAMETER_NAMES:
            statics[name] = self.sites[f"truth_{name}"].rename(name)
        return statics

    def forcing_day(self, day_index: int, which: str = "model") -> dict[str, np.ndarray]:
        """One day of forcing, arrays shaped ``(site,)``, with ``lai`` and ``vod``."""
        source = {"model": self.model_forcing, "true": self.true_forcing}.get(which)
        if source is None:
            raise KeyError(f"unknown forcing {which!r}; expected 'model' or 'true'")
        day = {name: source[name].values[day_index] for name in FORCING_VARIABLES}
        day["lai"] = self.lai.values[day_index]
        day["vod"] = self.vod.values[day_index]
        return day

    def masks(self) -> xr.Dataset:
        """Frozen / snow / heavy-rain masks ``(time, site)`` from the true forcing (docs/model/validation.md e)."""
        return observation_masks(self.true_forcing)

    def select_sites(self, site_ids: Sequence[int]) -> TwinNetwork:
        """The network restricted to some site ids (same numbers as building them alone)."""
        ids = np.asarray(site_ids, dtype=np.int64)
        missing = sorted(set(ids.tolist()) - set(self.site_ids.tolist()))
        if missing:
            raise KeyError(f"site ids {missing} are not in the network")
        pick = lambda obj: obj.sel(site=ids)  # noqa: E731
        return TwinNetwork(
            sites=pick(self.sites),
            true_forcing=pick(self.true_forcing),
            model_forcing=pick(self.model_forcing),
            lai=pick(self.lai),
            vod=pick(self.vod),
            calendar=pick(self.calendar),
            orbits=pick(self.orbits),
            entropy=self.entropy,
            draws=self.draws,
        )

    def check_site_array(self, values, name: str) -> np.ndarray:
        """A ``(time, site)`` soil-moisture array matching this network, as float ndarray.

        Raises on a wrong shape, mismatching coordinates, non-finite values or values outside
        [0, 1] m3 m-3, naming the offending sites.
        """
        if isinstance(values, xr.DataArray):
            if set(values.dims) != {"time", "site"}:
                raise ValueError(f"{name} must have dims (time, site), got {values.dims}")
            values = values.transpose("time", "site")
            if not np.array_equal(values["site"].values, self.site_ids):
                raise ValueError(f"{name}: site ids {values['site'].values[:10]}... do not match the network's")
            if "time" in values.coords and not np.array_equal(values["time"].values, self.true_forcing["time"].values):
                raise ValueError(f"{name}: time coordinate does not match the network period")
            values = values.values
        array = np.asarray(values, dtype=float)
        expected = (len(self.times), self.n_sites)
        if array.shape != expected:
            raise ValueError(f"{name} must be shaped (time, site) = {expected}, got {array.shape}")
        bad = ~np.isfinite(array)
        if bad.any():
            sites = self.site_ids[bad.any(axis=0)]
            raise ValueError(f"{name} has non-finite values at sites {sites.tolist()}")
        outside = (array < 0) | (array > 1)
        if outside.any():
            sites = self.site_ids[outside.any(axis=0)]
            raise ValueError(f"{name} has values outside [0, 1] m3 m-3 at sites {sites.tolist()}")
        return array


def _site_ids(n_sites: int | None, site_ids: Sequence[int] | None) -> np.ndarray:
    if site_ids is not None:
        ids = np.asarray(site_ids)
        if ids.ndim != 1 or ids.size == 0 or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"site_ids must be a non-empty 1-d sequence of integers, got {site_ids!r}")
        if (ids < 0).any() or len(np.unique(ids)) != len(ids):
            raise ValueError(f"site_ids must be unique and non-negative, got {ids.tolist()}")
        return ids.astype(np.int64)
    if isinstance(n_sites, bool) or not isinstance(n_sites, (int, np.integer)) or n_sites < 1:
        raise ValueError(f"n_sites must be a positive integer, got {n_sites!r}")
    return np.arange(int(n_sites), dtype=np.int64)


def _period(start, end) -> pd.DatetimeIndex:
    try:
        start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    except (TypeError, ValueError) as error:
        raise ValueError(f"start/end must be dates, got {start!r}, {end!r}") from error
    if start_ts.normalize() != start_ts or end_ts.normalize() != end_ts:
        raise ValueError(f"start and end must be whole days, got {start_ts}, {end_ts}")
    if not start_ts < end_ts:
        raise ValueError(f"start must precede end, got start={start_ts.date()} end={end_ts.date()}")
    return pd.date_range(start_ts, end_ts, freq="D", inclusive="left")


def build_network(
    n_sites: int | None,
    start,
    end,
    seed: int,
    *,
    site_ids: Sequence[int] | None = None,
    weather: WeatherParameters = WeatherParameters(),
    forcing_error: ForcingErrorParameters = ForcingErrorParameters(),
    backscatter: TruthBackscatterParameters = TruthBackscatterParameters(),
) -> TwinNetwork:
    """Build the synthetic network of sites ``0..n_sites-1`` (or ``site_ids``) for [start, end).

    ``seed`` is the entropy of every random stream (a non-negative integer).  The values of a
    site do not depend on which other sites are built.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    entropy = int(seed)
    ids = _site_ids(n_sites, site_ids)
    times = _period(start, end)
    return assemble_network(
        draw_sites(entropy, ids), times, entropy, weather=weather, forcing_error=forcing_error, backscatter=backscatter
    )


def assemble_network(
    sites: xr.Dataset,
    times: pd.DatetimeIndex,
    entropy: int,
    *,
    weather: WeatherParameters = WeatherParameters(),
    forcing_error: ForcingErrorParameters = ForcingErrorParameters(),
    backscatter: TruthBackscatterParameters = TruthBackscatterParameters(),
    draws: Draws = INDEPENDENT,
) -> TwinNetwork:
    """The network over given sites: ``sites`` holds position, climate indices, land cover and
    soils (as :func:`twin_sites.draw_sites` returns them); every other number comes from ``draws``."""
    ids = sites["site"].values
    sites = sites.merge(draw_vegetation_statics(entropy, ids, sites, draws).assign_coords(site=ids))
    sites = sites.merge(draw_radar_parameters(entropy, ids, sites["land_cover"].values, backscatter, draws).assign_coords(site=ids))
    sites = sites.merge(draw_insitu_statics(entropy, ids, draws).assign_coords(site=ids))
    biases = draw_forcing_biases(entropy, ids, forcing_error, draws).assign_coords(site=ids)
    sites = sites.merge(biases)

    true_forcing = simulate_weather(sites, times, entropy, weather, draws)
    model_forcing = degrade_forcing(true_forcing, entropy, forcing_error, biases, draws)

    lai_values = simulate_lai(sites, times, entropy, draws)
    vod_values = simulate_vod(sites, lai_values, times, entropy, draws)
    sites["vod_p01"] = ("site", np.percentile(vod_values, 1, axis=0), {"units": "1", "long_name": "1st percentile of VOD over the period"})
    sites["vod_p99"] = ("site", np.percentile(vod_values, 99, axis=0), {"units": "1", "long_name": "99th percentile of VOD over the period"})

    sites["lai_p01"] = ("site", np.percentile(lai_values, 1, axis=0), {"units": "m2 m-2", "long_name": "1st percentile of LAI over the period"})
    sites["lai_p99"] = ("site", np.percentile(lai_values, 99, axis=0), {"units": "m2 m-2", "long_name": "99th percentile of LAI over the period"})

    coords = {"time": times, "site": ids, "lat": ("site", sites["lat"].values, sites["lat"].attrs), "lon": ("site", sites["lon"].values, sites["lon"].attrs)}
    time_attrs = {"long_name": "time", "standard_name": "time"}
    orbits = draw_orbits(entropy, ids, sites["lat"].values, draws).assign_coords(lat=coords["lat"], lon=coords["lon"])
    calendar = acquisition_calendar(orbits, times).assign_coords(lat=coords["lat"], lon=coords["lon"])
    true_forcing = true_forcing.assign_coords(lat=coords["lat"], lon=coords["lon"])
    model_forcing = model_forcing.assign_coords(lat=coords["lat"], lon=coords["lon"])
    lai = xr.DataArray(lai_values, dims=("time", "site"), coords=coords, name="lai", attrs={"units": "m2 m-2", "long_name": "leaf area index"})
    vod = xr.DataArray(vod_values, dims=("time", "site"), coords=coords, name="vod", attrs={"units": "1", "long_name": "vegetation optical depth"})
    for dataset in (true_forcing, model_forcing, calendar, lai, vod):
        dataset["time"].attrs.update(time_attrs)
        dataset["site"].attrs.update(sites["site"].attrs)
    provenance = {"entropy": str(entropy), "source": "s1da synthetic twin network"}
    for dataset in (sites, true_forcing, model_forcing, calendar, orbits):
        dataset.attrs.update(provenance)
    return TwinNetwork(
        sites=sites,
        true_forcing=true_forcing,
        model_forcing=model_forcing,
        lai=lai,
        vod=vod,
        calendar=calendar,
        orbits=orbits,
        entropy=entropy,
        draws=draws,
    )


def run_truth(
    network: TwinNetwork,
    model_factory: Callable[[xr.Dataset], LandModel],
    spinup_years: int = 1,
    *,
    statics: str = "truth",
    record: bool = True,
) -> xr.Dataset:
    """Run a land model with the TRUE forcing (one member) and return the truth.

    ``model_factory(statics)`` receives the site statics (a Dataset with dim ``site``: texture,
    f_T, f_H, f_B, f_W, w_sat, w_fc, w_c, w_wp, w_r, vod_p01, vod_p99, lai_p01, lai_p99) and returns a
    :class:`LandModel`; by default the statics hold the truth's own soil parameters
    (``statics="model"`` gives the table values).  Spin-up repeats the first year of the period
    (or the whole period if shorter) ``spinup_years`` times.  Each day the model receives
    ``precipitation``, ``air_temperature``, ``net_radiation``, ``lai`` and ``vod`` shaped
    ``(1, site)``.

    Returns a Dataset ``(time, site[, ...])`` with ``surface_soil_moisture`` (m3 m-3), every
    floating-point state array as ``state_<name>`` and every flux as ``flux_<name>`` (CF
    attributes from :mod:`s1da.framework.variables` where the name is registered, otherwise
    ``units="unknown"``: the land model's own units); ``record=False`` keeps only the surface
    soil moisture (memory of large gridded twins).
    """
    if isinstance(spinup_years, bool) or not isinstance(spinup_years, (int, np.integer)) or spinup_years < 0:
        raise ValueError(f"spinup_years must be a non-negative integer, got {spinup_years!r}")
    choices = {"truth": network.truth_statics, "model": network.model_statics}
    if statics not in choices:
        raise KeyError(f"unknown statics {statics!r}; expected 'truth' or 'model'")
    model = model_factory(choices[statics]())
    while callable(getattr(type(model), "unperturbed", None)):
        model = model.unperturbed()  # the truth runs the physics, without the ensemble's state or soil perturbations
    if not isinstance(model, LandModel):
        raise TypeError(f"model_factory must return a LandModel, got {type(model).__name__}")

    n_time, n_site = len(network.times), network.n_sites
    arrays = {name: network.true_forcing[name].values for name in FORCING_VARIABLES}
    arrays["lai"] = network.lai.values
    arrays["vod"] = network.vod.values

    def forcing(day: int) -> dict[str, np.ndarray]:
        return {name: values[day][None, :] for name, values in arrays.items()}

    state = model.initial_state(1)
    spinup_days = np.arange(365 * int(spinup_years)) % min(365, n_time)
    with progress.bar(len(spinup_days) + n_time, f"twin: truth run ({n_site} sites)", "day", leave=False) as shown:
        state = _truth_days(model, state, spinup_days, forcing, shown)
        return _truth_series(network, model, state, forcing, record, shown, statics, spinup_years)


def _truth_days(model: LandModel, state, days, forcing: Callable[[int], dict], shown) -> dict:
    for day in days:
        state, _ = model.step(state, forcing(int(day)))
        shown.update()
    return state


def _truth_series(network: TwinNetwork, model: LandModel, state, forcing, record: bool, shown, statics: str, spinup_years: int) -> xr.Dataset:
    n_time, n_site = len(network.times), network.n_sites

    surface = np.empty((n_time, n_site))
    recorded_state: dict[str, np.ndarray] = {}
    recorded_flux: dict[str, np.ndarray] = {}
    for day in range(n_time):
        state, fluxes = model.step(state, forcing(day))
        values = np.asarray(model.surface_soil_moisture(state))
        if values.shape != (1, n_site):
            raise ValueError(f"surface_soil_moisture must be shaped (1, {n_site}), got {values.shape}")
        if not np.isfinite(values).all():
            bad = network.site_ids[~np.isfinite(values[0])]
            raise ValueError(f"truth run produced non-finite surface soil moisture on {network.times[day].date()} at sites {bad.tolist()}")
        surface[day] = values[0]
        for store, source in ((recorded_state, state), (recorded_flux, fluxes)) if record else ():
            for name, array in source.items():
                array = np.asarray(array)
                if array.ndim >= 2 and array.shape[:2] == (1, n_site) and np.issubdtype(array.dtype, np.floating):
                    store.setdefault(name, np.empty((n_time, *array.shape[1:]), dtype=array.dtype))[day] = array[0]
        shown.update()

    coords = network.site_coords()
    data = {
        "surface_soil_moisture": (
            ("time", "site"),
            surface,
            {"units": "m3 m-3", "long_name": "truth fraction-weighted 0-10 cm volumetric soil moisture"},
        )
    }
    for prefix, store in (("state", recorded_state), ("flux", recorded_flux)):
        for name, array in store.items():
            dims = ("time", "site", *(f"{name}_dim{i}" for i in range(2, array.ndim)))
            attrs = dict(VARIABLES.get(name, {"units": "unknown", "long_name": f"{prefix} {name!r} of the land model"}))
            attrs["long_name"] = f"truth run: {attrs['long_name']}"
            data[f"{prefix}_{name}"] = (dims, array, attrs)
    return xr.Dataset(data, coords=coords, attrs={"entropy": str(network.entropy), "statics": statics, "spinup_years": int(spinup_years)})
