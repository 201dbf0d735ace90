"""Water Cloud Model observation operator (MODEL_SPEC b), calibrated per site.

Canonical (``units="mixed"``) form, MODEL_SPEC (b) "Canonical implementation"::

    t2        = exp(-2 B LAI / cos(theta))                 two-way canopy transmissivity
    s_lin     = 10 ** ((C + D SM) / 10)                    soil term: linear in dB
    v_lin     = A LAI cos(theta) (1 - t2)                  vegetation term, linear power
    sigma0_dB = 10 log10(v_lin + t2 s_lin)

with V1 = V2 = LAI and theta = 40 deg (Rains et al. 2022).  The sum is in linear power; A is
linear, C and D are dB (the paper's bounds only make sense that way).  ``units="db_literal"``
(DD-13) adds the dB terms literally, sigma0 = A LAI cos(theta)(1 - t2) + t2 (C + D SM); it exists
for reproduction experiments only.

Calibration (MODEL_SPEC b): per site ``scipy.optimize.least_squares(method="trf",
x_scale="jac")`` on dB residuals, started from the 16 corners of DD-15, keeping the lowest cost;
the Jacobian is analytic so each solve costs a handful of vectorised numpy evaluations.  When the
site's maximum LAI is below 0.1, A = B = 0 are fixed (DD-16) and only C, D are fitted.  The
alternative ``method="differential_evolution"`` searches the whole box (keyed random stream per
site) and polishes the best member with the same TRF solver.

The error variance R is the mean squared dB residual over the calibration set (Rains); it lumps
the operator's structural error, the representativeness error and the S1 noise together.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence

import attrs
import numpy as np
import scipy.optimize
import xarray as xr

from s1da.components.operators.inputs import (
    CalibrationData,
    pearson_r,
    prepare_calibration,
    rmsd,
    site_label,
    text_coordinate,
    site_stream_key,
)
from s1da.framework.interfaces import ObservationOperator
from s1da.framework.randomness import Purpose, stream

PARAMETER_NAMES = ("A", "B", "C", "D")
PARAMETER_ATTRIBUTES = {
    "A": {"units": "1", "long_name": "WCM vegetation backscatter per unit LAI (linear power)"},
    "B": {"units": "1", "long_name": "WCM vegetation attenuation per unit LAI"},
    "C": {"units": "dB", "long_name": "WCM bare-soil backscatter at zero soil moisture"},
    "D": {"units": "dB m3 m-3-1", "long_name": "WCM bare-soil backscatter sensitivity to soil moisture"},
}
DB_PER_NEPER = 10.0 / np.log(10.0)  # 4.3429: d(10 log10 x) = DB_PER_NEPER dx / x
UNITS_MODES = ("mixed", "db_literal")


class WcmCalibrationWarning(UserWarning):
    """A calibrated WCM parameter sits on its bound or is not identifiable."""


# --- kernels (MODEL_SPEC b) ---------------------------------------------------------------


def transmissivity(lai, b, incidence_angle_deg: float = 40.0):
    """Two-way canopy transmissivity t2 = exp(-2 B LAI / cos theta) (MODEL_SPEC b), 0 < t2 <= 1."""
    return np.exp(-2.0 * np.asarray(b) * np.asarray(lai) / np.cos(np.deg2rad(incidence_angle_deg)))


def water_cloud_backscatter(soil_moisture, lai, a, b, c, d, incidence_angle_deg: float = 40.0, units: str = "mixed"):
    """sigma0 in dB of the WCM (MODEL_SPEC b); all arguments broadcast."""
    cos_theta = np.cos(np.deg2rad(incidence_angle_deg))
    soil_moisture = np.asarray(soil_moisture, dtype=float)
    lai = np.asarray(lai, dtype=float)
    t2 = np.exp(-2.0 * b * lai / cos_theta)
    if units == "mixed":
        soil_linear = 10.0 ** ((c + d * soil_moisture) / 10.0)
        vegetation_linear = a * lai * cos_theta * (1.0 - t2)
        return 10.0 * np.log10(vegetation_linear + t2 * soil_linear)
    if units == "db_literal":  # DD-13: sum of dB terms, reproduction experiments only
        return a * lai * cos_theta * (1.0 - t2) + t2 * (c + d * soil_moisture)
    raise ValueError(f"units must be one of {UNITS_MODES}, got {units!r}")


def water_cloud_jacobian(soil_moisture, lai, a, b, c, d, incidence_angle_deg: float = 40.0, units: str = "mixed"):
    """d sigma0_dB / d(A, B, C, D), shaped ``broadcast + (4,)`` (analytic, MODEL_SPEC b).

    Mixed form, with P = v_lin + t2 s_lin and dt2/dB = -2 LAI t2 / cos theta:
    dσ/dA = k LAI cos θ (1 - t2) / P, dσ/dB = k (dt2/dB)(s_lin - A LAI cos θ) / P,
    dσ/dC = t2 s_lin / P, dσ/dD = SM t2 s_lin / P, with k = 10 / ln 10.
    """
    cos_theta = np.cos(np.deg2rad(incidence_angle_deg))
    soil_moisture = np.asarray(soil_moisture, dtype=float)
    lai = np.asarray(lai, dtype=float)
    t2 = np.exp(-2.0 * b * lai / cos_theta)
    dt2_db = -2.0 * lai / cos_theta * t2
    if units == "mixed":
        soil_linear = 10.0 ** ((c + d * soil_moisture) / 10.0)
        vegetation_linear = a * lai * cos_theta * (1.0 - t2)
        total = vegetation_linear + t2 * soil_linear
        soil_share = t2 * soil_linear / total
        columns = (
            DB_PER_NEPER * lai * cos_theta * (1.0 - t2) / total,
            DB_PER_NEPER * dt2_db * (soil_linear - a * lai * cos_theta) / total,
            soil_share,
            soil_moisture * soil_share,
        )
    elif units == "db_literal":
        columns = (
            lai * cos_theta * (1.0 - t2),
            dt2_db * (c + d * soil_moisture - a * lai * cos_theta),
            t2,
            t2 * soil_moisture,
        )
    else:
        raise ValueError(f"units must be one of {UNITS_MODES}, got {units!r}")
    return np.stack(np.broadcast_arrays(*columns), axis=-1)


def water_cloud_sensitivity(soil_moisture, lai, a, b, c, d, incidence_angle_deg: float = 40.0, units: str = "mixed"):
    """d sigma0 / d SM in dB per m3 m-3: D t2 s_lin / (v_lin + t2 s_lin) (MODEL_SPEC b)."""
    jacobian = water_cloud_jacobian(soil_moisture, lai, a, b, c, d, incidence_angle_deg, units)
    return d * jacobian[..., 2]


# --- operator ------------------------------------------------------------------------------


def _check_units(instance, attribute, value):
    if value not in UNITS_MODES:
        raise ValueError(f"units must be one of {UNITS_MODES}, got {value!r}")


def _check_method(instance, attribute, value):
    if value not in ("trf", "differential_evolution"):
        raise ValueError(f"method must be 'trf' or 'differential_evolution', got {value!r}")


@attrs.define
class WaterCloudModel(ObservationOperator):
    """WCM operator h(SM, LAI) -> sigma0 dB with one (A, B, C, D) per site.

    ``fit`` returns a *new* fitted operator and leaves this configuration object untouched.
    """

    incidence_angle_deg: float = attrs.field(
        default=40.0,
        converter=float,
        validator=[attrs.validators.ge(0.0), attrs.validators.lt(90.0)],
        metadata={"units": "degree"},
    )
    method: str = attrs.field(default="trf", validator=_check_method)
    units: str = attrs.field(default="mixed", validator=_check_units)
    lower_bounds: tuple[float, float, float, float] = attrs.field(default=(0.0, 0.0, -35.0, 10.0), converter=tuple)
    upper_bounds: tuple[float, float, float, float] = attrs.field(default=(5.0, 10.0, 0.0, 60.0), converter=tuple)
    start_values: tuple = attrs.field(
        default=((0.05, 0.5), (0.05, 0.5), (-20.0, -10.0), (20.0, 40.0)),
        converter=lambda starts: tuple(tuple(float(v) for v in s) for s in starts),
    )  # DD-15: the 16 corners
    min_lai_for_vegetation: float = attrs.field(default=0.1, metadata={"units": "m2 m-2"})  # DD-16
    min_samples: int = attrs.field(default=8, validator=attrs.validators.ge(5))
    correlation_threshold: float = attrs.field(
        default=0.99, validator=[attrs.validators.gt(0.0), attrs.validators.lt(1.0)], metadata={"units": "1"}
    )
    entropy: int = attrs.field(default=0)  # differential evolution seed (keyed by site id)

    _parameters: np.ndarray | None = attrs.field(default=None, init=False, repr=False)
    _fit_table: dict | None = attrs.field(default=None, init=False, repr=False)
    _site_ids: np.ndarray | None = attrs.field(default=None, init=False, repr=False)
    _single_site: bool = attrs.field(default=False, init=False, repr=False)

    def __attrs_post_init__(self):
        lower, upper = np.asarray(self.lower_bounds, float), np.asarray(self.upper_bounds, float)
        if lower.shape != (4,) or upper.shape != (4,) or np.any(lower >= upper):
            raise ValueError(f"bounds must be 4 values each with lower < upper, got {self.lower_bounds}, {self.upper_bounds}")
        if len(self.start_values) != 4:
            raise ValueError("start_values needs one tuple of start values per parameter (A, B, C, D)")

    # -- fitting --------------------------------------------------------------------------

    @property
    def is_fitted(self) -> bool:
        return self._parameters is not None

    def fit(self, soil_moisture, lai, backscatter_db, valid=None, *, site_ids: Sequence | None = None):
        """Calibrate A-D per site; returns a new fitted ``WaterCloudModel``.

        Shapes ``(time,)`` or ``(site, time)``; SM m3 m-3, LAI m2 m-2, backscatter dB.
        Emits ``WcmCalibrationWarning`` for parameters on a bound or not identifiable.
        """
        data = prepare_calibration(
            soil_moisture, lai, backscatter_db, valid, site_ids=site_ids, min_samples=self.min_samples
        )
        rows = [self._fit_site(data, index) for index in range(data.n_sites)]
        fitted = attrs.evolve(self)
        fitted._parameters = np.array([row.pop("parameters") for row in rows])
        fitted._fit_table = {key: np.array([row[key] for row in rows]) for key in rows[0]}
        fitted._site_ids = data.site_ids
        fitted._single_site = data.single_site
        fitted.warn_about_flags()
        return fitted

    def _fit_site(self, data: CalibrationData, index: int) -> dict:
        sm, lai, sigma = data.site_samples(index)
        lower = np.asarray(self.lower_bounds, float)
        upper = np.asarray(self.upper_bounds, float)
        vegetation_fixed = bool(lai.max() < self.min_lai_for_vegetation)  # DD-16
        free = np.array([2, 3]) if vegetation_fixed else np.arange(4)
        base = np.zeros(4)
        theta, units = self.incidence_angle_deg, self.units

        def full(p):
            x = base.copy()
            x[free] = p
            return x

        def residuals(p):
            a, b, c, d = full(p)
            return water_cloud_backscatter(sm, lai, a, b, c, d, theta, units) - sigma

        def jacobian(p):
            a, b, c, d = full(p)
            return water_cloud_jacobian(sm, lai, a, b, c, d, theta, units)[:, free]

        def solve(start):
            return scipy.optimize.least_squares(
                residuals, start, jac=jacobian, bounds=(lower[free], upper[free]), method="trf", x_scale="jac"
            )

        if self.method == "trf":
            best = None
            for start in itertools.product(*(self.start_values[i] for i in free)):
                result = solve(np.clip(np.array(start), lower[free], upper[free]))
                if best is None or result.cost < best.cost:  # strict: first of equal costs wins
                    best = result
        else:
            rng = stream(self.entropy, site_stream_key(data.site_ids[index]), Purpose.OPERATOR_FIT)
            evolution = scipy.optimize.differential_evolution(
                lambda p: 0.5 * np.sum(residuals(p) ** 2),
                list(zip(lower[free], upper[free])),
                rng=rng,
                polish=False,
                tol=1e-10,
                maxiter=2000,
                popsize=30,
                init="sobol",
            )
            best = solve(evolution.x)

        parameters = full(best.x)
        residual = best.fun
        n = residual.size
        jac_free = jacobian(best.x)
        dof = max(n - free.size, 1)
        residual_variance = float(residual @ residual) / dof
        covariance_free = residual_variance * np.linalg.pinv(jac_free.T @ jac_free)
        covariance = np.full((4, 4), np.nan)
        covariance[np.ix_(free, free)] = covariance_free
        standard_error = np.sqrt(np.diag(covariance))
        with np.errstate(invalid="ignore", divide="ignore"):
            correlation = covariance / np.outer(standard_error, standard_error)
        span = upper - lower
        on_bound = (np.abs(parameters - lower) <= 1e-6 * span) | (np.abs(parameters - upper) <= 1e-6 * span)
        on_bound[~np.isin(np.arange(4), free)] = False
        # Identifiability is judged with C re-centred at the mean SM (C' = C + D mean(SM)): C and D
        # of a line far from SM = 0 are strongly correlated however well the data fix the line.
        centring = np.eye(4)
        centring[2, 3] = np.mean(sm)
        centred = centring @ np.nan_to_num(covariance) @ centring.T
        centred_sd = np.sqrt(np.diag(centred))[free]
        with np.errstate(invalid="ignore", divide="ignore"):
            centred_correlation = centred[np.ix_(free, free)] / np.outer(centred_sd, centred_sd)
        off_diagonal = np.abs(centred_correlation[~np.eye(free.size, dtype=bool)])
        singular = np.linalg.cond(jac_free) > 1e8
        not_identifiable = bool(singular or (off_diagonal.size and np.nanmax(off_diagonal) > self.correlation_threshold))
        simulated = sigma + residual
        return {
            "parameters": parameters,
            "standard_error": standard_error,
            "parameter_correlation": correlation,
            "parameter_on_bound": on_bound,
            "vegetation_fixed": vegetation_fixed,
            "not_identifiable": not_identifiable,
            "error_variance": float(np.mean(residual**2)),
            "rmsd": rmsd(simulated, sigma),
            "r": pearson_r(simulated, sigma),
            "sensitivity": float(np.mean(water_cloud_sensitivity(sm, lai, *parameters, theta, units))),
            "n_samples": n,
            "cost": float(best.cost),
        }

    def warn_about_flags(self) -> None:
        """``warnings.warn`` for parameters on bounds and non-identifiable sites."""
        self._require_fitted()
        table = self._fit_table
        for index in np.flatnonzero(table["parameter_on_bound"].any(axis=1)):
            names = [PARAMETER_NAMES[i] for i in np.flatnonzero(table["parameter_on_bound"][index])]
            warnings.warn(
                f"WCM {site_label(self._site_ids, index)}: parameter(s) {', '.join(names)} on their bounds "
                f"({', '.join(f'{n}={v:.4g}' for n, v in zip(PARAMETER_NAMES, self._parameters[index]))})",
                WcmCalibrationWarning,
                stacklevel=3,
            )
        for index in np.flatnonzero(table["not_identifiable"]):
            warnings.warn(
                f"WCM {site_label(self._site_ids, index)}: parameters not identifiable (|correlation| > "
                f"{self.correlation_threshold} with C centred at mean SM, or singular Jacobian; LAI nearly constant, "
                "A and B trading off, or SM and LAI co-varying)",
                WcmCalibrationWarning,
                stacklevel=3,
            )

    # -- prediction -----------------------------------------------------------------------

    def _require_fitted(self):
        if self._parameters is None:
            raise RuntimeError("WaterCloudModel is not fitted; call fit() or from_dataset() first")

    def _site_parameters(self):
        self._require_fitted()
        params = self._parameters[0] if self._single_site else self._parameters.T
        return tuple(params)

    @property
    def parameters(self) -> np.ndarray:
        """Fitted (A, B, C, D), shaped ``(site, 4)``."""
        self._require_fitted()
        return self._parameters.copy()

    @property
    def site_ids(self) -> np.ndarray:
        self._require_fitted()
        return self._site_ids

    def predict(self, soil_moisture, lai) -> np.ndarray:
        """sigma0 dB; broadcasts over leading axes, the last axis is site (any shape if one site)."""
        self._check_site_axis(soil_moisture, lai)
        a, b, c, d = self._site_parameters()
        return water_cloud_backscatter(soil_moisture, lai, a, b, c, d, self.incidence_angle_deg, self.units)

    def _check_site_axis(self, soil_moisture, lai):
        self._require_fitted()
        if self._single_site:
            return
        shape = np.broadcast_shapes(np.shape(soil_moisture), np.shape(lai))
        n_sites = self._parameters.shape[0]
        if len(shape) == 0 or shape[-1] != n_sites:
            raise ValueError(f"last axis must be site ({n_sites}), got shape {shape}")

    def sensitivity(self, soil_moisture, lai) -> np.ndarray:
        """d sigma0 / d SM (dB per m3 m-3), analytic; broadcasts like ``predict``."""
        self._check_site_axis(soil_moisture, lai)
        a, b, c, d = self._site_parameters()
        return water_cloud_sensitivity(soil_moisture, lai, a, b, c, d, self.incidence_angle_deg, self.units)

    @property
    def error_variance(self) -> np.ndarray:
        self._require_fitted()
        return self._fit_table["error_variance"].copy()

    def fit_table(self) -> dict[str, np.ndarray]:
        """Per-site calibration diagnostics (arrays with leading dimension site)."""
        self._require_fitted()
        return {key: value.copy() for key, value in self._fit_table.items()}

    # -- persistence ----------------------------------------------------------------------

    def to_dataset(self) -> xr.Dataset:
        self._require_fitted()
        t = self._fit_table
        data_vars = {
            name: ("site", self._parameters[:, i], PARAMETER_ATTRIBUTES[name]) for i, name in enumerate(PARAMETER_NAMES)
        }
        for i, name in enumerate(PARAMETER_NAMES):
            data_vars[f"{name}_standard_error"] = (
                "site",
                t["standard_error"][:, i],
                {"units": PARAMETER_ATTRIBUTES[name]["units"], "long_name": f"standard error of {name} from s2 (JtJ)^-1"},
            )
        data_vars.update(
            error_variance=("site", t["error_variance"], {"units": "dB2", "long_name": "observation error variance R: mean squared calibration residual"}),
            rmsd=("site", t["rmsd"], {"units": "dB", "long_name": "in-sample RMSD of the calibrated WCM"}),
            r=("site", t["r"], {"units": "1", "long_name": "in-sample Pearson correlation of the calibrated WCM"}),
            sensitivity=("site", t["sensitivity"], {"units": "dB m3 m-3-1", "long_name": "mean d sigma0 / d soil moisture over the calibration samples"}),
            n_samples=("site", t["n_samples"], {"units": "1", "long_name": "number of calibration samples"}),
            cost=("site", t["cost"], {"units": "dB2", "long_name": "half the sum of squared residuals at the optimum"}),
            parameter_correlation=(
                ("site", "parameter", "parameter_other"),
                t["parameter_correlation"],
                {"units": "1", "long_name": "parameter correlation from (JtJ)^-1 (NaN for fixed parameters)"},
            ),
            parameter_on_bound=(("site", "parameter"), t["parameter_on_bound"], {"units": "1", "long_name": "parameter sits on its bound"}),
            vegetation_fixed=("site", t["vegetation_fixed"], {"units": "1", "long_name": "A = B = 0 fixed because max LAI < 0.1 (DD-16)"}),
            not_identifiable=("site", t["not_identifiable"], {"units": "1", "long_name": "parameters not identifiable: |correlation| above threshold (C centred at mean SM) or singular Jacobian"}),
        )
        return xr.Dataset(
            data_vars,
            coords={
                "site": ("site", text_coordinate(self._site_ids), {"long_name": "site identifier", "units": "1"}),
                "parameter": ("parameter", text_coordinate(PARAMETER_NAMES), {"long_name": "WCM parameter", "units": "1"}),
                "parameter_other": ("parameter_other", text_coordinate(PARAMETER_NAMES), {"long_name": "WCM parameter", "units": "1"}),
            },
            attrs={
                "operator": "water_cloud_model",
                "incidence_angle_deg": self.incidence_angle_deg,
                "units_mode": self.units,
                "method": self.method,
                "single_site": int(self._single_site),
                "lower_bounds": list(self.lower_bounds),
                "upper_bounds": list(self.upper_bounds),
                "min_lai_for_vegetation": self.min_lai_for_vegetation,
                "correlation_threshold": self.correlation_threshold,
                "entropy": self.entropy,
            },
        )

    @classmethod
    def from_dataset(cls, dataset: xr.Dataset) -> WaterCloudModel:
        """Rebuild a fitted operator from :meth:`to_dataset` output (no refit)."""
        if dataset.attrs.get("operator") != "water_cloud_model":
            raise ValueError("dataset was not written by WaterCloudModel.to_dataset")
        a = dataset.attrs
        model = cls(
            incidence_angle_deg=a["incidence_angle_deg"],
            method=a["method"],
            units=a["units_mode"],
            lower_bounds=tuple(a["lower_bounds"]),
            upper_bounds=tuple(a["upper_bounds"]),
            min_lai_for_vegetation=a["min_lai_for_vegetation"],
            correlation_threshold=a["correlation_threshold"],
            entropy=int(a["entropy"]),
        )
        model._parameters = np.stack([dataset[name].values.astype(float) for name in PARAMETER_NAMES], axis=1)
        model._fit_table = {
            "standard_error": np.stack([dataset[f"{n}_standard_error"].values for n in PARAMETER_NAMES], axis=1),
            "parameter_correlation": dataset["parameter_correlation"].values,
            "parameter_on_bound": dataset["parameter_on_bound"].values.astype(bool),
            "vegetation_fixed": dataset["vegetation_fixed"].values.astype(bool),
            "not_identifiable": dataset["not_identifiable"].values.astype(bool),
            **{k: dataset[k].values for k in ("error_variance", "rmsd", "r", "sensitivity", "n_samples", "cost")},
        }
        model._site_ids = dataset["site"].values
        model._single_site = bool(a["single_site"])
        return model
