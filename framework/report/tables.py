"""The report's tables: scores with one column per run, the forward fit, the OSSE table, the
paper's numbers (only for the paper's setup) and ``sites.csv``.

Numbers are rounded to what they can mean: correlations to 0.01 (0.001 for differences of R,
whose network means are of that size), soil moisture to 0.001 m3 m-3 (0.0001 for increments),
backscatter to 0.01 dB, shares to whole per cent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from s1da.framework import metrics
from s1da.framework.report.content import OPEN_LOOP, StoreContent, run_label

DIGITS = {"1": 2, "delta": 3, "delta_bound": 3, "m3 m-3": 3, "increment": 4, "dB": 2, "dB2": 2, "%": 0, "count": 0, "ratio": 2}


def format_value(value, kind: str) -> str:
    """A number rounded to its meaning (``kind``: a key of :data:`DIGITS`); ``n/a`` if missing."""
    if value is None:
        return "n/a"
    value = float(value)
    if not np.isfinite(value):
        return "n/a"
    digits = DIGITS[kind]
    if kind == "count":
        return f"{int(round(value)):d}"
    text = f"{value:+.{digits}f}" if kind == "delta" else f"{value:.{digits}f}"
    if float(text) == 0.0:  # no signed zeros: -0.000 and +0.000 read as 0.000
        text = text.lstrip("+-")
    return text


def format_interval(value, low, high, kind: str) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    if low is None or not (np.isfinite(low) and np.isfinite(high)):
        return format_value(value, kind)
    plain = "delta_bound" if kind == "delta" else kind
    return f"{format_value(value, kind)} [{format_value(low, plain)}, {format_value(high, plain)}]"


@dataclass
class Table:
    """A table to print: a title, column headers and rows of strings."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""


def _mean(table: xr.Dataset | None, variable: str, run: str) -> float | None:
    if table is None or variable not in table or run not in table["run"].values:
        return None
    return metrics.network_mean(table[variable].sel(run=run).values)


def score_table(content: StoreContent) -> Table:
    """Network means of every score, one column per run (open loop first)."""
    runs = content.runs
    validation = content.validation
    rows: list[list[str]] = []

    def add(label: str, cells: Sequence[str]) -> None:
        if any(cell not in ("", "n/a") for cell in cells):
            rows.append([label, *cells])

    for reference, name in (("insitu", "in situ"), ("truth", "truth")):
        table = validation.get(reference)
        if table is None:
            continue
        add(f"R vs {name}", [format_value(_mean(table, "r", run), "1") for run in runs])
        add(f"anomaly R vs {name}", [format_value(_mean(table, "anomaly_r", run), "1") for run in runs])
        add(f"ubRMSD vs {name} (m3 m-3)", [format_value(_mean(table, "ubrmsd", run), "m3 m-3") for run in runs])
        add(f"RMSD vs {name} (m3 m-3)", [format_value(_mean(table, "rmsd", run), "m3 m-3") for run in runs])
        add(f"bias vs {name} (m3 m-3)", [format_value(_mean(table, "bias", run), "m3 m-3") for run in runs])
        scored = [format_value(np.isfinite(table["r"].sel(run=run).values).sum(), "count") if run in table["run"].values else ""
                  for run in runs]
        add(f"sites scored vs {name}", scored)
        network = validation.get("network")
        if network is not None and reference in network["reference"].values:
            net = network.sel(reference=reference)
            cells, improved = [], []
            for run in runs:
                if run not in net["run"].values:
                    cells.append("")
                    improved.append("")
                    continue
                row = net.sel(run=run)
                cells.append(format_interval(row["mean_delta_r"], row["mean_delta_r_low"], row["mean_delta_r_high"], "delta"))
                improved.append(format_interval(row["percent_improved"], row["percent_improved_low"], row["percent_improved_high"], "%"))
            add(f"Delta R vs {name} [95 % CI]", cells)
            add(f"sites improved vs {name} (%) [95 % CI]", improved)
            add(f"Delta anomaly R vs {name}", ["" if run not in net["run"].values else
                                               format_value(net["mean_delta_anomaly_r"].sel(run=run), "delta") for run in runs])
    increments = validation.get("increments")
    if increments is not None:
        weights = {run: increments["analysis_days"].sel(run=run).values for run in increments["run"].values}

        def weighted(variable: str, run: str):
            if run not in weights or weights[run].sum() == 0:
                return None
            values = increments[variable].sel(run=run).values
            finite = np.isfinite(values)
            return float((values[finite] * weights[run][finite]).sum() / weights[run][finite].sum())

        add("mean |increment| (m3 m-3)", [format_value(weighted("mean_abs_increment", run), "increment") if run in weights else "" for run in runs])
        add("mean increment (m3 m-3)", [format_value(weighted("mean_signed_increment", run), "increment") if run in weights else "" for run in runs])
        add("analyses (site-days)", [format_value(weights[run].sum(), "count") if run in weights else "" for run in runs])
        add("mean innovation (dB)", [format_value(weighted("mean_innovation", run), "dB") if run in weights else "" for run in runs])
        add("normalised innovation variance", [format_value(weighted("normalised_innovation_variance", run), "ratio") if run in weights else "" for run in runs])
    ensemble = validation.get("ensemble")
    if ensemble is not None:
        add("RMS spread (m3 m-3)", [format_value(_mean(ensemble, "rms_spread", run), "increment") for run in runs])
        add("mean spread on S1 days (m3 m-3)", [format_value(_mean(ensemble, "mean_spread_obs_days", run), "increment") for run in runs])
        threshold = ensemble.attrs.get("collapsed_spread_threshold", metrics.COLLAPSED_SPREAD)
        add(f"days with spread < {threshold:g} (%)", [format_value(_percent(_mean(ensemble, "collapsed_share", run)), "%") for run in runs])
        add("RMSE vs truth (m3 m-3)", [format_value(_mean(ensemble, "rmse_truth", run), "m3 m-3") for run in runs])
        add("spread-skill ratio (1: reliable)", [format_value(_mean(ensemble, "spread_skill_ratio", run), "ratio") for run in runs])
    return Table("Scores (network means over sites)", ["score", *(run_label(run) for run in runs)], rows,
                 "ubRMSD: RMSD with the bias removed; anomaly R: R after removing a 35-day seasonal climatology; "
                 "intervals: 95 % percentile bootstrap over sites.")


