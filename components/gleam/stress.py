"""Evaporative stress, GLEAM v3 (MODEL_SPEC a.7, after Martens et al. 2017; DD-7).

* VOD* = clip((VOD - p01)/(p99 - p01), 0, 1).  DD-1: without VOD the same normalisation is
  applied to LAI with the site's LAI p01/p99 (LAI is an optical proxy for the vegetation water
  content that VOD senses; it saturates earlier and lags drought, so stress reacts less).
* Vegetation (T, H): S = sqrt(VOD*) g(w*), w* = the wettest accessible layer,
  g = 1 (w >= w_c), 1 - ((w_c - w)/(w_c - w_wp))^2 (w_wp < w < w_c), 0 (w <= w_wp).
* Bare soil: S_B = clip((w_B1 - w_r)/(w_c - w_r), 0, 1).
"""

from __future__ import annotations

import numpy as np


def normalised_vegetation_index(value, p01, p99):
    """VOD* (or LAI*, DD-1) in [0, 1] (MODEL_SPEC a.7)."""
    return np.clip((value - p01) / (p99 - p01), 0.0, 1.0)


def water_availability(wettest, critical, wilting):
    """g(w*) in [0, 1] (MODEL_SPEC a.7, quadratic form)."""
    deficit = np.clip((critical - wettest) / (critical - wilting), 0.0, 1.0)
    return 1.0 - deficit * deficit


def vegetation_stress(layer_moisture, vegetation_index, critical, wilting):
    """S_k = sqrt(VOD*) g(max_l w_l) for k in {T, H}; ``layer_moisture`` (..., layer)."""
    return np.sqrt(vegetation_index) * water_availability(layer_moisture.max(axis=-1), critical, wilting)


def bare_soil_stress(surface_moisture, critical, residual):
    """S_B = clip((w_B1 - w_r)/(w_c - w_r), 0, 1) (MODEL_SPEC a.7)."""
    return np.clip((surface_moisture - residual) / (critical - residual), 0.0, 1.0)
