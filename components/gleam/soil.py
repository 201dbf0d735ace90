"""Multi-layer soil water balance per land-cover fraction (docs/model/gleam.md a.9).

Storages ``s_l = w_l dz_l`` in mm, indexed layer first: ``storage[l]`` is a ``(member, site)``
array in the numpy kernel and a float in the compiled one (``pointwise.py``).  Per fraction and day:

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
   Martens et al. 2017), which this model reproduces; the gravity scheme is the model-error
   option of a twin (Rains et al. 2022 note the spread collapse that immediate drainage causes),
   chosen per experiment from measured spread statistics.

Each step moves water between named places only, and every flux is a difference of the
storages it leaves, so ``sum_l s_l`` changes by exactly ``F_k - E_k - D_k`` up to round-off.
"""

from __future__ import annotations

from typing import NamedTuple

import attrs
from attrs import validators as v

from .pointwise import jitable, maximum, minimum, pick, put, where

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
    wetter by > TIE_TOLERANCE, so ties keep the upper layer first.  Entries beyond ``count`` are unused.
    """
    o0, o1, o2 = first, first + 1, first + 2
    if count >= 2:
        swap = moisture[first + 1] > moisture[first] + TIE_TOLERANCE
        o0, o1 = where(swap, first + 1, first), where(swap, first, first + 1)
    if count == 3:
        swap = moisture[first + 2] > pick(moisture, o1) + TIE_TOLERANCE
        o1, o2 = where(swap, first + 2, o1), where(swap, o1, first + 2)
        swap = swap & (pick(moisture, o1) > pick(moisture, o0) + TIE_TOLERANCE)
        o0, o1 = where(swap, o1, o0), where(swap, o0, o1)
    return o0, o1, o2


@jitable
def extraction_order(moisture, first, count, option):
    """(o0, o1, o2): the order in which layers give water (``SoilParameters.extraction_order``)."""
    if option == WETTEST_FIRST:
        return wettest_first_order(moisture, first, count)
    return first, first + 1, first + 2


@jitable
def extract_in_order(storage, demand, thickness, lower_bound, order, count):
    """Take ``demand`` (mm, >= 0) from the layer-first ``storage`` in place, layer ``order[0]`` first.

    Each layer gives down to ``lower_bound * dz``; a layer already below gives nothing and is left
    untouched (docs/model/gleam.md a.9.4).  Returns the extracted mm.
    """
    remaining = demand
    for rank in range(count):
        layer = order[rank]
        layer_storage = pick(storage, layer)
        available = maximum(layer_storage - lower_bound * thickness[layer], 0.0)
        take = minimum(remaining, available)
        put(storage, layer, layer_storage - take)
        remaining = remaining - take
    return demand - remaining


@jitable
def extract_proportionally(storage, demand, thickness, lower_bound, first, count):
    """Take ``demand`` (mm, >= 0) from the layers in proportion to their available water, in place."""
    total = 0.0 * demand
    for layer in range(first, first + count):
        total = total + maximum(storage[layer] - lower_bound * thickness[layer], 0.0)
    share = where(total > 0.0, minimum(demand, total) / maximum(total, 1e-300), 0.0)
    extracted = 0.0 * demand
    for layer in range(first, first + count):
        take = share * maximum(storage[layer] - lower_bound * thickness[layer], 0.0)
        storage[layer] = storage[layer] - take
        extracted = extracted + take
    return extracted


@jitable
def cascade_drainage(storage, inflow, thickness, first, count, field_capacity, saturation, drainage_fraction):
    """Add ``inflow`` (mm) to layer ``first`` and cascade the excess down, in place (a.9.2-3); returns D."""
    flux = inflow
    for layer in range(first, first + count):
        s = storage[layer] + flux
        flux = maximum(
            maximum(drainage_fraction * (s - field_capacity * thickness[layer]), s - saturation * thickness[layer]), 0.0
        )
        storage[layer] = s - flux
    return flux


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
def gravity_drainage(storage, inflow, thickness, first, count, lower_bound, site):
    """Add ``inflow`` (mm) to layer ``first``, then per layer: saturation excess and the day's free
    drainage pass to the layer below, in place; returns D (mm) leaving the last layer."""
    exponent = 2.0 * site.pore_size_index + 3.0
    flux = inflow
    for layer in range(first, first + count):
        s = storage[layer] + flux
        excess = maximum(s - site.saturation * thickness[layer], 0.0)
        s = s - excess
        drained = gravity_drained_storage(
            s, thickness[layer], site.saturation, exponent, site.saturated_conductivity, lower_bound * thickness[layer]
        )
        flux = excess + (s - drained)
        storage[layer] = drained
    return flux


@jitable
def fraction_water_balance(moisture, storage, first, count, evaporation_demand, net_input, thickness, lower_bound, site, soil):
    """One day of docs/model/gleam.md a.9 for the fraction of layers ``first:first + count``.

    ``moisture`` is the start-of-day w and ``storage`` receives the new storages (mm), both layer
    first over all layers (``storage`` is written in place); ``thickness`` the layers' dz (mm);
    ``site`` the site record (``field_capacity``, ``saturation``, ``pore_size_index``,
    ``saturated_conductivity``); ``soil`` a :class:`SoilRecord`.  ``evaporation_demand`` may be
    negative (condensation, added to the top layer).  Returns (actual evaporation, drainage), mm.
    """
    demand = maximum(evaporation_demand, 0.0)
    condensation = maximum(-evaporation_demand, 0.0)
    for layer in range(first, first + count):
        storage[layer] = moisture[layer] * thickness[layer]
    if soil.extraction_order == PROPORTIONAL:
        extracted = extract_proportionally(storage, demand, thickness, lower_bound, first, count)
    else:
        order = extraction_order(moisture, first, count, soil.extraction_order)
        extracted = extract_in_order(storage, demand, thickness, lower_bound, order, count)
    storage[first] = storage[first] + condensation
    if soil.drainage == GRAVITY:
        drainage = gravity_drainage(storage, net_input, thickness, first, count, lower_bound, site)
    else:
        drainage = cascade_drainage(
            storage, net_input, thickness, first, count, site.field_capacity, site.saturation, soil.drainage_fraction
        )
    return extracted - condensation, drainage
