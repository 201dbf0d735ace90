"""GleamModel: the GLEAM v3 land model behind ``s1da.framework.interfaces.LandModel``.

A thin wrapper: it validates input, broadcasts forcing to ``(member, site)``, calls the numpy
kernel (``kernel.py``) or the optional numba kernel (``kernel_numba.py``) and handles the
analysis state vector (docs/model/filters.md c, "State vector and propagation to depth").

State (arrays ``(member, site, ...)``):

* ``soil_moisture`` (member, site, 6), m3 m-3, layers :data:`LAYER_NAMES`
  = T1, T2, T3, H1, H2, B1 (docs/model/gleam.md a.1).  Layers of fractions absent at a site are carried
  but carry no weight anywhere and are never changed by an analysis.
* ``snowpack`` (member, site), mm per unit land area (D_m, docs/model/gleam.md a.5).
* ``previous_swe`` (member, site), mm: yesterday's SWE forcing for the GLEAM snow mode.
* ``open_water_storage`` (member, site), mm per pixel: running balance f_W (P - E_W) of the
  open-water fraction (see ``kernel.py``); zero where f_W = 0.

There is no canopy storage: the daily Gash model evaporates the intercepted water the same day.
The initial state is field capacity in every layer, no snow, zero open-water balance
(a spin-up of at least a year is expected, DD-23).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import attrs
import numpy as np

from s1da.framework import variables
from s1da.framework.interfaces import LandModel, VariableInfo
from s1da.framework.site_index import put_sites, take_sites
from s1da.framework.sitedata import FORCING_LIMITS

from . import kernel as numpy_kernel
from .kernel import FLUX_NAMES, LAYER_NAMES, LAYER_THICKNESS, TOP_LAYERS, DEPTH_INDEX, LAYER_FRACTION
from .nudging import NudgingParameters, nudge
from .parameters import GleamParameters
from .statics import MemberSoil, SiteStatics

STATE_VECTORS = ("top", "top_aggregated", "augmented")
OUTPUTS = ("all", "budget")
KERNELS = ("numpy", "numba")

REQUIRED_FORCING = ("precipitation", "air_temperature", "net_radiation")
OPTIONAL_FORCING = ("vod", "lai", "swe", "convective_fraction")
# plausible ranges: catch wrong units (kelvin for degC, J for W) and impossible values; the
# sources check the same ranges when they read the data, the perturbations stay inside them
FORCING_RANGES = FORCING_LIMITS

for _name, _units, _long in (
    ("open_water_storage", "mm", "running water balance f_W (P - E_W) of the open-water fraction"),
    ("interception_loss", "mm d-1", "rainfall interception loss (pixel)"),
    ("transpiration", "mm d-1", "transpiration f_T E_T + f_H E_H (pixel)"),
    ("soil_evaporation", "mm d-1", "bare-soil evaporation f_B E_B (pixel)"),
    ("open_water_evaporation", "mm d-1", "open-water evaporation f_W E_W (pixel)"),
    ("sublimation", "mm d-1", "snow sublimation (1 - f_W) E_s (pixel)"),
    ("snowfall", "mm d-1", "snowfall per unit land area"),
    ("snowmelt", "mm d-1", "snowmelt per unit land area"),
    ("snow_sublimation", "mm d-1", "snow sublimation per unit land area"),
    ("snow_mask", "1", "snow mask M (1 under snow or ice)"),
    ("potential_evaporation_water", "mm d-1", "Priestley-Taylor potential evaporation of open water"),
    ("potential_evaporation_snow", "mm d-1", "Priestley-Taylor potential sublimation of snow and ice"),
):
    variables.register(_name, _units, _long)
_FRACTION_LONG = {"tall": "tall vegetation", "short": "short vegetation", "bare": "bare soil"}
for _fraction, _long in _FRACTION_LONG.items():
    for _what, _units, _text in (
        ("net_input", "mm d-1", "net water input to the soil per unit fraction area"),
        ("evaporation", "mm d-1", "actual evaporation per unit fraction area"),
        ("drainage", "mm d-1", "drainage out of the soil column per unit fraction area"),
        ("potential_evaporation", "mm d-1", "Priestley-Taylor potential evaporation"),
        ("stress", "1", "evaporative stress factor"),
    ):
        variables.register(f"{_fraction}_{_what}", _units, f"{_long}: {_text}")


def _reported_variables() -> dict[str, VariableInfo]:
    """Every flux of :meth:`GleamModel.step` with dims and CF metadata (``outputs="all"``)."""
    out = {}
    for name in FLUX_NAMES:
        attributes = variables.attributes(name)
        out[name] = VariableInfo(("member", "site"), attributes["units"], attributes["long_name"])
    return out


def _layer_water(change: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Pixel water (mm) of a change of layer moisture ``(member, site, layer)`` (m3 m-3) with
    ``weight`` ``(site, layer)`` (mm per m3 m-3): summed layer by layer in layer order (a
    reduction over the short layer axis would cost several times more)."""
    total = change[..., 0] * weight[..., 0]
    for layer in range(1, change.shape[-1]):
        total += change[..., layer] * weight[..., layer]
    return total


