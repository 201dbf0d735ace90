"""Maps of gridded runs ``(time, member, y, x)`` with ``lat(y)``, ``lon(x)``.

One row per DA run: the mean analysis increment, the mean innovation, the mean squared
normalised innovation (1 where R and the ensemble spread are consistent; Desroziers et al.
2005), the open loop minus DA mean soil moisture, and Delta R against in situ at the cells that
hold a station.  Sea and masked cells are NaN and stay blank.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from s1da.framework import metrics
from s1da.framework.report.content import OPEN_LOOP, StoreContent, run_label
from s1da.framework.report.figures import message_figure, new_figure, save


def _time_mean(array: xr.DataArray) -> np.ndarray:
    if "member" in array.dims:
        array = array.mean("member")
    values = array.transpose("time", "y", "x").values
    return metrics.network_mean(values, axis=0)


def _grid_r(run: xr.DataArray, insitu: xr.DataArray, min_samples: int) -> np.ndarray:
    simulated = run.mean("member").transpose("time", "y", "x").values if "member" in run.dims else run.transpose("time", "y", "x").values
    observed = insitu.transpose("time", "y", "x").values
    return metrics.pearson_r(simulated, observed, min_samples=min_samples)


def map_panels(content: StoreContent, min_samples: int = 30) -> list[tuple[str, str, np.ndarray, str, bool]]:
    """(run, title, values (y, x), colour-bar label, diverging) of every map."""
    panels = []
    open_loop = content.variable(OPEN_LOOP, "surface_soil_moisture")
    insitu = content.variable("insitu", "insitu_soil_moisture")
    open_loop_r = None
    if open_loop is not None and insitu is not None and {"y", "x"} <= set(insitu.dims):
        open_loop_r = _grid_r(open_loop, insitu, min_samples)
    for run in content.da_runs:
        dataset = content.groups[run]
        if not {"y", "x"} <= set(dataset.dims):
            continue
        name = run_label(run)
        if "analysis_increment_surface" in dataset:
            panels.append((run, f"{name}\nmean increment", _time_mean(dataset["analysis_increment_surface"]), "m$^3$ m$^{-3}$", True))
        if "innovation" in dataset:
            panels.append((run, f"{name}\nmean innovation", _time_mean(dataset["innovation"]), "dB", True))
        if "normalised_innovation" in dataset:
            panels.append((run, f"{name}\nmean squared normalised innovation", _time_mean(dataset["normalised_innovation"] ** 2), "-", False))
        if open_loop is not None and "surface_soil_moisture" in dataset:
            difference = _time_mean(open_loop) - _time_mean(dataset["surface_soil_moisture"])
            panels.append((run, f"{name}\nopen loop minus DA mean SM", difference, "m$^3$ m$^{-3}$", True))
        if open_loop_r is not None:
            delta = _grid_r(dataset["surface_soil_moisture"], insitu, min_samples) - open_loop_r
            panels.append((run, f"{name}\n" + r"$\Delta R$ vs in situ at stations", delta, "-", True))
    return panels


def figure_maps(content: StoreContent, stem: Path, formats, dpi, min_samples: int = 30) -> list[Path]:
    panels = map_panels(content, min_samples)
    if not panels:
        return message_figure(stem, "Maps not available: no gridded DA run in the store", formats, dpi)
    reference = content.groups[panels[0][0]]
    lon = reference["lon"].values
    lat = reference["lat"].values
    runs = list(dict.fromkeys(run for run, *_ in panels))
    per_run = max(sum(1 for run, *_ in panels if run == r) for r in runs)
    figure = new_figure(3.3 * per_run, 2.9 * len(runs))
    axes = figure.subplots(len(runs), per_run, squeeze=False)
    for row, run in enumerate(runs):
        mine = [panel for panel in panels if panel[0] == run]
        for column in range(per_run):
            axis = axes[row, column]
            if column >= len(mine):
                axis.set_axis_off()
                continue
            _, title, values, units, diverging = mine[column]
            finite = values[np.isfinite(values)]
            if diverging:
                limit = float(np.max(np.abs(finite))) if finite.size else 1.0
                limits = {"vmin": -limit or -1.0, "vmax": limit or 1.0, "cmap": "RdBu"}
            else:
                limits = {"cmap": "viridis"}
            axis.set_facecolor("0.85")  # sea and masked cells, apart from the white centre of RdBu
            mesh = axis.pcolormesh(lon, lat, values, shading="nearest", **limits)
            figure.colorbar(mesh, ax=axis, label=units, shrink=0.85)
            axis.set_title(title, fontsize="small")
            axis.set_xlabel("longitude (° E)")
            axis.set_ylabel("latitude (° N)")
            axis.set_aspect(1.0 / max(np.cos(np.deg2rad(np.nanmean(lat))), 0.1))
    return save(figure, stem, formats, dpi)
