"""Optional numba kernel: :func:`~s1da.components.gleam.kernel.gleam_day` compiled for one
member-site at a time, run over blocks of sites by a thread pool.

There is no physics here: the loop calls the same process functions as the numpy kernel (numba
compiles them, ``pointwise.jitable``), one member-site at a time with scalars held in registers,
where the numpy kernel streams ~100 temporary (member, site) arrays through memory.  The per-site
constants are read from one site-major row (:class:`SiteRecord` fields in order) per site.  The
compiled loop releases the GIL (``nogil``), so a ``concurrent.futures`` thread pool of
``numba.get_num_threads()`` workers runs blocks of :data:`SITE_BLOCK` sites in parallel.  Results
differ from numpy's only by the few ulp of numpy's vectorised exp/log
(``tests/test_gleam_numba.py`` checks 1e-12).  numba's cache of this module is keyed on every
module of the package (``compiled_cache``).  numba is an optional dependency (``pip install
s1da[fast]``); this module is only imported for ``kernel="numba"``.
"""

from __future__ import annotations

import concurrent.futures

import numpy as np

try:
    import numba
except ImportError as error:  # pragma: no cover - exercised only without numba
    raise ImportError(
        "GleamModel(kernel='numba') needs the optional dependency numba: pip install 's1da[fast]' "
        "(or use kernel='numpy', which gives the same numbers)"
    ) from error

from . import compiled_cache

compiled_cache.register()  # before the decorators below create their caches

from .kernel import FLUX_NAMES, N_BUDGET, DayForcing, DayOptions, SiteRecord, day_options, gleam_day, site_record  # noqa: E402
from .parameters import GleamRecord  # noqa: E402
from .soil import SoilRecord  # noqa: E402

N_FLUXES = len(FLUX_NAMES)
SERIAL_BELOW = 50_000
SITE_BLOCK = 2048
SITE_TILE = 256
"""Sites of one tile of the compiled loop: all members run over a tile before the next, so its
constants (152 B a site) stay in the cache."""
"""Sites per work item of the thread pool (taken dynamically: on a shared machine a descheduled
thread does not hold up the whole day)."""
FORCING_CHECKED = ("precipitation", "air_temperature", "net_radiation", "vegetation", "swe", "convective_fraction")


@numba.njit(cache=True)
def _in_range(x, lo, hi):
    return (x >= lo) & (x <= hi)  # False for NaN


@numba.njit(cache=True)
def _forcing_at(forcing, m, k, options, limits, check):
    """The point's :class:`DayForcing` and whether its values pass ``limits``, a tuple of (low, high)
    in the order of FORCING_CHECKED (a tuple, not an array: no reference counting per point)."""
    swe = forcing.swe[m, k] if options.swe_forced else 0.0
    convective = forcing.convective_fraction[m, k] if options.per_point_rain_rate else 0.0
    point = DayForcing(
        forcing.precipitation[m, k], forcing.air_temperature[m, k], forcing.net_radiation[m, k],
        forcing.vegetation[m, k], swe, convective,
    )  # fmt: skip
    ok = True
    if check:
        for row in range(4):
            ok &= _in_range(point[row], limits[row][0], limits[row][1])
        if options.swe_forced:
            ok &= _in_range(swe, limits[4][0], limits[4][1])
        if options.per_point_rain_rate:
            ok &= _in_range(convective, limits[5][0], limits[5][1])
    return point, ok


@numba.njit(cache=True)
def _site_at(table, k):
    """The :class:`SiteRecord` of site ``k`` from its row of a site-major constants table (site, field)."""
    t = table
    return SiteRecord(
        t[k, 0], t[k, 1], t[k, 2], t[k, 3], t[k, 4], t[k, 5], t[k, 6], t[k, 7], t[k, 8], t[k, 9], t[k, 10],
        t[k, 11] != 0.0, t[k, 12], t[k, 13], t[k, 14], t[k, 15], t[k, 16], t[k, 17], t[k, 18],
    )  # fmt: skip


