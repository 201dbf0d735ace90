"""Fit the WCM and the SVR on real Sentinel-1 VV vs in-situ SM + LAI (MNI 2017 and Budrio 2017).

For each field (five MNI fields, Budrio) the calibration samples are the S1 acquisitions with
in-situ SM, LAI and VV backscatter all present; all relative orbits and incidence angles are
used as they are (no orbit normalisation, WCM at theta = 40 deg).  Both operators are scored in
sample (fit on everything) and out of sample (fit on the first 60 % of the season's samples,
tested on the rest), with ``s1da.components.operators.diagnose``.

Usage: python experiments/operators_real/run.py [--data ../shared/data] [--out DIR]
The unlicensed input files are read in place and never copied.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from s1da.components.operators import SupportVectorOperator, WaterCloudModel, diagnose
from s1da.components.sources.budrio import read_budrio
from s1da.components.sources.mni import read_mni

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def load_fields(data: Path) -> dict[str, pd.DataFrame]:
    """Per-field tables restricted to complete samples (SM, LAI and VV present)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # field 508 has one zero VV value: dropped
        fields = {f"MNI-{k}": v for k, v in read_mni(data / "mni_munich_2017_sar_homework" / "multi.csv").items()}
    budrio = data / "budrio_italy_swb_wcm"
    fields["Budrio"] = read_budrio(budrio / "data_in_Budrio_2017.tsv", budrio / "LAI_Budrio_2017.csv")
    return {
        name: table.dropna(subset=["soil_moisture", "lai", "backscatter_vv_db"]).reset_index(drop=True)
        for name, table in fields.items()
    }


def padded_network(fields: dict[str, pd.DataFrame]):
    """(site, sample) arrays padded with NaN, plus the valid mask."""
    n = max(len(t) for t in fields.values())
    shape = (len(fields), n)
    sm, lai, sigma = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    valid = np.zeros(shape, bool)
    for i, table in enumerate(fields.values()):
        k = len(table)
        sm[i, :k], lai[i, :k], sigma[i, :k] = table["soil_moisture"], table["lai"], table["backscatter_vv_db"]
        valid[i, :k] = True
    return sm, lai, sigma, valid


def run(data: Path, out: Path | None = None, n_jobs: int = -1) -> pd.DataFrame:
    fields = load_fields(data)
    sm, lai, sigma, valid = padded_network(fields)
    names = list(fields)
    inputs = {"soil_moisture": sm, "lai": lai}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wcm = diagnose(WaterCloudModel(), inputs, sigma, valid, site_ids=names)
    svr = diagnose(SupportVectorOperator(n_jobs=n_jobs), inputs, sigma, valid, site_ids=names)
    frame = pd.DataFrame(
        {
            "field": names,
            "n": valid.sum(axis=1),
            "orbits": [",".join(str(o) for o in sorted(fields[f]["relative_orbit"].unique())) for f in names],
            "start": [fields[f]["time"].iloc[0].date() for f in names],
            "end": [fields[f]["time"].iloc[-1].date() for f in names],
            "obs_std_db": [float(np.std(sigma[i, valid[i]])) for i in range(len(names))],
        }
    )
    for label, table in (("wcm", wcm), ("svr", svr)):
        for metric in ("r_in_sample", "rmsd_in_sample", "r_out_of_sample", "rmsd_out_of_sample", "variance_ratio_in_sample", "mean_sensitivity"):
            frame[f"{label}_{metric}"] = table[metric].values
    for parameter in ("A", "B", "C", "D"):
        frame[f"wcm_{parameter}"] = wcm[parameter].values
    frame["wcm_flags"] = [
        ",".join(
            [f"{p}@bound" for p, on in zip("ABCD", wcm["parameter_on_bound"].values[i]) if on]
            + (["not_identifiable"] if wcm["not_identifiable"].values[i] else [])
        )
        for i in range(len(names))
    ]
    frame["svr_C"] = svr["C"].values
    frame["svr_gamma"] = svr["gamma"].values
    frame["svr_n_support"] = svr["n_support"].values
    frame.attrs["warnings"] = [str(w.message) for w in caught]
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out / "operators_real.csv", index=False)
        (out / "operators_real.md").write_text(markdown(frame))
    return frame


def markdown(frame: pd.DataFrame) -> str:
    lines = [
        "| field | n | orbits | WCM R in | WCM RMSD in | WCM R out | WCM RMSD out | SVR R in | SVR RMSD in | SVR R out | SVR RMSD out | A | B | C | D | WCM flags | SVR C | SVR gamma |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in frame.iterrows():
        lines.append(
            f"| {r.field} | {r.n} | {r.orbits} | {r.wcm_r_in_sample:.2f} | {r.wcm_rmsd_in_sample:.2f} | "
            f"{r.wcm_r_out_of_sample:.2f} | {r.wcm_rmsd_out_of_sample:.2f} | {r.svr_r_in_sample:.2f} | "
            f"{r.svr_rmsd_in_sample:.2f} | {r.svr_r_out_of_sample:.2f} | {r.svr_rmsd_out_of_sample:.2f} | "
            f"{r.wcm_A:.3f} | {r.wcm_B:.3f} | {r.wcm_C:.2f} | {r.wcm_D:.2f} | {r.wcm_flags or '-'} | {r.svr_C:g} | {r.svr_gamma:g} |"
        )
    mean = frame.select_dtypes("number").mean()
    lines.append(
        f"| **mean** | | | {mean.wcm_r_in_sample:.2f} | {mean.wcm_rmsd_in_sample:.2f} | {mean.wcm_r_out_of_sample:.2f} | "
        f"{mean.wcm_rmsd_out_of_sample:.2f} | {mean.svr_r_in_sample:.2f} | {mean.svr_rmsd_in_sample:.2f} | "
        f"{mean.svr_r_out_of_sample:.2f} | {mean.svr_rmsd_out_of_sample:.2f} | | | | | | | |"
    )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=None, help="directory for operators_real.csv/.md")
    parser.add_argument("--n-jobs", type=int, default=-1)
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"data folder {args.data} not found", file=sys.stderr)
        return 2
    frame = run(args.data, args.out, args.n_jobs)
    print(markdown(frame))
    for message in frame.attrs["warnings"]:
        print("warning:", message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