class _SurfaceWeights(NamedTuple):
    """The fields of a site record that the surface soil moisture weighs with (kernel.surface_moisture)."""

    fraction_tall: np.ndarray
    fraction_short: np.ndarray
    fraction_bare: np.ndarray
    inverse_land_fraction: np.ndarray


class ForcingError(ValueError):
    """Bad forcing: names the variable, the site and the member."""


class GleamModel(LandModel):
    """GLEAM v3 (docs/model/gleam.md a), vectorised over members and sites.

    ``state_vector``: "top" (x = [w_T1, w_H1, w_B1]), "top_aggregated" (x = [w1]) or
    "augmented" (all six layers; optional Schur ``taper`` = (rho_1, rho_2, rho_3) by layer depth
    index, DD-18), docs/model/filters.md (c).  ``kernel``: "numpy" or "numba" (optional dependency).
    ``check_forcing`` validates every day's forcing (on by default; costs a few % of the step).
    ``outputs``: "all" fluxes (components, per-fraction terms) or only the "budget" set
    (P, E, D, Q, TWS, w1), which halves the memory traffic of the numba kernel.
    ``reuse_buffers`` (numba only): write into recycled arrays; a returned state is overwritten
    two steps later and the fluxes one step later (see ``kernel_numba.NumbaKernel``).
    ``member_soil``: soil hydraulic parameters per member (:class:`MemberSoil`, (member, site)
    arrays) instead of the statics' own; the model then runs only that many members.
    """

    layer_names: tuple[str, ...] = LAYER_NAMES
    layer_thickness = LAYER_THICKNESS
    reported_variables = _reported_variables()
    """All fluxes (``outputs="all"``); ``outputs="budget"`` returns the first six of them."""

    def __init__(
        self,
        statics: SiteStatics,
        parameters: GleamParameters = GleamParameters(),
        state_vector: str = "top",
        kernel: str = "numpy",
        taper: tuple[float, float, float] = (1.0, 1.0, 1.0),
        nudging: NudgingParameters | None = None,
        check_forcing: bool = True,
        outputs: str = "all",
        reuse_buffers: bool = False,
        member_soil: MemberSoil | None = None,
    ):
        if not isinstance(statics, SiteStatics):
            raise TypeError("GleamModel: statics must be a SiteStatics")
        if state_vector not in STATE_VECTORS:
            raise ValueError(f"GleamModel: state_vector must be one of {STATE_VECTORS}, got {state_vector!r}")
        if kernel not in KERNELS:
            raise ValueError(f"GleamModel: kernel must be one of {KERNELS}, got {kernel!r}")
        if outputs not in OUTPUTS:
            raise ValueError(f"GleamModel: outputs must be one of {OUTPUTS}, got {outputs!r}")
        if reuse_buffers and kernel != "numba":
            raise ValueError("GleamModel: reuse_buffers needs kernel='numba'")
        if member_soil is not None and (not isinstance(member_soil, MemberSoil) or member_soil.n_site != statics.n_site):
            raise ValueError(f"GleamModel: member_soil must be a MemberSoil of {statics.n_site} sites")
        taper = np.asarray(taper, dtype=float)
        if taper.shape != (3,) or np.any(taper < 0.0) or np.any(taper > 1.0):
            raise ValueError(f"GleamModel: taper must be three values in [0, 1], got {taper}")
        self.statics = statics
        self.parameters = parameters
        self.state_vector = state_vector
        self.kernel = kernel
        self.taper = taper
        self.nudging = nudging
        self.check_forcing = check_forcing
        self.outputs = outputs
        self._reuse_buffers = reuse_buffers
        self.member_soil = member_soil
        self._soil = statics if member_soil is None else member_soil  # soil parameters, (site,) or (member, site)
        self._record = parameters.record()
        if kernel == "numba":
            from . import kernel_numba  # lazy: numba is optional

            self._numba = kernel_numba.NumbaKernel(statics, parameters, outputs, reuse_buffers, member_soil)
        weights = numpy_kernel.fraction_weights(statics)
        self._present = weights > 0.0  # (site, 3)
        self._layer_weight_mm = weights[:, LAYER_FRACTION] * LAYER_THICKNESS  # (site, 6)
        self._lower = numpy_kernel.lower_bounds(self._soil)  # ([member,] site, 6)
        self._upper = np.repeat(self._soil.saturation[..., None], 6, axis=-1)
        self._surface_record: _SurfaceWeights | None = None
        self._absent_layers = ~self._present[:, LAYER_FRACTION]  # (site, 6)

    def _options(self) -> dict:
        """The constructor's options other than the statics and the member soil."""
        return dict(
            parameters=self.parameters, state_vector=self.state_vector, kernel=self.kernel, taper=tuple(self.taper),
            nudging=self.nudging, check_forcing=self.check_forcing, outputs=self.outputs,
            reuse_buffers=self._reuse_buffers,
        )  # fmt: skip

    def with_member_soil(self, member_soil: MemberSoil | None) -> GleamModel:
        """The same model with soil parameters per member (``None``: the statics' own)."""
        return GleamModel(self.statics, member_soil=member_soil, **self._options())

    def subset(self, site_indices) -> GleamModel:
        """The same model for the sites at positions ``site_indices`` (one task of the engine)."""
        site_indices = np.asarray(site_indices, dtype="int64")
        statics = attrs.evolve(
            self.statics,
            **{
                field.name: np.asarray(getattr(self.statics, field.name))[site_indices]
                for field in attrs.fields(type(self.statics))
                if np.ndim(getattr(self.statics, field.name)) == 1
            },
        )
        member_soil = None if self.member_soil is None else self.member_soil.subset(site_indices)
        return GleamModel(statics, member_soil=member_soil, **self._options())

    # ------------------------------------------------------------------ state
    @property
    def n_site(self) -> int:
        return self.statics.n_site

    @property
    def n_state(self) -> int:
        return {"top": 3, "top_aggregated": 1, "augmented": 6}[self.state_vector]

    def initial_state(self, n_members: int) -> dict[str, np.ndarray]:
        """Field capacity in every layer, no snow, zero open-water balance."""
        if int(n_members) < 1:
            raise ValueError(f"GleamModel.initial_state: n_members must be >= 1, got {n_members}")
        shape = (int(n_members), self.n_site)
        self._check_members(shape[0])
        soil = np.broadcast_to(self._soil.field_capacity[..., None], shape + (6,)).copy()
        return {
            "soil_moisture": soil,
            "snowpack": np.zeros(shape),
            "previous_swe": np.zeros(shape),
            "open_water_storage": np.zeros(shape),
        }

    def _check_members(self, n_members: int) -> None:
        if self.member_soil is not None and n_members != self.member_soil.n_members:
            raise ValueError(
                f"GleamModel: the soil parameters are given for {self.member_soil.n_members} members, "
                f"the state has {n_members}"
            )

    def layer_soil_moisture(self, state) -> np.ndarray:
        """(member, site, 6) m3 m-3 in the order :attr:`layer_names`."""
        return state["soil_moisture"]

    def surface_soil_moisture(self, state) -> np.ndarray:
        return self.surface_soil_moisture_at(state, slice(None))

    def root_zone_soil_moisture(self, state) -> np.ndarray:
        return numpy_kernel.root_zone_soil_moisture(state["soil_moisture"], self.statics)

    def total_water_storage(self, state) -> np.ndarray:
        return numpy_kernel.total_water_storage(
            state["soil_moisture"], state["snowpack"], state["open_water_storage"], self.statics
        )

    # ------------------------------------------------------------------ forcing
    def _site_error(self, name: str, bad: np.ndarray, values: np.ndarray, why: str):
        member, site = np.unravel_index(int(np.flatnonzero(bad)[0]), bad.shape)
        raise ForcingError(
            f"forcing {name!r}: {self.statics.describe_site(int(site))}, member {int(member)}: "
            f"value {values[member, site]!r} {why}"
        )

    def _check_values(self, name: str, array: np.ndarray, shape: tuple[int, int]):
        """Raise :class:`ForcingError` naming member and site if ``array`` is not finite or implausible."""
        lo, hi, units = FORCING_RANGES[name]
        # fast path: one min and one max (NaN propagates through both and fails the comparison)
        if array.size and lo <= array.min() and array.max() <= hi:
            return
        array = np.broadcast_to(array, shape)
        finite = np.isfinite(array)
        if not finite.all():
            self._site_error(name, ~finite, array, "is not finite (gaps must be filled explicitly, see the forcing reader)")
        bad = (array < lo) | (array > hi)
        if bad.any():
            self._site_error(name, bad, array, f"outside the plausible range [{lo}, {hi}] {units}")

    def prepare_forcing(
        self, forcing: Mapping[str, np.ndarray], n_members: int, deferred: frozenset = frozenset()
    ) -> dict[str, np.ndarray]:
        """Validate and broadcast one day of forcing to (member, site) float arrays.

        The value checks of the names in ``deferred`` are left to the caller (the numba kernel
        checks them inside its loop, see :meth:`step`).
        """
        unknown = set(forcing) - set(REQUIRED_FORCING) - set(OPTIONAL_FORCING)
        if unknown:
            raise ForcingError(f"unknown forcing variables {sorted(unknown)}; known: {REQUIRED_FORCING + OPTIONAL_FORCING}")
        for name in REQUIRED_FORCING:
            if name not in forcing:
                raise ForcingError(f"forcing {name!r} is missing")
        if "vod" not in forcing and "lai" not in forcing:
            raise ForcingError("forcing needs 'vod' or 'lai' (DD-1 LAI fallback) for the evaporative stress")
        if self.parameters.snow_mode == "swe" and "swe" not in forcing:
            raise ForcingError("forcing 'swe' is missing and snow_mode='swe'")
        shape = (n_members, self.n_site)
        out = {}
        for name, value in forcing.items():
            array = np.asarray(value, dtype=float)
            if array.shape not in (shape, shape[1:]):
                raise ForcingError(f"forcing {name!r}: shape {array.shape}, expected {shape} or {shape[1:]}")
            if self.check_forcing and name not in deferred:
                self._check_values(name, array, shape)
            out[name] = np.broadcast_to(array, shape)
        return out

    # ------------------------------------------------------------------ step
    def step(self, state, forcing):
        soil = state["soil_moisture"]
        n_members = soil.shape[0]
        if soil.shape != (n_members, self.n_site, 6):
            raise ValueError(f"state soil_moisture shape {soil.shape}, expected (member, {self.n_site}, 6)")
        self._check_members(n_members)
        vegetation_name = "vod" if "vod" in forcing else "lai"
        uses_swe = self.parameters.snow_mode != "temperature_index" and "swe" in forcing
        deferred = frozenset()
        if self.kernel == "numba" and self.check_forcing:
            # the compiled loop checks the values it reads: a few comparisons per member-site
            # instead of several passes over memory
            deferred = frozenset(
                REQUIRED_FORCING + (vegetation_name,) + (("swe",) if uses_swe else ()) + ("convective_fraction",)
            )
        f = self.prepare_forcing(forcing, n_members, deferred)
        if vegetation_name == "vod":
            veg, p01, p99 = f["vod"], self.statics.vod_p01, self.statics.vod_p99
        else:
            veg, p01, p99 = f["lai"], self.statics.lai_p01, self.statics.lai_p99
        swe = f.get("swe") if self.parameters.snow_mode != "temperature_index" else None
        convective = f.get("convective_fraction", 0.0)
        if self.kernel == "numba":
            limits = None
            if self.check_forcing:
                names = ("precipitation", "air_temperature", "net_radiation", vegetation_name, "swe", "convective_fraction")
                limits = [FORCING_RANGES[name][:2] for name in names]
            result = self._numba.step(state, f["precipitation"], f["air_temperature"], f["net_radiation"], veg, p01, p99, swe, convective, limits)
            if result is None:  # a value failed the in-loop check: find and name it
                shape = (n_members, self.n_site)
                for name, value in f.items():
                    if name in deferred:
                        self._check_values(name, value, shape)
                raise AssertionError("the numba kernel flagged forcing that passes the numpy check")  # pragma: no cover
            return result
        forcing_record = numpy_kernel.DayForcing(
            f["precipitation"], f["air_temperature"], f["net_radiation"], veg,
            0.0 if swe is None else swe, convective,
        )  # fmt: skip
        options = numpy_kernel.day_options(
            self._record, swe is not None, np.ndim(convective) > 0 or float(convective) != 0.0, self.outputs == "all"
        )
        return numpy_kernel.daily_step(
            soil, state["snowpack"], state["previous_swe"], state["open_water_storage"], forcing_record,
            numpy_kernel.site_record(self.statics, p01, p99, self._soil), self._record, options,
        )  # fmt: skip

    # ------------------------------------------------------------------ analysis
    def analysis_variables(self, state) -> np.ndarray:
        return self.analysis_variables_at(state, slice(None))

    def analysis_variables_at(self, state, sites) -> np.ndarray:
        """The state vector at ``sites`` (positions, or a slice), ``(site, member, n_state)``."""
        if self.state_vector == "top_aggregated":
            return np.ascontiguousarray(np.swapaxes(self.surface_soil_moisture_at(state, sites), 0, 1)[..., None])
        soil = take_sites(state["soil_moisture"], sites)
        x = np.take(soil, TOP_LAYERS, axis=-1) if self.state_vector == "top" else soil
        return np.ascontiguousarray(np.swapaxes(x, 0, 1))

    def surface_soil_moisture_at(self, state, sites) -> np.ndarray:
        """w1 (docs/model/gleam.md a.10) at ``sites``, ``(member, site)``: the same numbers as
        :meth:`surface_soil_moisture` there, from the three layers it weighs."""
        soil = take_sites(state["soil_moisture"], sites)
        return numpy_kernel.surface_moisture([soil[..., 0], None, None, soil[..., 3], None, soil[..., 5]], self._surface_weights(sites))

    def _surface_weights(self, sites) -> _SurfaceWeights:
        if self._surface_record is None:  # site_record divides per site: made once
            record = numpy_kernel.site_record(self.statics, 0.0, 1.0)
            self._surface_record = _SurfaceWeights(
                record.fraction_tall, record.fraction_short, record.fraction_bare, record.inverse_land_fraction
            )
        return _SurfaceWeights(*(np.asarray(values)[sites] for values in self._surface_record))

    def _finish_update(self, state, requested, sites=slice(None), old=None):
        """Clip to [w_min, w_sat] (DD-19) and report the water added and clipped (pixel mm).

        ``requested`` (member, site, 6) holds the layers of the sites ``sites`` (``old``: their
        state, if the caller has it); the others keep their state (``sites`` = every site: the
        whole state is replaced).
        """
        soil = state["soil_moisture"]
        old = take_sites(soil, sites) if old is None else old
        clipped = np.clip(requested, take_sites(self._lower, sites, axis=-2), take_sites(self._upper, sites, axis=-2))
        absent = self._absent_layers[sites]  # layers of absent fractions are never changed
        if absent.any():
            np.copyto(clipped, old, where=absent)
            requested = np.where(absent, old, requested)
        weight = self._layer_weight_mm[sites]
        increment = _layer_water(np.subtract(clipped, old), weight)
        clip_water = _layer_water(np.subtract(clipped, requested), weight)
        new_state = dict(state)
        if isinstance(sites, slice) and sites == slice(None):
            new_state["soil_moisture"] = clipped
        else:
            new_state["soil_moisture"] = soil.copy()
            put_sites(new_state["soil_moisture"], sites, clipped)
        return new_state, {"analysis_increment": increment, "clipped_water": clip_water}

    def set_analysis_variables(self, state, values):
        """Put the analysed vector back (docs/model/filters.md c); see :meth:`LandModel.set_analysis_variables`.

        ``clipped_water`` is signed: water added (+) or removed (-) by the clipping, so that
        ``analysis_increment - clipped_water`` is the increment the filter asked for.
        """
        return self.set_analysis_variables_at(state, values, slice(None))

    def set_analysis_variables_at(self, state, values, sites):
        """:meth:`set_analysis_variables` at ``sites`` only (positions, or a slice); the other
        sites' state stays as it is and the diagnostics are ``(member, len(sites))``."""
        soil = state["soil_moisture"]
        n_members = soil.shape[0]
        values = np.asarray(values, dtype=float)
        positions = np.arange(self.n_site)[sites]
        expected = (positions.size, n_members, self.n_state)
        if values.shape != expected:
            raise ValueError(f"set_analysis_variables: values shape {values.shape}, expected {expected}")
        if not np.isfinite(values).all():
            site = int(positions[np.argwhere(~np.isfinite(values))[0][0]])
            raise ValueError(f"set_analysis_variables: non-finite analysed value at {self.statics.describe_site(site)}")
        x = np.swapaxes(values, 0, 1)  # (member, site, n)
        old = take_sites(soil, sites)
        requested = old.copy()
        if self.state_vector == "top":
            requested[..., TOP_LAYERS] = x
        elif self.state_vector == "top_aggregated":
            delta = x[..., 0] - self.surface_soil_moisture_at(state, sites)
            requested[..., TOP_LAYERS] += delta[..., None]
        else:
            requested = requested + self.taper[DEPTH_INDEX] * (x - requested)
        return self._finish_update(state, requested, sites, old)

    def nudge(self, state, rescaled_observation):
        """GLEAM-native nudging of layer 1 (docs/model/gleam.md a.12, DD-12); only if enabled.

        ``rescaled_observation`` (site,) or (member, site), m3 m-3, already rescaled to the model
        climatology; NaN = no observation.  The aggregated increment K (theta* - w1) is added to
        every present fraction's layer 1, then clipped like an analysis.
        """
        if self.nudging is None:
            raise RuntimeError("GleamModel.nudge: nudging is disabled (pass nudging=NudgingParameters())")
        w1 = self.surface_soil_moisture(state)
        delta = nudge(w1, np.broadcast_to(rescaled_observation, w1.shape), self.nudging.gain) - w1
        requested = state["soil_moisture"].copy()
        requested[..., TOP_LAYERS] += delta[..., None]
        return self._finish_update(state, requested)
