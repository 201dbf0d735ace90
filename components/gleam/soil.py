"""Multi-layer soil water balance per land-cover fraction (MODEL_SPEC a.9).

Storages ``s_l = w_l dz_l`` in mm; arrays ``(..., layer)``.  Per fraction and day:

1. extraction of the evaporation demand, wettest layer first (DD-9), each layer down to its
   lower bound (w_wp for vegetation, w_r for bare soil); condensation (negative demand) enters
   layer 1;
2. infiltration of the net input F_k into layer 1 (no surface runoff, src G1);
3. cascade drainage: ``s_l += q_{l-1}; q_l = max(kappa (s_l - w_fc dz_l), s_l - w_sat dz_l, 0);
   s_l -= q_l``; D_k = q_L leaves the column (DD-10 for kappa).

Each step moves water between named places only, so ``sum_l s_l`` changes by exactly
``F_k - E_k - D_k`` up to floating-point round-off.
"""

from __future__ import annotations

import attrs
import numpy as np
from attrs import validators as v

TALL_LAYER_THICKNESS = (100.0, 900.0, 1500.0)
SHORT_LAYER_THICKNESS = (100.0, 900.0)
BARE_LAYER_THICKNESS = (100.0,)


TIE_TOLERANCE = 1e-12
"""m3 m-3: layers whose w differ by less are tied and the upper one is extracted first (DD-9).

Without it the order of layers at (numerically) the same w, e.g. all at w_fc after drainage,
would be decided by the last bit of w dz / dz, and two correct kernels could disagree."""


def wettest_first_order(moisture, tie=TIE_TOLERANCE):
    """Layer indices (..., L) by decreasing w; a layer moves above another only if wetter by > ``tie``.

    A stable insertion sort written out for L <= 3 (the numba kernel repeats it line by line);
    deeper profiles fall back to a stable argsort without tolerance.
    """
    n_layer = moisture.shape[-1]
    shape = moisture.shape[:-1]
    if n_layer > 3:
        return np.argsort(-moisture, axis=-1, kind="stable")
    w = [moisture[..., i] for i in range(n_layer)]
    o0 = np.zeros(shape, dtype=np.intp)
    o1 = np.ones(shape, dtype=np.intp)
    o2 = np.full(shape, 2, dtype=np.intp)
    if n_layer >= 2:
        swap = w[1] > w[0] + tie
        o0, o1 = np.where(swap, 1, 0), np.where(swap, 0, 1)
    if n_layer == 3:
        stacked = np.stack(w, axis=-1)
        pick = lambda o: np.take_along_axis(stacked, o[..., None], axis=-1)[..., 0]  # noqa: E731
        swap = w[2] > pick(o1) + tie
        o1, o2 = np.where(swap, 2, o1), np.where(swap, o1, 2)
        swap = swap & (pick(o1) > pick(o0) + tie)
        o0, o1 = np.where(swap, o1, o0), np.where(swap, o0, o1)
    return np.stack([o0, o1, o2][:n_layer], axis=-1)


@attrs.frozen
class SoilParameters:
    """Drainage rate of water above field capacity (MODEL_SPEC a.9.3, DD-10)."""

    drainage_fraction: float = attrs.field(default=1.0, validator=v.and_(v.gt(0.0), v.le(1.0)), metadata={"units": "d-1"})


def extract_wettest_first(storage, demand, thickness, lower_bound, moisture=None):
    """Take ``demand`` (mm, >= 0) from the layers in order of decreasing w (DD-9).

    ``storage`` (..., L) mm; ``thickness`` (L,) mm; ``lower_bound`` volumetric, broadcasting to
    ``storage[..., 0]``.  Returns (new storage, extracted mm).  Layers already below their lower
    bound give nothing and are left untouched (MODEL_SPEC a.9.4).  Ties keep the upper layer first.
    """
    thickness = np.asarray(thickness, dtype=float)
    n_layer = thickness.size
    storage = storage.copy()
    remaining = np.array(demand, dtype=float, copy=True)
    if n_layer == 1:
        available = np.maximum(storage[..., 0] - lower_bound * thickness[0], 0.0)
        take = np.minimum(remaining, available)
        storage[..., 0] -= take
        return storage, take
    if moisture is None:
        moisture = storage / thickness
    order = wettest_first_order(moisture)
    for rank in range(n_layer):
        index = order[..., rank : rank + 1]
        layer_storage = np.take_along_axis(storage, index, axis=-1)[..., 0]
        layer_thickness = thickness[index[..., 0]]
        available = np.maximum(layer_storage - lower_bound * layer_thickness, 0.0)
        take = np.minimum(remaining, available)
        np.put_along_axis(storage, index, (layer_storage - take)[..., None], axis=-1)
        remaining = remaining - take
    return storage, np.asarray(demand, dtype=float) - remaining


def infiltrate_and_drain(storage, net_input, thickness, field_capacity, saturation, drainage_fraction=1.0):
    """Add ``net_input`` (mm, >= 0) to layer 1 and cascade the excess down (MODEL_SPEC a.9.2-3).

    Returns (new storage, deep drainage mm).
    """
    storage = storage.copy()
    flux = np.asarray(net_input, dtype=float)
    for layer, dz in enumerate(thickness):
        s = storage[..., layer] + flux
        flux = np.maximum(np.maximum(drainage_fraction * (s - field_capacity * dz), s - saturation * dz), 0.0)
        storage[..., layer] = s - flux
    return storage, flux


def fraction_water_balance(
    moisture, evaporation_demand, net_input, thickness, lower_bound, field_capacity, saturation, drainage_fraction
):
    """One day of MODEL_SPEC a.9 for one fraction, from the start-of-day ``moisture`` (..., L).

    ``evaporation_demand`` may be negative (condensation, added to layer 1).  Returns
    (storage, actual evaporation, deep drainage), all mm.
    """
    demand = np.maximum(evaporation_demand, 0.0)
    condensation = np.maximum(-evaporation_demand, 0.0)
    storage = moisture * thickness
    storage, extracted = extract_wettest_first(storage, demand, thickness, lower_bound, moisture)
    storage[..., 0] += condensation
    storage, drainage = infiltrate_and_drain(storage, net_input, thickness, field_capacity, saturation, drainage_fraction)
    return storage, extracted - condensation, drainage
