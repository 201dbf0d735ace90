"""The experiment report: figures, ``summary.md`` and ``index.html`` for one store.

``write_report(store_path, output_dir)`` reads the groups of an s1da store with
``xarray.open_zarr(path, group=...)`` and writes analogues of the figures of Rains et al. (2022):

* ``fig1_forward_fit.png`` -- distributions over sites of R and RMSD of the forward simulations
  (open-loop SM, WCM, SVR) against Sentinel-1 (paper Fig. 1);
* ``fig2_backscatter_sites.png`` -- S1 observations with WCM/SVR simulations, LAI and open-loop
  SM at two sites (paper Fig. 2);
* ``fig3_assimilation.png`` -- the Delta R distribution and open-loop/DA/in-situ time series at
  two sites (paper Fig. 3).

Store contract (groups and variables; every group but ``observations`` and ``open_loop`` may be
missing, and the report says so instead of failing):

* ``observations``: ``backscatter (time, site)`` dB (NaN where none), ``lai (time, site)``;
* ``insitu``: ``insitu_soil_moisture (time, site)``;
* ``open_loop``, ``da_<operator>``: ``surface_soil_moisture (time, member, site)``; DA groups
  also ``predicted_backscatter (time, member, site)`` and ``analysis_increment_surface (time, site)``;
* ``calibration``: ``<operator>_simulated_backscatter (time, site)``;
* ``truth`` (twin experiments): ``surface_soil_moisture (time, site)``;
* ``validation``: ``r_insitu``, ``rmsd_insitu``, ``ubrmsd_insitu`` ``(run, site)``,
  ``delta_r_<operator> (site)``, ``r_backscatter``/``rmsd_backscatter (operator, site)``; when
  the group is absent the report computes these itself with :mod:`s1da.framework.metrics`.

The report is written into a temporary sibling directory and renamed into place, so an
interrupted run never leaves a half-written report (an older report is replaced only once the
new one is complete).
"""

from __future__ import annotations

import html
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from s1da.framework import metrics
from s1da.framework.outputs import REPORT_MARKER, check_replaceable

OPERATORS = ("wcm", "svr")
"""Operators the report looks for (``da_<op>`` groups, ``<op>_simulated_backscatter``)."""

RUN_LABELS = {"open_loop": "open loop", "da_wcm": "DA (WCM)", "da_svr": "DA (SVR)", "truth": "truth"}
RUN_COLOURS = {"open_loop": "tab:grey", "da_wcm": "tab:blue", "da_svr": "tab:orange", "insitu": "black", "truth": "tab:green"}


# --- reading --------------------------------------------------------------------------------------
@dataclass
class StoreContent:
    """What the report found in a store (``None`` for absent groups)."""

    path: Path
    attrs: dict = field(default_factory=dict)
    groups: dict[str, xr.Dataset] = field(default_factory=dict)
    incomplete: list[str] = field(default_factory=list)
    partial: bool = False
    """The store is incomplete and the report says so (PARTIAL) in its title and first line."""

    @property
    def title(self) -> str:
        return ("PARTIAL " if self.partial else "") + f"s1da report: {self.path.name}"

    def variable(self, group: str, name: str) -> xr.DataArray | None:
        dataset = self.groups.get(group)
        if dataset is None or name not in dataset:
            return None
        return dataset[name]

    @property
    def runs(self) -> list[str]:
        return [run for run in ("open_loop", *(f"da_{op}" for op in OPERATORS)) if self.variable(run, "surface_soil_moisture") is not None]

    @property
    def operators(self) -> list[str]:
        return [op for op in OPERATORS if f"da_{op}" in self.groups or self.variable("calibration", f"{op}_simulated_backscatter") is not None]