def _percent(share):
    return None if share is None else 100.0 * share


def forward_table(content: StoreContent) -> Table | None:
    """The forward simulations against S1 (the paper's Fig. 1 as numbers), one row per simulation."""
    forward = content.validation.get("forward")
    sites = content.validation.get("sites")
    if forward is None and sites is None:
        return None
    rows = []
    if sites is not None:
        rows.append(["open-loop SM", format_value(metrics.network_mean(sites["r_open_loop_backscatter"].values), "1"), "", "", "", ""])
    if forward is not None:
        for label in forward["operator"].values:
            table = forward.sel(operator=label)
            rows.append([str(label).upper(), *(format_value(metrics.network_mean(table[name].values), kind) for name, kind in
                         (("r", "1"), ("rmsd", "dB"), ("bias", "dB"), ("variance_ratio", "ratio"), ("simulated_sd", "dB")))])
    return Table("Forward simulations against Sentinel-1 (network means)",
                 ["simulation", "R", "RMSD (dB)", "bias (dB)", "variance ratio", "SD of simulation (dB)"], rows)


# --- the paper -----------------------------------------------------------------------------------
PAPER = {  # Rains et al. (2022), IEEE GRSL 19, tables and text
    "wcm": {"R vs S1": 0.44, "RMSD vs S1 (dB)": 0.73, "Delta R vs in situ": 0.037, "sites improved (%)": 60.0,
            "mean |increment| (m3 m-3)": 0.007},
    "svr": {"R vs S1": 0.59, "RMSD vs S1 (dB)": 0.67, "Delta R vs in situ": 0.025, "sites improved (%)": 67.0,
            "mean |increment| (m3 m-3)": 0.005},
}
PAPER_OPEN_LOOP_R_S1 = 0.40


def reproduces_paper(content: StoreContent) -> bool:
    """True when the store's configuration is the paper's setup: 32 members, DEnKF, DA over
    2018-2019 after a 2017 spin-up, forcing perturbations of 0.3 / 2.5 degC / 0.3."""
    config = content.config
    experiment = config.get("experiment") or {}
    perturbation = (config.get("perturbation") or {}).get("parameters") or config.get("perturbation") or {}
    return (
        experiment.get("members") == 32
        and (config.get("filter") or {}).get("kind") == "denkf"
        and str(experiment.get("spinup_start")) == "2017-01-01"
        and str(experiment.get("start")) == "2018-01-01"
        and str(experiment.get("end")) == "2019-12-31"
        and perturbation.get("precipitation_relative_sd") == 0.3
        and perturbation.get("air_temperature_sd") == 2.5
        and perturbation.get("net_radiation_relative_sd") == 0.3
    )


