"""Checking and shaping the calibration inputs shared by every observation operator.

Both operators accept ``(time,)`` arrays for one site or ``(site, time)`` arrays for a network
(``ObservationOperator.fit``).  This module turns either into ``(site, time)`` float arrays plus
a boolean mask, and refuses input that would give a silently wrong calibration: non-finite
values among the samples marked valid, too few samples, constant soil moisture and backscatter
that is obviously still in linear power units.
"""

from __future__ import annotations

from collections.abc import Sequence

import zlib

import attrs
import numpy as np


@attrs.frozen
class CalibrationData:
    """Calibration samples as ``(site, time)`` arrays; ``single_site`` records a 1-D input."""

    soil_moisture: np.ndarray = attrs.field(metadata={"units": "m3 m-3"})
    lai: np.ndarray = attrs.field(metadata={"units": "m2 m-2"})
    backscatter_db: np.ndarray = attrs.field(metadata={"units": "dB"})
    valid: np.ndarray
    site_ids: np.ndarray
    single_site: bool

    @property
    def n_sites(self) -> int:
        return self.soil_moisture.shape[0]

    def site_samples(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Valid (soil moisture, LAI, backscatter) of one site, in time order."""
        mask = self.valid[index]
        return self.soil_moisture[index, mask], self.lai[index, mask], self.backscatter_db[index, mask]

    def with_valid(self, valid: np.ndarray) -> CalibrationData:
        return attrs.evolve(self, valid=valid)


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


def prepare_calibration(
    soil_moisture,
    lai,
    backscatter_db,
    valid=None,
    *,
    site_ids: Sequence | None = None,
    min_samples: int,
) -> CalibrationData:
    """Validate the inputs of ``fit`` and return them as ``(site, time)`` arrays.

    Raises ``ValueError`` naming the site for: shape mismatch, a non-finite value among the valid
    samples, fewer than ``min_samples`` valid samples, constant soil moisture, and backscatter
    whose valid values all lie in (0, 1) (linear power, not dB).
    """
    arrays = {}
    for name, values in (("soil_moisture", soil_moisture), ("lai", lai), ("backscatter_db", backscatter_db)):
        array = np.asarray(values, dtype=float)
        if array.ndim not in (1, 2):
            raise ValueError(f"{name} must be shaped (time,) or (site, time), got shape {array.shape}")
        arrays[name] = array
    shape = arrays["soil_moisture"].shape
    for name, array in arrays.items():
        if array.shape != shape:
            raise ValueError(f"{name} has shape {array.shape}, expected {shape} like soil_moisture")
    if valid is None:
        valid_array = np.ones(shape, dtype=bool)
    else:
        valid_array = np.asarray(valid)
        if valid_array.dtype != bool:
            raise ValueError(f"valid must be a boolean mask, got dtype {valid_array.dtype}")
        if valid_array.shape != shape:
            raise ValueError(f"valid has shape {valid_array.shape}, expected {shape}")
    single_site = len(shape) == 1
    if single_site:
        arrays = {name: array[np.newaxis] for name, array in arrays.items()}
        valid_array = valid_array[np.newaxis]
    n_sites = arrays["soil_moisture"].shape[0]
    if site_ids is None:
        ids = np.arange(n_sites)
    else:
        ids = np.asarray(site_ids)
        if ids.shape != (n_sites,):
            raise ValueError(f"site_ids has shape {ids.shape}, expected ({n_sites},)")
        if len(np.unique(ids)) != n_sites:
            raise ValueError("site_ids contains duplicates")

    for index in range(n_sites):
        mask = valid_array[index]
        label = site_label(ids, index)
        for name, array in arrays.items():
            bad = mask & ~np.isfinite(array[index])
            if bad.any():
                first = int(np.flatnonzero(bad)[0])
                raise ValueError(
                    f"{label}: {name} has {int(bad.sum())} non-finite value(s) among the valid samples "
                    f"(first at time index {first}); mark them invalid or fill them"
                )
        n_valid = int(mask.sum())
        if n_valid < min_samples:
            raise ValueError(
                f"{label}: only {n_valid} valid samples, at least {min_samples} are needed for the calibration"
            )
        sigma = arrays["backscatter_db"][index, mask]
        if np.all((sigma > 0) & (sigma < 1)):
            raise ValueError(
                f"{label}: backscatter_db looks linear (all values in (0, 1)); convert to dB with 10*log10(sigma0)"
            )
        sm = arrays["soil_moisture"][index, mask]
        if np.ptp(sm) == 0:
            raise ValueError(f"{label}: soil_moisture is constant ({sm[0]}); the operator cannot be calibrated")
        if np.any(arrays["lai"][index, mask] < 0):
            raise ValueError(f"{label}: lai has negative values among the valid samples")
    return CalibrationData(
        soil_moisture=arrays["soil_moisture"],
        lai=arrays["lai"],
        backscatter_db=arrays["backscatter_db"],
        valid=valid_array,
        site_ids=ids,
        single_site=single_site,
    )


def leading_training_mask(valid: np.ndarray, fraction: float) -> np.ndarray:
    """Mask of the first ``fraction`` of each site's valid samples (time-blocked split)."""
    if not 0 < fraction < 1:
        raise ValueError(f"train fraction must be in (0, 1), got {fraction}")
    valid = np.asarray(valid, dtype=bool)
    n_train = np.ceil(fraction * valid.sum(axis=-1, keepdims=True))
    return valid & (np.cumsum(valid, axis=-1) <= n_train)


def pearson_r(simulated: np.ndarray, observed: np.ndarray) -> float:
    """Temporal Pearson correlation (MODEL_SPEC e); NaN when either series is constant."""
    sim = simulated - simulated.mean()
    obs = observed - observed.mean()
    denominator = np.sqrt(np.sum(sim**2) * np.sum(obs**2))
    return float(np.sum(sim * obs) / denominator) if denominator > 0 else float("nan")


def rmsd(simulated: np.ndarray, observed: np.ndarray) -> float:
    """Root-mean-square difference (MODEL_SPEC e)."""
    return float(np.sqrt(np.mean((simulated - observed) ** 2)))
