"""Reading a finished store as one :class:`xarray.DataTree`, with helpers for the usual questions.

>>> from s1da.framework import open_store, ensemble_mean, ensemble_spread, site_series
>>> tree = open_store("quickstart.zarr")
>>> tree["open_loop"]                                   # a run: (time, member, site[, layer])
>>> ensemble_mean(tree, "da_wcm")                       # (time, site) surface soil moisture
>>> ensemble_spread(tree, "open_loop")                  # (time, site) ensemble SD
>>> site_series(tree, 6)                                # one site: every run's mean, in situ, S1
>>> tree["validation/insitu"].to_dataset().to_dataframe()   # tidy score table (run, site)

``s1da`` itself is a namespace package (``s1da.framework``, ``s1da.components``,
``s1da.containers``), so these live in ``s1da.framework``.  Everything is lazy (dask arrays)
until ``.load()`` or ``.values``; the bookkeeping groups (``spinup_state``, restart slots) are
left out.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import xarray as xr

SURFACE = "surface_soil_moisture"
SKIPPED = ("spinup_state",)


def open_store(path: str | Path, *, include_state: bool = False) -> xr.DataTree:
    """Every group of an s1da store as one lazy ``DataTree`` (runs, inputs, calibration, validation).

    Raises ``FileNotFoundError`` naming the path when it is not a Zarr v3 store.
    """
    import zarr

    path = Path(path)
    if not (path / "zarr.json").is_file():
        raise FileNotFoundError(f"{path} is not an s1da store (no zarr.json at its root)")
    root = zarr.open_group(str(path), mode="r", use_consolidated=False)
    nodes: dict[str, xr.Dataset] = {"/": xr.Dataset(attrs=dict(root.attrs))}
    consolidated = None if root.attrs.get("complete") else False  # the consolidated copy lags while a run goes on
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # stores written before consolidated metadata
        for name, group in root.groups():
            if (name in SKIPPED and not include_state) or group.attrs.get("group_kind") == "state" and not include_state:
                continue
            for child, _ in [(name, group), *((f"{name}/{sub}", g) for sub, g in group.groups() if not sub.startswith("restart_slot"))]:
                nodes[f"/{child}"] = xr.open_zarr(str(path), group=child, consolidated=consolidated)
    return xr.DataTree.from_dict(nodes)


def _run(tree: xr.DataTree, run: str, variable: str) -> xr.DataArray:
    if run not in tree.children:
        runs = [name for name in tree.children if name == "open_loop" or name.startswith("da_")]
        raise KeyError(f"the store has no run {run!r}; runs: {runs}")
    dataset = tree[run].to_dataset(inherit=False)
    if variable not in dataset:
        raise KeyError(f"run {run!r} has no variable {variable!r}; it has {sorted(dataset.data_vars)}")
    return dataset[variable]


def ensemble_mean(tree: xr.DataTree, run: str, variable: str = SURFACE) -> xr.DataArray:
    """Member mean of a run's variable (lazy), e.g. ``(time, site)`` surface soil moisture."""
    array = _run(tree, run, variable)
    mean = array.mean("member", keep_attrs=True)
    mean.attrs["long_name"] = f"ensemble mean of {array.attrs.get('long_name', variable)}"
    return mean


def ensemble_spread(tree: xr.DataTree, run: str, variable: str = SURFACE) -> xr.DataArray:
    """Member standard deviation (ddof 1) of a run's variable (lazy), in the variable's units."""
    array = _run(tree, run, variable)
    spread = array.std("member", ddof=1, keep_attrs=True)
    spread.attrs["long_name"] = f"ensemble standard deviation of {array.attrs.get('long_name', variable)}"
    return spread


def site_series(tree: xr.DataTree, site, variable: str = SURFACE) -> xr.Dataset:
    """One site's daily series: every run's ensemble mean and spread of ``variable``, and the
    observations, in situ and truth where the store has them (loaded, ``(time,)``)."""
    series: dict[str, xr.DataArray] = {}
    for run in tree.children:
        if run == "open_loop" or run.startswith("da_"):
            if variable in tree[run].to_dataset(inherit=False):
                series[f"{run}_mean"] = ensemble_mean(tree, run, variable).sel(site=site)
                series[f"{run}_spread"] = ensemble_spread(tree, run, variable).sel(site=site)
    for group, name in (("observations", "backscatter"), ("observations", "lai"), ("insitu", "insitu_soil_moisture"),
                        ("truth", SURFACE)):
        if group in tree.children and name in tree[group].to_dataset(inherit=False):
            series[name if group != "truth" else f"truth_{name}"] = tree[group].to_dataset(inherit=False)[name].sel(site=site)
    if not series:
        raise KeyError(f"the store holds no site series of {variable!r}")
    return xr.Dataset(series).reset_coords(drop=True).load()
