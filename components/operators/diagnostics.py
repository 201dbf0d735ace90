"""Skill of a calibrated observation operator in and out of sample (docs/model/operators.md b and e).

``diagnose`` fits the operator twice per site: on all valid samples (in-sample skill, the
paper's R, sensitivity, WCM parameter correlations and flags) and on the first
``train_fraction`` of the valid samples in time order (time-blocked split), scoring the rest
(out-of-sample skill).  A large gap between the two exposes overfitting, the paper's warning
about the SVR.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import xarray as xr

from s1da.components.operators.inputs import leading_training_mask, pearson_r, prepare_calibration, rmsd

_SUMMARY_DIMS = {("site",), ("site", "parameter"), ("site", "parameter", "parameter_other")}


def _site_scores(simulated, observed, mask):
    rows = []
    for sim, obs, m in zip(simulated, observed, mask):
        s, o = sim[m], obs[m]
        if s.size < 2:
            rows.append((np.nan, np.nan, np.nan))
            continue
        variance_obs = np.var(o)
        rows.append((pearson_r(s, o), rmsd(s, o), np.var(s) / variance_obs if variance_obs > 0 else np.nan))
    return np.array(rows).T


def _filled(data) -> dict[str, np.ndarray]:
    """The (site, time) inputs with unused samples set to the site's first used value, so that
    ``predict`` sees only valid numbers (the scores are taken over the used samples only)."""
    first = np.argmax(data.valid, axis=1)
    out = {}
    for name, values in data.inputs.items():
        fill = values[np.arange(values.shape[0]), first][:, np.newaxis]
        out[name] = np.where(data.valid, values, fill)
    return out


def diagnose(
    operator,
    inputs,
    backscatter_db,
    valid=None,
    *,
    site_ids: Sequence | None = None,
    train_fraction: float = 0.6,
) -> xr.Dataset:
    """In-sample and out-of-sample skill of ``operator`` (an unfitted, configured operator).

    Arguments as for ``fit``.  Returns a Dataset over ``site`` with R, RMSD (dB), variance ratio
    var(sim)/var(obs), the mean sensitivity d sigma0 / d SM (analytic for the WCM, finite
    difference for the SVR), the error variance and the per-site variables of the full fit's
    ``to_dataset`` (WCM: A-D, parameter correlations, flags; SVR: C, gamma, ...).  The WCM's
    ``WcmCalibrationWarning`` is raised by the full fit only.
    """
    data = prepare_calibration(
        inputs, backscatter_db, valid, required=operator.required_inputs, optional=operator.optional_inputs,
        site_ids=site_ids, min_samples=operator.min_samples,
    )
    train_mask = leading_training_mask(data.valid, train_fraction)
    test_mask = data.valid & ~train_mask
    squeeze = (lambda a: a[0]) if data.single_site else (lambda a: a)
    arrays = {name: squeeze(values) for name, values in data.inputs.items()}
    full = operator.fit(arrays, squeeze(data.backscatter_db), squeeze(data.valid), site_ids=data.site_ids)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            train = operator.fit(arrays, squeeze(data.backscatter_db), squeeze(train_mask), site_ids=data.site_ids)
        except ValueError as error:
            raise ValueError(f"out-of-sample fit on the first {train_fraction:.0%} of the samples failed: {error}") from error
    # predict takes (..., site); the calibration arrays are (site, time)
    transposed = {name: values.T for name, values in _filled(data).items()}
    if data.single_site:
        transposed = {name: values[:, 0] for name, values in transposed.items()}
    untranspose = (lambda a: a[np.newaxis]) if data.single_site else (lambda a: a.T)
    simulated_full = untranspose(full.predict(transposed))
    simulated_train = untranspose(train.predict(transposed))
    sensitivity = untranspose(full.sensitivity(transposed))
    r_in, rmsd_in, ratio_in = _site_scores(simulated_full, data.backscatter_db, data.valid)
    r_out, rmsd_out, ratio_out = _site_scores(simulated_train, data.backscatter_db, test_mask)
    mean_sensitivity = np.array([np.mean(s[m]) for s, m in zip(sensitivity, data.valid)])
    fitted = full.to_dataset()
    result = xr.Dataset(
        {
            "r_in_sample": ("site", r_in, {"units": "1", "long_name": "Pearson R of simulated vs observed backscatter, calibration set"}),
            "rmsd_in_sample": ("site", rmsd_in, {"units": "dB", "long_name": "RMSD of simulated vs observed backscatter, calibration set"}),
            "variance_ratio_in_sample": ("site", ratio_in, {"units": "1", "long_name": "var(simulated) / var(observed), calibration set"}),
            "r_out_of_sample": ("site", r_out, {"units": "1", "long_name": f"Pearson R on the last {1 - train_fraction:.0%} of samples, operator fitted on the first {train_fraction:.0%}"}),
            "rmsd_out_of_sample": ("site", rmsd_out, {"units": "dB", "long_name": f"RMSD on the last {1 - train_fraction:.0%} of samples, operator fitted on the first {train_fraction:.0%}"}),
            "variance_ratio_out_of_sample": ("site", ratio_out, {"units": "1", "long_name": "var(simulated) / var(observed), test period"}),
            "mean_sensitivity": ("site", mean_sensitivity, {"units": "dB m3 m-3-1", "long_name": "mean d sigma0 / d soil moisture over the calibration samples"}),
            "n_train": ("site", train_mask.sum(axis=1), {"units": "1", "long_name": "samples in the out-of-sample training period"}),
            "n_test": ("site", test_mask.sum(axis=1), {"units": "1", "long_name": "samples in the out-of-sample test period"}),
        },
        coords={"site": fitted["site"]},
        attrs={"operator": fitted.attrs["operator"], "train_fraction": train_fraction, "split": "time-blocked: first fraction of each site's valid samples"},
    )
    for name, variable in fitted.data_vars.items():
        if variable.dims in _SUMMARY_DIMS and name not in result:
            result[name] = variable
    return result.assign_coords({c: fitted[c] for c in fitted.coords if c != "site" and set(fitted[c].dims) <= {"parameter", "parameter_other"}})
