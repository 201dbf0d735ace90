"""Small synthetic s1da stores for the report and validation tests (site networks and grids)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
import yaml

N_DAYS, N_MEMBERS = 400, 6
SITES = np.array([101, 102, 103, 104])
NAMES = np.array(["Alpha", "Beta", "Gamma", "Delta"])
OPERATORS = ("wcm", "svr", "sm")  # "sm" would have collided with the open loop's old label

PAPER_CONFIG = {
    "experiment": {"name": "synthetic", "seed": 42, "members": 32, "spinup_start": "2017-01-01", "start": "2018-01-01",
                   "end": "2019-12-31"},
    "source": {"kind": "twin", "parameters": {"n_sites": 4}},
    "filter": {"kind": "denkf", "parameters": {"inflation": 1.0}},
    "operators": {"wcm": {"kind": "wcm"}, "svr": {"kind": "svr"}, "sm": {"kind": "wcm"}},
    "perturbation": {"kind": "forcing", "parameters": {"precipitation_relative_sd": 0.3, "air_temperature_sd": 2.5,
                                                       "net_radiation_relative_sd": 0.3}},
}


def _attrs(units: str, long_name: str) -> dict:
    return {"units": units, "long_name": long_name}


def _write(ds: xr.Dataset, path: Path, group: str, **attrs) -> None:
    ds.attrs.update({"complete": True, **attrs})
    ds.to_zarr(path, group=group, mode="a", zarr_format=3, consolidated=False)


def write_site_store(path: Path, *, operators=OPERATORS, truth: bool = True, paper_setup: bool = False,
                     names: bool = True) -> Path:
    """A complete store of a twin-like network: observations, in situ, truth, runs, calibration."""
    rng = np.random.default_rng(7)
    n_sites = SITES.size
    time = np.datetime64("2018-01-01") + np.arange(N_DAYS).astype("timedelta64[D]")
    days = np.arange(N_DAYS)[:, None]
    true_sm = 0.25 + 0.08 * np.sin(2 * np.pi * days / 365.0 + np.arange(n_sites)) + 0.02 * rng.standard_normal((N_DAYS, n_sites))
    lai = 1.0 + 1.5 * np.sin(np.pi * days / 365.0) ** 2 + 0.0 * true_sm
    backscatter = -15 + 20 * (true_sm - 0.25) - 0.5 * lai + 0.5 * rng.standard_normal((N_DAYS, n_sites))
    backscatter[days[:, 0] % 3 != 0] = np.nan  # S1 every third day
    insitu = true_sm + 0.02 * rng.standard_normal((N_DAYS, n_sites))
    insitu[:10] = np.nan
    site_coords = {"site": ("site", SITES, _attrs("1", "site identifier")),
                   "lat": ("site", np.linspace(45, 50, n_sites), _attrs("degrees_north", "latitude")),
                   "lon": ("site", np.linspace(5, 10, n_sites), _attrs("degrees_east", "longitude"))}
    if names:
        site_coords["site_name"] = ("site", NAMES.astype(str), _attrs("1", "site name"))
    coords = {"time": time, **site_coords}

    def series(values, units, long_name):
        return xr.DataArray(values, dims=("time", "site"), attrs=_attrs(units, long_name))

    def ensemble(noise):
        members = true_sm[:, None, :] + 0.01 + noise * rng.standard_normal((N_DAYS, N_MEMBERS, n_sites))
        return xr.DataArray(members, dims=("time", "member", "site"), attrs=_attrs("m3 m-3", "surface soil moisture"))

    config = PAPER_CONFIG if paper_setup else {**PAPER_CONFIG, "experiment": {**PAPER_CONFIG["experiment"], "members": N_MEMBERS}}
    root = xr.Dataset(attrs={"experiment_name": "synthetic", "seed_entropy": "42", "s1da_version": "0.test",
                             "source": "synthetic test network", "config": yaml.safe_dump(config, sort_keys=False), "complete": True})
    root.to_zarr(path, mode="w", zarr_format=3, consolidated=False)
    _write(xr.Dataset({"backscatter": series(backscatter, "dB", "Sentinel-1 VV backscatter"),
                       "lai": series(lai, "m2 m-2", "leaf area index")}, coords=coords), path, "observations")
    _write(xr.Dataset({"insitu_soil_moisture": series(insitu, "m3 m-3", "in-situ soil moisture")}, coords=coords), path, "insitu")
    if truth:
        _write(xr.Dataset({"surface_soil_moisture": series(true_sm, "m3 m-3", "true surface soil moisture")}, coords=coords), path, "truth")
    run_coords = {**coords, "member": ("member", np.arange(N_MEMBERS), _attrs("1", "ensemble member"))}
    _write(xr.Dataset({"surface_soil_moisture": ensemble(0.02)}, coords=run_coords), path, "open_loop", group_kind="run", chunk_days=64)
    calibration = {}
    warnings = {}
    for index, label in enumerate(operators):
        observed = np.isfinite(backscatter)
        increment = np.where(observed, 0.003 * rng.standard_normal((N_DAYS, n_sites)), np.nan)
        innovation = np.where(observed, rng.standard_normal((N_DAYS, n_sites)), np.nan)
        _write(xr.Dataset({
            "surface_soil_moisture": ensemble(0.015),
            "analysis_increment_surface": series(increment, "m3 m-3", "analysis increment"),
            "innovation": series(innovation, "dB", "innovation"),
            "normalised_innovation": series(innovation / 1.1, "1", "normalised innovation"),
        }, coords=run_coords), path, f"da_{label}", group_kind="run", chunk_days=64)
        simulated = -15 + 20 * (true_sm - 0.25) - 0.5 * lai + 0.1 * (index - 1)
        calibration[f"{label}_simulated_backscatter"] = series(simulated, "dB", f"{label} fit")
        warnings[f"{label}_warnings"] = [f"{label.upper()} site 101 (index 0): parameter(s) D on their bounds (A=0.1, D=60)",
                                         f"{label.upper()} site 103 (index 2): parameters not identifiable (|correlation| > 0.99)"]
    _write(xr.Dataset(calibration, coords=coords, attrs=warnings), path, "calibration")
    return path


def write_grid_store(path: Path, *, operators=("wcm", "svr"), calibration: bool = False) -> Path:
    """A gridded store ``(time, member, y, x)`` with ``lat(y)``, ``lon(x)``, sea cells NaN, and
    in situ at three station cells; ``calibration``: also the operators' simulated backscatter
    ``(time, site)`` of the land cells (site = cell id ``y * nx + x``), as the engine writes it."""
    rng = np.random.default_rng(3)
    n_days, ny, nx = 120, 5, 7
    time = np.datetime64("2018-01-01") + np.arange(n_days).astype("timedelta64[D]")
    coords = {"time": time, "lat": ("y", np.linspace(50, 48, ny), _attrs("degrees_north", "latitude")),
              "lon": ("x", np.linspace(4, 7, nx), _attrs("degrees_east", "longitude"))}
    land = np.ones((ny, nx), bool)
    land[:, -2:] = False  # the sea in the east
    true_sm = 0.25 + 0.05 * np.sin(np.arange(n_days) / 10.0)[:, None, None] + 0.02 * rng.standard_normal((n_days, ny, nx))
    true_sm = np.where(land, true_sm, np.nan)

    def members(noise, offset):
        values = true_sm[:, None] + offset + noise * rng.standard_normal((n_days, N_MEMBERS, ny, nx))
        return xr.DataArray(values, dims=("time", "member", "y", "x"), attrs=_attrs("m3 m-3", "surface soil moisture"))

    root = xr.Dataset(attrs={"experiment_name": "grid", "seed_entropy": "5", "config": yaml.safe_dump({"operators": {
        label: {"kind": label} for label in operators}}, sort_keys=False), "complete": True})
    root.to_zarr(path, mode="w", zarr_format=3, consolidated=False)
    insitu = np.full((n_days, ny, nx), np.nan)
    for y, x in ((0, 0), (2, 3), (4, 1)):
        insitu[:, y, x] = true_sm[:, y, x] + 0.01 * rng.standard_normal(n_days)
    _write(xr.Dataset({"insitu_soil_moisture": (("time", "y", "x"), insitu, _attrs("m3 m-3", "in situ"))}, coords=coords), path, "insitu")
    s1_days = (np.arange(n_days) % 3 == 0)[:, None, None] & land
    backscatter = np.where(s1_days, -12 + 20 * (true_sm - 0.25) + 0.5 * rng.standard_normal((n_days, ny, nx)), np.nan)
    _write(xr.Dataset({"backscatter": (("time", "y", "x"), backscatter, _attrs("dB", "Sentinel-1 VV backscatter")),
                       "lai": (("time", "y", "x"), np.where(land, 1.5, np.nan) + 0 * true_sm, _attrs("m2 m-2", "leaf area index"))},
                      coords=coords), path, "observations")
    _write(xr.Dataset({"surface_soil_moisture": members(0.02, 0.02)}, coords=coords), path, "open_loop", group_kind="run")
    for index, label in enumerate(operators):
        observed = (np.arange(n_days) % 3 == 0)[:, None, None] & land
        increment = np.where(observed, 0.002 * (index + 1) * rng.standard_normal((n_days, ny, nx)) - 0.001, np.nan)
        innovation = np.where(observed, rng.standard_normal((n_days, ny, nx)), np.nan)
        _write(xr.Dataset({
            "surface_soil_moisture": members(0.01, 0.01 * index),
            "analysis_increment_surface": (("time", "y", "x"), increment, _attrs("m3 m-3", "increment")),
            "innovation": (("time", "y", "x"), innovation, _attrs("dB", "innovation")),
            "normalised_innovation": (("time", "y", "x"), innovation * 0.9, _attrs("1", "normalised innovation")),
        }, coords=coords), path, f"da_{label}", group_kind="run")
    if calibration:
        cells = np.flatnonzero(land.ravel())
        simulated = (-12 + 20 * (true_sm - 0.25)).reshape(n_days, -1)[:, cells]
        _write(xr.Dataset({
            f"{label}_simulated_backscatter": (("time", "site"), simulated + 0.3 * (index + 1) * rng.standard_normal(simulated.shape),
                                               _attrs("dB", f"{label} simulated backscatter"))
            for index, label in enumerate(operators)
        }, coords={"time": time, "site": cells}), path, "calibration")
    return path
