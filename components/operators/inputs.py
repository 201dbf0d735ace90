"""Checking and shaping the inputs shared by every observation operator.

Operators take a mapping of named inputs (``s1da.framework.interfaces.OperatorInputs``).  For
``fit`` this module turns ``(time,)`` arrays for one site or ``(site, time)`` arrays for a network
into ``(site, time)`` float arrays plus a boolean mask of the samples to use (default: every
finite backscatter, so gaps are NaN), and refuses input that would give a silently wrong
calibration or prediction, naming the site: a non-finite value (NaN or inf alike) among the used
samples, a value outside the input's physical range (soil moisture in percent, LAI beyond the
land model's range), too few samples, constant soil moisture or backscatter, and backscatter
that is obviously still in linear power units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import zlib

import attrs
import numpy as np

INPUT_RANGES: dict[str, tuple[float, float, str]] = {
    "soil_moisture": (0.0, 1.0, "m3 m-3"),
    "lai": (0.0, 20.0, "m2 m-2"),  # GLEAM's LAI range
    "vod": (0.0, 10.0, "1"),
    "incidence_angle": (0.0, 89.0, "degree"),
    "day_of_year": (1.0, 366.0, "1"),
}
"""Closed physical range and units of each standard operator input."""

BACKSCATTER_RANGE_DB = (-60.0, 30.0)
"""Plausible range of Sentinel-1 backscatter (dB); anything outside is a unit or fill-value error."""

_HINTS = {
    "soil_moisture": " (a percentage? divide by 100)",
    "incidence_angle": " (radians? the unit is degree)",
}


@attrs.frozen
class CalibrationData:
    """Calibration samples as ``(site, time)`` arrays; ``single_site`` records a 1-D input."""

    inputs: dict[str, np.ndarray]
    backscatter_db: np.ndarray = attrs.field(metadata={"units": "dB"})
    valid: np.ndarray
    site_ids: np.ndarray
    single_site: bool

    @property
    def n_sites(self) -> int:
        return self.backscatter_db.shape[0]

    def site_samples(self, index: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Used inputs and backscatter of one site, in time order."""
        mask = self.valid[index]
        return {name: values[index, mask] for name, values in self.inputs.items()}, self.backscatter_db[index, mask]

    def with_valid(self, valid: np.ndarray) -> CalibrationData:
        return attrs.evolve(self, valid=valid)

    def subset(self, sites) -> CalibrationData:
        """The same data restricted to the sites at positions ``sites``."""
        return attrs.evolve(
            self,
            inputs={name: values[sites] for name, values in self.inputs.items()},
            backscatter_db=self.backscatter_db[sites],
            valid=self.valid[sites],
            site_ids=self.site_ids[sites],
        )


def site_stream_key(site_id) -> int:
    """Non-negative integer for keyed random streams: the id itself, or a CRC32 of its text."""
    if isinstance(site_id, (int, np.integer)) and site_id >= 0:
        return int(site_id)
    return zlib.crc32(str(site_id).encode())


def text_coordinate(values) -> np.ndarray:
    """Strings as object arrays: zarr v3 stores those as variable-length UTF-8 (specified)."""
    values = np.asarray(values)
    return values.astype(object) if values.dtype.kind in "UST" else values


def site_label(site_ids: np.ndarray, index: int) -> str:
    site_id = site_ids[index]
    site_id = site_id.item() if isinstance(site_id, np.generic) else site_id
    return f"site {site_id!r} (index {index})"


def _select(inputs: Mapping, required: Mapping[str, str], optional: Mapping[str, str]) -> dict[str, np.ndarray]:
    if not isinstance(inputs, Mapping):
        raise TypeError(f"inputs must be a mapping of input name to array (e.g. {{'soil_moisture': sm, 'lai': lai}}), got {type(inputs).__name__}")
    missing = [name for name in required if name not in inputs]
    if missing:
        raise ValueError(
            "missing input(s) " + ", ".join(f"{name} ({required[name]})" for name in missing)
            + f"; given: {', '.join(map(str, inputs)) or 'none'}"
        )
    unknown = [name for name in inputs if name not in required and name not in optional]
    if unknown:
        known = ", ".join([*required, *optional])
        raise ValueError(f"unknown input(s) {', '.join(map(str, unknown))}; this operator takes {known}")
    return {name: np.asarray(inputs[name], dtype=float) for name in (*required, *(n for n in optional if n in inputs))}


