"""Spatially correlated random fields that do not depend on how cells are chunked.

A field is white noise on a coarse, global lat/lon lattice, interpolated to each cell with
cubic B-spline weights and rescaled to unit variance.  Each lattice node draws its own numbers
from ``stream(entropy, node_id, purpose, block)`` (:mod:`s1da.framework.randomness`), so the
value at a cell is a pure function of (entropy, the cell's lat/lon, purpose, block): any subset,
chunk or worker count of cells gives the same numbers bit for bit (the interpolation is an
separable sum over the 4 x 4 nearest nodes in a fixed order, longitude first).

Correlation.  The interpolated field is ``z(x) = sum_k w_k(x) xi_k / sqrt(sum_k w_k(x)^2)``.
Averaged over cell positions, its correlation at lag ``r`` is the autocorrelation of the cubic
B-spline, the degree-7 B-spline ``B7(r / h) / B7(0)`` (Unser 1999), which is close to a Gaussian
of variance ``8/12 h^2`` (8 convolved unit boxes).  With the lattice spacing
``h = sqrt(3/2) L`` the correlation is therefore ``~ exp(-r^2 / (2 L^2))`` per direction, and
``L`` is what :class:`LatticeField` calls the correlation length (``~0.61`` at ``r = L``,
``~0.14`` at ``r = 2 L``).  Lengths are in degrees of latitude and longitude, as the GEOS-LDAS /
LIS perturbation scheme states them (``xcorr``, ``ycorr``; Reichle et al. 2007, Kumar et al.
2012), so in kilometres the east-west length shrinks with ``cos(lat)`` as in those systems.
Restoring the variance keeps every cell at unit variance; the remaining non-stationarity of the
correlation between node-centred and mid-lattice cells is a few per cent.

References: Unser M. (1999) Splines: a perfect fit for signal and image processing, IEEE Signal
Processing Magazine 16(6); Reichle R. et al. (2007) JGR 112, D09108; Kumar S. et al. (2012) WRR
48, W03515.
"""

from __future__ import annotations

import functools
import math

import attrs
import numpy as np

from s1da.framework.randomness import Purpose, stream
from s1da.framework.validators import finite_positive

LATTICE_PER_LENGTH = math.sqrt(1.5)
"""Lattice spacing in units of the correlation length (module docstring)."""

BLOCK_ELEMENTS = 1 << 16
"""Values per block of the interpolation's temporaries (512 kB: they stay in cache)."""


def _bspline_weights(t: np.ndarray) -> np.ndarray:
    """Cubic B-spline weights of the nodes floor(u)-1 .. floor(u)+2 for fractions t, ``(n, 4)``."""
    t2, t3 = t * t, t * t * t
    return np.stack(
        [(1.0 - t) ** 3 / 6.0, (3.0 * t3 - 6.0 * t2 + 4.0) / 6.0, (-3.0 * t3 + 3.0 * t2 + 3.0 * t + 1.0) / 6.0, t3 / 6.0],
        axis=1,
    )


@attrs.frozen
class Interpolation:
    """Which lattice nodes and weights make each cell, evaluated separably (lon, then lat).

    ``nodes`` ``(node,)`` are the lattice node ids.  A *row sum* ``p`` is one lattice row of
    nodes interpolated in longitude at one cell longitude: ``row_nodes`` ``(row_sum, 4)``
    (positions in ``nodes``) and ``row_weights`` ``(row_sum, 4)``.  A cell is the sum in
    latitude of its four row sums: ``cell_rows`` ``(cell, 4)`` and ``cell_weights``
    ``(cell, 4)``.  Both weight sets are already divided by their part of the
    variance-restoring norm (the norm is the product of a latitude and a longitude factor).
    Cells on one longitude share their row sums, so a tile costs about 4 instead of 16
    multiply-adds per cell, and each value is still a fixed-order function of the cell's
    position and the node values alone (chunk independence).
    """

    nodes: np.ndarray
    row_nodes: np.ndarray
    row_weights: np.ndarray
    cell_rows: np.ndarray
    cell_weights: np.ndarray

    @property
    def weights(self) -> np.ndarray:
        """The normalised weights of each cell's 16 nodes, ``(cell, 16)`` (latitude-major)."""
        lon_weights = self.row_weights[self.cell_rows]  # (cell, 4 lat, 4 lon)
        return (self.cell_weights[:, :, None] * lon_weights).reshape(len(self.cell_rows), 16)

    def apply(self, node_values: np.ndarray) -> np.ndarray:
        """``node_values`` ``(node, ...)`` -> cell values ``(cell, ...)``, summed in a fixed order."""
        extra = (slice(None),) + (None,) * (node_values.ndim - 1)
        rows = _weighted_sum(self.row_weights, self.row_nodes, node_values, extra)
        return _weighted_sum(self.cell_weights, self.cell_rows, rows, extra)


