"""Figures of the report, analogues of Rains et al. (2022) Figs. 1-3 plus ensemble reliability.

Every run has a colour of the Okabe & Ito (2008) colour-blind-safe palette *and* a line style,
so the curves stay apart in greyscale; ensembles are drawn as mean with a +-1 SD band; legends
sit outside the axes; each quantity has its own axis with units.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from s1da.framework.report.content import OPEN_LOOP, StoreContent, run_label

OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")
LINE_STYLES = ("--", "-.", (0, (1, 1)), (0, (5, 1, 1, 1, 1, 1)), (0, (3, 1)), (0, (1, 2, 4, 2)))
MARKERS = ("s", "^", "D", "v", "P", "X")
OPEN_LOOP_STYLE = {"color": "#555555", "linestyle": "-"}
INSITU_STYLE = {"color": "black", "marker": "o", "markersize": 2.0, "linestyle": "none"}
TRUTH_STYLE = {"color": "black", "linestyle": "-", "linewidth": 0.7}
S1_STYLE = {"color": "black", "marker": ".", "markersize": 4.0, "linestyle": "none"}

SM_LABEL = "surface soil moisture (m$^3$ m$^{-3}$)"
BACKSCATTER_LABEL = r"VV backscatter $\sigma^0$ (dB)"
LAI_LABEL = "LAI (m$^2$ m$^{-2}$)"


def run_style(content: StoreContent, run: str) -> dict:
    """Colour and line style of a run (the open loop grey and solid; DA runs in store order)."""
    if run == OPEN_LOOP:
        return dict(OPEN_LOOP_STYLE)
    index = content.da_runs.index(run) if run in content.da_runs else len(content.da_runs)
    return {"color": OKABE_ITO[index % len(OKABE_ITO)], "linestyle": LINE_STYLES[index % len(LINE_STYLES)]}


def operator_style(content: StoreContent, label: str) -> dict:
    run = f"da_{label}"
    if run in content.da_runs:
        return run_style(content, run)
    index = len(content.da_runs) + content.operators.index(label)
    return {"color": OKABE_ITO[index % len(OKABE_ITO)], "linestyle": LINE_STYLES[index % len(LINE_STYLES)]}


def new_figure(width: float, height: float):
    """A figure on the Agg canvas, without touching pyplot's global state or backend."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save(figure, stem: Path, formats: Sequence[str], dpi: int) -> list[Path]:
    """Write ``stem.<format>`` for every format (PNG at ``dpi``; PDF and SVG are vector)."""
    paths = []
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        figure.savefig(path, dpi=dpi, metadata={"Creator": "s1da"} if fmt in ("png", "pdf", "svg") else None)
        paths.append(path)
    return paths


def message_figure(stem: Path, message: str, formats: Sequence[str], dpi: int) -> list[Path]:
    figure = new_figure(6, 1.5)
    figure.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    return save(figure, stem, formats, dpi)


def time_site(array: xr.DataArray | None) -> xr.DataArray | None:
    """Ensemble mean over ``member`` (if any), ``(time, site)``, loaded."""
    if array is None:
        return None
    if "member" in array.dims:
        array = array.mean("member", keep_attrs=True)
    return array.transpose("time", "site").load()


def ensemble_at(array: xr.DataArray | None, site) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
    """(time, mean, SD or None) of one site's series."""
    if array is None:
        return None
    series = array.sel(site=site).load()
    if "member" in series.dims:
        return series["time"].values, series.mean("member").values, series.std("member", ddof=1).values
    return series["time"].values, series.values, None


def box_key(axis) -> None:
    """Legend explaining the box statistics, placed below the axes."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor="white", edgecolor="black", label="25th-75th percentile"),
        Line2D([], [], color="#D55E00", label="median"),
        Line2D([], [], color="#009E73", marker="^", linestyle="none", label="mean"),
        Line2D([], [], color="black", label="whiskers: 1.5 IQR"),
        Line2D([], [], color="black", marker="o", markerfacecolor="none", linestyle="none", label="outliers"),
    ]
    axis.legend(handles=handles, loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize="small", frameon=False,
                title="box statistics", title_fontsize="small")


def date_axis(axis) -> None:
    """Concise date ticks (no overlapping ISO dates)."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator(minticks=4, maxticks=8)
    axis.xaxis.set_major_locator(locator)
    axis.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def wrap_label(label: str, width: int = 10) -> str:
    """A tick label on lines of about ``width`` characters, broken after ``_``, ``-`` or a space
    (long operator labels such as ``seasonal_wcm_cv`` would otherwise overlap their neighbours)."""
    lines = [""]
    for part in re.split(r"(?<=[_\- ])", label):
        if lines[-1] and len(lines[-1]) + len(part) > width:
            lines.append("")
        lines[-1] += part
    return "\n".join(line.rstrip() for line in lines)


