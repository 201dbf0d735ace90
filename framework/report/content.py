"""What the report reads from a store: groups, the runs and operators found there, the settings.

Nothing is hard-coded about operators: every ``da_<label>`` run group and every
``<label>_simulated_backscatter`` of the calibration group is an operator, and the run labels
come from the groups themselves.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr
import yaml

OPEN_LOOP = "open_loop"
DA_PREFIX = "da_"
SIMULATED_SUFFIX = "_simulated_backscatter"


@dataclass
class StoreContent:
    """What the report found in a store (absent groups are simply missing from ``groups``)."""

    path: Path
    attrs: dict = field(default_factory=dict)
    groups: dict[str, xr.Dataset] = field(default_factory=dict)
    validation: dict[str, xr.Dataset] = field(default_factory=dict)
    validation_attrs: dict = field(default_factory=dict)
    incomplete: list[str] = field(default_factory=list)

    def variable(self, group: str, name: str) -> xr.DataArray | None:
        dataset = self.groups.get(group)
        if dataset is None or name not in dataset:
            return None
        return dataset[name]

    @property
    def runs(self) -> list[str]:
        """The open loop first, then every DA run in store order."""
        found = [name for name in self.groups if name == OPEN_LOOP or name.startswith(DA_PREFIX)]
        configured = [f"{DA_PREFIX}{label}" for label in (self.config.get("operators") or {})]

        def order(name: str) -> tuple:  # open loop, then the configuration's operator order
            return (name != OPEN_LOOP, configured.index(name) if name in configured else len(configured), name)

        return sorted(found, key=order)

    @property
    def da_runs(self) -> list[str]:
        return [run for run in self.runs if run != OPEN_LOOP]

    @property
    def operators(self) -> list[str]:
        """Operator labels: of the DA runs, then of calibrated operators without a DA run."""
        labels = [run[len(DA_PREFIX):] for run in self.da_runs]
        calibration = self.groups.get("calibration")
        if calibration is not None:
            for name in calibration.data_vars:
                if name.endswith(SIMULATED_SUFFIX) and name[: -len(SIMULATED_SUFFIX)] not in labels:
                    labels.append(name[: -len(SIMULATED_SUFFIX)])
        return labels

    @property
    def gridded(self) -> bool:
        """True for stores of gridded runs ``(time, member, y, x)``."""
        return any({"y", "x"} <= set(dataset.dims) for dataset in self.groups.values())

    @property
    def config(self) -> dict:
        try:
            parsed = yaml.safe_load(self.attrs.get("config") or "") or {}
        except yaml.YAMLError:
            return {}
        return parsed if isinstance(parsed, dict) else {}

    def site_label(self, site) -> str:
        """The site's name from the site table when the store has one, else ``site <id>``."""
        for group in ("observations", OPEN_LOOP, "insitu"):
            dataset = self.groups.get(group)
            if dataset is not None and "site_name" in dataset.coords and "site" in dataset.coords:
                name = str(dataset["site_name"].sel(site=site).values)
                if name and name != str(site):
                    return f"{name} (site {site})"
        return f"site {site}"


def run_label(run: str) -> str:
    """Display name of a run group: ``open loop``, ``DA-WCM``, ..."""
    if run == OPEN_LOOP:
        return "open loop"
    if run.startswith(DA_PREFIX):
        return f"DA-{run[len(DA_PREFIX):].upper()}"
    return run


def _open_group(path: Path, name: str, complete: bool) -> xr.Dataset:
    """A group, through the consolidated metadata only when the store is finished (before, the
    consolidated copy may lag behind the groups being written)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # consolidated-metadata fallback of older stores
        return xr.open_zarr(str(path), group=name, consolidated=None if complete else False)


def read_store(store_path: str | Path) -> StoreContent:
    """Open every group of a store lazily; the ``validation`` tree's tables are loaded."""
    import zarr

    path = Path(store_path)
    if not (path / "zarr.json").is_file():
        raise FileNotFoundError(f"{path} is not a Zarr v3 store (no zarr.json at its root)")
    root = zarr.open_group(str(path), mode="r", use_consolidated=False)
    content = StoreContent(path=path, attrs=dict(root.attrs))
    complete = bool(content.attrs.get("complete", False))
    for name, group in root.groups():
        kind = group.attrs.get("group_kind")
        if kind == "state" or name.startswith("restart_slot"):
            continue
        if not group.attrs.get("complete", True):
            content.incomplete.append(name)
        if name == "validation":
            content.validation_attrs = {k: v for k, v in group.attrs.items() if k not in ("complete", "group_kind")}
            for child, _ in group.groups():
                content.validation[child] = _open_group(path, f"validation/{child}", complete).load()
            continue
        content.groups[name] = _open_group(path, name, complete)
    return content