def _weighted_sum(weights: np.ndarray, index: np.ndarray, values: np.ndarray, extra: tuple) -> np.ndarray:
    """``sum_k weights[:, k] * values[index[:, k]]``, k in order: the same numbers with numba
    (one pass, when installed) as with numpy (a cache-sized block of rows at a time)."""
    kernel = _numba_weighted_sum()
    if kernel is not None:
        out = np.empty((len(index),) + values.shape[1:])
        flat = np.ascontiguousarray(values).reshape(len(values), -1)
        kernel(np.ascontiguousarray(weights), np.ascontiguousarray(index), flat, out.reshape(len(index), -1))
        return out
    return _weighted_sum_numpy(weights, index, values, extra)


@functools.cache
def _numba_weighted_sum():
    """The compiled one-pass :func:`_weighted_sum` (None without numba).  No fast-math: every
    product and sum is rounded as numpy rounds it, so both give the same bits."""
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(cache=True, nogil=True)
    def kernel(weights, index, values, out):  # pragma: no cover - compiled
        for row in range(index.shape[0]):
            target = out[row]
            first, weight = values[index[row, 0]], weights[row, 0]
            for element in range(target.size):
                target[element] = weight * first[element]
            for k in range(1, index.shape[1]):
                source, weight = values[index[row, k]], weights[row, k]
                for element in range(target.size):
                    target[element] += source[element] * weight

    return kernel