def paper_table(content: StoreContent) -> Table | None:
    """This run's numbers beside the paper's, for operators of the paper's kinds (WCM, SVR)."""
    if not reproduces_paper(content):
        return None
    kinds = {label: ((content.config.get("operators") or {}).get(label) or {}).get("kind") for label in content.operators}
    validation = content.validation
    rows = []
    sites = validation.get("sites")
    if sites is not None:
        rows.append(["R vs S1, open-loop SM", format_value(PAPER_OPEN_LOOP_R_S1, "1"),
                     format_value(metrics.network_mean(sites["r_open_loop_backscatter"].values), "1")])
    for label, kind in kinds.items():
        if kind not in PAPER:
            continue
        paper = PAPER[kind]
        run = f"da_{label}"
        forward = validation.get("forward")
        if forward is not None and label in forward["operator"].values:
            rows.append([f"R vs S1, {label.upper()}", format_value(paper["R vs S1"], "1"),
                         format_value(metrics.network_mean(forward["r"].sel(operator=label).values), "1")])
            rows.append([f"RMSD vs S1, {label.upper()} (dB)", format_value(paper["RMSD vs S1 (dB)"], "dB"),
                         format_value(metrics.network_mean(forward["rmsd"].sel(operator=label).values), "dB")])
        network = validation.get("network")
        if network is not None and "insitu" in network["reference"].values and run in network["run"].values:
            row = network.sel(reference="insitu", run=run)
            rows.append([f"Delta R vs in situ, {label.upper()}", format_value(paper["Delta R vs in situ"], "delta"),
                         format_interval(row["mean_delta_r"], row["mean_delta_r_low"], row["mean_delta_r_high"], "delta")])
            rows.append([f"sites improved, {label.upper()} (%)", format_value(paper["sites improved (%)"], "%"),
                         format_interval(row["percent_improved"], row["percent_improved_low"], row["percent_improved_high"], "%")])
        increments = validation.get("increments")
        if increments is not None and run in increments["run"].values:
            table = increments.sel(run=run)
            days = table["analysis_days"].values
            value = float(np.nansum(table["mean_abs_increment"].values * days) / max(days.sum(), 1))
            rows.append([f"mean |increment|, {label.upper()} (m3 m-3)", format_value(paper["mean |increment| (m3 m-3)"], "increment"),
                         format_value(value, "increment")])
    return Table("Beside Rains et al. (2022)", ["quantity", "Rains et al. 2022", "this experiment"], rows,
                 "The experiment reproduces the paper's setup (members, filter, period, perturbations); "
                 "its data need not be the paper's.")


# --- OSSE ----------------------------------------------------------------------------------------
@dataclass
class OsseRow:
    """One input statistic of an observing-system simulation experiment, twin beside paper."""

    statistic: str
    twin: float | None
    paper: str
    kind: str


