"""What a data source hands to an experiment, checked once at the door.

A source (the synthetic twin, or readers of real files) delivers one :class:`SiteData`: the
site table, daily forcing for the whole period (spin-up included), the Sentinel-1 observations,
and optionally in-situ soil moisture and (twin mode) the truth.  Everything downstream can then
assume sorted, unique, gap-free daily times and finite, physically signed forcing.
"""

from __future__ import annotations

import attrs
import numpy as np
import xarray as xr

from s1da.framework.grid import GridInfo

REQUIRED_FORCING = ("precipitation", "air_temperature", "net_radiation")
NON_NEGATIVE = ("precipitation", "lai", "vod", "swe")

FORCING_LIMITS = {
    "precipitation": (0.0, 2000.0, "mm d-1"),
    "air_temperature": (-90.0, 65.0, "degC"),
    "net_radiation": (-500.0, 1000.0, "W m-2 (daily mean)"),
    "vod": (0.0, 10.0, "1"),
    "lai": (0.0, 20.0, "m2 m-2"),
    "swe": (0.0, 1.0e5, "mm"),
    "convective_fraction": (0.0, 1.0, "1"),
}
"""Valid range ``(low, high, units)`` of each forcing variable: what the land model accepts
(GLEAM refuses values outside these bounds as implausible daily means), checked here when
the data are read and kept by the forcing perturbations."""


class DataError(ValueError):
    """Input data that cannot be used as it is; the message names the variable and site."""


def check_daily_time(times: np.ndarray, what: str) -> None:
    """Times must be sorted, unique and one day apart."""
    days = np.asarray(times, dtype="datetime64[D]")
    if days.size == 0:
        raise DataError(f"{what}: no time steps")
    steps = np.diff(days).astype("int64")
    if np.any(steps == 0):
        first = days[1:][steps == 0][0]
        raise DataError(f"{what}: duplicate time {first}")
    if np.any(steps < 0):
        first = days[1:][steps < 0][0]
        raise DataError(f"{what}: times are not sorted (at {first})")
    if np.any(steps > 1):
        first = days[:-1][steps > 1][0]
        raise DataError(f"{what}: gap in the daily time axis after {first}")


def _first_bad_site(sites: xr.DataArray, bad: np.ndarray) -> str:
    site_index = int(np.argwhere(bad)[0][-1])
    return str(sites.values[site_index])


