"""Spatially correlated forcing perturbations for gridded domains (land DA practice, as in LIS).

Everything of the site perturber (:mod:`s1da.components.perturbers.forcing`, docs/model/perturbations.md d) is
kept: AR(1) in time, zero ensemble mean, cross-correlation ``u = S z``, truncation and the
multiplicative / additive application.  Only the white noise ``xi`` changes: instead of being
independent between sites, it is a unit-variance random field, drawn on a coarse global lat/lon
lattice and interpolated to the cells (:mod:`s1da.framework.random_fields`), with correlation
``~ exp(-r^2 / (2 L^2))`` for the lengths ``L`` (degrees, as the ``xcorr`` / ``ycorr`` of the
GEOS-LDAS / LIS perturbation scheme; 0.5 deg for precipitation and radiation there; Reichle et
al. 2007, Kumar et al. 2012).  Because the AR(1) recursion and the cross-correlation are linear
and act per cell, the perturbations ``u`` keep that spatial correlation, and each variable's
marginal statistics equal the site perturber's.

Chunk independence: each lattice node draws ``stream(entropy, node_id,
Purpose.FORCING_PERTURBATION_LATTICE, block)`` with all days of the block, the three variables
and all members at once, and a cell's noise is a fixed-order weighted sum of its 16 nodes, so a
cell's numbers never depend on which other cells are perturbed with it.

The perturber needs each site's position: ``positions`` is the site table (dimension ``site``
with ``lat`` and ``lon`` in degrees), e.g. ``SiteData.sites``.
"""

from __future__ import annotations

import attrs
import numpy as np
import xarray as xr

from s1da.framework.random_fields import DailyNormals, LatticeField
from s1da.framework.randomness import Purpose
from s1da.framework.validators import finite_positive

from .forcing import ForcingPerturbationParameters, ForcingPerturber


@attrs.frozen
class SpatialForcingPerturbationParameters(ForcingPerturbationParameters):
    """The site perturber's settings plus the spatial correlation lengths (degrees)."""

    correlation_length_lat: float = attrs.field(
        default=0.5,
        converter=float,
        validator=finite_positive,
        metadata={"units": "degree", "doc": "north-south correlation length L of the noise (corr ~ exp(-r^2/2L^2))"},
    )
    correlation_length_lon: float = attrs.field(
        default=0.5,
        converter=float,
        validator=finite_positive,
        metadata={"units": "degree", "doc": "east-west correlation length L of the noise (degrees of longitude)"},
    )

    @property
    def field(self) -> LatticeField:
        return LatticeField(self.correlation_length_lat, self.correlation_length_lon)


class SpatialForcingPerturber(ForcingPerturber):
    """:class:`ForcingPerturber` whose noise is spatially correlated (module docstring)."""

    def __init__(
        self, parameters: SpatialForcingPerturbationParameters | None = None, *, entropy: int, positions: xr.Dataset
    ) -> None:
        parameters = parameters if parameters is not None else SpatialForcingPerturbationParameters()
        if not isinstance(parameters, SpatialForcingPerturbationParameters):
            raise TypeError(f"parameters must be SpatialForcingPerturbationParameters, got {type(parameters).__name__}")
        super().__init__(parameters, entropy=entropy)
        ids = np.asarray(positions["site"].values, dtype=np.int64)
        order = np.argsort(ids)
        self._ids = ids[order]
        self._lat = np.asarray(positions["lat"].values, dtype=float)[order]
        self._lon = np.asarray(positions["lon"].values, dtype=float)[order]
        self._field = parameters.field

    def for_sites(self, site_ids: np.ndarray) -> SpatialForcingPerturber:
        """This perturber with the positions of ``site_ids`` only (the domain's table is 24 bytes
        a cell: 120 MB over Europe at 1 km, in every task)."""
        lat, lon = self._positions(np.asarray(site_ids, dtype=np.int64))
        positions = xr.Dataset(coords={"site": np.asarray(site_ids, dtype=np.int64), "lat": ("site", lat), "lon": ("site", lon)})
        return SpatialForcingPerturber(self.parameters, entropy=self.entropy, positions=positions)

    def _positions(self, site_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        where = np.clip(np.searchsorted(self._ids, site_ids), 0, len(self._ids) - 1)
        unknown = self._ids[where] != site_ids
        if unknown.any():
            raise KeyError(f"site id(s) {site_ids[unknown][:10].tolist()} have no position in the perturber's site table")
        return self._lat[where], self._lon[where]

    def _draw_noise(self, site_ids: np.ndarray, shape: tuple[int, int, int], block: int) -> DailyNormals:
        """Correlated standard normals ``(site, *shape)`` of one block from the lattice nodes, read a day at a time."""
        lat, lon = self._positions(np.asarray(site_ids, dtype=np.int64))
        return self._field.normals_by_day(self.entropy, lat, lon, Purpose.FORCING_PERTURBATION_LATTICE, block, shape)
