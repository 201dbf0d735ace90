"""Soil-parameter perturbations: each ensemble member runs GLEAM with its own soil.

The soil hydraulic parameters of a site come from a texture class table (docs/model/gleam.md
a.11), yet within one class they vary widely (Loosvelt et al. 2011, Water Resour. Res. 47,
W03505), and this uncertainty spreads the simulated soil moisture (Flores et al. 2010, Water
Resour. Res. 46, W04506).  Perturbing model parameters per member is the alternative to additive
state noise that Maggioni et al. (2012, Hydrol. Earth Syst. Sci. 16) compare for the Catchment
model.  The perturbations are drawn once and kept for the whole run (constant in time), so each
member is one plausible soil (docs/model/perturbations.md, "Soil parameters").

Per site and member, with standard normals ``u`` centred over the members (N > 2) and truncated
at ``|u| <= truncation`` (as the forcing perturbations, section d), in transformed spaces in
which every value is valid:

* porosity: ``logit w_sat' = logit w_sat + s_sat u_1``;
* the retention points as ratios in (0, 1) of the next point up, each logit-normal:
  ``w_fc' = w_sat' expit(logit(w_fc / w_sat) + s_fc u_2)``, ``w_c' = w_fc' expit(logit(w_c / w_fc)
  + s_c u_3)``, ``w_wp' = w_c' expit(logit(w_wp / w_c) + s_wp u_4)``, ``w_r' = w_wp' w_r / w_wp``
  (DD-11 keeps w_r a fixed share of w_wp), so ``0 < w_r' < w_wp' < w_c' < w_fc' < w_sat' < 1``
  for every draw;
* the Clapp & Hornberger (1978) parameters of the gravity drainage log-normal, ``b' = b exp(s_b
  u_5)``, ``K_sat' = K_sat exp(s_K u_6)``, clipped to the ranges GLEAM accepts
  (:data:`~s1da.components.gleam.statics.SOIL_RANGES`).

A parameter whose SD is zero keeps its value exactly (no round trip through the transforms), so
zero perturbation reproduces the unperturbed run bit for bit.

Randomness: ``u`` of a site is one draw ``(member, 6)`` from ``stream(entropy, site_id,
Purpose.SOIL_PARAMETER_PERTURBATION)``, so the numbers do not depend on which sites run together.
"""

from __future__ import annotations

import attrs
import numpy as np

from s1da.components.gleam import GleamModel
from s1da.components.gleam.statics import SOIL_RANGES, MemberSoil
from s1da.components.perturbers.wrapped import PerturbedModel
from s1da.framework.randomness import Purpose, stream
from s1da.framework.validators import finite_positive

RETENTION_CHAIN = (("field_capacity", "field_capacity_sd"), ("critical", "critical_sd"), ("wilting_point", "wilting_point_sd"))
"""Each retention point below porosity, as a ratio of the one above it, with its SD's name."""
N_DRAWS = 6


def _bounded_sd(high: float):
    def check(instance, attribute, value):
        if isinstance(value, bool) or not (np.isfinite(value) and 0.0 <= value <= high):
            raise ValueError(f"{attribute.name} must be in [0, {high}], got {value}")

    return check


@attrs.frozen
class SoilParameterPerturbation:
    """SDs of the soil-parameter perturbations in their transformed spaces (module docstring).

    The logit SDs are capped at 1 and the log SDs at 2 so that the ratios stay well away from 1 in
    double precision; near w = 0.45 a logit SD s is an SD of about 0.25 s in m3 m-3.
    """

    porosity_sd: float = attrs.field(default=0.1, validator=_bounded_sd(1.0), metadata={"units": "1", "doc": "SD of logit w_sat"})
    field_capacity_sd: float = attrs.field(default=0.1, validator=_bounded_sd(1.0), metadata={"units": "1", "doc": "SD of logit(w_fc / w_sat)"})
    critical_sd: float = attrs.field(default=0.1, validator=_bounded_sd(1.0), metadata={"units": "1", "doc": "SD of logit(w_c / w_fc)"})
    wilting_point_sd: float = attrs.field(default=0.1, validator=_bounded_sd(1.0), metadata={"units": "1", "doc": "SD of logit(w_wp / w_c)"})
    pore_size_index_sd: float = attrs.field(default=0.1, validator=_bounded_sd(2.0), metadata={"units": "1", "doc": "SD of ln b"})
    conductivity_sd: float = attrs.field(default=0.5, validator=_bounded_sd(2.0), metadata={"units": "1", "doc": "SD of ln K_sat"})
    truncation: float = attrs.field(default=2.5, validator=finite_positive, metadata={"units": "1", "doc": "|u| <= truncation"})


