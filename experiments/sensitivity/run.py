"""Sensitivity of the calibrated rains2021 twin to each option of issue 12, one at a time.

Runs variants of ``experiments/rains2021.yaml`` (the calibrated twin: S1 as real data, additive
state perturbations) on a smaller network (DA 2018-2019 as the paper), changing one thing at a time, and
tabulates open-loop spread, spread-skill, Kalman-gain factor, increments, delta R, the operator's
fit in and out of sample and the R used beside the true observation error the twin knows:

* ``baseline``: rains2021.yaml as it is;
* ``no_state_perturbation``: forcing perturbations only (the paper's ensemble);
* ``inflation_1.2``: DEnKF multiplicative inflation 1.2;
* ``precipitation_sd_0.6``: precipitation perturbation SD doubled;
* ``forcing_tau_3``: forcing perturbations correlated over tau = 3 days instead of 1;
* ``drainage_0.3``: GLEAM linear-reservoir drainage (kappa = 0.3 d-1, DD-10) instead of draining
  everything above field capacity within the day;
* ``adaptive_r``: the DEnKF with the per-site Desroziers et al. (2005) R
  (:class:`~s1da.components.filters.adaptive.DesroziersR`) instead of the operator's in-sample R;
* ``adaptive_inflation``: the DEnKF with per-site adaptive inflation
  (:class:`~s1da.components.filters.adaptive.AdaptiveInflation`);
* ``adaptive_both``: both;
* ``drainage_gravity``: GLEAM gravity drainage through K(w) (Clapp & Hornberger 1978) for model and
  truth instead of the cascade;
* ``extraction_top_down`` / ``extraction_proportional``: GLEAM's evaporation extraction from the
  upper layer first / from every layer in proportion to its available water, instead of the
  wettest layer first (model and truth);
* ``soil_perturbation``: soil hydraulic parameters perturbed per member, constant in time
  (``components/perturbers/soil_parameters.py``, default SDs), on top of the state perturbations;
* ``soil_instead_of_state``: the soil-parameter perturbations in place of the state perturbations;
* ``soil_perturbation_0.05``: as ``soil_perturbation`` with half the SDs of the retention parameters;
* ``cv_r``: the WCM with R from time-blocked 5-fold cross-validation per site
  (``kind: cross_validated``) instead of the in-sample residual;
* ``seasonal``: the WCM calibrated per site and meteorological season (``kind: seasonal``), with
  its in-sample R;
* ``seasonal_cv_r``: the seasonal WCM with R from time-blocked cross-validation;
* ``svr`` / ``svr_cv_r``: the paper's SVR (grid and folds of rains2021.yaml) instead of the WCM,
  with its in-sample R / with R from time-blocked cross-validation over its own 5 folds.

Besides the increments and delta R it reports spread-skill of the DA run against the twin's truth
(RMS ensemble spread of surface SM on analysis days vs the RMSE of the forecast mean) and the R
used beside two true observation errors the twin knows: the S1 noise variance it added (speckle
and drift), and the mean squared difference between S1 and the calibrated operator applied to
the truth's own 0-10 cm soil moisture (the error y - h(x_true) a filter's R stands for: noise,
the operator's structural error and the radar's 0-5 cm sensing depth together).

Usage: ``python experiments/sensitivity/run.py [--sites 40] [--output DIR] [--only NAME ...]
[--end DATE] [--reuse]``.  One operator per variant: the WCM, except in the two SVR variants.
Nothing here changes the defaults.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
from pathlib import Path

import numpy as np
import yaml

from s1da.components.filters.adaptive import AdaptiveFilter, AdaptiveInflation, DesroziersR
from s1da.components.sources.twin_osse import bootstrap_interval, osse_statistics, results_table
from s1da.containers.assembly import build_experiment
from s1da.framework.experiment import operator_dataset
from s1da.framework.store import EnsembleStore

REPO = Path(__file__).resolve().parents[2]

class Replace(dict):
    """An override that replaces a section instead of merging into it."""


WCM = {"incidence_angle_deg": 40.0}
VARIANTS = {
    "baseline": {},
    "no_state_perturbation": {"model": {"state_perturbation": None}},
    "inflation_1.2": {"filter": {"inflation": 1.2}},
    "precipitation_sd_0.6": {"perturbation": {"precipitation_relative_sd": 0.6}},
    "drainage_0.3": {"model": {"parameters": {"soil": {"drainage_fraction": 0.3}}}},
    "forcing_tau_3": {"perturbation": {"correlation_time": 3.0}},
    "adaptive_r": {},
    "adaptive_inflation": {},
    "adaptive_both": {},
    "drainage_gravity": {"model": {"parameters": {"soil": {"drainage": "gravity"}}}},
    "extraction_top_down": {"model": {"parameters": {"soil": {"extraction_order": "top_down"}}}},
    "extraction_proportional": {"model": {"parameters": {"soil": {"extraction_order": "proportional"}}}},
    "soil_perturbation": {"model": {"soil_perturbation": {}}},
    "soil_instead_of_state": {"model": {"soil_perturbation": {}, "state_perturbation": None}},
    "soil_perturbation_0.05": {"model": {"soil_perturbation": {name: 0.05 for name in ("porosity_sd", "field_capacity_sd", "critical_sd", "wilting_point_sd")}}},
    "cv_r": {"operators": Replace(wcm={"kind": "cross_validated", "wcm": WCM})},
    "seasonal": {"operators": Replace(wcm={"kind": "seasonal", "wcm": WCM})},
    "seasonal_cv_r": {"operators": Replace(wcm={"kind": "seasonal", "wcm": WCM, "error_variance": "cross_validated"})},
}

WRAPPERS = {
    "adaptive_r": lambda base: AdaptiveFilter(base, observation_error=DesroziersR()),
    "adaptive_inflation": lambda base: AdaptiveFilter(base, inflation=AdaptiveInflation()),
    "adaptive_both": lambda base: AdaptiveFilter(base, inflation=AdaptiveInflation(), observation_error=DesroziersR()),
}
"""Variants that wrap the configured filter (set in Python: the YAML schema has no adaptive kind yet)."""


def merge(base: dict, override: dict) -> dict:
    result = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Replace):
            result[key] = copy.deepcopy(dict(value))
        else:
            result[key] = merge(result.get(key, {}), value) if isinstance(value, dict) else value
    return result


def operator_errors(store, label: str, operator_class) -> dict[str, float]:
    """Median per site of the operator's RMSD in and out of sample and of the true observation error.

    The true error is mean((S1 - h(truth 0-10 cm SM, LAI))^2) over the S1 days, with h the stored
    calibrated operator (rebuilt from the calibration group, no refit).
    """
    calibration = store.read("calibration").load()
    in_sample = calibration.get(f"{label}_in_sample_error_variance", calibration[f"{label}_error_variance"]).values
    cv_rmsd = calibration[f"{label}_held_out_rmsd"].values if f"{label}_held_out_rmsd" in calibration else np.full(in_sample.shape, np.nan)
    operator = operator_class.from_dataset(operator_dataset(calibration, label))
    observations = store.read("observations")
    backscatter = observations["backscatter"].transpose("time", "site").values
    observed = np.isfinite(backscatter)
    lai = observations["lai"].transpose("time", "site").values
    truth = store.read("truth")["surface_soil_moisture"].transpose("time", "site").values
    days = observations["time"].values.astype("datetime64[D]")
    day_of_year = (days - days.astype("datetime64[Y]")).astype(float) + 1.0
    available = {
        "soil_moisture": np.where(observed, truth, 0.2),
        "lai": np.where(observed, lai, 1.0),
        "day_of_year": np.broadcast_to(day_of_year[:, None], backscatter.shape),
    }
    miss = np.where(observed, operator.predict(operator.select_inputs(available)) - backscatter, np.nan)
    return {
        "operator RMSD in sample (median, dB)": float(np.sqrt(np.median(in_sample))),
        "operator RMSD, time-blocked 5-fold CV (median, dB)": float(np.nanmedian(cv_rmsd)),
        "true error: mean (S1 - h(truth SM))^2 (median, dB2)": float(np.nanmedian(np.nanmean(miss**2, axis=0))),
    }


def summarise(store, label: str, operator_class) -> dict[str, float]:
    open_loop = store.read("open_loop")
    spread = float(np.median(open_loop["surface_soil_moisture"].std("member").values))
    da = store.read(f"da_{label}")
    predicted_sd = np.nanstd(da["predicted_backscatter"].values, axis=1, ddof=1)
    error_variance = da["observation_error_variance"].values
    analysed = np.isfinite(error_variance)
    gain = predicted_sd[analysed] ** 2 / (predicted_sd[analysed] ** 2 + error_variance[analysed])
    validation = store.read("validation").attrs
    interval = results_table(store, operators=(label,))[label]
    osse = osse_statistics(store)
    forecast = da["forecast_surface_soil_moisture"].values  # (time, member, site), NaN off analysis days
    truth = store.read("truth")["surface_soil_moisture"].values
    on = np.isfinite(forecast[:, 0, :])
    with np.errstate(invalid="ignore"):
        member_spread = np.std(forecast, axis=1, ddof=1)[on]
        error = (np.mean(forecast, axis=1) - truth)[on]
    noise = store.read("truth")["s1_noise_variance"].values if "s1_noise_variance" in store.read("truth") else np.nan
    return {
        "RMS spread of forecast w1 on analysis days (m3 m-3)": float(np.sqrt(np.mean(member_spread**2))),
        "RMSE of forecast mean vs truth (m3 m-3)": float(np.sqrt(np.mean(error**2))),
        "ubRMSE of forecast mean vs truth (m3 m-3)": float(np.std(error)),
        "R used (median, dB2)": float(np.nanmedian(error_variance)),
        "true error: S1 noise variance the twin adds (dB2)": float(np.nanmedian(noise)),
        **operator_errors(store, label, operator_class),
        "open-loop spread of w1 (median SD, m3 m-3)": spread,
        "open-loop spread of w1 on S1 days (median SD, m3 m-3)": osse.attrs["median_open_loop_spread_s1_days"],
        "share of S1 days with open-loop spread < 0.002": osse.attrs["share_collapsed_s1_days"],
        "gain factor var(y)/(var(y)+R) (median)": float(np.median(gain)),
        "mean absolute increment (m3 m-3)": validation[f"mean_abs_increment_{label}"],
        "mean delta R vs in situ": validation[f"mean_delta_r_insitu_{label}"],
        "mean delta R vs in situ, 95 % bootstrap interval over sites": interval["mean_delta_r_insitu_ci"],
        "sites improved vs in situ (%)": validation[f"percent_improved_insitu_{label}"],
        "mean delta R vs truth": validation[f"mean_delta_r_truth_{label}"],
        "mean delta R vs truth, 95 % bootstrap interval over sites": interval["mean_delta_r_truth_ci"],
        "normalised innovation variance": float(np.nanmean(da["normalised_innovation"].values ** 2)),
    }


def site_delta_r(store, label: str) -> dict[str, np.ndarray]:
    """Per-site delta R (DA minus open loop) against in situ and against the truth, (site,)."""
    return {
        reference: store.read(f"validation/improvement_{reference}")["delta_r"].sel(run=f"da_{label}").values
        for reference in ("insitu", "truth")
    }


def add_paired_differences(rows: dict, deltas: dict) -> None:
    """Rows of each variant's mean delta R minus the baseline's, site by site (same network), with a
    95 % percentile-bootstrap interval over sites of that paired difference."""
    for name in rows:
        for reference, words in (("insitu", "in situ"), ("truth", "truth")):
            difference = deltas[name][reference] - deltas["baseline"][reference]
            rows[name][f"mean delta R vs {words} minus baseline's, paired"] = float(np.nanmean(difference))
            rows[name][f"mean delta R vs {words} minus baseline's, 95 % bootstrap interval over sites"] = bootstrap_interval(difference, np.mean)


def shown(value) -> str:
    """A table cell: 4 significant digits, an interval as [low, high]."""
    if isinstance(value, tuple):
        return "[" + ", ".join(f"{item:+.4f}" for item in value) + "]"
    return f"{value:.4g}"


def _finished(path: Path) -> bool:
    try:
        return path.exists() and EnsembleStore.open(path).is_complete
    except Exception:  # noqa: BLE001 - anything unreadable is re-run
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=40)
    parser.add_argument("--end", default="2019-12-31", help="last day of the DA period (from 2018-01-01; default: the paper's two years)")
    parser.add_argument("--output", type=Path, default=None, help="keep the stores here")
    parser.add_argument("--only", nargs="*", default=None, help="run only these variants")
    parser.add_argument("--reuse", action="store_true", help="summarise finished stores in --output instead of re-running")
    args = parser.parse_args()
    base = yaml.safe_load((REPO / "experiments" / "rains2021.yaml").read_text())
    base["experiment"].update(name="sensitivity", end=args.end)
    base["source"]["n_sites"] = args.sites
    svr = {key: value for key, value in base["operators"]["svr"].items() if key != "kind"}
    VARIANTS["svr"] = {"operators": Replace(svr={"kind": "svr", **svr})}
    VARIANTS["svr_cv_r"] = {"operators": Replace(svr={"kind": "cross_validated", "svr": svr})}
    base["operators"] = {"wcm": base["operators"]["wcm"]}
    workdir = args.output or Path(tempfile.mkdtemp(prefix="s1da-sensitivity-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows, deltas = {}, {}
    for name, override in VARIANTS.items():
        if args.only and name not in args.only:
            continue
        config = workdir / f"{name}.yaml"
        config.write_text(yaml.safe_dump(merge(base, override), sort_keys=False))
        experiment = build_experiment(config, progress=False)
        if name in WRAPPERS:
            experiment.filter = WRAPPERS[name](experiment.filter)
        store_path = workdir / f"{name}.zarr"
        store = EnsembleStore.open(store_path) if args.reuse and _finished(store_path) else experiment.run(store_path, overwrite=True)
        (label, operator), = experiment.operators.items()
        rows[name] = summarise(store, label, type(operator))
        deltas[name] = site_delta_r(store, label)
        print(name, rows[name], flush=True)
    if "baseline" in deltas:
        add_paired_differences(rows, deltas)
    quantities = list(next(iter(rows.values())))
    print("\n| quantity | " + " | ".join(rows) + " |")
    print("| --- |" + " ---: |" * len(rows))
    for quantity in quantities:
        print(f"| {quantity} | " + " | ".join(shown(rows[name][quantity]) for name in rows) + " |")


if __name__ == "__main__":
    main()
