"""Random numbers of the gridded twin: spatially coherent where nature is, independent where not.

The site twin's modules take every uniform and normal from a
:class:`~s1da.components.sources.twin_random.Draws` object.  :class:`GridDraws` answers the same
requests for the cells of a regular grid:

* **coherent** quantities (landscape, soils, vegetation, weather, forcing-product errors, the
  orbit table) come from unit-variance lattice fields (:mod:`s1da.framework.random_fields`)
  turned into uniforms by the normal CDF (a Gaussian copula): every uniform stays U(0, 1) for the
  twin's physics, but neighbouring cells draw similar numbers.  Each quantity has a correlation
  length (degrees): landscape patches of a few km, weather of tens of km;
* the **orbit table** (relative orbits, pass phases, incidence angles, orbit offsets) is constant
  over patches of the lattice of ``swath_length`` (each cell takes its nearest node's numbers),
  with sharp edges where neighbouring cells see different relative orbits, so acquisitions on
  different days: a simplification of overlapping Sentinel-1 IW swaths (250 km wide) whose
  edges a tile of tens of km crosses now and then;
* **independent** quantities (speckle, radar structure drift, in-situ station errors) are drawn
  per grid row from ``stream(entropy, y, Purpose.TWIN_GRID_ROW, block)`` and picked by column,
  so a cell's numbers do not depend on which other cells are built.

Keys never involve the set of cells requested: any subset, tile or chunk of a grid holds the same
numbers for its cells.
"""

from __future__ import annotations

import attrs
import numpy as np
import pandas as pd
from scipy.special import ndtr

from s1da.framework.random_fields import LatticeField
from s1da.framework.randomness import Purpose, stream

from .twin_random import DAYS_IN_BLOCK, Draws, Substream

LANDSCAPE = frozenset({Substream.LAND_COVER, Substream.SOIL, Substream.VEGETATION_STATIC, Substream.RADAR_STATIC})
WEATHER = frozenset(
    {
        Substream.PRECIPITATION_OCCURRENCE,
        Substream.PRECIPITATION_AMOUNT,
        Substream.TEMPERATURE_ANOMALY,
        Substream.CLOUDINESS,
        Substream.VEGETATION_YEAR,
        Substream.VOD_NOISE,
        Substream.FORCING_ERROR_STATIC,
        Substream.PRECIPITATION_DETECTION,
        Substream.PRECIPITATION_FALSE_ALARM,
        Substream.PRECIPITATION_NOISE,
        Substream.FALSE_ALARM_AMOUNT,
        Substream.TEMPERATURE_NOISE,
        Substream.RADIATION_NOISE,
    }
)
SWATH = frozenset({Substream.ORBITS})


def _block(purpose: Purpose, substream: Substream, year: int = 0) -> int:
    return (int(purpose) * 100 + int(substream)) * 10_000 + int(year)


@attrs.frozen(eq=False)
class GridDraws(Draws):
    """Draws for cells ``site id = y * nx + x`` of a grid with cell centres ``lat (y,)``, ``lon (x,)``."""

    lat: np.ndarray = attrs.field(converter=lambda v: np.asarray(v, dtype=float))
    lon: np.ndarray = attrs.field(converter=lambda v: np.asarray(v, dtype=float))
    landscape_length: float = attrs.field(default=0.03, metadata={"units": "degree"})
    weather_length: float = attrs.field(default=0.5, metadata={"units": "degree"})
    swath_length: float = attrs.field(default=0.2, metadata={"units": "degree"})

    def _cells(self, site_ids) -> tuple[np.ndarray, np.ndarray]:
        ids = np.asarray(site_ids, dtype=np.int64)
        y, x = np.divmod(ids, self.lon.size)
        if (ids < 0).any() or (y >= self.lat.size).any():
            raise KeyError(f"site ids {ids[(ids < 0) | (y >= self.lat.size)][:10].tolist()} are not cells of the {self.lat.size} x {self.lon.size} grid")
        return y, x

    def _field(self, substream: Substream) -> LatticeField | None:
        for group, length in ((LANDSCAPE, self.landscape_length), (WEATHER, self.weather_length), (SWATH, self.swath_length)):
            if substream in group:
                return LatticeField(length, length)
        return None

    def _coherent(self, field, entropy, site_ids, purpose, substream, year, size, kind) -> np.ndarray:
        """``(site, size)`` numbers from lattice fields (uniforms through the normal CDF)."""
        y, x = self._cells(site_ids)
        draw = field.nearest_normals if substream in SWATH else field.normals
        normals = draw(entropy, self.lat[y], self.lon[x], Purpose.TWIN_GRID_FIELD, _block(purpose, substream, year), (size,))
        return ndtr(normals) if kind == "uniform" else normals

    def _independent(self, entropy, site_ids, purpose, substream, year, size, kind) -> np.ndarray:
        """``(site, size)`` numbers drawn per grid row and picked by column."""
        y, x = self._cells(site_ids)
        out = np.empty((len(y), size))
        for row in np.unique(y):
            rng = stream(entropy, int(row), Purpose.TWIN_GRID_ROW, _block(purpose, substream, year))
            values = rng.random((self.lon.size, size)) if kind == "uniform" else rng.standard_normal((self.lon.size, size))
            in_row = y == row
            out[in_row] = values[x[in_row]]
        return out

    def _draw(self, entropy, site_ids, purpose, substream, year, size, kind) -> np.ndarray:
        if kind not in ("uniform", "normal"):
            raise ValueError(f"unknown draw kind {kind!r}; expected 'uniform' or 'normal'")
        field = self._field(substream)
        if field is None:
            return self._independent(entropy, site_ids, purpose, substream, year, size, kind)
        return self._coherent(field, entropy, site_ids, purpose, substream, year, size, kind)

    # --- the Draws interface ------------------------------------------------------------------
    def static(self, entropy, site_ids, purpose, substream, size, kind="uniform") -> np.ndarray:
        return self._draw(entropy, site_ids, purpose, substream, 0, size, kind)

    def yearly(self, entropy, site_ids, purpose, substream, times, kind="uniform") -> np.ndarray:
        times = pd.DatetimeIndex(times)
        years = np.asarray(times.year)
        day_index = np.asarray(times.day_of_year) - 1
        out = np.empty((len(times), len(site_ids)))
        for year in np.unique(years):
            in_year = years == year
            out[in_year] = self._draw(entropy, site_ids, purpose, substream, int(year), DAYS_IN_BLOCK, kind).T[day_index[in_year]]
        return out

    def per_year(self, entropy, site_ids, purpose, substream, years, size) -> np.ndarray:
        return np.stack([self._draw(entropy, site_ids, purpose, substream, int(year), size, "uniform") for year in years])