def boxplot(axis, series: dict[str, np.ndarray], ylabel: str, title: str) -> None:
    labels, values = [], []
    for label, data in series.items():
        data = np.asarray(data, dtype=float)
        data = data[np.isfinite(data)]
        if data.size:
            labels.append(f"{wrap_label(label)}\n(n = {data.size})")
            values.append(data)
    if not values:
        axis.text(0.5, 0.5, "no data", ha="center", va="center", transform=axis.transAxes)
    else:
        axis.boxplot(values, tick_labels=labels, showmeans=True,
                     medianprops={"color": "#D55E00"},
                     meanprops={"marker": "^", "markerfacecolor": "#009E73", "markeredgecolor": "#009E73"},
                     flierprops={"marker": "o", "markerfacecolor": "none", "markersize": 4})
    axis.set_ylabel(ylabel)
    axis.set_title(title)
    axis.grid(axis="y", color="0.9")


def pick_sites(content: StoreContent, count: int = 2) -> list:
    """The ``count`` sites with the most days of S1 and in situ (ties by site order)."""
    base = None
    for group, name in (("observations", "backscatter"), ("insitu", "insitu_soil_moisture"), (OPEN_LOOP, "surface_soil_moisture")):
        array = content.variable(group, name)
        if array is not None and "site" in array.dims:
            base = array if base is None else base
    if base is None:
        return []
    score = np.zeros(base.sizes["site"])
    for group, name in (("observations", "backscatter"), ("insitu", "insitu_soil_moisture")):
        array = content.variable(group, name)
        if array is not None and "site" in array.dims and array.sizes["site"] == score.size:
            score += np.isfinite(array.transpose("time", "site").values).sum(axis=0)
    order = np.argsort(-score, kind="stable")[:count]
    return [base["site"].values[i] for i in order]


def _legend_below(figure, axes) -> None:
    handles, labels = {}, {}
    for axis in np.ravel(axes):
        for handle, label in zip(*axis.get_legend_handles_labels()):
            if label not in labels:
                handles[label], labels[label] = handle, label
    if handles:
        figure.legend(list(handles.values()), list(handles), loc="outside lower center", ncols=min(len(handles), 5),
                      fontsize="small", frameon=False)


def figure_forward_fit(content: StoreContent, stem: Path, formats, dpi) -> list[Path]:
    """Paper Fig. 1: R and RMSD of the forward simulations against S1 over sites."""
    forward, sites = content.validation.get("forward"), content.validation.get("sites")
    if forward is None and sites is None:
        return message_figure(stem, "Fig. 1 not available: no forward-operator fit in the store", formats, dpi)
    figure = new_figure(7.5, 3.6)
    left, right = figure.subplots(1, 2)
    correlations = {}
    if sites is not None:
        correlations["open-loop SM"] = sites["r_open_loop_backscatter"].values
    if forward is not None:
        for label in forward["operator"].values:
            correlations[str(label).upper()] = forward["r"].sel(operator=label).values
    boxplot(left, correlations, "temporal R with S1 VV (-)", "(a) correlation with Sentinel-1")
    if forward is not None:
        boxplot(right, {str(label).upper(): forward["rmsd"].sel(operator=label).values for label in forward["operator"].values},
                "RMSD from S1 VV (dB)", "(b) RMSD from Sentinel-1")
        box_key(right)
    else:
        box_key(left)
        right.set_axis_off()
    return save(figure, stem, formats, dpi)