def _site_ids(site_ids, n_sites: int) -> np.ndarray:
    if site_ids is None:
        return np.arange(n_sites)
    ids = np.asarray(site_ids)
    if ids.shape != (n_sites,):
        raise ValueError(f"site_ids has shape {ids.shape}, expected ({n_sites},)")
    if len(np.unique(ids)) != n_sites:
        raise ValueError("site_ids contains duplicates")
    return ids


def _first_bad(bad: np.ndarray) -> tuple[int, int]:
    """(site, time) of the first True of a (site, time) mask."""
    site = int(np.flatnonzero(bad.any(axis=1))[0])
    return site, int(np.flatnonzero(bad[site])[0])


def check_domain(name: str, values: np.ndarray, used: np.ndarray, site_of, where: str) -> None:
    """Raise ``ValueError`` if any used value of input ``name`` is non-finite or out of range.

    ``values`` and ``used`` are (site, time)-like 2-D arrays (``used`` broadcasts); ``site_of(i)``
    names row ``i``; ``where`` names the column (``"time index"``, ``"row"``).
    """
    low, high, units = INPUT_RANGES.get(name, (-np.inf, np.inf, ""))
    with np.errstate(invalid="ignore"):
        non_finite = used & ~np.isfinite(values)
        outside = used & np.isfinite(values) & ((values < low) | (values > high))
    if non_finite.any():
        site, column = _first_bad(non_finite)
        raise ValueError(
            f"{site_of(site)}: {name} has {int(non_finite.sum())} non-finite value(s) among the used samples "
            f"(first {values[site, column]} at {where} {column}); fill them or mark the samples invalid"
        )
    if outside.any():
        site, column = _first_bad(outside)
        raise ValueError(
            f"{site_of(site)}: {name} = {values[site, column]:.6g} at {where} {column} is outside "
            f"[{low:g}, {high:g}] {units}{_HINTS.get(name, '')}"
        )


def _valid_mask(backscatter: np.ndarray, valid) -> np.ndarray:
    default = ~np.isnan(backscatter)
    if valid is None:
        return default
    valid_array = np.asarray(valid)
    if valid_array.dtype != bool:
        raise ValueError(f"valid must be a boolean mask, got dtype {valid_array.dtype}")
    if valid_array.shape != backscatter.shape:
        raise ValueError(f"valid has shape {valid_array.shape}, expected {backscatter.shape}")
    return valid_array


def prepare_calibration(
    inputs: Mapping,
    backscatter_db,
    valid=None,
    *,
    required: Mapping[str, str],
    optional: Mapping[str, str] | None = None,
    site_ids: Sequence | None = None,
    min_samples: int,
) -> CalibrationData:
    """Validate the arguments of ``fit`` and return them as ``(site, time)`` arrays.

    The used samples are those with a non-NaN backscatter (and ``valid``, when given).  Raises
    ``ValueError`` naming the site for: shape mismatch, a non-finite (NaN or inf) or out-of-range
    value among the used samples, fewer than ``min_samples`` of them, constant soil moisture or
    backscatter, and backscatter whose used values all lie in (0, 1) (linear power, not dB).
    """
    arrays = _select(inputs, required, optional or {})
    sigma = np.asarray(backscatter_db, dtype=float)
    if sigma.ndim not in (1, 2):
        raise ValueError(f"backscatter_db must be shaped (time,) or (site, time), got shape {sigma.shape}")
    for name, array in arrays.items():
        if array.shape != sigma.shape:
            raise ValueError(f"{name} has shape {array.shape}, expected {sigma.shape} like backscatter_db")
    used = _valid_mask(sigma, valid)
    single_site = sigma.ndim == 1
    if single_site:
        arrays = {name: array[np.newaxis] for name, array in arrays.items()}
        sigma, used = sigma[np.newaxis], used[np.newaxis]
    ids = _site_ids(site_ids, sigma.shape[0])

    def label(index):
        return site_label(ids, index)

    check_domain("backscatter_db", sigma, used, label, "time index")
    for name, array in arrays.items():
        check_domain(name, array, used, label, "time index")
    with np.errstate(invalid="ignore"):
        implausible = used & ((sigma < BACKSCATTER_RANGE_DB[0]) | (sigma > BACKSCATTER_RANGE_DB[1]))
        linear = (used & (sigma > 0) & (sigma < 1)).sum(axis=1) == used.sum(axis=1)
    if implausible.any():
        site, column = _first_bad(implausible)
        raise ValueError(
            f"{label(site)}: backscatter_db = {sigma[site, column]:.6g} at time index {column} is outside the "
            f"plausible range [{BACKSCATTER_RANGE_DB[0]:g}, {BACKSCATTER_RANGE_DB[1]:g}] dB (a fill value or linear units?)"
        )
    counts = used.sum(axis=1)
    if np.any(counts < min_samples):
        site = int(np.flatnonzero(counts < min_samples)[0])
        raise ValueError(
            f"{label(site)}: only {counts[site]} valid samples, at least {min_samples} are needed for the calibration"
        )
    if linear.any():
        raise ValueError(
            f"{label(int(np.flatnonzero(linear)[0]))}: backscatter_db looks linear (all values in (0, 1)); "
            "convert to dB with 10*log10(sigma0)"
        )
    for name, array in (("soil_moisture", arrays.get("soil_moisture")), ("backscatter_db", sigma)):
        if array is None:
            continue
        low = np.where(used, array, np.inf).min(axis=1)
        high = np.where(used, array, -np.inf).max(axis=1)
        if np.any(low == high):
            site = int(np.flatnonzero(low == high)[0])
            raise ValueError(f"{label(site)}: {name} is constant ({low[site]}); the operator cannot be calibrated")
    return CalibrationData(inputs=arrays, backscatter_db=sigma, valid=used, site_ids=ids, single_site=single_site)


