"""Optional numba kernel: the same daily step as ``kernel.py``, fused into one parallel loop.

Each (member, site) is independent, so one ``prange`` loop over them does the whole day with
scalars held in registers; the numpy kernel instead streams ~100 temporary arrays through memory.
The formulas mirror the numpy modules (cited there); a few are rearranged for speed (per-site
constants precomputed, reciprocals instead of divisions, the Priestley-Taylor factor with one
division), which changes results by a few ulp; ``tests/test_gleam_numba.py`` checks the two to 1e-12.  numba is an optional
dependency (``pip install s1da[fast]``); this module is only imported for ``kernel="numba"``.
"""

from __future__ import annotations

import math

import numpy as np

try:
    import numba
except ImportError as error:  # pragma: no cover - exercised only without numba
    raise ImportError(
        "GleamModel(kernel='numba') needs the optional dependency numba: pip install 's1da[fast]' "
        "(or use kernel='numpy', which gives the same numbers)"
    ) from error

from .kernel import BUDGET_FLUXES, FRACTIONS, LAYER_THICKNESS
from .soil import TIE_TOLERANCE

FLUX_NAMES = BUDGET_FLUXES + (
    "root_zone_soil_moisture",
    "interception_loss",
    "transpiration",
    "soil_evaporation",
    "open_water_evaporation",
    "sublimation",
    "snow_water_equivalent",
    "snowfall",
    "snow_sublimation",
    "snowmelt",
    "snow_mask",
    "open_water_storage",
    "potential_evaporation_water",
    "potential_evaporation_snow",
) + tuple(
    f"{name}_{what}"
    for name in FRACTIONS
    for what in ("net_input", "evaporation", "drainage", "potential_evaporation", "stress")
)
SERIAL_BELOW = 50_000
N_BUDGET = len(BUDGET_FLUXES)
"""The first fluxes are the budget set (``outputs="budget"``)."""

# parameter vector layout
_PARAMETER_NAMES = (
    "cp", "pa", "eps_ratio",
    "a_t", "a_h", "a_b", "a_w", "a_s", "p_t", "p_h", "p_b", "p_w", "p_s",
    "snow_thr", "subl_cap", "no_melt", "rain_snow", "ddf", "rmf",
    "sc", "ec", "st", "pt", "eps_t", "r_conv", "r_syn",
    "beta", "kappa",
)


def parameter_vector(parameters) -> np.ndarray:
    t, pt, sn, ic = parameters.thermodynamics, parameters.priestley_taylor, parameters.snow, parameters.interception
    values = (
        t.specific_heat_air, t.air_pressure, t.vapour_to_dry_air_molar_mass_ratio,
        pt.alpha_tall, pt.alpha_short, pt.alpha_bare, pt.alpha_water, pt.alpha_snow,
        pt.phi_tall, pt.phi_short, pt.phi_bare, pt.phi_water, pt.phi_snow,
        sn.mask_threshold, sn.sublimation_cap, sn.no_melt_below, sn.rain_snow_threshold,
        sn.degree_day_factor, sn.rain_melt_factor,
        ic.canopy_storage, ic.wet_canopy_evaporation, ic.trunk_storage, ic.trunk_drainage_fraction,
        ic.trunk_evaporation_fraction, ic.convective_rain_rate, ic.synoptic_rain_rate,
        parameters.evaporation.interception_coupling, parameters.soil.drainage_fraction,
    )
    assert len(values) == len(_PARAMETER_NAMES)
    return np.array(values, dtype=np.float64)


@numba.njit(cache=True)
def _pt(alpha, phi, rn, slope, gamma, latent):
    return alpha * slope / (slope + gamma) * phi * rn * 86400.0 / latent