def figure_backscatter_sites(content: StoreContent, sites: list, stem: Path, formats, dpi) -> list[Path]:
    """Paper Fig. 2: S1 with the operators' simulations; open-loop SM and LAI on their own axes."""
    observed = content.variable("observations", "backscatter")
    if observed is None or not sites or "site" not in observed.dims:
        return message_figure(stem, "Fig. 2 not available: no Sentinel-1 site observations in the store", formats, dpi)
    simulations = {}
    for label in content.operators:
        simulated = content.variable("calibration", f"{label}_simulated_backscatter")
        if simulated is None:  # fall back to the DA run's ensemble-mean prediction
            simulated = content.variable(f"da_{label}", "predicted_backscatter")
        if simulated is not None:
            simulations[label] = simulated
    lai = content.variable("observations", "lai")
    soil_moisture = content.variable(OPEN_LOOP, "surface_soil_moisture")
    figure = new_figure(4.2 * len(sites) + 1, 6.4)
    axes = figure.subplots(3, len(sites), sharex="col", squeeze=False, height_ratios=(1.4, 1, 0.7))
    for column, site in enumerate(sites):
        top, middle, bottom = axes[:, column]
        time, values, _ = ensemble_at(observed, site)
        valid = np.isfinite(values)
        top.plot(time[valid], values[valid], label="S1 VV observed", **S1_STYLE)
        for label, simulated in simulations.items():
            sim_time, sim_values, _ = ensemble_at(simulated, site)
            top.plot(sim_time, sim_values, lw=1.1, label=f"{label.upper()} simulated", **operator_style(content, label))
        top.set_title(content.site_label(site))
        if soil_moisture is not None:
            sm_time, mean, spread = ensemble_at(soil_moisture, site)
            middle.plot(sm_time, mean, lw=1.0, label="open-loop SM (mean, ±1 SD)", **OPEN_LOOP_STYLE)
            if spread is not None:
                middle.fill_between(sm_time, mean - spread, mean + spread, color=OPEN_LOOP_STYLE["color"], alpha=0.25, lw=0)
        if lai is not None:
            lai_time, lai_values, _ = ensemble_at(lai, site)
            bottom.plot(lai_time, lai_values, color="#009E73", lw=1.0, label="LAI")
        if column == 0:
            top.set_ylabel(BACKSCATTER_LABEL)
            middle.set_ylabel(SM_LABEL)
            bottom.set_ylabel(LAI_LABEL)
        for axis in (top, middle, bottom):
            axis.grid(color="0.92")
        date_axis(bottom)
    _legend_below(figure, axes)
    return save(figure, stem, formats, dpi)


def figure_assimilation(content: StoreContent, sites: list, stem: Path, formats, dpi) -> list[Path]:
    """Paper Fig. 3: Delta R across sites; open loop, DA runs (with spread) and in situ at sites."""
    runs = {run: content.variable(run, "surface_soil_moisture") for run in content.runs}
    runs = {run: array for run, array in runs.items() if array is not None and "site" in array.dims}
    if not runs:
        return message_figure(stem, "Fig. 3 not available: no site runs in the store", formats, dpi)
    insitu = content.variable("insitu", "insitu_soil_moisture")
    truth = content.variable("truth", "surface_soil_moisture")
    figure = new_figure(8.5, 2.2 + 3.3 * len(sites) + 0.6)
    axes = figure.subplots(1 + 2 * len(sites), 1, squeeze=False, height_ratios=(1.6, *([1.8, 0.9] * len(sites))))[:, 0]
    boxes = {}
    for reference, name in (("insitu", "in situ"), ("truth", "truth")):
        improvement = content.validation.get(f"improvement_{reference}")
        if improvement is not None:
            for run in improvement["run"].values:
                boxes[f"{run_label(str(run))}\nvs {name}"] = improvement["delta_r"].sel(run=run).values
    boxplot(axes[0], boxes, r"$\Delta R = R_{DA} - R_{OL}$ (-)", "(a) change in R across sites")
    axes[0].axhline(0.0, color="black", lw=0.6)
    box_key(axes[0])
    for index, site in enumerate(sites):
        axis, difference_axis = axes[1 + 2 * index], axes[2 + 2 * index]
        axis.sharex(difference_axis)
        open_loop = ensemble_at(runs[OPEN_LOOP], site) if OPEN_LOOP in runs else None
        for run, array in runs.items():
            time, mean, spread = ensemble_at(array, site)
            style = run_style(content, run)
            axis.plot(time, mean, lw=1.0, label=f"{run_label(run)} (mean, ±1 SD)", **style)
            if spread is not None:
                axis.fill_between(time, mean - spread, mean + spread, color=style["color"], alpha=0.18, lw=0)
            if open_loop is not None and run != OPEN_LOOP:
                difference_axis.plot(time, mean - open_loop[1], lw=0.9, **style)
        if truth is not None and "site" in truth.dims:
            time, values, _ = ensemble_at(truth, site)
            axis.plot(time, values, label="truth", **TRUTH_STYLE)
        if insitu is not None and "site" in insitu.dims:
            time, values, _ = ensemble_at(insitu, site)
            valid = np.isfinite(values)
            axis.plot(time[valid], values[valid], label="in situ", **INSITU_STYLE)
        axis.set_ylabel(SM_LABEL)
        axis.set_title(f"({chr(ord('b') + index)}) {content.site_label(site)}")
        axis.tick_params(labelbottom=False)
        difference_axis.axhline(0.0, color=OPEN_LOOP_STYLE["color"], lw=0.6)
        difference_axis.set_ylabel("DA - OL\n(m$^3$ m$^{-3}$)")
        for each in (axis, difference_axis):
            each.grid(color="0.92")
        date_axis(difference_axis)
    _legend_below(figure, axes[1:])
    return save(figure, stem, formats, dpi)