def prepare_prediction(
    inputs: Mapping,
    *,
    required: Mapping[str, str],
    optional: Mapping[str, str] | None = None,
    site_ids: np.ndarray,
    single_site: bool,
) -> dict[str, np.ndarray]:
    """Validate the inputs of ``predict`` and broadcast them to one shape ``(..., site)``.

    For an operator fitted on several sites the last axis must be ``site``.  Raises
    ``ValueError`` naming the input and the site for a non-finite or out-of-range value.
    """
    arrays = _select(inputs, required, optional or {})
    shape = np.broadcast_shapes(*(array.shape for array in arrays.values()))
    n_sites = len(site_ids)
    if not single_site and (len(shape) == 0 or shape[-1] != n_sites):
        raise ValueError(f"last axis must be site ({n_sites}), got shape {shape}")
    arrays = {name: np.broadcast_to(array, shape) for name, array in arrays.items()}
    columns = n_sites if not single_site else 1
    for name, array in arrays.items():
        flat = array.reshape(-1, columns).T  # (site, row)
        check_domain(name, flat, np.ones((1, 1), bool), lambda i: site_label(site_ids, i), "row")
    return arrays


def leading_training_mask(valid: np.ndarray, fraction: float) -> np.ndarray:
    """Mask of the first ``fraction`` of each site's valid samples (time-blocked split)."""
    if not 0 < fraction < 1:
        raise ValueError(f"train fraction must be in (0, 1), got {fraction}")
    valid = np.asarray(valid, dtype=bool)
    n_train = np.ceil(fraction * valid.sum(axis=-1, keepdims=True))
    return valid & (np.cumsum(valid, axis=-1) <= n_train)


def pearson_r(simulated: np.ndarray, observed: np.ndarray) -> float:
    """Temporal Pearson correlation (docs/model/validation.md e); NaN when either series is constant."""
    sim = simulated - simulated.mean()
    obs = observed - observed.mean()
    denominator = np.sqrt(np.sum(sim**2) * np.sum(obs**2))
    return float(np.sum(sim * obs) / denominator) if denominator > 0 else float("nan")


def rmsd(simulated: np.ndarray, observed: np.ndarray) -> float:
    """Root-mean-square difference (docs/model/validation.md e)."""
    return float(np.sqrt(np.mean((simulated - observed) ** 2)))


def check_residual_variance(error_variance: np.ndarray, site_ids: np.ndarray, operator: str) -> None:
    """Refuse a fit whose residual variance R is zero or not finite (the filter divides by it)."""
    bad = ~(np.isfinite(error_variance) & (error_variance > 0))
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{operator} {site_label(site_ids, index)}: the calibration residual variance is {error_variance[index]!r} "
            f"({int(bad.sum())} site(s) affected); R must be finite and positive: the backscatter is reproduced "
            "exactly (constant or duplicated series?)"
        )