@numba.njit(cache=True)
def _snow_potential(tk, rn, alpha, phi, cp, pa, epsr):
    """Ep_S with the ice properties (MODEL_SPEC a.3-a.4); only evaluated where it is used."""
    latent_ice = (46782.5 + 35.8925 * tk - 0.07414 * tk**2 + 541.5 * math.exp(-((tk / 123.75) ** 2))) / 0.018015
    esi = math.exp(9.550426 - 5723.265 / tk + 3.53068 * math.log(tk) - 0.00728332 * tk)
    slope_ice = esi * (5723.265 / tk**2 + 3.53068 / tk - 0.00728332) / 1000.0
    gamma_ice = cp * pa / (epsr * latent_ice)
    return _pt(alpha, phi, rn, slope_ice, gamma_ice, latent_ice)


# ---------------------------------------------------------------- per-site constants
# Everything that depends only on the statics is computed once per model (``site_constants``)
# and read from one contiguous row per site; divisions by per-site constants become
# multiplications by reciprocals (results differ from numpy's divisions by ~1 ulp).
DZ1, DZ2, DZ3 = (float(x) for x in LAYER_THICKNESS[:3])
assert tuple(LAYER_THICKNESS) == (DZ1, DZ2, DZ3, DZ1, DZ2, DZ1), "the kernel assumes T: 3 layers, H: the top 2, B: the top 1"
INV_DZ1, INV_DZ2, INV_DZ3 = 1.0 / DZ1, 1.0 / DZ2, 1.0 / DZ3
(S_FT, S_FH, S_FB, S_FW, S_LAND, S_INV_FT, S_INV_FSUM, S_WC, S_INV_C_WP, S_WR, S_INV_C_R,
 S_LOW1, S_LOW2, S_LOW3, S_LOW_BARE, S_FC1, S_FC2, S_FC3, S_SAT1, S_SAT2, S_SAT3, S_ICE) = range(22)
N_SITE_CONSTANTS = 24  # padded to three 64-byte cache lines per site
SITE_BLOCK = 512
"""Sites per work item: the loop runs member by member over a block of sites, so the block's
constants stay in cache for all members and every array is read in contiguous runs."""
CHUNK_BLOCKS = 4
"""Site blocks per dynamically scheduled chunk of the parallel loop."""
FORCING_CHECKED = ("precipitation", "air_temperature", "net_radiation", "vegetation", "swe", "convective_fraction")


def site_constants(statics) -> np.ndarray:
    """(site, N_SITE_CONSTANTS) per-site constants of the daily step (layout ``S_*``)."""
    ft, fh, fb, fw = statics.fraction_tall, statics.fraction_short, statics.fraction_bare, statics.fraction_water
    wsat, wfc, wc, wwp, wr = statics.saturation, statics.field_capacity, statics.critical, statics.wilting_point, statics.residual
    c = np.zeros((statics.n_site, N_SITE_CONSTANTS))
    c[:, S_FT], c[:, S_FH], c[:, S_FB], c[:, S_FW] = ft, fh, fb, fw
    c[:, S_LAND] = 1.0 - fw
    c[:, S_INV_FT] = np.divide(1.0, ft, out=np.zeros_like(ft), where=ft > 0.0)  # I/c = 0 where c = 0
    c[:, S_INV_FSUM] = 1.0 / (ft + fh + fb)  # a.10 w1 denominator (same sum order as numpy)
    c[:, S_WC], c[:, S_INV_C_WP] = wc, 1.0 / (wc - wwp)  # a.7
    c[:, S_WR], c[:, S_INV_C_R] = wr, 1.0 / (wc - wr)
    # a.9 lower bounds, field capacity and saturation storages: the same products as soil.py
    c[:, S_LOW1], c[:, S_LOW2], c[:, S_LOW3], c[:, S_LOW_BARE] = wwp * DZ1, wwp * DZ2, wwp * DZ3, wr * DZ1
    c[:, S_FC1], c[:, S_FC2], c[:, S_FC3] = wfc * DZ1, wfc * DZ2, wfc * DZ3
    c[:, S_SAT1], c[:, S_SAT2], c[:, S_SAT3] = wsat * DZ1, wsat * DZ2, wsat * DZ3
    c[:, S_ICE] = statics.permanent_ice.astype(np.float64)
    return c