def read_store(store_path: str | Path) -> StoreContent:
    """Open every group the report knows about; missing groups are simply absent."""
    import zarr

    path = Path(store_path)
    if not (path / "zarr.json").is_file():
        raise FileNotFoundError(f"{path} is not a Zarr v3 store (no zarr.json at its root)")
    root = zarr.open_group(str(path), mode="r")
    content = StoreContent(path=path, attrs=dict(root.attrs))
    available = {name for name, _ in root.groups()}
    wanted = ["observations", "insitu", "open_loop", *(f"da_{op}" for op in OPERATORS), "calibration", "truth", "validation"]
    for name in wanted:
        if name not in available:
            continue
        if not root[name].attrs.get("complete", True):
            content.incomplete.append(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # consolidated-metadata fallback notice
            content.groups[name] = xr.open_zarr(str(path), group=name, consolidated=None)
    return content


def _time_site(array: xr.DataArray | None) -> xr.DataArray | None:
    """Ensemble mean over ``member`` (if any), transposed to ``(time, site)``, loaded."""
    if array is None:
        return None
    if "member" in array.dims:
        array = array.mean("member", keep_attrs=True)
    return array.transpose("time", "site").load()


# --- validation (read or computed) ---------------------------------------------------------------
def validation_dataset(content: StoreContent, min_samples: int = metrics.DEFAULT_MIN_SAMPLES) -> xr.Dataset:
    """The store's ``validation`` group, or the same scores computed from the other groups."""
    if "validation" in content.groups:
        return content.groups["validation"].load()
    validation = xr.Dataset(attrs={"computed_by": "s1da.framework.report (store had no validation group)"})
    insitu = _time_site(content.variable("insitu", "insitu_soil_moisture"))
    runs = {run: _time_site(content.variable(run, "surface_soil_moisture")) for run in content.runs}
    if insitu is not None and runs:
        table = metrics.score_table(runs, insitu, min_samples=min_samples)
        for score in ("r", "rmsd", "ubrmsd", "bias"):
            validation[f"{score}_insitu"] = table[score]
        for op in OPERATORS:
            if f"da_{op}" in runs and "open_loop" in runs:
                delta = metrics.delta_r(table["r"].sel(run=f"da_{op}").values, table["r"].sel(run="open_loop").values)
                validation[f"delta_r_{op}"] = xr.DataArray(
                    delta, dims="site", coords={"site": table["site"]},
                    attrs={"units": "1", "long_name": f"R of DA ({op}) minus R of the open loop against in situ"},
                )
    backscatter = _time_site(content.variable("observations", "backscatter"))
    forward = {}
    if "open_loop" in runs:
        forward["sm"] = runs["open_loop"]
    for op in OPERATORS:
        simulated = _time_site(content.variable("calibration", f"{op}_simulated_backscatter"))
        if simulated is not None:
            forward[op] = simulated
    if backscatter is not None and any(op != "sm" for op in forward):
        common = metrics.matched_mask(backscatter.values, *(f.values for f in forward.values()))
        observed = np.where(common, backscatter.values, np.nan)
        r_rows, rmsd_rows = [], []
        for label, simulated in forward.items():
            values = np.where(common, simulated.values, np.nan)
            r_rows.append(metrics.pearson_r(values, observed, min_samples=min_samples))
            rmsd_rows.append(
                metrics.rmsd(values, observed, min_samples=min_samples) if label != "sm" else np.full(observed.shape[1], np.nan)
            )
        coords = {"operator": list(forward), "site": backscatter["site"].values}
        validation["r_backscatter"] = xr.DataArray(
            np.stack(r_rows), dims=("operator", "site"), coords=coords,
            attrs={"units": "1", "long_name": "temporal R of the forward simulation against S1"},
        )
        validation["rmsd_backscatter"] = xr.DataArray(
            np.stack(rmsd_rows), dims=("operator", "site"), coords=coords,
            attrs={"units": "dB", "long_name": "RMSD of the forward simulation against S1"},
        )
    return validation


def network_summary(content: StoreContent, validation: xr.Dataset) -> list[tuple[str, str, str]]:
    """Rows (quantity, value, units) of the network summary table (MODEL_SPEC e)."""
    rows: list[tuple[str, str, str]] = []

    def add(label: str, value, units: str = "", digits: int = 3) -> None:
        if value is None or (isinstance(value, float) and not np.isfinite(value)):
            rows.append((label, "n/a", units))
        elif isinstance(value, (int, np.integer)):
            rows.append((label, str(int(value)), units))
        else:
            rows.append((label, f"{float(value):.{digits}f}", units))

    sites = None
    for group in ("observations", "open_loop", "insitu"):
        if group in content.groups and "site" in content.groups[group].sizes:
            sites = content.groups[group].sizes["site"]
            break
    add("sites", sites)
    for reference, label in (("insitu", "in situ"), ("truth", "truth")):
        if f"r_{reference}" not in validation:
            continue
        for run in validation["run"].values:
            name = RUN_LABELS.get(str(run), str(run))
            add(f"mean R vs {label}, {name}", metrics.network_mean(validation[f"r_{reference}"].sel(run=run).values), "1")
            for score in ("rmsd", "ubrmsd"):
                if f"{score}_{reference}" in validation:
                    units = validation[f"{score}_{reference}"].attrs.get("units", "m3 m-3")
                    values = validation[f"{score}_{reference}"].sel(run=run).values
                    add(f"mean {'ubRMSD' if score == 'ubrmsd' else 'RMSD'} vs {label}, {name}", metrics.network_mean(values), units, 4)
            add(f"sites scored vs {label}, {name}", int(np.isfinite(validation[f"r_{reference}"].sel(run=run).values).sum()))
    for op in OPERATORS:
        key = f"delta_r_{op}"
        if key in validation:
            delta = validation[key].values
            add(f"mean Delta R, {op.upper()} (paper: {'+0.037' if op == 'wcm' else '+0.025'})", metrics.network_mean(delta), "1")
            add(f"sites improved, {op.upper()}", metrics.percent_improved(delta), "%", 1)
        increments = content.variable(f"da_{op}", "analysis_increment_surface")
        if increments is not None:
            values = increments.values
            add(f"mean absolute increment, {op.upper()}", metrics.mean_absolute_increment(values), "m3 m-3", 4)
            add(f"mean signed increment, {op.upper()}", metrics.mean_signed_increment(values), "m3 m-3", 4)
            add(f"analysis days (site-days), {op.upper()}", int(np.isfinite(values).sum()))
    if "r_backscatter" in validation:
        for label in validation["operator"].values:
            name = "open-loop SM" if str(label) == "sm" else str(label).upper()
            add(f"mean R vs S1, {name}", metrics.network_mean(validation["r_backscatter"].sel(operator=label).values), "1")
            if "rmsd_backscatter" in validation and str(label) != "sm":
                add(f"mean RMSD vs S1, {name}", metrics.network_mean(validation["rmsd_backscatter"].sel(operator=label).values), "dB")
    return rows


# --- figures --------------------------------------------------------------------------------------
def _new_figure(width: float, height: float):
    """A figure on the Agg canvas, without touching pyplot's global state or backend."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _boxplot(axis, series: dict[str, np.ndarray], ylabel: str, title: str) -> None:
    labels, values = [], []
    for label, data in series.items():
        data = np.asarray(data, dtype=float)
        data = data[np.isfinite(data)]
        if data.size:
            labels.append(f"{label}\n(n={data.size})")
            values.append(data)
    if not values:
        axis.text(0.5, 0.5, "no data", ha="center", va="center", transform=axis.transAxes)
    else:
        axis.boxplot(values, tick_labels=labels, showmeans=True)
    axis.set_ylabel(ylabel)
    axis.set_title(title)


def _message_figure(path: Path, message: str) -> Path:
    figure = _new_figure(6, 2)
    figure.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    figure.savefig(path, dpi=100)
    return path


def figure_forward_fit(validation: xr.Dataset, path: Path) -> Path:
    """Paper Fig. 1: R and RMSD of the forward simulations against S1 over sites."""
    if "r_backscatter" not in validation:
        return _message_figure(path, "Fig. 1 not available: no forward-operator fit in the store")
    figure = _new_figure(10, 4)
    left, right = figure.subplots(1, 2)
    names = {str(op): ("OL SM" if str(op) == "sm" else str(op).upper()) for op in validation["operator"].values}
    _boxplot(left, {names[str(op)]: validation["r_backscatter"].sel(operator=op).values for op in validation["operator"].values},
             "R (-)", "R against Sentinel-1 VV")
    if "rmsd_backscatter" in validation:
        _boxplot(right, {names[str(op)]: validation["rmsd_backscatter"].sel(operator=op).values
                         for op in validation["operator"].values if str(op) != "sm"},
                 "RMSD (dB)", "RMSD against Sentinel-1 VV")
    figure.suptitle("Forward simulations vs Sentinel-1 across sites (cf. Rains et al. 2022, Fig. 1)")
    figure.savefig(path, dpi=100)
    return path


def pick_sites(content: StoreContent, count: int = 2) -> list:
    """The ``count`` sites with the most days of S1 and in situ (ties by site order)."""
    observations = _time_site(content.variable("observations", "backscatter"))
    insitu = _time_site(content.variable("insitu", "insitu_soil_moisture"))
    base = observations if observations is not None else insitu
    if base is None:
        ol = _time_site(content.variable("open_loop", "surface_soil_moisture"))
        if ol is None:
            return []
        base = ol
    score = np.isfinite(base.values).sum(axis=0).astype(float)
    if insitu is not None and observations is not None and insitu.sizes["site"] == observations.sizes["site"]:
        score += np.isfinite(insitu.values).sum(axis=0)
    order = np.argsort(-score, kind="stable")[:count]
    return [base["site"].values[i] if "site" in base.coords else int(i) for i in order]


def _select_site(array: xr.DataArray | None, site):
    if array is None:
        return None
    return array.sel(site=site) if "site" in array.coords else array.isel(site=int(site))


def figure_backscatter_sites(content: StoreContent, sites: list, path: Path) -> Path:
    """Paper Fig. 2: S1 observations vs WCM/SVR simulations, with LAI and open-loop SM."""
    observed = _time_site(content.variable("observations", "backscatter"))
    if observed is None or not sites:
        return _message_figure(path, "Fig. 2 not available: no Sentinel-1 observations in the store")
    lai = _time_site(content.variable("observations", "lai"))
    soil_moisture = _time_site(content.variable("open_loop", "surface_soil_moisture"))
    simulations = {}
    for op in OPERATORS:
        simulated = _time_site(content.variable("calibration", f"{op}_simulated_backscatter"))
        if simulated is None:  # fall back to the DA run's ensemble-mean prediction
            simulated = _time_site(content.variable(f"da_{op}", "predicted_backscatter"))
        if simulated is not None:
            simulations[op] = simulated
    figure = _new_figure(11, 3.2 * len(sites))
    axes = figure.subplots(len(sites), 1, squeeze=False)[:, 0]
    for axis, site in zip(axes, sites):
        obs = _select_site(observed, site)
        valid = np.isfinite(obs.values)
        axis.plot(obs["time"].values[valid], obs.values[valid], "k.", label="S1 VV observed")
        for op, simulated in simulations.items():
            sim = _select_site(simulated, site)
            axis.plot(sim["time"].values, sim.values, "-", lw=1, color=RUN_COLOURS[f"da_{op}"], label=f"{op.upper()} simulated")
        axis.set_ylabel("backscatter (dB)")
        axis.set_title(f"site {site}")
        twin = axis.twinx()
        if soil_moisture is not None:
            sm = _select_site(soil_moisture, site)
            twin.plot(sm["time"].values, sm.values, color="tab:brown", lw=0.8, alpha=0.8, label="open-loop SM (m3 m-3)")
        if lai is not None:
            leaf = _select_site(lai, site)
            scale = max(float(np.nanmax(leaf.values)), 1e-9) if np.isfinite(leaf.values).any() else 1.0
            twin.plot(leaf["time"].values, leaf.values / scale * 0.5, color="tab:green", lw=0.8, ls="--",
                      label=f"LAI / {scale:.2g} x 0.5")
        twin.set_ylabel("SM (m3 m-3), scaled LAI")
        lines = axis.get_legend_handles_labels()
        twin_lines = twin.get_legend_handles_labels()
        axis.legend(lines[0] + twin_lines[0], lines[1] + twin_lines[1], loc="upper left", fontsize="small", ncols=3)
    figure.suptitle("Sentinel-1 VV and forward simulations (cf. Rains et al. 2022, Fig. 2)")
    figure.savefig(path, dpi=100)
    return path


def figure_assimilation(content: StoreContent, validation: xr.Dataset, sites: list, path: Path) -> Path:
    """Paper Fig. 3: Delta R across sites; open loop, DA and in situ at two sites."""
    runs = {run: _time_site(content.variable(run, "surface_soil_moisture")) for run in content.runs}
    insitu = _time_site(content.variable("insitu", "insitu_soil_moisture"))
    truth = _time_site(content.variable("truth", "surface_soil_moisture"))
    if not runs:
        return _message_figure(path, "Fig. 3 not available: no model runs in the store")
    figure = _new_figure(11, 3.0 * (1 + len(sites)))
    axes = figure.subplots(1 + len(sites), 1, squeeze=False)[:, 0]
    deltas = {op.upper(): validation[f"delta_r_{op}"].values for op in OPERATORS if f"delta_r_{op}" in validation}
    _boxplot(axes[0], deltas, "Delta R = R_DA - R_OL (-)", "Change in R against in situ across sites")
    axes[0].axhline(0.0, color="k", lw=0.5)
    for axis, site in zip(axes[1:], sites):
        for run, values in runs.items():
            series = _select_site(values, site)
            axis.plot(series["time"].values, series.values, lw=1, color=RUN_COLOURS.get(run), label=RUN_LABELS.get(run, run))
        if truth is not None:
            series = _select_site(truth, site)
            axis.plot(series["time"].values, series.values, lw=0.8, ls="--", color=RUN_COLOURS["truth"], label="truth")
        if insitu is not None:
            series = _select_site(insitu, site)
            valid = np.isfinite(series.values)
            axis.plot(series["time"].values[valid], series.values[valid], "k.", ms=3, label="in situ")
        axis.set_ylabel("surface SM (m3 m-3)")
        axis.set_title(f"site {site}")
        axis.legend(loc="upper left", fontsize="small", ncols=4)
    figure.suptitle("Assimilation of Sentinel-1 backscatter (cf. Rains et al. 2022, Fig. 3)")
    figure.savefig(path, dpi=100)
    return path


# --- text -----------------------------------------------------------------------------------------
FIGURES = (
    ("fig1_forward_fit.png", "Fig. 1 analogue: forward simulations against Sentinel-1 across sites"),
    ("fig2_backscatter_sites.png", "Fig. 2 analogue: Sentinel-1 observations and WCM/SVR simulations at two sites"),
    ("fig3_assimilation.png", "Fig. 3 analogue: Delta R across sites; open loop, DA and in situ at two sites"),
)


def _notes(content: StoreContent) -> list[str]:
    notes = []
    for group in ("observations", "insitu", "open_loop", "da_wcm", "da_svr", "calibration", "validation"):
        if group not in content.groups:
            notes.append(f"group `{group}` is absent")
    for group in content.incomplete:
        notes.append(f"group `{group}` is INCOMPLETE (interrupted run): scores cover the days written so far")
    if "validation" in content.groups:
        notes.append("scores read from the store's `validation` group")
    elif content.runs:
        notes.append("the store has no `validation` group: scores computed by the report")
    return notes


def _summary_markdown(content: StoreContent, rows, notes: list[str], validation_attrs: dict) -> str:
    lines = [f"# {content.title}", ""]
    for key in ("experiment_name", "s1da_version", "seed_entropy"):
        if key in content.attrs:
            lines.append(f"- {key.replace('_', ' ')}: `{content.attrs[key]}`")
    lines += ["", "## Network summary", "", "| quantity | value | units |", "|---|---:|---|"]
    lines += [f"| {name} | {value} | {units} |" for name, value, units in rows]
    lines += ["", "## Figures", ""]
    lines += [f"![{caption}]({name})" for name, caption in FIGURES]
    if validation_attrs:
        lines += ["", "## Summaries recorded in the store", ""]
        lines += [f"- `{key}`: {value}" for key, value in sorted(validation_attrs.items())]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def _index_html(content: StoreContent, rows, notes: list[str]) -> str:
    escape = html.escape
    table = "\n".join(
        f"<tr><td>{escape(name)}</td><td style='text-align:right'>{escape(value)}</td><td>{escape(units)}</td></tr>"
        for name, value, units in rows
    )
    figures = "\n".join(
        f"<figure><img src='{escape(name)}' alt='{escape(caption)}' style='max-width:100%'>"
        f"<figcaption>{escape(caption)}</figcaption></figure>"
        for name, caption in FIGURES
    )
    note_items = "".join(f"<li>{escape(note)}</li>" for note in notes)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(content.title)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 8px}}</style></head>
<body><h1>{escape(content.title)}</h1>
<h2>Network summary</h2>
<table><tr><th>quantity</th><th>value</th><th>units</th></tr>
{table}
</table>
<h2>Figures</h2>
{figures}
<h2>Notes</h2><ul>{note_items}</ul>
<p>Summary as Markdown: <a href="summary.md">summary.md</a></p>
</body></html>
"""


# --- entry point ----------------------------------------------------------------------------------
def write_report(
    store_path: str | Path, output_dir: str | Path, *, partial: bool = False, protected: Sequence[str | Path] = ()
) -> Path:
    """Write figures, ``summary.md`` and ``index.html`` for a store; returns the index.html path.

    Written to a temporary directory beside ``output_dir`` and renamed into place; an existing
    ``output_dir`` is replaced only after the new report is complete, and only if it is an
    s1da report (it holds :data:`~s1da.framework.outputs.REPORT_MARKER`) or empty
    (:func:`~s1da.framework.outputs.check_replaceable`; the store and ``protected`` folders
    never).  ``partial`` marks a report of an incomplete store: PARTIAL in its title and first line.
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:  # pragma: no cover - matplotlib is the "plot" extra
        raise ImportError("the report needs matplotlib: pip install 's1da[plot]'") from error

    check_replaceable(output_dir, "report", protected=[store_path, *protected])
    content = read_store(store_path)
    content.partial = partial
    output_dir = Path(output_dir).resolve()
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.partial-", dir=output_dir.parent))
    try:
        validation = validation_dataset(content)
        sites = pick_sites(content)
        figure_forward_fit(validation, temporary / FIGURES[0][0])
        figure_backscatter_sites(content, sites, temporary / FIGURES[1][0])
        figure_assimilation(content, validation, sites, temporary / FIGURES[2][0])
        rows = network_summary(content, validation)
        notes = _notes(content)
        validation_attrs = {
            key: value
            for key, value in (content.groups["validation"].attrs if "validation" in content.groups else {}).items()
            if key not in ("complete", "group_kind")  # store bookkeeping, not results
        }
        (temporary / "summary.md").write_text(_summary_markdown(content, rows, notes, validation_attrs))
        (temporary / "index.html").write_text(_index_html(content, rows, notes))
        (temporary / REPORT_MARKER).write_text(f"s1da report of {Path(store_path).resolve()}\n")
        temporary.chmod(0o755)  # mkdtemp creates 0700
        if output_dir.exists():
            previous = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.old-", dir=output_dir.parent))
            previous.rmdir()
            output_dir.rename(previous)
            temporary.rename(output_dir)
            shutil.rmtree(previous, ignore_errors=True)
        else:
            temporary.rename(output_dir)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return output_dir / "index.html"