def _specialised_days(drainage, extraction_order, swe_forced, per_point_rain_rate, all_fluxes, check):
    """The loop over member-sites for one combination of the options, which the closure makes
    compile-time constants: the soil options (``SoilRecord.drainage``/``extraction_order``),
    the day's options (:class:`DayOptions` booleans) and whether the forcing is checked.  The
    records handed to :func:`gleam_day` are rebuilt inside from these constants, so LLVM drops
    the branches of the other options from the per-point code (numba compiles, and caches on
    disk, each closure separately: its index key includes the closure's values)."""

    @numba.njit(cache=True, nogil=True, error_model="numpy")
    def days(first_site, last_site, state, forcing, site, parameters, day_options, limits, new_state, out):
        """Run :func:`gleam_day` for every member at sites ``first_site:last_site``; ``state`` and
        ``new_state`` are (soil, snowpack, previous SWE, open water), ``out`` (flux, member, site).
        Returns False if a forcing value is outside ``limits``.  ``site`` is the constants table
        (table member, site, field): one table member for all (the default) or one per member
        (soil parameters per member).  Member by member over the sites, so the sites' constants
        stay in cache for all members and every array is read in contiguous runs."""
        p = parameters
        soil = SoilRecord(p.soil.drainage_fraction, drainage, extraction_order)
        parameters = GleamRecord(p.thermodynamics, p.priestley_taylor, p.snow, p.interception, p.evaporation, soil)
        options = DayOptions(
            swe_forced, per_point_rain_rate, all_fluxes,
            day_options.synoptic_x, day_options.synoptic_canopy_threshold, day_options.synoptic_trunk_threshold,
        )  # fmt: skip
        soil_moisture, snowpack, previous_swe, open_water = state
        new_soil, new_snowpack, new_previous_swe, new_open_water = new_state
        ok = True
        per_member = site.shape[0] > 1
        for tile in range(first_site, last_site, SITE_TILE):  # a tile's constants stay in cache for all members
            for m in range(snowpack.shape[0]):
                table = site[m] if per_member else site[0]
                for k in range(tile, min(tile + SITE_TILE, last_site)):
                    point, point_ok = _forcing_at(forcing, m, k, options, limits, check)
                    ok &= point_ok
                    w = soil_moisture
                    moisture = (w[m, k, 0], w[m, k, 1], w[m, k, 2], w[m, k, 3], w[m, k, 4], w[m, k, 5])
                    storage, pack, previous, water, fluxes = gleam_day(
                        moisture, snowpack[m, k], previous_swe[m, k], open_water[m, k], point, _site_at(table, k), parameters, options
                    )
                    for layer in range(6):
                        new_soil[m, k, layer] = storage[layer]
                    new_snowpack[m, k] = pack
                    new_open_water[m, k] = water
                    if swe_forced:
                        new_previous_swe[m, k] = previous
                    # constant trip counts: unrolled, so only the fluxes written are computed
                    if all_fluxes:
                        for i in range(N_FLUXES):
                            out[i, m, k] = fluxes[i]
                    else:
                        for i in range(N_BUDGET):
                            out[i, m, k] = fluxes[i]
        return ok

    return days


_KERNELS = {}


def days_kernel(soil, options, check):
    """The compiled loop for the soil record's options, the :class:`DayOptions` and ``check``
    (one per combination, built on first use)."""
    key = (int(soil.drainage), int(soil.extraction_order), bool(options.swe_forced), bool(options.per_point_rain_rate),
           bool(options.all_fluxes), bool(check))  # fmt: skip
    if key not in _KERNELS:
        _KERNELS[key] = _specialised_days(*key)
    return _KERNELS[key]


_POOL = {}