@numba.njit(cache=True, inline="always")
def _pick(o, a0, a1, a2):
    return a0 if o == 0 else (a1 if o == 1 else a2)


@numba.njit(cache=True, inline="always")
def _in_range(x, lo, hi):
    return (x >= lo) & (x <= hi)  # False for NaN


@numba.njit(cache=True, parallel=True)
def _day(soil, snowpack, prev_swe, open_water, P, T, RN, VEG, SWE, has_swe, CONV, has_conv, site, p01, inv_range,
         par, limits, check, bad, new_soil, new_snow, new_prev, new_open, out):
    n_member, n_site = P.shape
    cp, pa, epsr = par[0], par[1], par[2]
    a_t, a_h, a_b, a_w, a_s = par[3], par[4], par[5], par[6], par[7]
    f_t, f_h, f_b, f_w, f_s = par[8], par[9], par[10], par[11], par[12]
    snow_thr, cap, no_melt, rain_snow, ddf, rmf = par[13], par[14], par[15], par[16], par[17], par[18]
    sc, ec, st, ptr, eps_t, r_conv, r_syn = par[19], par[20], par[21], par[22], par[23], par[24], par[25]
    beta, kappa = par[26], par[27]
    full = out.shape[0] > N_BUDGET
    evap = (1.0 - eps_t) * ec
    x0 = evap / r_syn
    pg1_0 = -(r_syn * sc / evap) * math.log1p(-x0)
    pg2_0 = pg1_0 + r_syn * st / (ptr * (r_syn - evap))
    # a.3-a.4 rearranged: with gamma = G / lambda (G = c_p P_a / eps),
    # slope / (slope + gamma) * Rn * 86400 / lambda = slope Rn 86400 / (slope lambda + G)
    # and lambda = L0 (tk / u)^2, u = tk - 33.91, so one division instead of four
    big_g = cp * pa / epsr
    a_tt, a_hh, a_bb, a_ww = a_t * f_t, a_h * f_h, a_b * f_b, a_w * f_w
    n_block = (n_site + SITE_BLOCK - 1) // SITE_BLOCK
    for block in numba.prange(n_block):
        k_start = block * SITE_BLOCK
        k_stop = min(k_start + SITE_BLOCK, n_site)
        ok = True
        for m in range(n_member):
            for k in range(k_start, k_stop):
                p = P[m, k]
                ta = T[m, k]
                rn = RN[m, k]
                vegetation = VEG[m, k]
                if check:
                    ok &= _in_range(p, limits[0, 0], limits[0, 1]) & _in_range(ta, limits[1, 0], limits[1, 1])
                    ok &= _in_range(rn, limits[2, 0], limits[2, 1]) & _in_range(vegetation, limits[3, 0], limits[3, 1])
                # a.3
                tk = ta + 273.15
                inv_tc = 1.0 / (ta + 237.3)
                es = 0.6108 * math.exp(17.27 * ta * inv_tc)
                slope = 4098.0 * es * inv_tc * inv_tc
                u2 = (tk - 33.91) * (tk - 33.91)
                # a.4: common factor of the Priestley-Taylor terms
                energy = slope * rn * 86400.0 * u2 / (slope * 1.91846e6 * tk * tk + big_g * u2)
                ep_t = a_tt * energy
                ep_h = a_hh * energy
                ep_b = a_bb * energy
                ep_w = a_ww * energy
                # a.5
                pack0 = snowpack[m, k]
                is_ice = site[k, S_ICE] != 0.0
                if has_swe:
                    swe = SWE[m, k]
                    if check:
                        ok &= _in_range(swe, limits[4, 0], limits[4, 1])
                    apparent = max(swe, prev_swe[m, k])
                    mask = (apparent >= snow_thr) or is_ice
                    ep_s = _snow_potential(tk, rn, a_s, f_s, cp, pa, epsr) if (mask or full) else 0.0
                    snowfall = p if mask else 0.0
                    rain = p - snowfall
                    subl = max(0.0, min(min(ep_s, cap), pack0 + snowfall)) if mask else 0.0
                    pack = pack0 + snowfall - subl
                    melt = max(0.0, pack - apparent)
                    if ta < no_melt or is_ice:
                        melt = 0.0
                    new_prev[m, k] = swe
                else:
                    snowfall = p if ta <= rain_snow else 0.0
                    rain = p - snowfall
                    mask = (pack0 + snowfall >= snow_thr) or is_ice
                    ep_s = _snow_potential(tk, rn, a_s, f_s, cp, pa, epsr) if (mask or full) else 0.0
                    subl = max(0.0, min(min(ep_s, cap), pack0 + snowfall)) if mask else 0.0
                    pack = pack0 + snowfall - subl
                    capacity = (ddf + rmf * p) * max(ta, 0.0)
                    melt = 0.0 if is_ice else min(pack, capacity)
                    # previous_swe is unchanged: the caller passes the input array on (as kernel.py)
                new_pack = pack - melt
                # a.6
                c = site[k, S_FT]
                if has_conv:
                    conv = CONV[m, k]
                    if check:
                        ok &= _in_range(conv, limits[5, 0], limits[5, 1])
                    rate = conv * r_conv + (1.0 - conv) * r_syn
                    x = evap / rate
                    pg1 = -(rate * sc / evap) * math.log1p(-x)
                    pg2 = pg1 + rate * st / (ptr * (rate - evap))
                else:  # synoptic rate everywhere: thresholds are constants (DD-6 default)
                    x, pg1, pg2 = x0, pg1_0, pg2_0
                if rain < pg1:
                    canopy = c * rain
                    trunk = 0.0
                else:
                    canopy = c * (pg1 + x * (rain - pg1))
                    trunk = c * ptr * (1.0 - x) * (rain - pg1) if rain < pg2 else c * st
                interception = 0.0 if mask else min(canopy + trunk, c * rain)
                ipc = interception * site[k, S_INV_FT]
                # a.7 from the start-of-day state
                w0, w1, w2, w3, w4, w5 = soil[m, k, 0], soil[m, k, 1], soil[m, k, 2], soil[m, k, 3], soil[m, k, 4], soil[m, k, 5]
                veg = min(max((vegetation - p01[k]) * inv_range[k], 0.0), 1.0)
                root = math.sqrt(veg)
                wc = site[k, S_WC]
                deficit_t = min(max((wc - max(max(w0, w1), w2)) * site[k, S_INV_C_WP], 0.0), 1.0)
                deficit_h = min(max((wc - max(w3, w4)) * site[k, S_INV_C_WP], 0.0), 1.0)
                stress_t = root * (1.0 - deficit_t * deficit_t)
                stress_h = root * (1.0 - deficit_h * deficit_h)
                stress_b = min(max((w5 - site[k, S_WR]) * site[k, S_INV_C_R], 0.0), 1.0)
                # a.8
                if mask:
                    dem_t = 0.0
                    dem_h = 0.0
                    dem_b = 0.0
                else:
                    dem_t = ep_t if ep_t < 0.0 else max(0.0, stress_t * ep_t - beta * ipc)
                    dem_h = ep_h if ep_h < 0.0 else stress_h * ep_h
                    dem_b = ep_b if ep_b < 0.0 else stress_b * ep_b
                e_w = max(ep_w, 0.0)
                # a.9, storages s = w dz (mm) held in registers
                base = rain + melt
                in_t = base - ipc
                s0, s1, s2, s3, s4, s5 = w0 * DZ1, w1 * DZ2, w2 * DZ3, w3 * DZ1, w4 * DZ2, w5 * DZ1
                # -- tall: extraction wettest first (ties within TIE_TOLERANCE: upper first, soil.py)
                demand = max(dem_t, 0.0)
                condensation = max(-dem_t, 0.0)
                o0, o1, o2 = 0, 1, 2
                if w1 > w0 + TIE_TOLERANCE:
                    o0, o1 = 1, 0
                if w2 > _pick(o1, w0, w1, w2) + TIE_TOLERANCE:
                    o1, o2 = 2, o1
                    if w2 > _pick(o0, w0, w1, w2) + TIE_TOLERANCE:
                        o0, o1 = 2, o0
                av0 = max(s0 - site[k, S_LOW1], 0.0)
                av1 = max(s1 - site[k, S_LOW2], 0.0)
                av2 = max(s2 - site[k, S_LOW3], 0.0)
                take_a = min(demand, _pick(o0, av0, av1, av2))
                remaining = demand - take_a
                take_b = min(remaining, _pick(o1, av0, av1, av2))
                remaining = remaining - take_b
                take_c = min(remaining, _pick(o2, av0, av1, av2))
                remaining = remaining - take_c
                s0 = s0 - (take_a if o0 == 0 else (take_b if o1 == 0 else take_c))
                s1 = s1 - (take_a if o0 == 1 else (take_b if o1 == 1 else take_c))
                s2 = s2 - (take_a if o0 == 2 else (take_b if o1 == 2 else take_c))
                e_t = (demand - remaining) - condensation
                s0 += condensation
                # infiltration and cascade drainage
                v = s0 + in_t
                q = max(max(kappa * (v - site[k, S_FC1]), v - site[k, S_SAT1]), 0.0)
                s0 = v - q
                v = s1 + q
                q = max(max(kappa * (v - site[k, S_FC2]), v - site[k, S_SAT2]), 0.0)
                s1 = v - q
                v = s2 + q
                q = max(max(kappa * (v - site[k, S_FC3]), v - site[k, S_SAT3]), 0.0)
                s2 = v - q
                d_t = q
                # -- short
                demand = max(dem_h, 0.0)
                condensation = max(-dem_h, 0.0)
                first_lower = w4 > w3 + TIE_TOLERANCE
                av0 = max(s3 - site[k, S_LOW1], 0.0)
                av1 = max(s4 - site[k, S_LOW2], 0.0)
                take_a = min(demand, av1 if first_lower else av0)
                remaining = demand - take_a
                take_b = min(remaining, av0 if first_lower else av1)
                remaining = remaining - take_b
                s3 = s3 - (take_b if first_lower else take_a)
                s4 = s4 - (take_a if first_lower else take_b)
                e_h = (demand - remaining) - condensation
                s3 += condensation
                v = s3 + base
                q = max(max(kappa * (v - site[k, S_FC1]), v - site[k, S_SAT1]), 0.0)
                s3 = v - q
                v = s4 + q
                q = max(max(kappa * (v - site[k, S_FC2]), v - site[k, S_SAT2]), 0.0)
                s4 = v - q
                d_h = q
                # -- bare (one layer)
                demand = max(dem_b, 0.0)
                condensation = max(-dem_b, 0.0)
                take_a = min(demand, max(s5 - site[k, S_LOW_BARE], 0.0))
                e_b = take_a - condensation
                v = s5 - take_a + condensation + base
                q = max(max(kappa * (v - site[k, S_FC1]), v - site[k, S_SAT1]), 0.0)
                s5 = v - q
                d_b = q
                n0, n1, n2, n3, n4, n5 = s0 * INV_DZ1, s1 * INV_DZ2, s2 * INV_DZ3, s3 * INV_DZ1, s4 * INV_DZ2, s5 * INV_DZ1
                new_soil[m, k, 0] = n0
                new_soil[m, k, 1] = n1
                new_soil[m, k, 2] = n2
                new_soil[m, k, 3] = n3
                new_soil[m, k, 4] = n4
                new_soil[m, k, 5] = n5
                # a.10 and the pixel budget (kernel.py docstring)
                ft, fh, fb, fw, land = site[k, S_FT], site[k, S_FH], site[k, S_FB], site[k, S_FW], site[k, S_LAND]
                ow = open_water[m, k] + fw * (p - e_w)
                transp = ft * e_t + fh * e_h
                soil_e = fb * e_b
                subl_pix = land * subl
                total = interception + transp + soil_e + fw * e_w + subl_pix
                deep = ft * d_t + fh * d_h + fb * d_b
                tws = s0 * ft + s1 * ft + s2 * ft + s3 * fh + s4 * fh + s5 * fb + land * new_pack + ow
                new_snow[m, k] = new_pack
                new_open[m, k] = ow
                out[0, m, k] = p
                out[1, m, k] = total
                out[2, m, k] = deep
                out[3, m, k] = 0.0
                out[4, m, k] = tws
                out[5, m, k] = (n0 * ft + n3 * fh + n5 * fb) * site[k, S_INV_FSUM]
                if not full:
                    continue
                wt1, wt2, wt3, wh1, wh2, wb1 = ft * DZ1, ft * DZ2, ft * DZ3, fh * DZ1, fh * DZ2, fb * DZ1
                rz_num = n0 * wt1 + n1 * wt2 + n2 * wt3 + n3 * wh1 + n4 * wh2 + n5 * wb1
                out[6, m, k] = rz_num / (wt1 + wt2 + wt3 + wh1 + wh2 + wb1)
                out[7, m, k] = interception
                out[8, m, k] = transp
                out[9, m, k] = soil_e
                out[10, m, k] = fw * e_w
                out[11, m, k] = subl_pix
                out[12, m, k] = new_pack
                out[13, m, k] = snowfall
                out[14, m, k] = subl
                out[15, m, k] = melt
                out[16, m, k] = 1.0 if mask else 0.0
                out[17, m, k] = ow
                out[18, m, k] = ep_w
                out[19, m, k] = ep_s
                out[20, m, k] = in_t
                out[21, m, k] = e_t
                out[22, m, k] = d_t
                out[23, m, k] = ep_t
                out[24, m, k] = stress_t
                out[25, m, k] = base
                out[26, m, k] = e_h
                out[27, m, k] = d_h
                out[28, m, k] = ep_h
                out[29, m, k] = stress_h
                out[30, m, k] = base
                out[31, m, k] = e_b
                out[32, m, k] = d_b
                out[33, m, k] = ep_b
                out[34, m, k] = stress_b
        if check:
            bad[block] = not ok


