"""Multi-layer soil water balance per land-cover fraction (docs/model/gleam.md a.9).

Storages ``s_l = w_l dz_l`` in mm, a tuple (s_1, s_2, s_3) per fraction, top first: each entry a
``(member, site)`` array in the numpy kernel and a float in the compiled one (``pointwise.py``);
functions return the new storages instead of writing them.  Per fraction and day:

1. extraction of the evaporation demand, each layer down to its lower bound (w_wp for
   vegetation, w_r for bare soil), in the order of ``SoilParameters.extraction_order``:
   ``"wettest_first"`` (GLEAM v3, Martens et al. 2017; DD-9, the default), ``"top_down"`` (upper
   layer first) or ``"proportional"`` (each layer gives in proportion to its available water);
   condensation (negative demand) enters layer 1;
2. infiltration of the net input F_k into layer 1 (no surface runoff, src G1);
3. drainage, ``SoilParameters.drainage``:

   * ``"cascade"`` (GLEAM, the default): ``s_l += q_{l-1}; q_l = max(kappa (s_l - w_fc dz_l),
     s_l - w_sat dz_l, 0); s_l -= q_l`` (DD-10 for kappa; kappa = 1 drains everything above field
     capacity within the day);
   * ``"gravity"``: free drainage through the unsaturated hydraulic conductivity
     K(w) = K_sat (w / w_sat)^(2b + 3) (Campbell 1974; Clapp & Hornberger 1978, with b and K_sat
     by texture from their Table 2, see ``statics.py``) under a unit hydraulic gradient.  Each
     layer first passes any excess over saturation down, then drains for the day by the exact
     solution of dz dw/dt = -K(w):  u(1 d) = (u0^(1-c) + (c - 1) K_sat 1 d / (dz w_sat))^(1/(1-c)),
     u = w / w_sat, c = 2b + 3, so a wet 10 cm layer drains over days (fast at first, ever more
     slowly) instead of falling to field capacity within one day; never below its lower bound.

   Why the cascade stays the default: it is GLEAM's published scheme (Miralles et al. 2011;
   Martens et al. 2017), which this model reproduces.  The gravity scheme is an option for
   experiments that need the soil to keep a wet anomaly for longer: with kappa = 1 the cascade
   drains everything above field capacity within the day (``tests/test_gleam_drainage.py``), so
   an ensemble's spread above field capacity is gone by the next day.

Each step moves water between named places only, and every flux is a difference of the
storages it leaves, so ``sum_l s_l`` changes by exactly ``F_k - E_k - D_k`` up to round-off.
"""

from __future__ import annotations

from typing import NamedTuple

import attrs
from attrs import validators as v

from .pointwise import jitable, maximum, minimum, where

TALL_LAYER_THICKNESS = (100.0, 900.0, 1500.0)
SHORT_LAYER_THICKNESS = (100.0, 900.0)
BARE_LAYER_THICKNESS = (100.0,)

DRAINAGE_SCHEMES = ("cascade", "gravity")
EXTRACTION_ORDERS = ("wettest_first", "top_down", "proportional")

TIE_TOLERANCE = 1e-12
"""m3 m-3: layers whose w differ by less are tied and the upper one is extracted first (DD-9).

Without it the order of layers at (numerically) the same w, e.g. all at w_fc after drainage,
would be decided by the last bit of w dz / dz, and two correct kernels could disagree."""


@attrs.frozen
class SoilParameters:
    """Drainage and extraction of the soil water balance (docs/model/gleam.md a.9, DD-9, DD-10)."""

    drainage_fraction: float = attrs.field(
        default=1.0, validator=v.and_(v.gt(0.0), v.le(1.0)), metadata={"units": "d-1", "doc": "kappa of the cascade"}
    )
    drainage: str = attrs.field(
        default="cascade", validator=v.in_(DRAINAGE_SCHEMES), metadata={"units": "1", "doc": "drainage scheme"}
    )
    extraction_order: str = attrs.field(
        default="wettest_first", validator=v.in_(EXTRACTION_ORDERS), metadata={"units": "1", "doc": "extraction order"}
    )

    def record(self):
        """The numbers the kernels read: options as their index in DRAINAGE_SCHEMES / EXTRACTION_ORDERS."""
        return SoilRecord(
            self.drainage_fraction, DRAINAGE_SCHEMES.index(self.drainage), EXTRACTION_ORDERS.index(self.extraction_order)
        )


class SoilRecord(NamedTuple):
    """Numba-compatible form of :class:`SoilParameters` (options as indices)."""

    drainage_fraction: float
    drainage: int
    extraction_order: int