def _pool(n_threads):
    """A thread pool of ``n_threads`` workers (the compiled loop releases the GIL)."""
    if n_threads not in _POOL:
        _POOL[n_threads] = concurrent.futures.ThreadPoolExecutor(n_threads, thread_name_prefix="s1da-gleam")
    return _POOL[n_threads]


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

    def __init__(self, statics, parameters, outputs="all", reuse_buffers=False, member_soil=None):
        self.statics = statics
        self.member_soil = member_soil
        self.parameters = parameters.record()
        self.n_out = len(FLUX_NAMES) if outputs == "all" else N_BUDGET
        self.reuse_buffers = reuse_buffers
        self._buffers = []
        self._flux_buffer = None
        self._site_records = {}

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

    def _site(self, p01, p99):
        """The constants table (table member, site, :class:`SiteRecord` field), one table member
        unless the soil parameters are per member; cached per pair of p01/p99 arrays."""
        key = (id(p01), id(p99))
        cached = self._site_records.get(key)
        if cached is None or cached[0] is not p01 or cached[1] is not p99:
            n = self.statics.n_site
            low, high = (np.ascontiguousarray(np.broadcast_to(a, (n,)), dtype=np.float64) for a in (p01, p99))
            record = site_record(self.statics, low, high, self.member_soil)
            shape = (1, n) if self.member_soil is None else (self.member_soil.n_members, n)
            record = np.stack([np.broadcast_to(np.asarray(a, dtype=np.float64), shape) for a in record], axis=-1)
            record = np.ascontiguousarray(record)
            cached = (p01, p99, record)
            self._site_records[key] = cached
        return cached[2]

    def step(self, state, precipitation, air_temperature, net_radiation, vegetation, p01, p99, swe, convective, limits=None):
        shape = precipitation.shape
        f64 = lambda a: np.ascontiguousarray(np.broadcast_to(a, shape), dtype=np.float64)  # noqa: E731
        has_swe = swe is not None
        has_conv = np.ndim(convective) > 0 or float(convective) != 0.0
        unused = np.zeros((1, 1))
        forcing = DayForcing(
            f64(precipitation), f64(air_temperature), f64(net_radiation), f64(vegetation),
            f64(swe) if has_swe else unused, f64(convective) if has_conv else unused,
        )  # fmt: skip
        soil = np.ascontiguousarray(state["soil_moisture"], dtype=np.float64)
        new_state = self._new_state_buffers(soil.shape, shape, soil, state["previous_swe"])
        out = self._out(shape)
        options = day_options(self.parameters, has_swe, has_conv, self.n_out > N_BUDGET)
        check = limits is not None
        limits = np.asarray(limits if check else np.zeros((len(FORCING_CHECKED), 2)), dtype=np.float64)
        limits = tuple((float(low), float(high)) for low, high in limits)
        old = (soil, f64(state["snowpack"]), f64(state["previous_swe"]), f64(state["open_water_storage"]))
        arguments = (old, forcing, self._site(p01, p99), self.parameters, options, limits, new_state, out)
        days = days_kernel(self.parameters.soil, options, check)
        n_site = shape[1]
        threads = numba.get_num_threads()
        if precipitation.size < SERIAL_BELOW or threads == 1:  # a pool's hand-over costs more than the work
            ok = days(0, n_site, *arguments)
        else:
            starts = range(0, n_site, SITE_BLOCK)
            runs = [_pool(threads).submit(days, a, min(a + SITE_BLOCK, n_site), *arguments) for a in starts]
            ok = all([run.result() for run in runs])
        if check and not ok:
            return None
        new_soil, new_snow, new_prev, new_open = new_state
        if not has_swe:
            new_prev = state["previous_swe"]  # not used by the temperature-index snow; kernel.py returns it as is
        state = {"soil_moisture": new_soil, "snowpack": new_snow, "previous_swe": new_prev, "open_water_storage": new_open}
        return state, {name: out[i] for i, name in enumerate(FLUX_NAMES[: self.n_out])}
