"""Deterministic GLEAM open loop at Spen Farm (COSMOS-UK SPENF) against in-situ soil moisture.

Usage (from the repository root, with ../shared/data beside it):

    python experiments/spen_farm/open_loop.py [--texture loam] [--shared ../shared/data]

One member, unperturbed forcing; 2017 is spin-up (from field capacity), 2018-2019 is scored.
Statics (documented choices, not calibrated):

* fractions: f_H = 0.85 (arable crops), f_B = 0.10 (tramlines, tracks, bare soil between sowing
  and emergence), f_T = 0.05 (hedgerows and field-edge trees), f_W = 0;
* soil: "loam" from docs/model/gleam.md a.11 (the farm lies on well-drained fine loamy soils over Magnesian
  limestone; "sandy loam" is reported as a sensitivity run); w_r = 0.5 w_wp (DD-11);
* no VOD: LAI fallback (DD-1) with the winter-cereal LAI climatology below (piecewise linear in
  day of year: ~0.8 in winter, green-up in March-April, peak ~5 in late May-June, senescence in
  July, harvest early August, stubble/bare until the autumn sowing); LAI p01/p99 = the 1st and
  99th percentiles of that climatology.  Spen Farm rotates wheat, barley, oilseed rape and beans
  per field (spen_farm_field_management_inputs.csv); one climatology for the whole footprint is
  a simplification.
* no SWE: temperature-index snow (DD-5).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from s1da.components.gleam import GleamModel, SiteStatics
from s1da.components.sources.cosmos_uk import read_cosmos_daily
from s1da.components.sources.spen_farm import COSMOS_FILE, crop_lai_climatology

FRACTIONS = {"fraction_tall": 0.05, "fraction_short": 0.85, "fraction_bare": 0.10, "fraction_water": 0.0}


def crop_lai(day_of_year):
    """Winter-cereal LAI climatology, m2 m-2 (``s1da.components.sources.spen_farm.crop_lai_climatology``)."""
    return crop_lai_climatology(day_of_year)


def scores(model, observed):
    """R, RMSD, bias, ubRMSD (docs/model/validation.md e) over days where both are finite."""
    ok = np.isfinite(model) & np.isfinite(observed)
    x, y = model[ok], observed[ok]
    bias = float(np.mean(x - y))
    rmsd = float(np.sqrt(np.mean((x - y) ** 2)))
    return {
        "n": int(ok.sum()),
        "R": float(np.corrcoef(x, y)[0, 1]),
        "RMSD": rmsd,
        "bias": bias,
        "ubRMSD": float(np.sqrt(max(rmsd**2 - bias**2, 0.0))),
    }


def run(shared_data: Path, texture: str = "loam") -> dict:
    data = read_cosmos_daily(Path(shared_data) / COSMOS_FILE, "2017-01-01", "2019-12-31", gap_fill="midas")
    doy = data["time"].dt.day_of_year.to_numpy()
    lai_clim = crop_lai(np.arange(1, 367))
    statics = SiteStatics.from_texture(
        ["SPENF"],
        texture,
        lai_p01=np.percentile(lai_clim, 1),
        lai_p99=np.percentile(lai_clim, 99),
        **{k: [v] for k, v in FRACTIONS.items()},
    )
    model = GleamModel(statics)
    state = model.initial_state(1)
    n_day = data.sizes["time"]
    surface = np.empty(n_day)
    budget = np.empty(n_day)
    storage = model.total_water_storage(state)
    for t in range(n_day):
        forcing = {
            "precipitation": data["precipitation"].values[t : t + 1],
            "air_temperature": data["air_temperature"].values[t : t + 1],
            "net_radiation": data["net_radiation"].values[t : t + 1],
            "lai": crop_lai(doy[t : t + 1]),
        }
        state, fluxes = model.step(state, forcing)
        surface[t] = fluxes["surface_soil_moisture"][0, 0]
        new_storage = fluxes["total_water_storage"]
        residual = new_storage - storage - (
            fluxes["precipitation"] - fluxes["total_evaporation"] - fluxes["deep_drainage"] - fluxes["surface_runoff"]
        )
        budget[t] = np.abs(residual).max()
        storage = new_storage
    scored = data["time"].dt.year.to_numpy() >= 2018
    tdt = np.stack([data["tdt1_vwc"].values, data["tdt2_vwc"].values])
    n_valid = np.isfinite(tdt).sum(axis=0)
    tdt_mean = np.where(n_valid > 0, np.nansum(tdt, axis=0) / np.maximum(n_valid, 1), np.nan)
    result = {"texture": texture, "max_budget_residual_mm": float(budget.max())}
    for name, obs in (
        ("COSMOS", data["cosmos_vwc"].values),
        ("TDT1", data["tdt1_vwc"].values),
        ("TDT2", data["tdt2_vwc"].values),
        ("TDT mean", tdt_mean),
    ):
        result[name] = scores(surface[scored], obs[scored])
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2].parent / "shared" / "data"))
    parser.add_argument("--texture", default="loam")
    args = parser.parse_args(argv)
    result = run(Path(args.shared), args.texture)
    print(f"texture: {result['texture']}; max daily budget residual {result['max_budget_residual_mm']:.2e} mm")
    print(f"{'reference':10s} {'n':>4s} {'R':>6s} {'RMSD':>7s} {'bias':>7s} {'ubRMSD':>7s}  (m3 m-3, 2018-2019)")
    for name in ("COSMOS", "TDT1", "TDT2", "TDT mean"):
        s = result[name]
        print(f"{name:10s} {s['n']:4d} {s['R']:6.3f} {s['RMSD']:7.4f} {s['bias']:7.4f} {s['ubRMSD']:7.4f}")
    return result


if __name__ == "__main__":
    main()
