"""The store's ``validation`` group: per-site scores and network summaries (MODEL_SPEC e).

Scores are computed from what the store holds, so a stored experiment can be re-validated:

* forward-operator fit: R, RMSD (dB), bias and variance ratio between each operator's
  simulation on open-loop mean soil moisture and S1; R between open-loop soil moisture and S1;
* soil moisture: R, RMSD, ubRMSD and bias of the ensemble mean of every run against in situ
  (and, in twin mode, against the truth), all runs on the same matched days; delta R of each DA
  run against the open loop and the share of sites improved;
* the mean absolute (and signed) analysis increment of surface soil moisture.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from s1da.framework import metrics
from s1da.framework.store import EnsembleStore

def validate_store(store: EnsembleStore, operators: Sequence[str], *, min_samples: int = 30) -> xr.Dataset:
    """Build the ``validation`` dataset for a store whose runs are complete."""
    runs = ["open_loop"] + [f"da_{label}" for label in operators]
    mean_sm_da = {run: store.ensemble_mean(run, "surface_soil_moisture") for run in runs}
    mean_sm = {run: values.values for run, values in mean_sm_da.items()}
    observations = store.read("observations")
    sites = observations["site"].values
    backscatter = observations["backscatter"].transpose("time", "site").values
    ds = xr.Dataset(coords={"site": sites, "run": runs})
    ds["site"].attrs = {"long_name": "site identifier", "units": "1"}
    ds["run"].attrs = {"long_name": "model run", "units": "1"}
    summary: dict[str, float] = {}

    # forward simulations versus S1 (the paper's Fig. 1)
    if store.has_group("calibration") and operators:
        calibration = store.read("calibration")
        forward = {"sm": mean_sm["open_loop"]}
        for label in operators:
            forward[label] = calibration[f"{label}_simulated_backscatter"].transpose("time", "site").values
        common = metrics.matched_mask(backscatter, *forward.values())
        obs = np.where(common, backscatter, np.nan)
        ds = ds.assign_coords(operator=list(forward))
        ds["operator"].attrs = {"long_name": "forward simulation compared with Sentinel-1", "units": "1"}
        rows = {"r": [], "rmsd": [], "bias": [], "variance_ratio": []}
        for label, values in forward.items():
            values = np.where(common, values, np.nan)
            rows["r"].append(metrics.pearson_r(values, obs, min_samples=min_samples))
            in_db = label != "sm"  # soil moisture has no dB difference to S1
            nan = np.full(len(sites), np.nan)
            rows["rmsd"].append(metrics.rmsd(values, obs, min_samples=min_samples) if in_db else nan)
            rows["bias"].append(metrics.bias(values, obs, min_samples=min_samples) if in_db else nan)
            rows["variance_ratio"].append(metrics.variance_ratio(values, obs, min_samples=min_samples) if in_db else nan)
        ds["r_backscatter"] = (("operator", "site"), np.stack(rows["r"]), {"units": "1", "long_name": "temporal R of the forward simulation against S1"})
        ds["rmsd_backscatter"] = (("operator", "site"), np.stack(rows["rmsd"]), {"units": "dB", "long_name": "RMSD of the forward simulation against S1"})
        ds["bias_backscatter"] = (("operator", "site"), np.stack(rows["bias"]), {"units": "dB", "long_name": "bias of the forward simulation against S1"})
        ds["variance_ratio_backscatter"] = (("operator", "site"), np.stack(rows["variance_ratio"]), {"units": "1", "long_name": "variance of the simulation over variance of S1"})
        for label in forward:
            summary[f"mean_r_backscatter_{label}"] = float(np.nanmean(ds["r_backscatter"].sel(operator=label)))
            if label != "sm":
                summary[f"mean_rmsd_backscatter_{label}"] = float(np.nanmean(ds["rmsd_backscatter"].sel(operator=label)))
                summary[f"mean_variance_ratio_{label}"] = float(np.nanmean(ds["variance_ratio_backscatter"].sel(operator=label)))

    references = {}
    if store.has_group("insitu"):
        references["insitu"] = store.read("insitu")["insitu_soil_moisture"].load()
    if store.has_group("truth"):
        references["truth"] = store.read("truth")["surface_soil_moisture"].load()
    for reference_name, reference in references.items():
        # all runs on the same matched days (MODEL_SPEC e)
        scores = metrics.score_table(mean_sm_da, reference, min_samples=min_samples)
        for score in ("r", "rmsd", "ubrmsd", "bias"):
            table = scores[score]
            ds[f"{score}_{reference_name}"] = (
                ("run", "site"),
                table.transpose("run", "site").values,
                {**table.attrs, "long_name": f"{table.attrs['long_name']} (ensemble-mean surface soil moisture vs {reference_name})"},
            )
        ds[f"n_samples_{reference_name}"] = ("site", scores["n_samples"].values, {"units": "1", "long_name": f"matched days per site against {reference_name}"})
        for run in runs:
            summary[f"mean_r_{reference_name}_{run}"] = float(np.nanmean(ds[f"r_{reference_name}"].sel(run=run)))
            summary[f"mean_ubrmsd_{reference_name}_{run}"] = float(np.nanmean(ds[f"ubrmsd_{reference_name}"].sel(run=run)))
        for label in operators:
            delta = metrics.delta_r(ds[f"r_{reference_name}"].sel(run=f"da_{label}").values, ds[f"r_{reference_name}"].sel(run="open_loop").values)
            suffix = "" if reference_name == "insitu" else f"_{reference_name}"
            ds[f"delta_r_{label}{suffix}"] = ("site", delta, {"units": "1", "long_name": f"R of DA ({label}) minus R of the open loop against {reference_name}"})
            summary[f"mean_delta_r_{reference_name}_{label}"] = float(metrics.network_mean(delta))
            summary[f"percent_improved_{reference_name}_{label}"] = float(metrics.percent_improved(delta))

    for label in operators:
        increments = store.read(f"da_{label}")["analysis_increment_surface"].transpose("time", "site").values
        ds[f"mean_abs_increment_{label}"] = ("site", metrics.mean_absolute_increment(increments, axis=0), {"units": "m3 m-3", "long_name": f"mean absolute analysis increment of surface soil moisture ({label})"})
        summary[f"mean_abs_increment_{label}"] = float(metrics.mean_absolute_increment(increments))
        summary[f"mean_signed_increment_{label}"] = float(metrics.mean_signed_increment(increments))
        summary[f"analysis_days_{label}"] = int(np.isfinite(increments).sum())

    summary["min_samples"] = int(min_samples)
    summary["n_sites"] = int(len(sites))
    ds.attrs = {key: (None if isinstance(value, float) and not np.isfinite(value) else value) for key, value in summary.items()}
    return ds