def _weighted_sum_numpy(weights: np.ndarray, index: np.ndarray, values: np.ndarray, extra: tuple) -> np.ndarray:
    """:func:`_weighted_sum` with numpy, a cache-sized block of rows at a time."""
    out = np.empty((len(index),) + values.shape[1:])
    step = max(1, BLOCK_ELEMENTS // max(1, math.prod(values.shape[1:])))
    gathered = np.empty((min(step, len(index)),) + values.shape[1:])
    for start in range(0, len(index), step):
        rows = slice(start, min(start + step, len(index)))
        block, taken = out[rows], gathered[: rows.stop - start]
        np.take(values, index[rows, 0], axis=0, out=taken)
        np.multiply(weights[rows, 0][extra], taken, out=block)
        for k in range(1, index.shape[1]):
            np.take(values, index[rows, k], axis=0, out=taken)
            taken *= weights[rows, k][extra]
            block += taken
    return out


@attrs.frozen
class LatticeField:
    """Unit-variance Gaussian random fields with correlation lengths in degrees (module docstring)."""

    correlation_length_lat: float = attrs.field(default=0.5, converter=float, validator=finite_positive, metadata={"units": "degree"})
    correlation_length_lon: float = attrs.field(default=0.5, converter=float, validator=finite_positive, metadata={"units": "degree"})

    @property
    def spacing(self) -> tuple[float, float]:
        """Lattice spacing (lat, lon) in degrees."""
        return LATTICE_PER_LENGTH * self.correlation_length_lat, LATTICE_PER_LENGTH * self.correlation_length_lon

    def _node_ids(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        h_lat, h_lon = self.spacing
        i0 = math.ceil(90.0 / h_lat) + 3
        j0 = math.ceil(180.0 / h_lon) + 3
        return (i + i0) * (2 * j0 + 1) + (j + j0)

    def interpolation(self, lat: np.ndarray, lon: np.ndarray) -> Interpolation:
        """Nodes and normalised weights for cells at ``lat``, ``lon`` (degrees, ``(cell,)``)."""
        lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
        if lat.shape != lon.shape or lat.ndim != 1:
            raise ValueError(f"lat and lon must be 1-D arrays of one shape, got {lat.shape} and {lon.shape}")
        if not (np.isfinite(lat).all() and np.isfinite(lon).all()) or (np.abs(lat) > 90).any() or (np.abs(lon) > 360).any():
            raise ValueError("lat/lon must be finite degrees (|lat| <= 90, |lon| <= 360)")
        h_lat, h_lon = self.spacing
        u, v = lat / h_lat, lon / h_lon
        i, j = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
        w_lat, w_lon = _bspline_weights(u - i), _bspline_weights(v - j)
        w_lat /= np.sqrt((w_lat**2).sum(axis=1))[:, None]
        w_lon /= np.sqrt((w_lon**2).sum(axis=1))[:, None]
        offsets = np.arange(-1, 3)
        # one row sum per (lattice row, cell longitude): the key is the row and the longitude's bits
        keys = np.stack([(i[:, None] + offsets).ravel(), np.repeat(lon.view(np.int64), 4)], axis=1)
        unique_keys, first, cell_rows = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        owner = first // 4  # a cell of each row sum (its longitude weights are the row sum's)
        ids = self._node_ids(unique_keys[:, 0][:, None], j[owner][:, None] + offsets)
        nodes, row_nodes = np.unique(ids, return_inverse=True)
        return Interpolation(
            nodes=nodes, row_nodes=row_nodes.reshape(ids.shape), row_weights=w_lon[owner],
            cell_rows=cell_rows.reshape(len(lat), 4), cell_weights=w_lat,
        )

    def node_normals(self, entropy: int, nodes: np.ndarray, purpose: Purpose, block: int, shape: tuple[int, ...]) -> np.ndarray:
        """Standard normals ``(node, *shape)``, one keyed stream per node."""
        return np.stack([stream(entropy, int(node), purpose, block).standard_normal(shape) for node in nodes])

    def nearest_normals(
        self, entropy: int, lat: np.ndarray, lon: np.ndarray, purpose: Purpose, block: int, shape: tuple[int, ...] = ()
    ) -> np.ndarray:
        """Standard normals of each cell's nearest lattice node, ``(cell, *shape)``: a patchwork of
        constant values over lattice cells of the spacing (not a smooth field)."""
        h_lat, h_lon = self.spacing
        ids = self._node_ids(np.round(np.asarray(lat) / h_lat).astype(np.int64), np.round(np.asarray(lon) / h_lon).astype(np.int64))
        nodes, index = np.unique(ids, return_inverse=True)
        return self.node_normals(entropy, nodes, purpose, block, shape)[index.ravel()]

    def normals(
        self, entropy: int, lat: np.ndarray, lon: np.ndarray, purpose: Purpose, block: int, shape: tuple[int, ...] = ()
    ) -> np.ndarray:
        """Correlated standard normals at the cells, ``(cell, *shape)``."""
        plan = self.interpolation(lat, lon)
        return plan.apply(self.node_normals(entropy, plan.nodes, purpose, block, shape))

    def normals_by_day(
        self, entropy: int, lat: np.ndarray, lon: np.ndarray, purpose: Purpose, block: int, shape: tuple[int, ...]
    ) -> DailyNormals:
        """:meth:`normals` of a block of days (``shape[0]`` days), interpolated a day at a time when read."""
        plan = self.interpolation(lat, lon)
        return DailyNormals(plan, self.node_normals(entropy, plan.nodes, purpose, block, shape))


@attrs.frozen(eq=False)
class DailyNormals:
    """The correlated normals ``(cell, day, ...)`` of one block, read a day at a time:
    ``noise.day(d)`` is ``(cell, ...)`` (the forcing perturber's ``NoiseBlock``).

    Each day is interpolated when it is read, from the block's node values ``(node, day, ...)``:
    every value is the same fixed-order sum as in :meth:`LatticeField.normals` of the whole block
    (the same bits), but a day's cells x variables x members stay in cache, where the block's
    (cells x days x ...) array would be written to and read back from memory.
    """

    plan: Interpolation
    node_values: np.ndarray

    def day(self, day: int) -> np.ndarray:
        """The normals of day ``day`` of the block, ``(cell, ...)``."""
        return self.plan.apply(self.node_values[:, day])

