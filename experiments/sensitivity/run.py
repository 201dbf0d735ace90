"""Why are the twin's increments small?  Ensemble-spread sensitivity of the rains2021 setup.

Runs variants of ``experiments/rains2021.yaml`` on a smaller network and one DA year, changing one
thing at a time, and tabulates open-loop spread, Kalman-gain factor, increments and delta R:

* ``baseline``: the paper's perturbations (as rains2021.yaml);
* ``inflation_1.2``: DEnKF multiplicative inflation 1.2;
* ``precipitation_sd_0.6``: precipitation perturbation SD doubled;
* ``drainage_0.3``: GLEAM linear-reservoir drainage (kappa = 0.3 d-1, MODEL_SPEC a.9 DD-10)
  instead of draining everything above field capacity within the day.

Usage: ``python experiments/sensitivity/run.py [--sites 40] [--output DIR]``.  Only the WCM
operator is used (the SVR behaves alike in rains2021).  Nothing here changes the defaults.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
from pathlib import Path

import numpy as np
import yaml

from s1da.containers.assembly import build_experiment

REPO = Path(__file__).resolve().parents[2]

VARIANTS = {
    "baseline": {},
    "inflation_1.2": {"filter": {"inflation": 1.2}},
    "precipitation_sd_0.6": {"perturbation": {"precipitation_relative_sd": 0.6}},
    "drainage_0.3": {"model": {"parameters": {"soil": {"drainage_fraction": 0.3}}}},
}


def merge(base: dict, override: dict) -> dict:
    result = copy.deepcopy(base)
    for key, value in override.items():
        result[key] = merge(result.get(key, {}), value) if isinstance(value, dict) else value
    return result


def summarise(store) -> dict[str, float]:
    open_loop = store.read("open_loop")
    spread = float(np.median(open_loop["surface_soil_moisture"].std("member").values))
    da = store.read("da_wcm")
    predicted_sd = np.nanstd(da["predicted_backscatter"].values, axis=1, ddof=1)
    error_variance = da["observation_error_variance"].values
    analysed = np.isfinite(error_variance)
    gain = predicted_sd[analysed] ** 2 / (predicted_sd[analysed] ** 2 + error_variance[analysed])
    validation = store.read("validation").attrs
    return {
        "open-loop spread of w1 (median SD, m3 m-3)": spread,
        "gain factor var(y)/(var(y)+R) (median)": float(np.median(gain)),
        "mean absolute increment (m3 m-3)": validation["mean_abs_increment_wcm"],
        "mean delta R vs in situ": validation["mean_delta_r_insitu_wcm"],
        "sites improved vs in situ (%)": validation["percent_improved_insitu_wcm"],
        "mean delta R vs truth": validation["mean_delta_r_truth_wcm"],
        "normalised innovation variance": float(np.nanmean(da["normalised_innovation"].values ** 2)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=40)
    parser.add_argument("--output", type=Path, default=None, help="keep the stores here")
    args = parser.parse_args()
    base = yaml.safe_load((REPO / "experiments" / "rains2021.yaml").read_text())
    base["experiment"].update(name="sensitivity", end="2018-12-31")
    base["source"]["n_sites"] = args.sites
    base["operators"] = {"wcm": base["operators"]["wcm"]}
    workdir = args.output or Path(tempfile.mkdtemp(prefix="s1da-sensitivity-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows = {}
    for name, override in VARIANTS.items():
        config = workdir / f"{name}.yaml"
        config.write_text(yaml.safe_dump(merge(base, override), sort_keys=False))
        store = build_experiment(config, progress=False).run(workdir / f"{name}.zarr", overwrite=True)
        rows[name] = summarise(store)
        print(name, rows[name], flush=True)
    quantities = list(next(iter(rows.values())))
    print("\n| quantity | " + " | ".join(rows) + " |")
    print("| --- |" + " ---: |" * len(rows))
    for quantity in quantities:
        print(f"| {quantity} | " + " | ".join(f"{rows[name][quantity]:.4g}" for name in rows) + " |")


if __name__ == "__main__":
    main()
