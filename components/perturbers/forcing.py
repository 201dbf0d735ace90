"""Ensemble forcing perturbations: AR(1) in time, cross-correlated, truncated (docs/model/perturbations.md d).

Per member i, site s and day t (docs/model/perturbations.md d, steps 1-5; GEOS-LDAS practice):

1. AR(1) standard normals per perturbed variable: ``z_t = c z_{t-1} + sqrt(1 - c^2) xi_t`` with
   ``c = exp(-dt / tau)``, ``xi ~ N(0, 1)`` and ``z_0 = xi_0``.
2. Zero ensemble mean of the AR(1) state, ``z_i <- z_i - mean_i z_i`` (only for N > 2).
3. Cross-correlation ``u = S z`` with ``S S^T = C``.
4. Truncation ``|u| <= 2.5``.
5. Application: precipitation multiplicative log-normal, air temperature additive normal, net
   radiation multiplicative normal.
6. Limits (not in docs/model/perturbations.md d): a perturbed value outside the land model's valid range
   (:data:`~s1da.framework.sitedata.FORCING_LIMITS`, e.g. precipitation <= 2000 mm d-1) is
   clipped to the nearest bound.  Clipping (not reflection) keeps the value as close as possible
   to the unperturbed forcing, which the source already checked against the same range.  Each
   clipped value is counted: ``state["clipped_values"]`` ``(site, variable)`` accumulates the
   number of member-days clipped since the initial state.

Randomness: ``xi`` for one site comes from
``stream(entropy, site_id, Purpose.FORCING_PERTURBATION, block)``, one call per site and block
of ``block_days`` days that draws all members and all three perturbable variables at once.  A
site's numbers therefore depend only on (entropy, site id, day, number of members), never on
which other sites are perturbed alongside it.

Differences from docs/model/perturbations.md (d):

* The spec's RNG row says "one SeedSequence child per member".  Here members are an axis of one
  draw per (site, block) instead (docs/architecture.md "Scaling", DD in the brief): member i's noise thus
  depends on the ensemble size N.  The statistics are identical.
* Centring (step 2) makes each member's marginal variance (N - 1)/N instead of 1 (-1.6 % in SD
  for N = 32).  GEOS-LDAS does the same and does not rescale; neither do we.  The ensemble spread
  computed with ``ddof=1`` across members is unbiased.
* Step 3 uses the Cholesky factor by default (the spec allows it): it is unique, so the numbers
  do not depend on the LAPACK build's choice of eigenvector signs.  ``square_root="eigen"``
  selects the spec's ``S = V diag(sqrt(lambda))``.

Array layout inside the perturber state: ``(site, variable, member)``, so that every reduction
over members runs along the last, contiguous axis and gives bit-identical numbers for any
chunking of the sites.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Protocol

import attrs
import numpy as np

from s1da.framework.interfaces import Forcing, Perturber
from s1da.framework.randomness import Purpose, stream
from s1da.framework.sitedata import FORCING_LIMITS
from s1da.framework.validators import finite_non_negative, finite_positive, non_negative, positive_int


class NoiseBlock(Protocol):
    """One block of standard normals ``(site, day, ...)``, read a day at a time."""

    def day(self, day: int) -> np.ndarray:
        """The normals of day ``day`` of the block, ``(site, ...)``; the caller does not modify them."""


@attrs.frozen(eq=False)
class StoredNoise:
    """A :class:`NoiseBlock` drawn whole, ``values`` ``(site, day, ...)`` (made read-only)."""

    values: np.ndarray

    def __attrs_post_init__(self) -> None:
        self.values.flags.writeable = False

    def day(self, day: int) -> np.ndarray:
        return self.values[:, day]

PERTURBABLE_VARIABLES: tuple[str, ...] = ("precipitation", "air_temperature", "net_radiation")
"""Variables this perturber knows how to perturb, in the canonical order of the noise draw."""

# docs/model/perturbations.md d, table "C": preset "ldas" in the order of PERTURBABLE_VARIABLES (P, T_a, R_n):
# rho(P, R_n) = -0.8, rho(R_n, T_a) = +0.4, rho(P, T_a) = 0.  Eigenvalues 0.106, 1, 1.894.
LDAS_CORRELATION: tuple[tuple[float, ...], ...] = (
    (1.0, 0.0, -0.8),
    (0.0, 1.0, 0.4),
    (-0.8, 0.4, 1.0),
)

CORRELATION_PRESETS = ("identity", "ldas")


def _as_correlation(value: str | Sequence[Sequence[float]] | np.ndarray):
    """Keep a preset name, or freeze a matrix into a tuple of tuples (hashable, comparable)."""
    if isinstance(value, str):
        return value
    matrix = np.asarray(value, dtype=float)
    if matrix.ndim != 2:
        raise ValueError(f"correlation must be a preset name or a square matrix, got shape {matrix.shape}")
    return tuple(tuple(float(v) for v in row) for row in matrix)


def _check_variables(instance, attribute, value) -> None:
    if len(value) == 0:
        raise ValueError("variables: perturb at least one variable (or do not use a perturber)")
    unknown = [v for v in value if v not in PERTURBABLE_VARIABLES]
    if unknown:
        raise ValueError(f"variables: unknown perturbed variable(s) {unknown}; known: {list(PERTURBABLE_VARIABLES)}")
    if len(set(value)) != len(value):
        raise ValueError(f"variables: duplicate names in {list(value)}")


@attrs.frozen
class ForcingPerturbationParameters:
    """Settings of the forcing perturbations (docs/model/perturbations.md d; defaults are Rains et al. 2022)."""

    variables: tuple[str, ...] = attrs.field(
        default=PERTURBABLE_VARIABLES,
        converter=tuple,
        validator=_check_variables,
        metadata={"units": "", "doc": "forcing names to perturb; others pass through unchanged"},
    )
    precipitation_relative_sd: float = attrs.field(
        default=0.3,
        converter=float,
        validator=finite_non_negative,
        metadata={"units": "1", "doc": "sigma_P: SD of the mean-one log-normal precipitation factor"},
    )
    air_temperature_sd: float = attrs.field(
        default=2.5,
        converter=float,
        validator=finite_non_negative,
        metadata={"units": "degC", "doc": "sigma_T: SD of the additive air-temperature perturbation"},
    )
    net_radiation_relative_sd: float = attrs.field(
        default=0.3,
        converter=float,
        validator=finite_non_negative,
        metadata={"units": "1", "doc": "sigma_R: SD of the mean-one normal net-radiation factor"},
    )
    correlation_time: float = attrs.field(
        default=1.0,
        converter=float,
        validator=non_negative,
        metadata={"units": "d", "doc": "tau of the AR(1) process; 0 = white noise (DD-20)"},
    )
    time_step: float = attrs.field(
        default=1.0,
        converter=float,
        validator=finite_positive,
        metadata={"units": "d", "doc": "model time step dt"},
    )
    correlation: str | tuple[tuple[float, ...], ...] = attrs.field(
        default="identity",
        converter=_as_correlation,
        metadata={
            "units": "1",
            "doc": "cross-correlation C of the perturbed variables (in the order of `variables`): "
            "'identity', 'ldas' or a matrix (DD-21)",
        },
    )
    truncation: float = attrs.field(
        default=2.5,
        converter=float,
        validator=finite_positive,
        metadata={"units": "1", "doc": "|u| is clipped at this many standard deviations"},
    )
    square_root: str = attrs.field(
        default="cholesky",
        validator=attrs.validators.in_(("cholesky", "eigen")),
        metadata={"units": "", "doc": "factorisation S of C (S S^T = C)"},
    )
    block_days: int = attrs.field(
        default=32,
        validator=positive_int,
        metadata={"units": "d", "doc": "days of noise drawn per site in one generator call"},
    )
    missing_allowed: tuple[str, ...] = attrs.field(
        default=("vod", "swe"),
        converter=tuple,
        metadata={
            "units": "",
            "doc": "pass-through variables that may hold NaN: the optional forcing of docs/model/gleam.md a.1 "
            "(no VOD at a site -> LAI is used, DD-1; no SWE -> fallback snow mode, DD-5); the land "
            "model decides what NaN means there",
        },
    )

    def __attrs_post_init__(self) -> None:
        # Validate the correlation matrix eagerly so a bad config fails at construction.
        self.correlation_matrix()
        # docs/model/perturbations.md d: R_n factor 1 + sigma_R u lies in [1 - sigma_R a, 1 + sigma_R a]; the sign
        # of R_n is preserved only when sigma_R a < 1.
        if self.net_radiation_relative_sd * self.truncation >= 1.0:
            raise ValueError(
                "net_radiation_relative_sd * truncation must be < 1 so the net-radiation factor stays "
                f"positive (sign of R_n preserved), got {self.net_radiation_relative_sd} * {self.truncation}"
            )
        overlap = set(self.missing_allowed) & set(self.variables)
        if overlap:
            raise ValueError(f"missing_allowed: perturbed variables {sorted(overlap)} may not hold NaN")

    # --- derived quantities -------------------------------------------------------------------
    @property
    def autoregression_coefficient(self) -> float:
        """c = exp(-dt/tau) (docs/model/perturbations.md d.1); 0 for tau = 0 (white noise)."""
        if self.correlation_time == 0.0:
            return 0.0
        return math.exp(-self.time_step / self.correlation_time)

    @property
    def precipitation_log_sd(self) -> float:
        """s_P = sqrt(ln(1 + sigma_P^2)) (docs/model/perturbations.md d.5)."""
        return math.sqrt(math.log1p(self.precipitation_relative_sd**2))

    @property
    def precipitation_log_mean(self) -> float:
        """mu_P = -s_P^2 / 2, so that E[exp(mu_P + s_P u)] = 1 for u ~ N(0, 1) (docs/model/perturbations.md d.5)."""
        return -0.5 * math.log1p(self.precipitation_relative_sd**2)

    def correlation_matrix(self) -> np.ndarray:
        """C for the perturbed variables, validated: symmetric, unit diagonal, positive definite."""
        n = len(self.variables)
        if isinstance(self.correlation, str):
            if self.correlation == "identity":
                return np.eye(n)
            if self.correlation == "ldas":
                index = [PERTURBABLE_VARIABLES.index(v) for v in self.variables]
                return np.asarray(LDAS_CORRELATION)[np.ix_(index, index)]
            raise ValueError(f"correlation: unknown preset {self.correlation!r}; known: {list(CORRELATION_PRESETS)}")
        matrix = np.asarray(self.correlation, dtype=float)
        if matrix.shape != (n, n):
            raise ValueError(
                f"correlation: matrix shape {matrix.shape} does not match the {n} perturbed variables {list(self.variables)}"
            )
        if not np.all(np.isfinite(matrix)):
            raise ValueError("correlation: matrix holds non-finite values")
        if not np.allclose(matrix, matrix.T, rtol=0.0, atol=1e-12):
            raise ValueError("correlation: matrix is not symmetric")
        if not np.allclose(np.diag(matrix), 1.0, rtol=0.0, atol=1e-12):
            raise ValueError(f"correlation: diagonal must be 1, got {np.diag(matrix).tolist()}")
        smallest = float(np.linalg.eigvalsh(matrix).min())
        if smallest <= 1e-10:
            raise ValueError(f"correlation: matrix is not positive definite (smallest eigenvalue {smallest:.3g})")
        return matrix

    def correlation_square_root(self) -> np.ndarray:
        """S with S S^T = C (docs/model/perturbations.md d.3)."""
        matrix = self.correlation_matrix()
        if np.array_equal(matrix, np.eye(len(matrix))):
            return np.eye(len(matrix))
        if self.square_root == "cholesky":
            return np.linalg.cholesky(matrix)
        eigenvalues, eigenvectors = np.linalg.eigh(matrix)
        return eigenvectors * np.sqrt(eigenvalues)


class ForcingPerturber(Perturber):
    """Member forcing from site forcing, one day at a time (docs/model/perturbations.md d).

    ``perturb`` takes arrays shaped ``(site,)`` and returns arrays shaped ``(member, site)``.
    Everything that evolves (AR(1) memory, day index) lives in the state dict, a small plain
    mapping of numpy arrays that can be checkpointed and restored.  State keys:

    * ``site_ids`` ``(site,)`` int64 and ``n_members`` () int64 -- identity of the run;
    * ``day_index`` () int64 -- last perturbed day (``start_day - 1``; -1 if not fixed);
    * ``started`` () bool -- False until the first day (which sets ``z_0 = xi_0``);
    * ``start_fixed`` () bool -- whether the next day must be ``day_index + 1`` (always after
      the first day; before it only when ``initial_state(start_day=...)`` was given);
    * ``ar_state`` ``(site, variable, member)`` -- the centred AR(1) state z (variables in the
      order of ``parameters.variables``).

    The current block of noise ``xi`` (``(site, block_days, 3, member)``, drawn lazily) is cached
    on the perturber, not in the state: it is a pure function of (entropy, site ids, members,
    block), so a cache miss (e.g. after a restart) redraws identical numbers, and checkpoints
    stay small.  The cache is a small thread-safe LRU keyed by the site set, so several site
    chunks can share one perturber.
    """

    cache_size = 8
    """Blocks of noise kept (one per concurrently processed site chunk is enough)."""

    def __init__(self, parameters: ForcingPerturbationParameters | None = None, *, entropy: int) -> None:
        if isinstance(entropy, bool) or not isinstance(entropy, (int, np.integer)) or entropy < 0:
            raise ValueError(f"entropy must be a non-negative integer, got {entropy!r}")
        self.parameters = parameters if parameters is not None else ForcingPerturbationParameters()
        self.entropy = int(entropy)
        self._square_root = self.parameters.correlation_square_root()
        self._is_identity = bool(np.array_equal(self._square_root, np.eye(len(self._square_root))))
        # Rows of the canonical noise draw (P, T_a, R_n) used by the perturbed variables.
        self._noise_rows = np.array([PERTURBABLE_VARIABLES.index(v) for v in self.parameters.variables])
        self._cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    def __getstate__(self) -> dict:
        """Pickled (e.g. sent to a dask worker) without the noise cache and its lock."""
        return {key: value for key, value in self.__dict__.items() if key not in ("_cache", "_cache_lock")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._cache = OrderedDict()
        self._cache_lock = threading.Lock()

    # --- state ---------------------------------------------------------------------------------
    def initial_state(
        self, site_ids: np.ndarray, n_members: int, *, start_day: int | None = None
    ) -> dict[str, np.ndarray]:
        """AR(1) memory before the first day.

        The first ``perturb`` call may be for any day index (noise is keyed by the absolute day
        index), unless ``start_day`` is given, which then is required.  Every later call must be
        for the day after the previous one.
        """
        site_ids = np.asarray(site_ids)
        if site_ids.ndim != 1 or site_ids.size == 0:
            raise ValueError(f"site_ids must be a non-empty 1-D array, got shape {site_ids.shape}")
        if not np.issubdtype(site_ids.dtype, np.integer):
            raise ValueError(f"site_ids must be integers, got dtype {site_ids.dtype}")
        if np.any(site_ids < 0):
            raise ValueError(f"site_ids must be non-negative, got {site_ids[site_ids < 0].tolist()}")
        if np.unique(site_ids).size != site_ids.size:
            raise ValueError("site_ids holds duplicates")
        if isinstance(n_members, bool) or not isinstance(n_members, (int, np.integer)) or n_members < 1:
            raise ValueError(f"n_members must be an integer >= 1, got {n_members!r}")
        if start_day is not None and (
            isinstance(start_day, bool) or not isinstance(start_day, (int, np.integer)) or start_day < 0
        ):
            raise ValueError(f"start_day must be an integer >= 0, got {start_day!r}")
        n_variables = len(self.parameters.variables)
        return {
            "site_ids": site_ids.astype(np.int64),
            "n_members": np.asarray(n_members, dtype=np.int64),
            "day_index": np.asarray(-1 if start_day is None else start_day - 1, dtype=np.int64),
            "start_fixed": np.asarray(start_day is not None),
            "ar_state": np.zeros((site_ids.size, n_variables, int(n_members))),
            "started": np.asarray(False),
            "clipped_values": np.zeros((site_ids.size, n_variables), dtype=np.int64),
        }

    def _noise_for_block(self, site_ids: np.ndarray, n_members: int, block: int) -> NoiseBlock:
        """xi for every site of one block, ``(site, block_days, 3, member)``, read a day at a time
        (:meth:`NoiseBlock.day`); one draw per site, kept for the next days of the block."""
        key = (site_ids.tobytes(), n_members, block)
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        noise = self._draw_noise(site_ids, (self.parameters.block_days, len(PERTURBABLE_VARIABLES), n_members), block)
        with self._cache_lock:
            self._cache[key] = noise
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return noise

    def _draw_noise(self, site_ids: np.ndarray, shape: tuple[int, int, int], block: int) -> NoiseBlock:
        """Standard normals ``(site, *shape)`` of one block, independent between sites (a
        subclass may draw them otherwise: any object with the same ``day`` method)."""
        return StoredNoise(np.stack([stream(self.entropy, int(site), Purpose.FORCING_PERTURBATION, block).standard_normal(shape) for site in site_ids]))

    # --- one day -------------------------------------------------------------------------------
    def perturb(
        self, forcing: Forcing, day_index: int, state: dict[str, np.ndarray]
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Perturb day ``day_index``; ``state`` must come from day ``day_index - 1``."""
        self._check_state(state)
        site_ids = state["site_ids"]
        n_members = int(state["n_members"])
        previous_day = int(state["day_index"])
        if isinstance(day_index, bool) or not isinstance(day_index, (int, np.integer)):
            raise TypeError(f"day_index must be an integer, got {day_index!r}")
        if (bool(state["started"]) or bool(state["start_fixed"])) and day_index != previous_day + 1:
            raise ValueError(
                f"perturb(day_index={day_index}) needs the perturber state of day {day_index - 1}, "
                f"but the state is at day {previous_day}"
            )
        checked = self._check_forcing(forcing, site_ids)
        params = self.parameters

        # xi for today from the cached block (drawn lazily, one call per site per block).
        block, offset = divmod(int(day_index), params.block_days)
        if day_index < 0:
            raise ValueError(f"day_index must be >= 0, got {day_index}")
        xi = self._noise_for_block(site_ids, n_members, block).day(offset)[:, self._noise_rows, :]  # (site, variable, member)

        z, u = self._correlated_state(xi, state)
        result: dict[str, np.ndarray] = {}
        clipped = np.array(state.get("clipped_values", np.zeros((site_ids.size, len(params.variables)), np.int64)))
        by_variable = np.ascontiguousarray(np.moveaxis(u, 0, -1))  # (variable, member, site)
        for position, name in enumerate(params.variables):
            perturbed = by_variable[position]  # u of the variable, turned into its forcing in place
            base = checked[name][np.newaxis, :]
            # docs/model/perturbations.md d.5 (in place: the same operations as written there)
            if name == "precipitation":
                perturbed *= params.precipitation_log_sd
                perturbed += params.precipitation_log_mean
                np.exp(perturbed, out=perturbed)
                perturbed *= base
            elif name == "air_temperature":
                perturbed *= params.air_temperature_sd
                perturbed += base
            else:  # net_radiation
                perturbed *= params.net_radiation_relative_sd
                perturbed += 1.0
                perturbed *= base
            low, high, _ = FORCING_LIMITS[name]  # step 6: never outside the model's valid range
            if np.fmin.reduce(perturbed, axis=None) < low or np.fmax.reduce(perturbed, axis=None) > high:  # NaN ignored
                clipped[:, position] += ((perturbed < low) | (perturbed > high)).sum(axis=0)
                np.clip(perturbed, low, high, out=perturbed)
            result[name] = perturbed
        for name, values in checked.items():
            if name not in result:
                result[name] = np.array(np.broadcast_to(values, (n_members, site_ids.size)))

        new_state = {
            "site_ids": site_ids,
            "n_members": state["n_members"],
            "day_index": np.asarray(day_index, dtype=np.int64),
            "ar_state": z,
            "start_fixed": np.asarray(True),
            "started": np.asarray(True),
            "clipped_values": clipped,
        }
        return result, new_state

    def _correlated_state(self, xi: np.ndarray, state: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Today's AR(1) state ``z`` and its truncated cross-correlated ``u = S z``, both
        ``(site, variable, member)``, from today's noise ``xi`` (a fresh array, overwritten)."""
        params = self.parameters
        # docs/model/perturbations.md d.1: AR(1), z_0 = xi_0 (the first day of the run starts the process).
        c = params.autoregression_coefficient
        z = xi
        if bool(state["started"]):
            z *= math.sqrt(1.0 - c * c)
            z += c * state["ar_state"]
        # docs/model/perturbations.md d.2: zero ensemble mean of the AR(1) state (N > 2); the centred state is
        # what propagates, which equals centring xi because the previous state is centred.
        if z.shape[-1] > 2:
            z -= z.mean(axis=-1, keepdims=True)
        # docs/model/perturbations.md d.3-4: u = S z, truncated.  The product is written out element-wise (fixed
        # summation order) rather than as a BLAS matmul so that it is bit-identical for any
        # number of sites.
        if self._is_identity:
            u = z.copy()
        else:
            u = np.zeros_like(z)
            term = np.empty_like(z[:, 0])
            for row in range(u.shape[1]):
                for col in range(row + 1 if params.square_root == "cholesky" else u.shape[1]):
                    np.multiply(self._square_root[row, col], z[:, col], out=term)
                    u[:, row] += term
        np.clip(u, -params.truncation, params.truncation, out=u)
        return z, u

    # --- whole periods (convenience for tests, twins and notebooks) ----------------------------
    def perturb_period(
        self,
        forcing: Mapping[str, np.ndarray],
        site_ids: np.ndarray,
        n_members: int,
        *,
        start_day: int | None = None,
        state: dict[str, np.ndarray] | None = None,
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Perturb consecutive days: inputs ``(time, site)`` -> outputs ``(time, member, site)``.

        Starts from ``state`` if given (continuing a run), else from a fresh initial state whose
        first day is ``start_day`` (default 0).  Returns the outputs and the final state.
        """
        arrays = {name: np.asarray(values) for name, values in forcing.items()}
        lengths = {name: values.shape[0] for name, values in arrays.items() if values.ndim >= 1}
        if not lengths or len(set(lengths.values())) != 1:
            raise ValueError(f"forcing arrays must share a leading time axis, got lengths {lengths}")
        n_days = next(iter(lengths.values()))
        if state is None:
            state = self.initial_state(site_ids, n_members, start_day=0 if start_day is None else start_day)
        first = int(state["day_index"]) + 1
        outputs: dict[str, list[np.ndarray]] = {name: [] for name in arrays}
        for t in range(n_days):
            day_result, state = self.perturb({name: v[t] for name, v in arrays.items()}, first + t, state)
            for name in arrays:
                outputs[name].append(day_result[name])
        return {name: np.stack(v) for name, v in outputs.items()}, state

    # --- validation ----------------------------------------------------------------------------
    def _check_state(self, state: Mapping[str, np.ndarray]) -> None:
        missing = [key for key in ("site_ids", "n_members", "day_index", "ar_state", "started", "start_fixed") if key not in state]
        if missing:
            raise KeyError(f"perturber state lacks {missing}; build it with initial_state()")
        expected = (state["site_ids"].size, len(self.parameters.variables), int(state["n_members"]))
        if state["ar_state"].shape != expected:
            raise ValueError(
                f"perturber state ar_state has shape {state['ar_state'].shape}, expected {expected} "
                "(site, variable, member); was it made by a perturber with other variables?"
            )

    def _check_forcing(self, forcing: Forcing, site_ids: np.ndarray) -> dict[str, np.ndarray]:
        n_sites = site_ids.size
        missing = [name for name in self.parameters.variables if name not in forcing]
        if missing:
            raise KeyError(f"forcing lacks the perturbed variable(s) {missing}; got {sorted(forcing)}")
        checked: dict[str, np.ndarray] = {}
        for name, values in forcing.items():
            array = np.asarray(values, dtype=float)
            if array.shape != (n_sites,):
                raise ValueError(f"forcing {name!r} has shape {array.shape}, expected (site,) = ({n_sites},)")
            bad = ~np.isfinite(array)
            if name in self.parameters.missing_allowed:
                bad &= ~np.isnan(array)
            if np.any(bad):
                raise ValueError(
                    f"forcing {name!r} is not finite ({array[bad][:5].tolist()}) at site id(s) {site_ids[bad][:10].tolist()}"
                )
            if name == "precipitation" and np.any(array < 0):
                negative = array < 0
                raise ValueError(
                    f"forcing 'precipitation' is negative ({array[negative][:5].tolist()} mm d-1) "
                    f"at site id(s) {site_ids[negative][:10].tolist()}"
                )
            checked[name] = array
        return checked
