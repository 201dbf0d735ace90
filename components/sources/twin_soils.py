"""Soil textures of the twin network and their hydraulic parameters (docs/model/gleam.md a.11).

The model run uses the table values of a site's texture.  The truth run uses "its own
parameters" (docs/architecture.md, twin experiments): the table values with per-site multiplicative jitter
applied to the *increments* w_wp, w_c - w_wp, w_fc - w_c, w_sat - w_fc, so the order
w_r < w_wp < w_c < w_fc < w_sat (docs/model/gleam.md a.11) always holds.  w_r = 0.5 w_wp (DD-11).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from s1da.components.gleam.statics import RESIDUAL_TO_WILTING, SOIL_TEXTURES
from s1da.framework.randomness import Purpose

from .twin_random import INDEPENDENT, Draws, Substream, normal_from_uniform

TEXTURE_WEIGHTS: dict[str, float] = {
    # share of sites per texture (loams dominate European agricultural soils; a design choice)
    "sand": 0.05,
    "loamy sand": 0.07,
    "sandy loam": 0.15,
    "loam / silt": 0.20,  # the spec's row name
    "silt loam": 0.17,
    "sandy clay loam": 0.08,
    "clay loam": 0.10,
    "silty clay loam": 0.07,
    "sandy clay": 0.03,
    "silty clay": 0.03,
    "clay": 0.05,
}

TRUTH_JITTER = 0.10  # log-SD of the multiplicative jitter of the truth's parameter increments

SOIL_PARAMETER_NAMES = ("w_sat", "w_fc", "w_c", "w_wp", "w_r")
SOIL_PARAMETER_LONG_NAMES = {
    "w_sat": "soil moisture at saturation (porosity)",
    "w_fc": "soil moisture at field capacity",
    "w_c": "critical soil moisture (onset of evaporative stress)",
    "w_wp": "soil moisture at wilting point",
    "w_r": "residual soil moisture (bare-soil extraction limit)",
}


def soil_parameters(textures: np.ndarray) -> dict[str, np.ndarray]:
    """Table parameters (m3 m-3) for an array of texture names, w_r = 0.5 w_wp (DD-11)."""
    unknown = sorted(set(np.asarray(textures).tolist()) - set(SOIL_TEXTURES))
    if unknown:
        raise KeyError(f"unknown soil texture(s) {unknown}; known: {sorted(SOIL_TEXTURES)}")
    table = np.array([SOIL_TEXTURES[t] for t in np.asarray(textures).tolist()]).reshape(-1, 4)
    w_sat, w_fc, w_c, w_wp = table.T
    return {"w_sat": w_sat, "w_fc": w_fc, "w_c": w_c, "w_wp": w_wp, "w_r": RESIDUAL_TO_WILTING * w_wp}


def draw_soils(entropy: int, site_ids: np.ndarray, draws: Draws = INDEPENDENT) -> xr.Dataset:
    """Texture per site, its table parameters and the truth run's jittered parameters."""
    names = list(TEXTURE_WEIGHTS)
    cumulative = np.cumsum([TEXTURE_WEIGHTS[n] for n in names])
    uniforms = draws.static(entropy, site_ids, Purpose.TWIN_STATIC, Substream.SOIL, 5)
    choice = np.minimum(np.searchsorted(cumulative, uniforms[:, 0] * cumulative[-1], side="right"), len(names) - 1)
    textures = np.array([names[i] for i in choice], dtype=object)
    table = soil_parameters(textures)

    # truth parameters: jitter the positive increments (keeps the order exact)
    jitter = np.exp(TRUTH_JITTER * normal_from_uniform(uniforms[:, 1:5]))
    increments = np.stack(
        [table["w_wp"], table["w_c"] - table["w_wp"], table["w_fc"] - table["w_c"], table["w_sat"] - table["w_fc"]],
        axis=1,
    )
    truth = np.cumsum(increments * jitter, axis=1)
    truth_values = {"w_wp": truth[:, 0], "w_c": truth[:, 1], "w_fc": truth[:, 2], "w_sat": truth[:, 3]}
    truth_values["w_r"] = RESIDUAL_TO_WILTING * truth_values["w_wp"]

    data = {"texture": ("site", textures.astype(str), {"units": "1", "long_name": "soil texture class (docs/model/gleam.md a.11)"})}
    for name in SOIL_PARAMETER_NAMES:
        attrs = {"units": "m3 m-3", "long_name": SOIL_PARAMETER_LONG_NAMES[name]}
        data[name] = ("site", table[name], attrs)
        data[f"truth_{name}"] = ("site", truth_values[name], {**attrs, "long_name": attrs["long_name"] + " (truth run)"})
    return xr.Dataset(data)