CASCADE, GRAVITY = 0, 1
WETTEST_FIRST, TOP_DOWN, PROPORTIONAL = 0, 1, 2


@jitable
def wettest_first_order(moisture, first, count):
    """Layer indices (o0, o1, o2) of ``moisture[first:first + count]`` by decreasing w (count <= 3).

    ``moisture`` is layer first.  A stable insertion sort: a layer moves above another only if
    wetter by > TIE_TOLERANCE, so ties keep the upper layer first.  Entries beyond ``count`` are
    unused.  The moisture of the layers placed so far is carried along with their indices (no
    per-point indexing).
    """
    o0, o1, o2 = first, first + 1, first + 2
    if count >= 2:
        w0, w1 = moisture[first], moisture[first + 1]
        swap = w1 > w0 + TIE_TOLERANCE
        o0, o1 = where(swap, first + 1, first), where(swap, first, first + 1)
        w_o0, w_o1 = where(swap, w1, w0), where(swap, w0, w1)
        if count == 3:
            swap = moisture[first + 2] > w_o1 + TIE_TOLERANCE
            o1, o2 = where(swap, first + 2, o1), where(swap, o1, first + 2)
            swap = swap & (moisture[first + 2] > w_o0 + TIE_TOLERANCE)
            o0, o1 = where(swap, o1, o0), where(swap, o0, o1)
    return o0, o1, o2


@jitable
def extraction_order(moisture, first, count, option):
    """(o0, o1, o2): the order in which layers give water (``SoilParameters.extraction_order``)."""
    if option == WETTEST_FIRST:
        return wettest_first_order(moisture, first, count)
    return first, first + 1, first + 2


@jitable
def of_layer(layer, v0, v1, v2):
    """``v_layer`` for the (per-point) ``layer`` in 0..2: a select, no indexing."""
    return where(layer == 0, v0, where(layer == 1, v1, v2))


@jitable
def available_water(storage, thickness, lower_bound, count):
    """(a0, a1, a2): mm above ``lower_bound * dz`` per layer of ``storage`` (0 beyond ``count``)."""
    a0 = maximum(storage[0] - lower_bound * thickness[0], 0.0)
    a1 = maximum(storage[1] - lower_bound * thickness[1], 0.0) if count >= 2 else 0.0 * a0
    a2 = maximum(storage[2] - lower_bound * thickness[2], 0.0) if count >= 3 else 0.0 * a0
    return a0, a1, a2


@jitable
def extract_in_order(storage, demand, thickness, lower_bound, order, count):
    """Take ``demand`` (mm, >= 0) from the fraction's ``storage`` (s0, s1, s2), layer ``order[0]`` first.

    Each layer gives down to ``lower_bound * dz``; a layer already below gives nothing and is left
    untouched (docs/model/gleam.md a.9.4).  Returns the new (s0, s1, s2) and the extracted mm.
    """
    a0, a1, a2 = available_water(storage, thickness, lower_bound, count)
    o0, o1, o2 = order
    first = minimum(demand, of_layer(o0, a0, a1, a2))
    remaining = demand - first
    second = 0.0 * first
    third = 0.0 * first
    if count >= 2:
        second = minimum(remaining, of_layer(o1, a0, a1, a2))
        remaining = remaining - second
    if count >= 3:
        third = minimum(remaining, of_layer(o2, a0, a1, a2))
        remaining = remaining - third
    new = (
        storage[0] - where(o0 == 0, first, where(o1 == 0, second, third)),
        storage[1] - where(o0 == 1, first, where(o1 == 1, second, third)),
        storage[2] - where(o0 == 2, first, where(o1 == 2, second, third)),
    )
    return new, demand - remaining


@jitable
def extract_proportionally(storage, demand, thickness, lower_bound, count):
    """Take ``demand`` (mm, >= 0) from the layers in proportion to their available water; returns
    the new (s0, s1, s2) and the extracted mm."""
    a0, a1, a2 = available_water(storage, thickness, lower_bound, count)
    total = a0 + a1 + a2
    share = where(total > 0.0, minimum(demand, total) / maximum(total, 1e-300), 0.0)
    new = (storage[0] - share * a0, storage[1] - share * a1, storage[2] - share * a2)
    return new, share * a0 + share * a1 + share * a2