def figure_reliability(content: StoreContent, stem: Path, formats, dpi) -> list[Path]:
    """Ensemble reliability per run: spread-skill against the truth, rank histograms, collapse."""
    ensemble = content.validation.get("ensemble")
    if ensemble is None:
        return message_figure(stem, "Ensemble reliability not available: no ensemble statistics in the store", formats, dpi)
    ranks = content.validation.get("rank_histogram")
    has_truth = "rmse_truth" in ensemble
    figure = new_figure(10.5, 3.6)
    left, middle, right = figure.subplots(1, 3)
    runs = [str(run) for run in ensemble["run"].values]
    if has_truth:
        top = 0.0
        for run in runs:
            style = run_style(content, run)
            spread = ensemble["rms_spread"].sel(run=run).values
            rmse = ensemble["rmse_truth"].sel(run=run).values
            marker = "o" if run == OPEN_LOOP else MARKERS[content.da_runs.index(run) % len(MARKERS)] if run in content.da_runs else "o"
            left.plot(rmse, spread, marker=marker, markersize=3.5, linestyle="none", color=style["color"], alpha=0.8,
                      markerfacecolor="none", label=run_label(run))
            top = max(top, np.nanmax(np.r_[spread, rmse, 0.0]))
        left.plot([0, top * 1.05], [0, top * 1.05], color="black", lw=0.6, label="spread = RMSE")
        left.set_xlabel("RMSE of the mean vs truth (m$^3$ m$^{-3}$)")
        left.set_ylabel("RMS spread (m$^3$ m$^{-3}$)")
        left.set_title("(a) spread-skill per site")
    else:
        boxplot(left, {run_label(run): ensemble["rms_spread"].sel(run=run).values for run in runs},
                "RMS spread (m$^3$ m$^{-3}$)", "(a) ensemble spread per site")
    if ranks is not None:
        n_ranks = ranks.sizes["rank"]
        width = 0.8 / len(ranks["run"])
        for offset, run in enumerate(ranks["run"].values):
            counts = ranks["count"].sel(run=run).values.astype(float)
            style = run_style(content, str(run))
            middle.bar(ranks["rank"].values + (offset - (len(ranks["run"]) - 1) / 2) * width, counts / max(counts.sum(), 1) * n_ranks,
                       width=width, color=style["color"], hatch=None if str(run) == OPEN_LOOP else "//", edgecolor="white",
                       linewidth=0.3, label=run_label(str(run)))
        middle.axhline(1.0, color="black", lw=0.6)
        middle.set_xlabel("rank of the truth among the members")
        middle.set_ylabel("frequency / frequency of a flat histogram")
        middle.set_title("(b) rank histograms")
    else:
        middle.text(0.5, 0.5, "no truth: no rank histogram", ha="center", va="center", transform=middle.transAxes)
        middle.set_axis_off()
    threshold = ensemble.attrs.get("collapsed_spread_threshold", 0.002)
    boxplot(right, {run_label(run): 100 * ensemble["collapsed_share"].sel(run=run).values for run in runs},
            f"days with spread < {threshold:g} m$^3$ m$^{{-3}}$ (%)", "(c) collapsed spread per site")
    _legend_below(figure, [left, middle])
    return save(figure, stem, formats, dpi)
