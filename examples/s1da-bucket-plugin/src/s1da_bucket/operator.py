"""A linear observation operator: sigma0 = a + b SM + c LAI per site, fitted by least squares.

The simplest operator that behaves like the first-order sensitivity of backscatter to soil
moisture and vegetation (e.g. Ulaby et al. 1978, who found sigma0 in dB linear in soil
moisture); ``b`` is the sensitivity in dB per m3 m-3.  Written only against
``s1da.framework.interfaces.ObservationOperator``: the inputs arrive as a mapping of named
arrays, as the operator declares in ``required_inputs``.
"""

from __future__ import annotations

from typing import ClassVar

import attrs
import numpy as np
import xarray as xr

from s1da.framework.interfaces import ObservationOperator

COEFFICIENTS = (("intercept", "dB"), ("soil_moisture_slope", "dB m-3 m3"), ("lai_slope", "dB m-2 m2"))


@attrs.define
class LinearOperator(ObservationOperator):
    """Backscatter linear in soil moisture and LAI, per site: ``operators.<label>: {kind: linear}``."""

    required_inputs: ClassVar = {"soil_moisture": "m3 m-3", "lai": "m2 m-2"}
    min_samples: int = attrs.field(default=10, validator=attrs.validators.ge(4), metadata={"units": "1", "doc": "fewest valid samples a site needs"})
    _coefficients: np.ndarray | None = attrs.field(default=None, init=False, repr=False)  # (site, 3)
    _variance: np.ndarray | None = attrs.field(default=None, init=False, repr=False)
    _site_ids: np.ndarray | None = attrs.field(default=None, init=False, repr=False)

    def fit(self, inputs, backscatter_db, valid=None, *, site_ids=None, progress=None):  # no progress bar: fits in a blink
        soil = np.atleast_2d(np.asarray(inputs["soil_moisture"], dtype="float64"))
        lai = np.atleast_2d(np.asarray(inputs["lai"], dtype="float64"))
        observed = np.atleast_2d(np.asarray(backscatter_db, dtype="float64"))
        use = np.isfinite(observed) & np.isfinite(soil) & np.isfinite(lai)
        if valid is not None:
            use &= np.atleast_2d(valid)
        ids = np.arange(observed.shape[0]) if site_ids is None else np.asarray(site_ids)
        coefficients = np.empty((observed.shape[0], 3))
        variance = np.empty(observed.shape[0])
        for site in range(observed.shape[0]):  # one small least-squares problem per site
            n = int(use[site].sum())
            if n < self.min_samples:
                raise ValueError(f"site {ids[site]}: {n} valid samples, the linear operator needs {self.min_samples}")
            design = np.column_stack([np.ones(n), soil[site, use[site]], lai[site, use[site]]])
            coefficients[site], *_ = np.linalg.lstsq(design, observed[site, use[site]], rcond=None)
            residual = observed[site, use[site]] - design @ coefficients[site]
            variance[site] = np.mean(residual**2)
            if not variance[site] > 0.0:
                raise ValueError(f"site {ids[site]}: zero residual variance; the fit cannot give an observation error")
        fitted = attrs.evolve(self)
        fitted._coefficients, fitted._variance, fitted._site_ids = coefficients, variance, ids
        return fitted

    def _fitted(self) -> np.ndarray:
        if self._coefficients is None:
            raise RuntimeError("LinearOperator is not fitted; call fit() or from_dataset() first")
        return self._coefficients

    def predict(self, inputs) -> np.ndarray:
        a, b, c = self._fitted().T
        return a + b * np.asarray(inputs["soil_moisture"]) + c * np.asarray(inputs["lai"])

    @property
    def error_variance(self) -> np.ndarray:
        self._fitted()
        return self._variance

    @property
    def site_ids(self) -> np.ndarray:
        self._fitted()
        return self._site_ids

    def to_dataset(self) -> xr.Dataset:
        coefficients = self._fitted()
        data = {
            name: ("site", coefficients[:, index], {"units": units, "long_name": f"linear operator {name.replace('_', ' ')}"})
            for index, (name, units) in enumerate(COEFFICIENTS)
        }
        data["error_variance"] = ("site", self._variance, {"units": "dB2", "long_name": "mean-square residual of the fit (R)"})
        return xr.Dataset(data, coords={"site": self._site_ids}, attrs={"operator": "LinearOperator", "min_samples": self.min_samples})

    @classmethod
    def from_dataset(cls, dataset) -> LinearOperator:
        if dataset.attrs.get("operator") != "LinearOperator":
            raise ValueError("dataset was not written by LinearOperator.to_dataset")
        operator = cls(min_samples=int(dataset.attrs.get("min_samples", 10)))
        operator._coefficients = np.stack([dataset[name].values for name, _ in COEFFICIENTS], axis=-1)
        operator._variance = dataset["error_variance"].values
        operator._site_ids = dataset["site"].values
        return operator