@jitable
def cascade_layer(storage, inflow, thickness, field_capacity, saturation, drainage_fraction):
    """One layer of the cascade (a.9.2-3): (new storage, q) with q = max(kappa (s - w_fc dz), s - w_sat dz, 0)."""
    s = storage + inflow
    flux = maximum(maximum(drainage_fraction * (s - field_capacity * thickness), s - saturation * thickness), 0.0)
    return s - flux, flux


@jitable
def gravity_drained_storage(storage, thickness, saturation, exponent, conductivity, lower_storage):
    """Storage (mm) after one day of free drainage at K(w) = K_sat (w/w_sat)^c (module docstring).

    ``exponent`` c = 2b + 3, ``conductivity`` K_sat mm d-1; never below ``lower_storage`` unless
    it started there.
    """
    full = saturation * thickness
    relative = maximum(storage / full, 0.0)
    rate = (exponent - 1.0) * conductivity / full  # (c - 1) K_sat dt / (dz w_sat), dt = 1 d
    drained = full * (relative ** (1.0 - exponent) + rate) ** (1.0 / (1.0 - exponent))
    return minimum(maximum(drained, minimum(storage, lower_storage)), storage)


@jitable
def gravity_layer(storage, inflow, thickness, lower_bound, exponent, site):
    """One layer of gravity drainage: (new storage, flux to the layer below); the saturation
    excess and the day's free drainage pass down."""
    s = storage + inflow
    excess = maximum(s - site.saturation * thickness, 0.0)
    s = s - excess
    drained = gravity_drained_storage(
        s, thickness, site.saturation, exponent, site.saturated_conductivity, lower_bound * thickness
    )
    return drained, excess + (s - drained)


@jitable(inline=True)
def extract(storage, moisture, demand, thickness, lower_bound, count, soil):
    """Extraction of ``demand`` (mm, >= 0) by ``soil.extraction_order``: (new storages, extracted)."""
    if soil.extraction_order == PROPORTIONAL:
        return extract_proportionally(storage, demand, thickness, lower_bound, count)
    order = extraction_order(moisture, 0, count, soil.extraction_order)
    return extract_in_order(storage, demand, thickness, lower_bound, order, count)


@jitable(inline=True)
def drain_layer(storage, inflow, thickness, lower_bound, site, soil):
    """One layer's infiltration and drainage by ``soil.drainage``: (new storage, flux to the layer below)."""
    if soil.drainage == GRAVITY:
        return gravity_layer(storage, inflow, thickness, lower_bound, 2.0 * site.pore_size_index + 3.0, site)
    return cascade_layer(storage, inflow, thickness, site.field_capacity, site.saturation, soil.drainage_fraction)


@jitable(inline=True)
def drain(storage, net_input, thickness, count, lower_bound, site, soil):
    """Add ``net_input`` (mm) to the top layer and drain layer by layer down (:func:`drain_layer`);
    returns the new (s0, s1, s2) and D (mm) leaving the last layer."""
    s0, flux = drain_layer(storage[0], net_input, thickness[0], lower_bound, site, soil)
    s1, s2 = storage[1], storage[2]
    if count >= 2:
        s1, flux = drain_layer(s1, flux, thickness[1], lower_bound, site, soil)
    if count >= 3:
        s2, flux = drain_layer(s2, flux, thickness[2], lower_bound, site, soil)
    return (s0, s1, s2), flux


@jitable(inline=True)
def fraction_water_balance(moisture, count, evaporation_demand, net_input, thickness, lower_bound, site, soil):
    """One day of docs/model/gleam.md a.9 for a fraction of ``count`` layers (1..3).

    ``moisture`` is the start-of-day (w_1, w_2, w_3) of the fraction's layers, top first, and
    ``thickness`` their dz (mm); entries beyond ``count`` are placeholders, never used.  ``site``
    the site record (``field_capacity``, ``saturation``, ``pore_size_index``,
    ``saturated_conductivity``); ``soil`` a :class:`SoilRecord`.  ``evaporation_demand`` may be
    negative (condensation, added to the top layer).  Returns ((s_1, s_2, s_3) new storages in
    mm, actual evaporation, drainage); values are returned, not written, so the compiled kernel
    keeps them in registers.
    """
    demand = maximum(evaporation_demand, 0.0)
    condensation = maximum(-evaporation_demand, 0.0)
    storage = (moisture[0] * thickness[0], moisture[1] * thickness[1], moisture[2] * thickness[2])
    (s0, s1, s2), extracted = extract(storage, moisture, demand, thickness, lower_bound, count, soil)
    storage, drainage = drain((s0 + condensation, s1, s2), net_input, thickness, count, lower_bound, site, soil)
    return storage, extracted - condensation, drainage
