"""Evaporative stress, GLEAM v3 (docs/model/gleam.md a.7, after Martens et al. 2017; DD-7).

* VOD* = clip((VOD - p01)/(p99 - p01), 0, 1).  DD-1: without VOD the same normalisation is
  applied to LAI with the site's LAI p01/p99 (LAI is an optical proxy for the vegetation water
  content that VOD senses; it saturates earlier and lags drought, so stress reacts less).
* Vegetation (T, H): S = sqrt(VOD*) g(w*), w* = the wettest accessible layer,
  g = 1 (w >= w_c), 1 - ((w_c - w)/(w_c - w_wp))^2 (w_wp < w < w_c), 0 (w <= w_wp).
* Bare soil: S_B = clip((w_B1 - w_r)/(w_c - w_r), 0, 1).
"""

from __future__ import annotations

import numpy as np

from .pointwise import clip, jitable, maximum


@jitable
def normalised_vegetation_index(value, p01, inverse_range):
    """VOD* = clip((VOD - p01) / (p99 - p01), 0, 1) (or LAI*, DD-1) (docs/model/gleam.md a.7).

    ``inverse_range`` = 1 / (p99 - p01), a per-site constant (``kernel.site_record``)."""
    return clip((value - p01) * inverse_range, 0.0, 1.0)


@jitable
def water_availability(wettest, critical, inverse_range):
    """g(w*) = 1 - clip((w_c - w*) / (w_c - w_wp), 0, 1)^2 (docs/model/gleam.md a.7, quadratic form).

    ``inverse_range`` = 1 / (w_c - w_wp)."""
    deficit = clip((critical - wettest) * inverse_range, 0.0, 1.0)
    return 1.0 - deficit * deficit


@jitable
def wettest_layer(moisture, first, count):
    """max_l w_l over the layers ``first:first + count`` of the layer-first ``moisture``."""
    wettest = moisture[first]
    for layer in range(first + 1, first + count):
        wettest = maximum(wettest, moisture[layer])
    return wettest


@jitable
def vegetation_stress(moisture, first, count, vegetation_index, critical, inverse_range):
    """S_k = sqrt(VOD*) g(max_l w_l) for k in {T, H}, layers ``first:first + count`` of the
    layer-first ``moisture``; ``inverse_range`` = 1 / (w_c - w_wp)."""
    return np.sqrt(vegetation_index) * water_availability(wettest_layer(moisture, first, count), critical, inverse_range)


@jitable
def bare_soil_stress(surface_moisture, residual, inverse_range):
    """S_B = clip((w_B1 - w_r)/(w_c - w_r), 0, 1) (docs/model/gleam.md a.7); ``inverse_range`` = 1 / (w_c - w_r)."""
    return clip((surface_moisture - residual) * inverse_range, 0.0, 1.0)
