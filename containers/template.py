"""A complete, commented experiment YAML written from the registry (``s1da config init``).

Every option of the chosen kinds is written with its default and a comment giving its type,
units and doc, so the file documents itself and runs as it is; the other kinds of each layer
are named in a comment above its section (``s1da kinds`` lists their options).
"""

from __future__ import annotations

from typing import Any

import yaml

from s1da.containers.catalogue import options
from s1da.containers.registry import Registry

SOURCES = ("twin", "files")

_EXPERIMENT = (
    ("name", "my_experiment", "label of the experiment (store attributes, report)"),
    ("seed", 20180101, "entropy of every random stream (recorded in the store); remove to draw one"),
    ("members", 16, "ensemble size (Rains et al. 2022 use 32)"),
    ("spinup_start", "2018-01-01", "first day of the perturbed spin-up"),
    ("start", "2018-04-01", "first day of the open loop and DA runs"),
    ("end", "2018-07-31", "last day (inclusive)"),
    ("chunk_days", 32, "days per store chunk and checkpoint"),
    ("min_samples", 10, "matched days a site needs to be scored"),
)

# choices that make the template small enough to run in about a minute, or that a kind requires
_CHOSEN = {
    "twin": {"n_sites": 4, "truth_spinup_years": 0},
    "files": {
        "base_dir": "experiments/real_sites_example/data",
        "sites": "sites.csv",
        "forcing.path": "forcing/{name}.*",
        "sentinel1.path": "sentinel1/{name}.csv",
        "lai.path": "lai/{name}.csv",
        "insitu.path": "ismn/{name}",
    },
    "svr": {"c_grid": (1.0, 10.0), "gamma_grid": (0.1, 1.0)},
}

_HEADERS = {
    "twin": "synthetic twin network: the truth, S1 and in situ are simulated (no files needed)",
    "files": "your own files; the example data: python experiments/real_sites_example/make_files.py",
}


def _scalar(value: Any) -> str:
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, dict):
        value = dict(value)
    return yaml.safe_dump(value, default_flow_style=True, width=1000).strip().removesuffix("...").strip()


def _comment(option) -> str:
    parts = [option.type]
    if option.units:
        parts.append(f"[{option.units}]")
    text = " ".join(parts)
    return f"{text}: {option.doc}" if option.doc else text


def _section_lines(parameters: type, chosen: dict[str, Any], indent: str) -> list[str]:
    """Nested YAML of every option: groups become mappings, each key commented."""
    lines: list[str] = []
    opened: list[str] = []
    for option in options(parameters):
        *groups, key = option.key.split(".")
        common = 0
        while common < min(len(groups), len(opened)) and groups[common] == opened[common]:
            common += 1
        opened = opened[:common]
        for group in groups[common:]:
            lines.append(f"{indent}{'  ' * len(opened)}{group}:")
            opened.append(group)
        value = chosen.get(option.key, None if option.required else option.default)
        lines.append(f"{indent}{'  ' * len(opened)}{key}: {_scalar(value)}  # {_comment(option)}")
    return lines


def _component(registry: Registry, layer: str, kind: str, title: str, indent: str = "  ") -> list[str]:
    others = [name for name in registry.kinds(layer) if name != kind]
    component = registry.get(layer, kind)
    lines = [f"{title}:"] if title else []
    note = f"  # other kinds: {', '.join(others)} (s1da kinds {layer})" if others else ""
    lines.append(f"{indent}kind: {kind}{note}")
    header = _HEADERS.get(kind, component.summary)
    lines.insert(0, f"# {header}")
    lines.extend(_section_lines(component.parameters, _CHOSEN.get(kind, {}), indent))
    return lines


def config_template(registry: Registry, source: str = "twin") -> str:
    """The text of a complete experiment YAML with the ``source`` kind chosen."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    lines = [
        "# s1da experiment: written by `s1da config init`; every option with its default.",
        "# Run it:  s1da run this.yaml --output this.zarr   (s1da kinds: every kind and option)",
        "experiment:",
    ]
    lines += [f"  {key}: {_scalar(value)}  # {doc}" for key, value, doc in _EXPERIMENT]
    for layer, kind in (("source", source), ("model", "gleam"), ("perturbation", "forcing"), ("filter", "denkf")):
        lines += ["", *_component(registry, layer, kind, layer)]
    lines += ["", "# observation operators: one DA run da_<label> per entry", "operators:"]
    for label in ("wcm", "svr"):
        block = _component(registry, "operator", label, f"  {label}", indent="    ")
        lines += [f"  {block[0]}", *block[1:]]
    return "\n".join(lines) + "\n"