def osse_statistics(content: StoreContent) -> list[OsseRow]:
    """The twin's input statistics (medians over sites) beside those Rains et al. (2022) report
    for real S1 data (Errico et al. 2013: calibrate an OSSE on its inputs, not its outcomes)."""
    validation = content.validation
    rows: list[OsseRow] = []
    sites, forward, ensemble, insitu = (validation.get(name) for name in ("sites", "forward", "ensemble", "insitu"))

    def median(values) -> float | None:
        values = np.asarray(values, dtype=float)
        return float(np.nanmedian(values)) if np.isfinite(values).any() else None

    if sites is not None:
        rows.append(OsseRow("temporal SD of S1 (dB)", median(sites["s1_temporal_sd"].values), "0.80", "dB"))
    if forward is not None:
        kinds = {label: ((content.config.get("operators") or {}).get(label) or {}).get("kind") for label in forward["operator"].values}
        paper_sd = {"wcm": "0.25", "svr": "0.29"}
        paper_rmsd = {"wcm": "0.73", "svr": "0.67"}
        for label in forward["operator"].values:
            rows.append(OsseRow(f"SD of {str(label).upper()} simulations (dB)", median(forward["simulated_sd"].sel(operator=label).values),
                                paper_sd.get(kinds[label], "-"), "dB"))
        for label in forward["operator"].values:
            rows.append(OsseRow(f"fit RMSD {str(label).upper()} (dB)", median(forward["rmsd"].sel(operator=label).values),
                                paper_rmsd.get(kinds[label], "-"), "dB"))
    if sites is not None:
        rows.append(OsseRow("R(open-loop SM, S1)", median(sites["r_open_loop_backscatter"].values), "0.40", "1"))
    if ensemble is not None and OPEN_LOOP in ensemble["run"].values:
        open_loop = ensemble.sel(run=OPEN_LOOP)
        rows.append(OsseRow("open-loop spread of surface SM on S1 days (m3 m-3)", median(open_loop["mean_spread_obs_days"].values),
                            "0.02-0.035", "increment"))
        share = None
        if sites is not None:  # pooled over every site's S1 days
            days = sites["s1_days"].values.astype(float)
            shares = open_loop["collapsed_share_obs_days"].values
            finite = np.isfinite(shares) & (days > 0)
            share = float((shares[finite] * days[finite]).sum() / days[finite].sum()) if finite.any() else None
        threshold = ensemble.attrs.get("collapsed_spread_threshold", metrics.COLLAPSED_SPREAD)
        rows.append(OsseRow(f"S1 site-days with open-loop spread < {threshold:g} (%)", None if share is None else 100 * share, "-", "%"))
    if insitu is not None and OPEN_LOOP in insitu["run"].values:
        rows.append(OsseRow("open-loop R vs in situ", median(insitu["r"].sel(run=OPEN_LOOP).values), "about 0.6", "1"))
    return rows


def osse_table(content: StoreContent) -> Table | None:
    """The OSSE table, printed whenever the store holds a truth."""
    if "truth" not in content.groups:
        return None
    rows = [[row.statistic, format_value(row.twin, row.kind), row.paper] for row in osse_statistics(content)]
    return Table("OSSE: the twin's inputs beside real S1 data (medians over sites)", ["statistic", "twin", "paper (real S1)"], rows,
                 "Paper values: Rains et al. (2022) after orbit normalisation; open-loop R of GLEAM v3 vs in situ "
                 "about 0.6 (Martens et al. 2017); spread needed for 0.007 m3 m-3 increments at R about 0.5 dB2.")


# --- calibration warnings ------------------------------------------------------------------------
def warning_tables(warnings_found: list[tuple[str, str, str, str]]) -> list[Table]:
    if not warnings_found:
        return []
    counts = pd.DataFrame(warnings_found, columns=["operator", "site", "kind", "message"]).groupby(["operator", "kind"]).agg(
        warnings=("message", "size"), sites=("site", "nunique"))
    summary = Table("Calibration warnings by kind", ["operator", "kind", "warnings", "sites"],
                    [[str(op).upper(), kind, str(int(row.warnings)), str(int(row.sites))] for (op, kind), row in counts.iterrows()])
    listing = Table("Calibration warnings per site", ["operator", "site", "warning"],
                    [[op.upper(), site, message] for op, site, _, message in warnings_found])
    return [summary, listing]


# --- sites.csv -----------------------------------------------------------------------------------
def sites_frame(content: StoreContent, warnings_found: list[tuple[str, str, str, str]]) -> pd.DataFrame | None:
    """Every per-site score in one row per site: ``<table>_<score>[_<run or operator>]``."""
    columns: dict[str, pd.Series] = {}
    for group, dataset in content.validation.items():
        if "site" not in dataset.dims:
            continue
        for name, variable in dataset.data_vars.items():
            other = [dim for dim in variable.dims if dim != "site"]
            if not other:
                columns[f"{group}_{name}"] = variable.to_series()
            elif len(other) == 1:
                for label in variable[other[0]].values:
                    columns[f"{group}_{name}_{label}"] = variable.sel({other[0]: label}).to_series()
    if not columns:
        return None
    frame = pd.DataFrame(columns)
    frame.index.name = "site"
    for coord in ("site_name", "lat", "lon"):
        dataset = content.validation.get("sites")
        if dataset is not None and coord in dataset.coords:
            frame.insert(0, coord, dataset[coord].to_series().reindex(frame.index).values)
    if warnings_found:
        counts = pd.Series([site for _, site, _, _ in warnings_found]).value_counts()
        frame["calibration_warnings"] = [int(counts.get(str(site), 0)) for site in frame.index]
    return frame
