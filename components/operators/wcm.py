"""Water Cloud Model observation operator (docs/model/operators.md b), calibrated per site.

Canonical (``units="mixed"``) form, docs/model/operators.md (b) "Canonical implementation"::

    t2        = exp(-2 B LAI / cos(theta))                 two-way canopy transmissivity
    s_lin     = 10 ** ((C + D SM) / 10)                    soil term: linear in dB
    v_lin     = A LAI cos(theta) (1 - t2)                  vegetation term, linear power
    sigma0_dB = 10 log10(v_lin + t2 s_lin)

with V1 = V2 = LAI and theta = 40 deg (Rains et al. 2022).  The sum is in linear power; A is
linear, C and D are dB (the paper's bounds only make sense that way).  ``units="db_literal"``
(DD-13) adds the dB terms literally, sigma0 = A LAI cos(theta)(1 - t2) + t2 (C + D SM); it exists
for reproduction experiments only.

Calibration (docs/model/operators.md b): least squares on dB residuals from the 16 corners of DD-15, keeping
the lowest cost.  ``method="batched_lm"`` (default; needs numba) runs every site and every start
in one compiled bounded Levenberg-Marquardt iteration with the analytic Jacobian
(``s1da.components.operators.wcm_batched``); ``method="trf"`` (and the default without numba)
runs ``scipy.optimize.least_squares(method="trf", x_scale="jac")`` per site and start.  When the
site's maximum LAI is below 0.1, A = B = 0 are fixed (DD-16) and only C, D are fitted.  The
alternative ``method="differential_evolution"`` searches the whole box (keyed random stream per
site) and polishes the best member with TRF.

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
from tqdm.auto import tqdm

from s1da.components.operators import smo
from s1da.components.operators.inputs import (
    CalibrationData,
    check_residual_variance,
    prepare_calibration,
    prepare_prediction,
    site_label,
    site_stream_key,
    text_coordinate,
)
from s1da.framework import metrics
from s1da.framework.interfaces import CalibrationWarning, ObservationOperator
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


class WcmCalibrationWarning(CalibrationWarning):
    """A calibrated WCM parameter sits on its bound or is not identifiable."""

    kind = "WCM calibration warning"


class WcmBoundWarning(WcmCalibrationWarning):
    kind = "WCM parameter(s) on their bounds"


class WcmIdentifiabilityWarning(WcmCalibrationWarning):
    kind = "WCM parameters not identifiable"


# --- kernels (docs/model/operators.md b) ---------------------------------------------------------------


def transmissivity(lai, b, incidence_angle_deg: float = 40.0):
    """Two-way canopy transmissivity t2 = exp(-2 B LAI / cos theta) (docs/model/operators.md b), 0 < t2 <= 1."""
    return np.exp(-2.0 * np.asarray(b) * np.asarray(lai) / np.cos(np.deg2rad(incidence_angle_deg)))


def water_cloud_terms(soil_moisture, lai, cos_theta, a, b, c, d, mixed):
    """sigma0 (dB) and d sigma0 / d(A, B, C, D) of the WCM (Attema and Ulaby 1978; docs/model/operators.md b).

    The one place the WCM is written: plain arithmetic, so that it serves numpy arrays (any
    broadcast) and, compiled by numba, the scalar loop of the batched calibration.  ``mixed``
    selects the canonical form (sum in linear power, C and D in dB) over the DD-13 literal sum of
    dB terms.  Mixed form, with P = v_lin + t2 s_lin and dt2/dB = -2 LAI t2 / cos theta:
    dσ/dA = k LAI cos θ (1 - t2) / P, dσ/dB = k (dt2/dB)(s_lin - A LAI cos θ) / P,
    dσ/dC = t2 s_lin / P, dσ/dD = SM t2 s_lin / P, with k = 10 / ln 10.
    """
    t2 = np.exp(-2.0 * b * lai / cos_theta)
    dt2_db = -2.0 * lai / cos_theta * t2
    canopy = lai * cos_theta * (1.0 - t2)
    if mixed:
        soil_linear = np.exp((c + d * soil_moisture) / DB_PER_NEPER)  # 10^((C + D SM) / 10)
        total = a * canopy + t2 * soil_linear
        soil_share = t2 * soil_linear / total
        sigma = DB_PER_NEPER * np.log(total)  # 10 log10(total)
        return (
            sigma,
            DB_PER_NEPER * canopy / total,
            DB_PER_NEPER * dt2_db * (soil_linear - a * lai * cos_theta) / total,
            soil_share,
            soil_moisture * soil_share,
        )
    soil_db = c + d * soil_moisture
    return a * canopy + t2 * soil_db, canopy, dt2_db * (soil_db - a * lai * cos_theta), t2, t2 * soil_moisture


def _terms(soil_moisture, lai, a, b, c, d, incidence_angle_deg, units):
    if units not in UNITS_MODES:
        raise ValueError(f"units must be one of {UNITS_MODES}, got {units!r}")
    cos_theta = np.cos(np.deg2rad(incidence_angle_deg))
    soil_moisture = np.asarray(soil_moisture, dtype=float)
    lai = np.asarray(lai, dtype=float)
    return water_cloud_terms(soil_moisture, lai, cos_theta, a, b, c, d, units == "mixed")


def water_cloud_backscatter(soil_moisture, lai, a, b, c, d, incidence_angle_deg: float = 40.0, units: str = "mixed"):
    """sigma0 in dB of the WCM (docs/model/operators.md b); all arguments broadcast."""
    return _terms(soil_moisture, lai, a, b, c, d, incidence_angle_deg, units)[0]


def water_cloud_jacobian(soil_moisture, lai, a, b, c, d, incidence_angle_deg: float = 40.0, units: str = "mixed"):
    """d sigma0_dB / d(A, B, C, D), shaped ``broadcast + (4,)`` (analytic, :func:`water_cloud_terms`)."""
    columns = _terms(soil_moisture, lai, a, b, c, d, incidence_angle_deg, units)[1:]
    return np.stack(np.broadcast_arrays(*columns), axis=-1)


def water_cloud_sensitivity(soil_moisture, lai, a, b, c, d, incidence_angle_deg: float = 40.0, units: str = "mixed"):
    """d sigma0 / d SM in dB per m3 m-3: D t2 s_lin / (v_lin + t2 s_lin) (docs/model/operators.md b)."""
    jacobian = water_cloud_jacobian(soil_moisture, lai, a, b, c, d, incidence_angle_deg, units)
    return d * jacobian[..., 2]


# --- operator ------------------------------------------------------------------------------


def _check_units(instance, attribute, value):
    if value not in UNITS_MODES:
        raise ValueError(f"units must be one of {UNITS_MODES}, got {value!r}")


METHODS = ("batched_lm", "trf", "differential_evolution")
_SITE_BLOCK = 256  # sites per batched call (progress granularity)


def _check_method(instance, attribute, value):
    if value not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {value!r}")


@attrs.define
class WaterCloudModel(ObservationOperator):
    """WCM operator h(SM, LAI[, incidence angle]) -> sigma0 dB with one (A, B, C, D) per site.

    Inputs ``soil_moisture`` (m3 m-3) and ``lai`` (m2 m-2); an ``incidence_angle`` input (degree,
    per sample) replaces the fixed ``incidence_angle_deg``.  ``fit`` returns a *new* fitted
    operator and leaves this configuration object untouched.
    """

    required_inputs = {"soil_moisture": "m3 m-3", "lai": "m2 m-2"}
    optional_inputs = {"incidence_angle": "degree"}

    incidence_angle_deg: float = attrs.field(
        default=40.0,
        converter=float,
        validator=[attrs.validators.ge(0.0), attrs.validators.lt(90.0)],
        metadata={"units": "degree"},
    )
    method: str = attrs.field(default="batched_lm", validator=_check_method)
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

    def fit(self, inputs, backscatter_db, valid=None, *, site_ids: Sequence | None = None, progress: str | None = None):
        """Calibrate A-D per site; returns a new fitted ``WaterCloudModel``.

        ``inputs`` maps ``soil_moisture`` (m3 m-3), ``lai`` (m2 m-2) and optionally
        ``incidence_angle`` (degree) to arrays shaped like ``backscatter_db``: ``(time,)`` or
        ``(site, time)``, dB, NaN where missing.  Emits ``WcmCalibrationWarning`` for parameters
        on a bound or not identifiable.  ``progress`` names a progress bar of sites done.
        """
        data = prepare_calibration(
            inputs, backscatter_db, valid, required=self.required_inputs, optional=self.optional_inputs,
            site_ids=site_ids, min_samples=self.min_samples,
        )
        with tqdm(total=data.n_sites, desc=progress, unit="site", disable=progress is None) as bar:
            blocks = []
            for start in range(0, data.n_sites, _SITE_BLOCK):
                block = data.subset(np.arange(start, min(start + _SITE_BLOCK, data.n_sites)))
                if self.uses_batched_solver:
                    parameters = self._batched_parameters(block)
                else:
                    fixed = self._vegetation_fixed(block)
                    parameters = np.array([self._solve_site(block, index, fixed[index]) for index in range(block.n_sites)])
                blocks.append(self._fit_statistics(block, parameters))
                bar.update(block.n_sites)
        fitted = attrs.evolve(self)
        table = {key: np.concatenate([rows[key] for rows in blocks]) for key in blocks[0]}
        fitted._parameters = table.pop("parameters")
        fitted._fit_table = table
        fitted._site_ids = data.site_ids
        fitted._single_site = data.single_site
        check_residual_variance(fitted._fit_table["error_variance"], data.site_ids, "WCM")
        fitted.warn_about_flags()
        return fitted

    @property
    def uses_batched_solver(self) -> bool:
        """True when ``method="batched_lm"`` runs compiled (numba installed); else TRF per site."""
        return self.method == "batched_lm" and smo.AVAILABLE

    def _vegetation_fixed(self, data: CalibrationData) -> np.ndarray:
        """(site,) True where A = B = 0 are fixed: the maximum used LAI is below the threshold (DD-16)."""
        return np.where(data.valid, data.inputs["lai"], -np.inf).max(axis=1) < self.min_lai_for_vegetation

    def _batched_parameters(self, data: CalibrationData) -> np.ndarray:
        """(site, 4) parameters of all sites of ``data`` by the compiled multi-start LM."""
        from s1da.components.operators.wcm_batched import calibrate_sites  # compiled on first use

        counts = data.valid.sum(axis=1)
        offsets = np.concatenate([[0], np.cumsum(counts)])
        packed = {name: values[data.valid] for name, values in data.inputs.items()}
        theta = packed.get("incidence_angle", np.full(offsets[-1], self.incidence_angle_deg))
        fixed = np.zeros((data.n_sites, 4), dtype=bool)
        fixed[:, :2] = self._vegetation_fixed(data)[:, np.newaxis]
        starts = np.array(list(itertools.product(*self.start_values)), dtype=float)
        parameters, _ = calibrate_sites(
            packed["soil_moisture"], packed["lai"], np.cos(np.deg2rad(theta)), data.backscatter_db[data.valid], offsets,
            fixed, starts, np.asarray(self.lower_bounds, float), np.asarray(self.upper_bounds, float), self.units == "mixed",
        )
        return parameters

    def _site_model(self, data: CalibrationData, index: int, vegetation_fixed: bool):
        """(free parameter indices, full(p), residuals(p), jacobian(p)) of one site, on its free parameters."""
        site_inputs, sigma = data.site_samples(index)
        sm, lai = site_inputs["soil_moisture"], site_inputs["lai"]
        theta = site_inputs.get("incidence_angle", self.incidence_angle_deg)
        free = np.array([2, 3]) if vegetation_fixed else np.arange(4)

        def full(p):
            x = np.zeros(4)
            x[free] = p
            return x

        def residuals(p):
            return water_cloud_backscatter(sm, lai, *full(p), theta, self.units) - sigma

        def jacobian(p):
            return water_cloud_jacobian(sm, lai, *full(p), theta, self.units)[:, free]

        return free, full, residuals, jacobian

    def _solve_site(self, data: CalibrationData, index: int, vegetation_fixed: bool) -> np.ndarray:
        """(A, B, C, D) of one site by scipy: TRF from the DD-15 corners, or differential evolution."""
        free, full, residuals, jacobian = self._site_model(data, index, vegetation_fixed)
        lower = np.asarray(self.lower_bounds, float)
        upper = np.asarray(self.upper_bounds, float)

        def solve(start):
            return scipy.optimize.least_squares(
                residuals, start, jac=jacobian, bounds=(lower[free], upper[free]), method="trf", x_scale="jac"
            )

        if self.method != "differential_evolution":
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
        return full(best.x)

    def _fit_statistics(self, data: CalibrationData, parameters: np.ndarray) -> dict[str, np.ndarray]:
        """Fit diagnostics of all sites of ``data`` at ``parameters`` (site, 4), vectorised over sites.

        R, the covariance s^2 (J^T J)^-1 of the free parameters (standard errors, correlations;
        NaN for fixed ones), parameters on a bound, identifiability, RMSD, r, mean sensitivity.
        Unused samples enter every sum with weight 0.
        """
        valid = data.valid
        inputs = {name: np.where(valid, values, 0.0) for name, values in data.inputs.items()}
        sigma = np.where(valid, data.backscatter_db, 0.0)
        theta = inputs.get("incidence_angle", self.incidence_angle_deg)
        terms = _terms(inputs["soil_moisture"], inputs["lai"], *(parameters[:, k, np.newaxis] for k in range(4)), theta, self.units)
        residual = np.where(valid, terms[0] - sigma, 0.0)
        free = np.ones((data.n_sites, 4), dtype=bool)
        free[:, :2] = ~self._vegetation_fixed(data)[:, np.newaxis]
        n_free = free.sum(axis=1)
        jacobian = np.stack(np.broadcast_arrays(*terms[1:]), axis=-1) * (valid[..., np.newaxis] & free[:, np.newaxis, :])
        n = valid.sum(axis=1)
        squares = np.einsum("st,st->s", residual, residual)
        residual_variance = squares / np.maximum(n - n_free, 1)
        both_free = free[:, :, np.newaxis] & free[:, np.newaxis, :]
        # pinv of J^T J with the fixed rows and columns zero = the free block's pinv, padded with zeros
        covariance = residual_variance[:, np.newaxis, np.newaxis] * np.linalg.pinv(np.einsum("stk,stm->skm", jacobian, jacobian))
        covariance = np.where(both_free, covariance, np.nan)
        standard_error = np.sqrt(np.diagonal(covariance, axis1=1, axis2=2))
        lower, upper = np.asarray(self.lower_bounds, float), np.asarray(self.upper_bounds, float)
        span = upper - lower
        on_bound = ((np.abs(parameters - lower) <= 1e-6 * span) | (np.abs(parameters - upper) <= 1e-6 * span)) & free
        mean_sm = np.einsum("st,st->s", inputs["soil_moisture"], valid.astype(float)) / n
        simulated = np.where(valid, sigma + residual, np.nan)
        observed = np.where(valid, sigma, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            correlation = covariance / (standard_error[:, :, np.newaxis] * standard_error[:, np.newaxis, :])
            sensitivity = np.einsum("st,st->s", parameters[:, 3, np.newaxis] * np.broadcast_to(terms[3], valid.shape), valid.astype(float)) / n
        return {
            "parameters": parameters,
            "standard_error": standard_error,
            "parameter_correlation": correlation,
            "parameter_on_bound": on_bound,
            "vegetation_fixed": n_free < 4,
            "not_identifiable": self._not_identifiable(covariance, mean_sm, both_free, jacobian, n_free),
            "error_variance": squares / n,
            "rmsd": metrics.rmsd(simulated, observed, axis=1, min_samples=1),
            "r": metrics.pearson_r(simulated, observed, axis=1, min_samples=1),
            "sensitivity": sensitivity,
            "n_samples": n,
            "cost": 0.5 * squares,
        }

    def _not_identifiable(self, covariance, mean_sm, both_free, jacobian, n_free) -> np.ndarray:
        """(site,) True for a singular Jacobian (condition number > 1e8) or a free-parameter
        correlation above the threshold, judged with C re-centred at the mean SM (C' = C + D mean(SM)):
        C and D of a line far from SM = 0 are strongly correlated however well the data fix the line."""
        centring = np.broadcast_to(np.eye(4), covariance.shape).copy()
        centring[:, 2, 3] = mean_sm
        centred = centring @ np.nan_to_num(covariance) @ np.swapaxes(centring, 1, 2)
        centred_sd = np.sqrt(np.diagonal(centred, axis1=1, axis2=2))
        with np.errstate(invalid="ignore", divide="ignore"):
            centred_correlation = np.abs(centred / (centred_sd[:, :, np.newaxis] * centred_sd[:, np.newaxis, :]))
            # the fixed columns of J are zero: its leading n_free singular values are the free block's
            singular_values = np.linalg.svd(jacobian, compute_uv=False)
            condition = singular_values[:, 0] / singular_values[np.arange(n_free.size), n_free - 1]
        off_diagonal = both_free & ~np.eye(4, dtype=bool) & ~np.isnan(centred_correlation)
        strongest = np.where(off_diagonal, centred_correlation, -np.inf).max(axis=(1, 2))
        return (condition > 1e8) | (strongest > self.correlation_threshold)

    def warn_about_flags(self) -> None:
        """``warnings.warn`` for parameters on bounds and non-identifiable sites."""
        self._require_fitted()
        table = self._fit_table
        for index in np.flatnonzero(table["parameter_on_bound"].any(axis=1)):
            names = [PARAMETER_NAMES[i] for i in np.flatnonzero(table["parameter_on_bound"][index])]
            warnings.warn(
                f"WCM {site_label(self._site_ids, index)}: parameter(s) {', '.join(names)} on their bounds "
                f"({', '.join(f'{n}={v:.4g}' for n, v in zip(PARAMETER_NAMES, self._parameters[index]))})",
                WcmBoundWarning,
                stacklevel=3,
            )
        for index in np.flatnonzero(table["not_identifiable"]):
            warnings.warn(
                f"WCM {site_label(self._site_ids, index)}: parameters not identifiable (|correlation| > "
                f"{self.correlation_threshold} with C centred at mean SM, or singular Jacobian; LAI nearly constant, "
                "A and B trading off, or SM and LAI co-varying)",
                WcmIdentifiabilityWarning,
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

    def _prediction_inputs(self, inputs, sites=slice(None)):
        self._require_fitted()
        arrays = prepare_prediction(
            inputs, required=self.required_inputs, optional=self.optional_inputs,
            site_ids=self._site_ids[sites], single_site=self._single_site,
        )
        theta = arrays.get("incidence_angle", self.incidence_angle_deg)
        return arrays["soil_moisture"], arrays["lai"], theta

    def predict(self, inputs) -> np.ndarray:
        """sigma0 dB shaped ``(..., site)`` like the broadcast inputs (any shape if one site)."""
        return self.predict_at(inputs, slice(None))

    def predict_at(self, inputs, sites) -> np.ndarray:
        """:meth:`predict` at the sites at positions ``sites`` only (the inputs' last axis holds
        those sites): the same numbers as predicting every site, there."""
        sm, lai, theta = self._prediction_inputs(inputs, sites)
        parameters = self._site_parameters()
        a, b, c, d = parameters if self._single_site else (values[sites] for values in parameters)
        return water_cloud_backscatter(sm, lai, a, b, c, d, theta, self.units)

    def sensitivity(self, inputs, step: float | None = None) -> np.ndarray:
        """d sigma0 / d SM (dB per m3 m-3), analytic; shaped like ``predict`` (``step`` unused)."""
        sm, lai, theta = self._prediction_inputs(inputs)
        a, b, c, d = self._site_parameters()
        return water_cloud_sensitivity(sm, lai, a, b, c, d, theta, self.units)

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