class NumbaKernel:
    """Holds the static arrays in the layout the compiled loop wants.

    ``reuse_buffers``: keep two sets of state arrays and one set of flux arrays and write into
    them instead of allocating ~0.5 kB per member-site every day (page faults on fresh memory
    cost about as much as the computation at 10^5 sites).  The state returned by a step is then
    overwritten two steps later and the fluxes one step later: copy what you keep.

    ``step(..., limits=...)`` checks the forcing values inside the loop (a few comparisons per
    member-site instead of several passes over memory) and returns ``None`` if any value is
    outside its ``limits`` row or not finite; the caller then finds and reports the offender.
    """

    def __init__(self, statics, parameters, outputs="all", reuse_buffers=False):
        self.statics = statics
        self.parameter_vector = parameter_vector(parameters)
        self.site = site_constants(statics)
        self.n_out = len(FLUX_NAMES) if outputs == "all" else N_BUDGET
        self.reuse_buffers = reuse_buffers
        self._buffers = []
        self._flux_buffer = None
        self._vegetation_range = {}

    def _new_state_buffers(self, soil_shape, shape, input_soil, input_previous):
        if not self.reuse_buffers:
            return np.empty(soil_shape), np.empty(shape), np.empty(shape), np.empty(shape)
        for buffers in self._buffers:
            # the input previous_swe may be a buffer handed on unchanged by a temperature-index day
            if buffers[0].shape == soil_shape and buffers[0] is not input_soil and buffers[2] is not input_previous:
                break
        else:
            buffers = (np.empty(soil_shape), np.empty(shape), np.empty(shape), np.empty(shape))
            self._buffers = (self._buffers + [buffers])[-2:]
        return buffers

    def _out(self, shape):
        if not self.reuse_buffers:
            return np.empty((self.n_out,) + shape)
        if self._flux_buffer is None or self._flux_buffer.shape[1:] != shape:
            self._flux_buffer = np.empty((self.n_out,) + shape)
        return self._flux_buffer

    def _vegetation_normalisation(self, p01, p99):
        """(p01, 1 / (p99 - p01)) per site (a.7), cached per pair of static arrays."""
        key = (id(p01), id(p99))
        cached = self._vegetation_range.get(key)
        if cached is None or cached[0] is not p01 or cached[1] is not p99:
            low = np.ascontiguousarray(np.broadcast_to(p01, (self.statics.n_site,)), dtype=np.float64)
            high = np.ascontiguousarray(np.broadcast_to(p99, (self.statics.n_site,)), dtype=np.float64)
            cached = (p01, p99, low, 1.0 / (high - low))
            self._vegetation_range[key] = cached
        return cached[2], cached[3]

    def step(self, state, precipitation, air_temperature, net_radiation, vegetation, p01, p99, swe, convective, limits=None):
        shape = precipitation.shape
        f64 = lambda a: np.ascontiguousarray(np.broadcast_to(a, shape), dtype=np.float64)  # noqa: E731
        has_swe = swe is not None
        swe_array = f64(swe) if has_swe else np.zeros((1, 1))
        has_conv = np.ndim(convective) > 0 or float(convective) != 0.0
        conv_array = f64(convective) if has_conv else np.zeros((1, 1))
        soil = np.ascontiguousarray(state["soil_moisture"], dtype=np.float64)
        new_soil, new_snow, new_prev, new_open = self._new_state_buffers(soil.shape, shape, soil, state["previous_swe"])
        out = self._out(shape)
        low, inv_range = self._vegetation_normalisation(p01, p99)
        check = limits is not None
        limits = np.ascontiguousarray(limits if check else np.zeros((len(FORCING_CHECKED), 2)), dtype=np.float64)
        bad = np.zeros((shape[1] + SITE_BLOCK - 1) // SITE_BLOCK, dtype=np.bool_)
        # a parallel region costs a barrier per call; below ~50k member-sites it does not pay
        # (and on an oversubscribed machine the barrier waits for descheduled threads)
        threads = numba.get_num_threads()
        if precipitation.size < SERIAL_BELOW:
            numba.set_num_threads(1)
        try:
            # dynamic scheduling in chunks of a few site blocks: on a shared machine a thread that
            # is descheduled for a while does not hold up the whole day (static chunks would)
            with numba.parallel_chunksize(CHUNK_BLOCKS):
                _day(
                    soil, f64(state["snowpack"]), f64(state["previous_swe"]), f64(state["open_water_storage"]),
                    f64(precipitation), f64(air_temperature), f64(net_radiation), f64(vegetation), swe_array, has_swe,
                    conv_array, has_conv, self.site, low, inv_range, self.parameter_vector, limits, check, bad,
                    new_soil, new_snow, new_prev, new_open, out,
                )
        finally:
            numba.set_num_threads(threads)
        if check and bad.any():
            return None
        if not has_swe:
            new_prev = state["previous_swe"]  # not used by the temperature-index snow; kernel.py returns it as is
        state = {"soil_moisture": new_soil, "snowpack": new_snow, "previous_swe": new_prev, "open_water_storage": new_open}
        return state, {name: out[i] for i, name in enumerate(FLUX_NAMES[: self.n_out])}