# --- settings ------------------------------------------------------------------------------------
def _options(section: dict) -> str:
    parameters = section.get("parameters", {k: v for k, v in section.items() if k != "kind"})
    flat = []
    for key, value in (parameters or {}).items():
        if isinstance(value, (dict, list)) and len(str(value)) > 40:
            continue  # nested tables belong to the config dump, not to the headline
        flat.append(f"{key}={value}")
    return ", ".join(flat)


def settings(content: StoreContent) -> list[tuple[str, str]]:
    """(setting, value) rows for the head of the report, from the store's root attributes."""
    config = content.config
    experiment = config.get("experiment", {}) or {}
    rows = [("experiment", str(content.attrs.get("experiment_name", experiment.get("name", "?"))))]
    rows.append(("source", str(content.attrs.get("source", (config.get("source") or {}).get("kind", "?")))))
    open_loop = content.groups.get(OPEN_LOOP)
    members = experiment.get("members", open_loop.sizes.get("member") if open_loop is not None else None)
    rows.append(("members", str(members if members is not None else "?")))
    filter_section = config.get("filter") or {}
    if filter_section:
        options = _options(filter_section)
        rows.append(("filter", f"{filter_section.get('kind', '?')}" + (f" ({options})" if options else "")))
    operator_sections = config.get("operators") or {}
    operators = []
    for label in content.operators:
        kind = (operator_sections.get(label) or {}).get("kind", "?")
        operators.append(label if kind == label else f"{label} ({kind})")
    rows.append(("operators", ", ".join(operators) or "none"))
    perturbation = config.get("perturbation") or {}
    if perturbation:
        options = _options(perturbation)
        rows.append(("perturbations", f"{perturbation.get('kind', '?')}" + (f" ({options})" if options else "")))
    period = _period(content)
    if period:
        rows.append(("period", period))
    if experiment.get("spinup_start"):
        rows.append(("spin-up from", str(experiment["spinup_start"])))
    rows.append(("seed", str(content.attrs.get("seed_entropy", experiment.get("seed", "?")))))
    rows.append(("s1da version", str(content.attrs.get("s1da_version", "?"))))
    return rows


def _period(content: StoreContent) -> str:
    for group in (OPEN_LOOP, "observations"):
        dataset = content.groups.get(group)
        if dataset is not None and "time" in dataset.coords and dataset.sizes.get("time"):
            times = dataset["time"].values
            return f"{np.datetime_as_string(times[0], unit='D')} to {np.datetime_as_string(times[-1], unit='D')} ({times.size} days)"
    return ""


# --- calibration warnings ------------------------------------------------------------------------
_SITE_PREFIX = re.compile(r"^(?P<operator>\S+) site (?P<site>\S+)(?: \([^)]*\))?: (?P<message>.*)$")


def calibration_warnings(content: StoreContent) -> list[tuple[str, str, str, str]]:
    """(operator, site, kind, message) for every warning the calibration recorded.

    The kind is the message without its site prefix and trailing parenthesis of values, e.g.
    ``parameter(s) D on their bounds``.
    """
    calibration = content.groups.get("calibration")
    if calibration is None:
        return []
    rows = []
    for label in content.operators:
        for message in calibration.attrs.get(f"{label}_warnings", []) or []:
            match = _SITE_PREFIX.match(str(message))
            site, text = (match["site"], match["message"]) if match else ("", str(message))
            kind = re.sub(r"\s*\([^()]*(\([^()]*\)[^()]*)*\)\s*$", "", text).strip() or text
            rows.append((label, site, kind, text))
    order = {label: i for i, label in enumerate(content.operators)}
    return sorted(rows, key=lambda row: (order[row[0]], int(row[1]) if row[1].isdigit() else 0, row[1]))
