"""Static site properties: land-cover fractions, soil hydraulic parameters, vegetation percentiles.

docs/model/gleam.md a.1 (fractions, static list), a.11 (soil table, DD-11 for w_r), a.7 (VOD p01/p99; DD-1
LAI p01/p99 for the LAI fallback).  Every array is shaped ``(site,)``.  Construction validates
everything and names the offending site and variable.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

# docs/model/gleam.md a.11 (src S2 SoilPara.m): w_sat, w_fc, w_c, w_wp (m3 m-3).
SOIL_TEXTURES: dict[str, tuple[float, float, float, float]] = {
    "sand": (0.373, 0.151, 0.109, 0.035),
    "loamy sand": (0.386, 0.189, 0.142, 0.052),
    "sandy loam": (0.416, 0.265, 0.208, 0.087),
    "loam / silt": (0.435, 0.331, 0.274, 0.139),  # the spec's row name; also under each name alone
    "loam": (0.435, 0.331, 0.274, 0.139),
    "silt": (0.435, 0.331, 0.274, 0.139),
    "silt loam": (0.468, 0.399, 0.320, 0.146),
    "sandy clay loam": (0.416, 0.314, 0.270, 0.157),
    "clay loam": (0.449, 0.387, 0.339, 0.212),
    "silty clay loam": (0.476, 0.444, 0.389, 0.243),
    "sandy clay": (0.423, 0.349, 0.312, 0.207),
    "silty clay": (0.481, 0.460, 0.414, 0.284),
    "clay": (0.461, 0.427, 0.390, 0.282),
}
# Clapp & Hornberger (1978), Table 2: pore-size index b (-) and saturated hydraulic conductivity
# K_sat (10^-4 cm s-1 in the paper; here mm d-1 = 10^-4 cm s-1 x 86.4) of the USDA textures, for
# K(w) = K_sat (w / w_sat)^(2b + 3) of the "gravity" drainage (soil.py).  The paper has no "silt"
# class: silt takes the silt-loam row.  Their w_sat (porosity) is not used: GLEAM keeps its own.
CLAPP_HORNBERGER: dict[str, tuple[float, float]] = {
    "sand": (4.05, 176.0 * 86.4),
    "loamy sand": (4.38, 156.3 * 86.4),
    "sandy loam": (4.90, 34.1 * 86.4),
    "loam / silt": (5.39, 7.0 * 86.4),
    "loam": (5.39, 7.0 * 86.4),
    "silt": (5.30, 7.2 * 86.4),
    "silt loam": (5.30, 7.2 * 86.4),
    "sandy clay loam": (7.12, 6.3 * 86.4),
    "clay loam": (8.52, 2.45 * 86.4),
    "silty clay loam": (7.75, 1.7 * 86.4),
    "sandy clay": (10.4, 2.16 * 86.4),
    "silty clay": (10.4, 1.03 * 86.4),
    "clay": (11.4, 1.28 * 86.4),
}
DEFAULT_TEXTURE = "loam"
"""Texture whose b and K_sat a site gets when neither is given (only used by the gravity drainage)."""

RESIDUAL_TO_WILTING = 0.5
"""DD-11: w_r = 0.5 w_wp when not given."""

FRACTION_TOLERANCE = 1e-6


SOIL_FIELDS = (
    "saturation", "field_capacity", "critical", "wilting_point", "residual", "pore_size_index", "saturated_conductivity"
)  # fmt: skip
"""The soil hydraulic parameters of a site, which :class:`MemberSoil` may give per member."""
SOIL_RANGES = {"pore_size_index": (1.0, 30.0), "saturated_conductivity": (1e-3, 1e5)}
"""Plausible ranges of the Clapp & Hornberger (1978) parameters (b in 1, K_sat in mm d-1)."""


def check_soil(soil, fail) -> None:
    """Check the order w_r >= 0, w_r < w_wp < w_c < w_fc < w_sat <= 1 (docs/model/gleam.md a.11) and the
    ranges of b and K_sat of ``soil`` (any object with the :data:`SOIL_FIELDS`, arrays of one shape);
    ``fail(mask, message)`` raises, naming the first offending point of ``mask``."""
    bad = soil.residual < 0.0
    if bad.any():
        fail(bad, f"residual = {soil.residual[bad][0]} < 0")
    bad = soil.saturation > 1.0
    if bad.any():
        fail(bad, f"saturation = {soil.saturation[bad][0]} > 1")
    order = ("residual", "wilting_point", "critical", "field_capacity", "saturation")
    for lower, upper in zip(order[:-1], order[1:]):
        bad = getattr(soil, lower) >= getattr(soil, upper)
        if bad.any():
            fail(
                bad,
                f"soil parameters out of order: {lower} = {getattr(soil, lower)[bad][0]} >= "
                f"{upper} = {getattr(soil, upper)[bad][0]} (need w_r < w_wp < w_c < w_fc < w_sat)",
            )
    for name, (low, high) in SOIL_RANGES.items():
        value = getattr(soil, name)
        bad = ~np.isfinite(value) | (value < low) | (value > high)
        if bad.any():
            fail(bad, f"{name} = {value[bad][0]} outside [{low}, {high}]")


def _site_array(value, n_site: int, name: str, dtype=float) -> np.ndarray:
    array = np.asarray(value, dtype=dtype)
    if array.ndim == 0:
        array = np.full(n_site, array, dtype=dtype)
    if array.shape != (n_site,):
        raise ValueError(f"SiteStatics: {name} must be shaped (site,) = ({n_site},), got {array.shape}")
    return array


@attrs.frozen(eq=False)
class SiteStatics:
    """Static properties of ``n_site`` sites; arrays shaped ``(site,)`` (scalars broadcast).

    Fractions are of the pixel (docs/model/gleam.md a.1): tall vegetation, short vegetation, bare soil,
    open water, summing to one.  Soil parameters in m3 m-3, the same for all layers of a site.
    """

    site_id: np.ndarray = attrs.field(metadata={"units": "1"})
    fraction_tall: np.ndarray = attrs.field(metadata={"units": "1"})
    fraction_short: np.ndarray = attrs.field(metadata={"units": "1"})
    fraction_bare: np.ndarray = attrs.field(metadata={"units": "1"})
    fraction_water: np.ndarray = attrs.field(metadata={"units": "1"})
    saturation: np.ndarray = attrs.field(metadata={"units": "m3 m-3"})
    field_capacity: np.ndarray = attrs.field(metadata={"units": "m3 m-3"})
    critical: np.ndarray = attrs.field(metadata={"units": "m3 m-3"})
    wilting_point: np.ndarray = attrs.field(metadata={"units": "m3 m-3"})
    residual: np.ndarray = attrs.field(default=None, metadata={"units": "m3 m-3"})
    vod_p01: np.ndarray = attrs.field(default=0.0, metadata={"units": "1"})
    vod_p99: np.ndarray = attrs.field(default=1.0, metadata={"units": "1"})
    lai_p01: np.ndarray = attrs.field(default=0.0, metadata={"units": "m2 m-2"})
    lai_p99: np.ndarray = attrs.field(default=6.0, metadata={"units": "m2 m-2"})
    permanent_ice: np.ndarray = attrs.field(default=False, metadata={"units": "1"})
    pore_size_index: np.ndarray = attrs.field(
        default=CLAPP_HORNBERGER[DEFAULT_TEXTURE][0], metadata={"units": "1", "long_name": "Clapp-Hornberger b"}
    )
    saturated_conductivity: np.ndarray = attrs.field(
        default=CLAPP_HORNBERGER[DEFAULT_TEXTURE][1], metadata={"units": "mm d-1", "long_name": "K_sat"}
    )

    def __attrs_post_init__(self):
        ids = np.asarray(self.site_id)
        if ids.ndim != 1 or ids.size == 0:
            raise ValueError("SiteStatics: site_id must be a non-empty 1-d array")
        if len(set(ids.tolist())) != ids.size:
            raise ValueError("SiteStatics: duplicate site_id")
        n = ids.size
        object.__setattr__(self, "site_id", ids)
        for name in attrs.fields_dict(type(self)):
            if name in ("site_id", "residual", "permanent_ice"):
                continue
            object.__setattr__(self, name, _site_array(getattr(self, name), n, name))
        residual = self.residual
        if residual is None:
            residual = RESIDUAL_TO_WILTING * self.wilting_point
        object.__setattr__(self, "residual", _site_array(residual, n, "residual"))
        object.__setattr__(self, "permanent_ice", _site_array(self.permanent_ice, n, "permanent_ice", bool))
        self._validate()

    @property
    def n_site(self) -> int:
        return self.site_id.size

    def describe_site(self, index: int) -> str:
        return f"site index {index} (site_id {self.site_id[index].item()!r})"

    def _fail(self, mask: np.ndarray, message: str):
        index = int(np.flatnonzero(mask)[0])
        raise ValueError(f"SiteStatics: {self.describe_site(index)}: {message}")

    def _validate(self):
        for name in attrs.fields_dict(type(self)):
            if name in ("site_id", "permanent_ice"):
                continue
            value = getattr(self, name)
            bad = ~np.isfinite(value)
            if bad.any():
                self._fail(bad, f"{name} is not finite ({value[bad][0]})")
        fractions = {
            "fraction_tall": self.fraction_tall,
            "fraction_short": self.fraction_short,
            "fraction_bare": self.fraction_bare,
            "fraction_water": self.fraction_water,
        }
        for name, value in fractions.items():
            bad = (value < -FRACTION_TOLERANCE) | (value > 1.0 + FRACTION_TOLERANCE)
            if bad.any():
                self._fail(bad, f"{name} = {value[bad][0]} outside [0, 1]")
            # round-off such as 1 - (f_T + f_H + f_B) = -2e-16 is snapped to the interval
            fractions[name] = np.clip(value, 0.0, 1.0)
            object.__setattr__(self, name, fractions[name])
        total = sum(fractions.values())
        bad = np.abs(total - 1.0) > FRACTION_TOLERANCE
        if bad.any():
            self._fail(bad, f"fractions f_T + f_H + f_B + f_W = {total[bad][0]!r}, must sum to one")
        bad = self.fraction_water >= 1.0
        if bad.any():
            self._fail(bad, "fraction_water = 1: a site needs some land (f_T + f_H + f_B > 0)")
        check_soil(self, self._fail)
        for lo, hi in (("vod_p01", "vod_p99"), ("lai_p01", "lai_p99")):
            bad = getattr(self, lo) >= getattr(self, hi)
            if bad.any():
                self._fail(bad, f"{lo} >= {hi}")

    @classmethod
    def from_texture(
        cls,
        site_id: Sequence,
        texture: str | Sequence[str],
        fraction_tall,
        fraction_short,
        fraction_bare,
        fraction_water=0.0,
        **kwargs,
    ) -> SiteStatics:
        """Soil parameters from the docs/model/gleam.md a.11 table (w_r by DD-11 unless given), b and K_sat
        from Clapp & Hornberger (1978) unless given."""
        ids = np.asarray(site_id)
        textures = [texture] * ids.size if isinstance(texture, str) else list(texture)
        if len(textures) != ids.size:
            raise ValueError(f"SiteStatics.from_texture: {len(textures)} textures for {ids.size} sites")
        rows = []
        for index, name in enumerate(textures):
            key = str(name).strip().lower().replace("_", " ")
            if key not in SOIL_TEXTURES:
                raise ValueError(
                    f"SiteStatics: site index {index} (site_id {ids[index].item()!r}): unknown soil texture "
                    f"{name!r}; known: {sorted(SOIL_TEXTURES)}"
                )
            rows.append(SOIL_TEXTURES[key] + CLAPP_HORNBERGER[key])
        table = np.array(rows, dtype=float).reshape(ids.size, 6)
        kwargs.setdefault("pore_size_index", table[:, 4])
        kwargs.setdefault("saturated_conductivity", table[:, 5])
        return cls(
            site_id=ids,
            fraction_tall=fraction_tall,
            fraction_short=fraction_short,
            fraction_bare=fraction_bare,
            fraction_water=fraction_water,
            saturation=table[:, 0],
            field_capacity=table[:, 1],
            critical=table[:, 2],
            wilting_point=table[:, 3],
            **kwargs,
        )


@attrs.frozen(eq=False)
class MemberSoil:
    """Soil hydraulic parameters per ensemble member: every array ``(member, site)``, constant in
    time (the parameter perturbations of ``components/perturbers/soil_parameters.py``).  Replaces
    the soil fields of :class:`SiteStatics` (:data:`SOIL_FIELDS`) in ``GleamModel(member_soil=...)``;
    the fractions and vegetation percentiles stay per site."""

    saturation: np.ndarray = attrs.field(metadata={"units": "m3 m-3"})
    field_capacity: np.ndarray = attrs.field(metadata={"units": "m3 m-3"})
    critical: np.ndarray = attrs.field(metadata={"units": "m3 m-3"})
    wilting_point: np.ndarray = attrs.field(metadata={"units": "m3 m-3"})
    residual: np.ndarray = attrs.field(metadata={"units": "m3 m-3"})
    pore_size_index: np.ndarray = attrs.field(metadata={"units": "1", "long_name": "Clapp-Hornberger b"})
    saturated_conductivity: np.ndarray = attrs.field(metadata={"units": "mm d-1", "long_name": "K_sat"})

    def __attrs_post_init__(self):
        shape = np.shape(self.saturation)
        for name in SOIL_FIELDS:
            value = np.asarray(getattr(self, name), dtype=float)
            if value.ndim != 2 or value.shape != shape or value.size == 0:
                raise ValueError(f"MemberSoil: {name} must be shaped (member, site) = {shape}, got {value.shape}")
            bad = ~np.isfinite(value)
            if bad.any():
                self._fail(bad, f"{name} is not finite")
            object.__setattr__(self, name, value)
        check_soil(self, self._fail)

    @property
    def n_members(self) -> int:
        return self.saturation.shape[0]

    @property
    def n_site(self) -> int:
        return self.saturation.shape[1]

    def _fail(self, mask: np.ndarray, message: str):
        member, site = np.unravel_index(int(np.flatnonzero(mask)[0]), mask.shape)
        raise ValueError(f"MemberSoil: member {int(member)}, site index {int(site)}: {message}")

    def subset(self, site_indices) -> MemberSoil:
        """The parameters of the sites at positions ``site_indices``."""
        return MemberSoil(**{name: getattr(self, name)[:, site_indices] for name in SOIL_FIELDS})

    @classmethod
    def of_statics(cls, statics: SiteStatics, n_members: int) -> MemberSoil:
        """Every member with the site's own parameters (no perturbation)."""
        return cls(**{name: np.repeat(getattr(statics, name)[None, :], n_members, axis=0) for name in SOIL_FIELDS})
