"""Optional numba kernel: the same daily step as ``kernel.py``, fused into one parallel loop.

Each (member, site) is independent, so one ``prange`` loop over them does the whole day with
scalars held in registers; the numpy kernel instead streams ~100 temporary arrays through memory.
The formulas and the order of floating-point operations mirror the numpy modules line by line
(cited there); ``tests/test_gleam_numba.py`` checks the two to 1e-12.  numba is an optional
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


@numba.njit(cache=True)
def _clip01(x):
    return min(max(x, 0.0), 1.0)


@numba.njit(cache=True)
def _column(a, w, m, k, start, n, dz, demand_in, net_input, lb, fc, sat, kappa):
    """MODEL_SPEC a.9 for layers a[m, k, start:start+n]; returns (evaporation, drainage)."""
    demand = max(demand_in, 0.0)
    condensation = max(-demand_in, 0.0)
    remaining = demand
    # order of decreasing start-of-day w, ties within TIE_TOLERANCE upper first (soil.wettest_first_order)
    o0, o1, o2 = 0, 1, 2
    if n >= 2:
        if w[m, k, start + 1] > w[m, k, start] + TIE_TOLERANCE:
            o0, o1 = 1, 0
    if n == 3:
        if w[m, k, start + 2] > w[m, k, start + o1] + TIE_TOLERANCE:
            o1, o2 = 2, o1
            if w[m, k, start + o1] > w[m, k, start + o0] + TIE_TOLERANCE:
                o0, o1 = o1, o0
    for r in range(n):
        layer = start + (o0 if r == 0 else (o1 if r == 1 else o2))
        available = max(a[m, k, layer] - lb * dz[layer], 0.0)
        take = min(remaining, available)
        a[m, k, layer] = a[m, k, layer] - take
        remaining = remaining - take
    extracted = demand - remaining
    a[m, k, start] += condensation
    flux = net_input
    for l in range(start, start + n):
        value = a[m, k, l] + flux
        flux = max(max(kappa * (value - fc * dz[l]), value - sat * dz[l]), 0.0)
        a[m, k, l] = value - flux
    return extracted - condensation, flux


@numba.njit(cache=True, parallel=True)
def _day(soil, snowpack, prev_swe, open_water, P, T, RN, VEG, SWE, has_swe, CONV, has_conv, fT, fH, fB, fW, wsat, wfc, wc, wwp, wr,
         ice, p01, p99, par, dz, new_soil, new_snow, new_prev, new_open, out):
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
    for index in numba.prange(n_member * n_site):
        m = index // n_site
        k = index - m * n_site
        p = P[m, k]
        ta = T[m, k]
        rn = RN[m, k]
        # a.3
        tk = ta + 273.15
        latent = 1.91846e6 * (tk / (tk - 33.91)) ** 2
        es = 0.6108 * math.exp(17.27 * ta / (ta + 237.3))
        slope = 4098.0 * es / (ta + 237.3) ** 2
        gamma = cp * pa / (epsr * latent)
        # a.4
        # same formula as _pt with the common factor computed once (equal to ~1 ulp)
        energy = slope / (slope + gamma) * rn * 86400.0 / latent
        ep_t = a_t * f_t * energy
        ep_h = a_h * f_h * energy
        ep_b = a_b * f_b * energy
        ep_w = a_w * f_w * energy
        # a.5
        pack0 = snowpack[m, k]
        is_ice = ice[k]
        if has_swe:
            apparent = max(SWE[m, k], prev_swe[m, k])
            mask = (apparent >= snow_thr) or is_ice
            ep_s = _snow_potential(tk, rn, a_s, f_s, cp, pa, epsr) if (mask or full) else 0.0
            snowfall = p if mask else 0.0
            rain = p - snowfall
            subl = max(0.0, min(min(ep_s, cap), pack0 + snowfall)) if mask else 0.0
            pack = pack0 + snowfall - subl
            melt = max(0.0, pack - apparent)
            if ta < no_melt or is_ice:
                melt = 0.0
            new_prev[m, k] = SWE[m, k]
        else:
            snowfall = p if ta <= rain_snow else 0.0
            rain = p - snowfall
            mask = (pack0 + snowfall >= snow_thr) or is_ice
            ep_s = _snow_potential(tk, rn, a_s, f_s, cp, pa, epsr) if (mask or full) else 0.0
            subl = max(0.0, min(min(ep_s, cap), pack0 + snowfall)) if mask else 0.0
            pack = pack0 + snowfall - subl
            capacity = (ddf + rmf * p) * max(ta, 0.0)
            melt = 0.0 if is_ice else min(pack, capacity)
            new_prev[m, k] = prev_swe[m, k]
        new_pack = pack - melt
        # a.6
        c = fT[k]
        if has_conv:
            conv = CONV[m, k]
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
            if rain < pg2:
                trunk = c * ptr * (1.0 - x) * (rain - pg1)
            else:
                trunk = c * st
        interception = 0.0 if mask else min(canopy + trunk, c * rain)
        ipc = interception / c if c > 0.0 else 0.0
        # a.7 (start-of-day state)
        for l in range(6):
            new_soil[m, k, l] = soil[m, k, l] * dz[l]
        veg = _clip01((VEG[m, k] - p01[k]) / (p99[k] - p01[k]))
        wmax_t = max(max(soil[m, k, 0], soil[m, k, 1]), soil[m, k, 2])
        wmax_h = max(soil[m, k, 3], soil[m, k, 4])
        d_t = _clip01((wc[k] - wmax_t) / (wc[k] - wwp[k]))
        d_h = _clip01((wc[k] - wmax_h) / (wc[k] - wwp[k]))
        stress_t = math.sqrt(veg) * (1.0 - d_t * d_t)
        stress_h = math.sqrt(veg) * (1.0 - d_h * d_h)
        stress_b = _clip01((soil[m, k, 5] - wr[k]) / (wc[k] - wr[k]))
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
        # a.9
        base = rain + melt
        in_t = base - ipc
        e_t, d_t_ = _column(new_soil, soil, m, k, 0, 3, dz, dem_t, in_t, wwp[k], wfc[k], wsat[k], kappa)
        e_h, d_h_ = _column(new_soil, soil, m, k, 3, 2, dz, dem_h, base, wwp[k], wfc[k], wsat[k], kappa)
        e_b, d_b_ = _column(new_soil, soil, m, k, 5, 1, dz, dem_b, base, wr[k], wfc[k], wsat[k], kappa)
        for l in range(6):
            new_soil[m, k, l] = new_soil[m, k, l] / dz[l]
        # a.10 and the pixel budget
        ft, fh, fb, fw = fT[k], fH[k], fB[k], fW[k]
        land = 1.0 - fw
        ow = open_water[m, k] + fw * (p - e_w)
        transp = ft * e_t + fh * e_h
        soil_e = fb * e_b
        subl_pix = land * subl
        total = interception + transp + soil_e + fw * e_w + subl_pix
        deep = ft * d_t_ + fh * d_h_ + fb * d_b_
        tws = 0.0
        rz_num = 0.0
        rz_den = 0.0
        for l in range(6):
            weight = ft if l < 3 else (fh if l < 5 else fb)
            tws += new_soil[m, k, l] * dz[l] * weight
            rz_num += new_soil[m, k, l] * (weight * dz[l])
            rz_den += weight * dz[l]
        tws = tws + land * new_pack + ow
        w1 = (new_soil[m, k, 0] * ft + new_soil[m, k, 3] * fh + new_soil[m, k, 5] * fb) / (ft + fh + fb)
        new_snow[m, k] = new_pack
        new_open[m, k] = ow
        out[0, m, k] = p
        out[1, m, k] = total
        out[2, m, k] = deep
        out[3, m, k] = 0.0
        out[4, m, k] = tws
        out[5, m, k] = w1
        if not full:
            continue
        out[6, m, k] = rz_num / rz_den
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
        out[22, m, k] = d_t_
        out[23, m, k] = ep_t
        out[24, m, k] = stress_t
        out[25, m, k] = base
        out[26, m, k] = e_h
        out[27, m, k] = d_h_
        out[28, m, k] = ep_h
        out[29, m, k] = stress_h
        out[30, m, k] = base
        out[31, m, k] = e_b
        out[32, m, k] = d_b_
        out[33, m, k] = ep_b
        out[34, m, k] = stress_b


class NumbaKernel:
    """Holds the static arrays in the layout the compiled loop wants.

    ``reuse_buffers``: keep two sets of state arrays and one set of flux arrays and write into
    them instead of allocating ~0.5 kB per member-site every day (page faults on fresh memory
    cost about as much as the computation at 10^5 sites).  The state returned by a step is then
    overwritten two steps later and the fluxes one step later: copy what you keep.
    """

    def __init__(self, statics, parameters, outputs="all", reuse_buffers=False):
        self.statics = statics
        self.parameter_vector = parameter_vector(parameters)
        self.thickness = np.ascontiguousarray(LAYER_THICKNESS, dtype=np.float64)
        self.n_out = len(FLUX_NAMES) if outputs == "all" else N_BUDGET
        self.reuse_buffers = reuse_buffers
        self._buffers = []
        self._flux_buffer = None

    def _new_state_buffers(self, soil_shape, shape, input_soil):
        if not self.reuse_buffers:
            return np.empty(soil_shape), np.empty(shape), np.empty(shape), np.empty(shape)
        for buffers in self._buffers:
            if buffers[0].shape == soil_shape and buffers[0] is not input_soil:
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

    def step(self, state, precipitation, air_temperature, net_radiation, vegetation, p01, p99, swe, convective):
        st = self.statics
        shape = precipitation.shape
        f64 = lambda a: np.ascontiguousarray(np.broadcast_to(a, shape), dtype=np.float64)  # noqa: E731
        has_swe = swe is not None
        swe_array = f64(swe) if has_swe else np.zeros((1, 1))
        has_conv = np.ndim(convective) > 0 or float(convective) != 0.0
        conv_array = f64(convective) if has_conv else np.zeros((1, 1))
        soil = np.ascontiguousarray(state["soil_moisture"], dtype=np.float64)
        new_soil, new_snow, new_prev, new_open = self._new_state_buffers(soil.shape, shape, soil)
        out = self._out(shape)
        # a parallel region costs a barrier per call; below ~50k member-sites it does not pay
        # (and on an oversubscribed machine the barrier waits for descheduled threads)
        threads = numba.get_num_threads()
        if precipitation.size < SERIAL_BELOW:
            numba.set_num_threads(1)
        try:
            _day(
                soil, f64(state["snowpack"]), f64(state["previous_swe"]), f64(state["open_water_storage"]),
                f64(precipitation), f64(air_temperature), f64(net_radiation), f64(vegetation), swe_array, has_swe,
                conv_array, has_conv, st.fraction_tall, st.fraction_short, st.fraction_bare, st.fraction_water,
                st.saturation, st.field_capacity, st.critical, st.wilting_point, st.residual,
                st.permanent_ice, np.asarray(p01, dtype=np.float64), np.asarray(p99, dtype=np.float64),
                self.parameter_vector, self.thickness, new_soil, new_snow, new_prev, new_open, out,
            )
        finally:
            numba.set_num_threads(threads)
        state = {"soil_moisture": new_soil, "snowpack": new_snow, "previous_swe": new_prev, "open_water_storage": new_open}
        return state, {name: out[i] for i, name in enumerate(FLUX_NAMES[: self.n_out])}