def _logit(x):
    return np.log(x) - np.log1p(-x)


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def standard_draws(entropy: int, site_ids, n_members: int, truncation: float) -> np.ndarray:
    """(member, site, 6) standard normals, centred over the members (N > 2), truncated."""
    draws = np.stack(
        [stream(entropy, int(site), Purpose.SOIL_PARAMETER_PERTURBATION).standard_normal((n_members, N_DRAWS)) for site in site_ids],
        axis=1,
    )
    if n_members > 2:
        draws = draws - draws.mean(axis=0, keepdims=True)
    return np.clip(draws, -truncation, truncation)


def perturbed_soil(statics, perturbation: SoilParameterPerturbation, site_ids, entropy: int, n_members: int) -> MemberSoil:
    """The members' soil parameters (module docstring) from the sites' ``statics``."""
    p = perturbation
    u = standard_draws(entropy, site_ids, n_members, p.truncation)
    shape = (n_members, statics.n_site)

    def nominal(name):
        return np.broadcast_to(getattr(statics, name), shape).copy()

    soil = {"saturation": nominal("saturation")}
    if p.porosity_sd > 0.0:
        soil["saturation"] = _expit(_logit(statics.saturation) + p.porosity_sd * u[..., 0])
    exact, upper_name = p.porosity_sd == 0.0, "saturation"
    for column, (name, sd_name) in enumerate(RETENTION_CHAIN, start=1):
        sd = getattr(p, sd_name)
        ratio = getattr(statics, name) / getattr(statics, upper_name)
        if exact and sd == 0.0:
            soil[name] = nominal(name)
        else:
            soil[name] = soil[upper_name] * (_expit(_logit(ratio) + sd * u[..., column]) if sd > 0.0 else ratio)
            exact = False
        upper_name = name
    soil["residual"] = nominal("residual") if exact else soil["wilting_point"] * (statics.residual / statics.wilting_point)
    for column, name, sd in ((4, "pore_size_index", p.pore_size_index_sd), (5, "saturated_conductivity", p.conductivity_sd)):
        soil[name] = nominal(name) if sd == 0.0 else np.clip(getattr(statics, name) * np.exp(sd * u[..., column]), *SOIL_RANGES[name])
    return MemberSoil(**soil)


class SoilPerturbedModel(PerturbedModel):
    """GLEAM whose members each run with their own soil parameters (module docstring).

    The per-member model is built on the first call with a given ensemble size and kept; every
    state-dependent call goes to it (its layer bounds are the member's own w_wp, w_r and w_sat).
    """

    def __init__(self, model: GleamModel, perturbation: SoilParameterPerturbation, site_ids, entropy: int):
        if not isinstance(model, GleamModel):
            raise TypeError(f"soil-parameter perturbations need a GleamModel, got {type(model).__name__}")
        super().__init__(model, perturbation, site_ids, entropy)
        if self.site_ids.shape != (model.n_site,):
            raise ValueError(f"{self.site_ids.size} site ids for {model.n_site} sites")
        self._members: dict[int, GleamModel] = {}

    def member_model(self, n_members: int) -> GleamModel:
        """The GLEAM model of ``n_members`` members, each with its own soil parameters."""
        if n_members not in self._members:
            soil = perturbed_soil(self.model.statics, self.perturbation, self.site_ids, self.entropy, int(n_members))
            self._members[n_members] = self.model.with_member_soil(soil)
        return self._members[n_members]

    def _of(self, state) -> GleamModel:
        return self.member_model(np.shape(state["soil_moisture"])[0])

    def initial_state(self, n_members: int):
        return self.member_model(int(n_members)).initial_state(n_members)

    def step(self, state, forcing):
        return self._of(state).step(state, forcing)

    def surface_soil_moisture(self, state):
        return self._of(state).surface_soil_moisture(state)

    def root_zone_soil_moisture(self, state):
        return self._of(state).root_zone_soil_moisture(state)

    def layer_soil_moisture(self, state):
        return self._of(state).layer_soil_moisture(state)

    def total_water_storage(self, state):
        return self._of(state).total_water_storage(state)

    def analysis_variables(self, state):
        return self._of(state).analysis_variables(state)

    def set_analysis_variables(self, state, values):
        return self._of(state).set_analysis_variables(state, values)

    def nudge(self, state, rescaled_observation):
        return self._of(state).nudge(state, rescaled_observation)