@attrs.frozen
class SiteData:
    """Everything an experiment needs from its source.

    * ``sites``: Dataset with dimension ``site`` (integer ids), coordinates ``lat`` and ``lon``
      and whatever static parameters the land model reads.
    * ``forcing``: Dataset ``(time, site)`` with ``precipitation`` (mm d-1),
      ``air_temperature`` (degC), ``net_radiation`` (W m-2), ``lai`` (m2 m-2) and optionally
      ``vod`` and ``swe``: the unperturbed forcing the model run receives.
    * ``observations``: Dataset ``(time, site)`` with ``backscatter`` (dB, NaN where there is no
      usable observation after masking).
    * ``insitu``: DataArray ``(time, site)`` of in-situ soil moisture (m3 m-3), NaN for gaps.
    * ``truth``: optional Dataset ``(time, site)`` with the twin's true ``surface_soil_moisture``.
    * ``grid``: for a gridded source, where each site (land cell) sits on the lat/lon grid
      (:class:`~s1da.framework.grid.GridInfo`; site ids are then ``y * nx + x``); None for a
      network of points.
    """

    sites: xr.Dataset
    forcing: xr.Dataset
    observations: xr.Dataset
    insitu: xr.DataArray | None = None
    truth: xr.Dataset | None = None
    description: str = ""
    grid: GridInfo | None = None

    def __attrs_post_init__(self) -> None:
        if "site" not in self.sites.dims:
            raise DataError("sites: no 'site' dimension")
        for coord in ("lat", "lon"):
            if coord not in self.sites.coords and coord not in self.sites:
                raise DataError(f"sites: missing coordinate {coord!r}")
        check_daily_time(self.forcing["time"].values, "forcing")
        for name in REQUIRED_FORCING + ("lai",):
            if name not in self.forcing:
                raise DataError(f"forcing: missing variable {name!r}")
        for name, variable in self.forcing.data_vars.items():
            if variable.dims != ("time", "site"):
                raise DataError(f"forcing: {name} has dims {variable.dims}, expected ('time', 'site')")
            values = variable.values
            finite = np.isfinite(values)
            if not finite.all():
                bad_time = self.forcing["time"].values[np.argwhere(~finite)[0][0]]
                raise DataError(
                    f"forcing: {name} is not finite at site {_first_bad_site(self.sites['site'], ~finite)} "
                    f"on {np.datetime64(bad_time, 'D')} (fill gaps explicitly in the reader)"
                )
            if name in NON_NEGATIVE and (values < 0).any():
                raise DataError(f"forcing: {name} is negative at site {_first_bad_site(self.sites['site'], values < 0)}")
            if name in FORCING_LIMITS:
                self._check_limits(name, values)
        for label, data in (("observations", self.observations), ("insitu", self.insitu), ("truth", self.truth)):
            if data is None:
                continue
            if not np.array_equal(data["site"].values, self.sites["site"].values):
                raise DataError(f"{label}: site ids differ from the site table")
            if not np.isin(data["time"].values, self.forcing["time"].values).all():
                raise DataError(f"{label}: times outside the forcing period")
        if self.grid is not None:
            self._check_grid()
        if "backscatter" not in self.observations:
            raise DataError("observations: missing variable 'backscatter' (dB)")
        values = self.observations["backscatter"].values
        finite = values[np.isfinite(values)]
        if finite.size and (finite > 0).all() and (finite < 1).all():
            raise DataError("observations: backscatter looks linear (all values in (0, 1)); convert to dB")

    def _check_limits(self, name: str, values: np.ndarray) -> None:
        low, high, units = FORCING_LIMITS[name]
        outside = (values < low) | (values > high)
        if outside.any():
            time_index, site_index = np.argwhere(outside)[0]
            day = np.datetime64(self.forcing["time"].values[time_index], "D")
            raise DataError(
                f"forcing: {name} = {values[time_index, site_index]:.6g} {units} at site "
                f"{self.sites['site'].values[site_index]} on {day} is outside the model's valid range "
                f"[{low:g}, {high:g}] {units}"
            )

    def require_observations(self, times: np.ndarray, minimum: int, purpose: str) -> None:
        """Every site needs ``minimum`` finite backscatter observations on ``times`` (e.g. to calibrate)."""
        counts = np.isfinite(self.observations_on(times)["backscatter"].values).sum(axis=0)
        short = np.flatnonzero(counts < minimum)
        if short.size:
            first = np.datetime64(times[0], "D")
            last = np.datetime64(times[-1], "D")
            listed = ", ".join(f"site {self.site_ids[i]}: {counts[i]}" for i in short[:5])
            raise DataError(
                f"{purpose} needs at least {minimum} Sentinel-1 observations per site over {first}..{last}; "
                f"{listed}{' ...' if short.size > 5 else ''} (lengthen the period)"
            )

    def _check_grid(self) -> None:
        if not isinstance(self.grid, GridInfo):
            raise DataError(f"grid: expected a GridInfo, got {type(self.grid).__name__}")
        if self.grid.y_index.size != self.sites.sizes["site"]:
            raise DataError(f"grid: locates {self.grid.y_index.size} cells for {self.sites.sizes['site']} sites")
        wrong = self.grid.site_ids != self.site_ids
        if wrong.any():
            position = int(np.flatnonzero(wrong)[0])
            raise DataError(
                f"grid: site {self.site_ids[position]} sits in cell y={self.grid.y_index[position]}, "
                f"x={self.grid.x_index[position]}, whose id is {self.grid.site_ids[position]} (ids must be y * nx + x)"
            )

    def subset(self, site_indices: np.ndarray) -> SiteData:
        """The same data for the sites at positions ``site_indices`` (in that order)."""
        site_indices = np.asarray(site_indices, dtype="int64")
        n_site = self.sites.sizes["site"]
        if site_indices.ndim != 1 or site_indices.size == 0:
            raise ValueError(f"SiteData.subset: need a non-empty 1-D array of site positions, got shape {site_indices.shape}")
        if site_indices.min() < 0 or site_indices.max() >= n_site:
            raise ValueError(f"SiteData.subset: site positions must lie in 0..{n_site - 1}")

        def pick(data):
            return None if data is None else data.isel(site=site_indices)

        return attrs.evolve(
            self,
            sites=pick(self.sites),
            forcing=pick(self.forcing),
            observations=pick(self.observations),
            insitu=pick(self.insitu),
            truth=pick(self.truth),
            grid=None if self.grid is None else self.grid.subset(site_indices),
        )

    @property
    def site_ids(self) -> np.ndarray:
        return self.sites["site"].values.astype("int64")

    @property
    def times(self) -> np.ndarray:
        return self.forcing["time"].values.astype("datetime64[D]")

    def observations_on(self, times: np.ndarray) -> xr.Dataset:
        """Observations reindexed onto ``times`` (NaN where none)."""
        return self.observations.reindex(time=np.asarray(times, dtype="datetime64[ns]"))

    def insitu_on(self, times: np.ndarray) -> xr.DataArray | None:
        if self.insitu is None:
            return None
        return self.insitu.reindex(time=np.asarray(times, dtype="datetime64[ns]"))
