"""Support-vector-regression observation operator (MODEL_SPEC b, "SVR alternative").

Rains et al. (2022) compare the WCM with an epsilon-SVR (RBF kernel) trained per site on the
same open-loop soil moisture and LAI.  Here, per site:

* inputs (SM, LAI) are standardised with that site's mean and population standard deviation
  (the scaler is stored and reused by ``predict``; a constant LAI gets scale 1);
* epsilon = 0.1 dB; gamma and C are chosen on the grid gamma x C by K-fold cross-validation
  (default 5 folds) on the mean fold RMSD, ties going to the first grid point in the order
  C (outer) x gamma (inner), which is the order of sklearn's ``GridSearchCV``;
* folds are contiguous blocks of the site's valid samples in time order by default
  (``folds="blocked"``, DD-17).  That is also what the paper's "5-fold CV" gives with sklearn's
  default ``KFold`` (no shuffling) for a regressor.  ``folds="shuffled"`` permutes the samples
  first with a random stream keyed by (entropy, site id); shuffled folds put near-duplicate
  neighbouring days in train and test and reward overfitting;
* for speed, the squared-distance matrix is computed once per site and the RBF Gram matrix once
  per gamma; every (fold, C) fit then uses ``SVR(kernel="precomputed")`` on slices of it.
  This selects the same hyper-parameters as a grid search on ``SVR(kernel="rbf")``
  (checked in benchmarks/operators.py).

Sites are independent, so calibration runs in parallel over sites with joblib (process backend:
libsvm does not release the GIL, so threads would not run concurrently).  Each site's result is a
pure function of its own data (and of its own keyed stream for shuffled folds), so it does not
depend on the number of workers.

``predict`` evaluates f(x) = sum_i alpha_i exp(-gamma |x - x_i|^2) + b for all sites at once
against the support vectors of every site padded to a common length (padding has alpha = 0).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import joblib
import numpy as np
import xarray as xr
from sklearn.svm import SVR

from s1da.components.operators.inputs import (
    pearson_r,
    prepare_calibration,
    rmsd,
    site_stream_key,
    text_coordinate,
)
from s1da.framework.interfaces import ObservationOperator
from s1da.framework.randomness import Purpose, stream

GAMMA_GRID = (0.001, 0.01, 0.1, 1.0, 10.0)
C_GRID = (0.001, 0.01, 0.1, 1.0, 10.0, 20.0, 30.0, 40.0, 50.0, 100.0)
FEATURES = ("soil_moisture", "lai")
FOLD_MODES = ("blocked", "shuffled")
_PREDICT_CHUNK_ELEMENTS = 2**16  # kernel entries per block in predict (512 kB: stays in cache)


def contiguous_folds(n_samples: int, n_folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index pairs of K contiguous blocks; the first n % K blocks get one extra."""
    sizes = np.full(n_folds, n_samples // n_folds)
    sizes[: n_samples % n_folds] += 1
    stops = np.cumsum(sizes)
    indices = np.arange(n_samples)
    return [
        (np.concatenate([indices[: stop - size], indices[stop:]]), indices[stop - size : stop])
        for size, stop in zip(sizes, stops)
    ]


def cross_validation_folds(n_samples: int, n_folds: int, mode: str, rng: np.random.Generator | None = None):
    """Folds over the time-ordered valid samples: contiguous blocks, or blocks of a permutation."""
    folds = contiguous_folds(n_samples, n_folds)
    if mode == "blocked":
        return folds
    if mode == "shuffled":
        order = rng.permutation(n_samples)
        return [(np.sort(order[train]), np.sort(order[test])) for train, test in folds]
    raise ValueError(f"folds must be one of {FOLD_MODES}, got {mode!r}")


def standardise(soil_moisture, lai):
    """Per-site mean and scale (population SD; 1 where constant), shaped (2,)."""
    features = np.stack([soil_moisture, lai], axis=-1)
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale[scale == 0] = 1.0
    return mean, scale


def calibrate_site(features, target, folds, gammas, costs, epsilon, tol, cache_size):
    """Grid search and final fit for one site on standardised ``features`` (n, 2).

    Returns a dict with the fold-mean RMSD table (C, gamma), the selected indices and the
    final model's support vectors, dual coefficients and intercept.
    """
    difference = features[:, np.newaxis, :] - features[np.newaxis, :, :]
    squared_distance = np.einsum("ijk,ijk->ij", difference, difference)
    fold_rmsd = np.empty((len(costs), len(gammas), len(folds)))
    for gamma_index, gamma in enumerate(gammas):
        gram = np.exp(-gamma * squared_distance)
        for fold_index, (train, test) in enumerate(folds):
            gram_train = gram[np.ix_(train, train)]
            gram_test = gram[np.ix_(test, train)]
            for cost_index, cost in enumerate(costs):
                model = SVR(kernel="precomputed", C=cost, epsilon=epsilon, tol=tol, cache_size=cache_size)
                model.fit(gram_train, target[train])
                prediction = model.predict(gram_test)
                fold_rmsd[cost_index, gamma_index, fold_index] = np.sqrt(np.mean((target[test] - prediction) ** 2))
    mean_rmsd = np.mean(fold_rmsd, axis=-1)
    best = int(np.argmin(mean_rmsd.ravel()))  # first minimum in C-outer, gamma-inner order
    cost_index, gamma_index = np.unravel_index(best, mean_rmsd.shape)
    gamma, cost = gammas[gamma_index], costs[cost_index]
    model = SVR(kernel="precomputed", C=cost, epsilon=epsilon, tol=tol, cache_size=cache_size)
    model.fit(np.exp(-gamma * squared_distance), target)
    return {
        "cv_rmsd": mean_rmsd,
        "gamma": gamma,
        "C": cost,
        "support_vectors": features[model.support_],
        "dual_coef": model.dual_coef_[0].copy(),
        "intercept": float(model.intercept_[0]),
    }


def _calibrate_batch(batch, gammas, costs, epsilon, tol, cache_size):
    return [calibrate_site(f, y, folds, gammas, costs, epsilon, tol, cache_size) for f, y, folds in batch]


def rbf_expansion(features, support_vectors, dual_coef, intercept, gamma):
    """sum_i alpha_i exp(-gamma |x - x_i|^2) + b per site.

    ``features`` (rows, site, 2); ``support_vectors`` (site, n_sv, 2) zero-padded;
    ``dual_coef`` (site, n_sv) zero-padded; ``intercept``, ``gamma`` (site,).  Returns (rows, site).
    Evaluated in cache-sized blocks of rows and sites with in-place operations, so memory stays
    bounded and the cost is dominated by the exponentials.
    """
    n_rows, n_sites, _ = features.shape
    n_sv = max(support_vectors.shape[1], 1)
    out = np.empty((n_rows, n_sites))
    site_block = max(1, min(n_sites, _PREDICT_CHUNK_ELEMENTS // n_sv))
    row_block = max(1, _PREDICT_CHUNK_ELEMENTS // (site_block * n_sv))
    negative_gamma = -np.asarray(gamma, float)[:, np.newaxis]
    for s0 in range(0, n_sites, site_block):
        s1 = min(s0 + site_block, n_sites)
        sv_sm, sv_lai = support_vectors[s0:s1, :, 0], support_vectors[s0:s1, :, 1]
        alpha, scale = dual_coef[s0:s1], negative_gamma[s0:s1]
        for r0 in range(0, n_rows, row_block):
            r1 = min(r0 + row_block, n_rows)
            x = features[r0:r1, s0:s1]
            kernel = x[:, :, np.newaxis, 0] - sv_sm
            np.multiply(kernel, kernel, out=kernel)
            other = x[:, :, np.newaxis, 1] - sv_lai
            np.multiply(other, other, out=other)
            kernel += other
            kernel *= scale
            np.exp(kernel, out=kernel)
            kernel *= alpha
            out[r0:r1, s0:s1] = kernel.sum(axis=-1) + intercept[s0:s1]
    return out


def _check_folds(instance, attribute, value):
    if value not in FOLD_MODES:
        raise ValueError(f"folds must be one of {FOLD_MODES}, got {value!r}")


def _positive_grid(instance, attribute, value):
    if len(value) == 0 or any(v <= 0 for v in value):
        raise ValueError(f"{attribute.name} must be a non-empty tuple of positive values, got {value}")


@attrs.define
class SupportVectorOperator(ObservationOperator):
    """epsilon-SVR operator h(SM, LAI) -> sigma0 dB, one model per site.

    ``fit`` returns a *new* fitted operator and leaves this configuration object untouched.
    """

    epsilon: float = attrs.field(default=0.1, converter=float, validator=attrs.validators.ge(0.0), metadata={"units": "dB"})
    gamma_grid: tuple = attrs.field(default=GAMMA_GRID, converter=lambda v: tuple(float(x) for x in v), validator=_positive_grid)
    c_grid: tuple = attrs.field(default=C_GRID, converter=lambda v: tuple(float(x) for x in v), validator=_positive_grid)
    n_folds: int = attrs.field(default=5, validator=attrs.validators.ge(2))
    folds: str = attrs.field(default="blocked", validator=_check_folds)
    entropy: int = 0  # seeds the shuffled folds (keyed by site id)
    n_jobs: int = -1
    tol: float = attrs.field(default=1e-3, metadata={"units": "1", "doc": "libsvm stopping tolerance (sklearn default)"})
    cache_size: float = attrs.field(default=200.0, metadata={"units": "MB", "doc": "libsvm kernel cache"})
    min_samples: int = attrs.field(default=10)

    @min_samples.validator
    def _enough_for_the_folds(self, attribute, value):
        # a validator, not __attrs_post_init__: attrs runs it with every field set, and a config
        # error then names min_samples
        if value < 2 * self.n_folds:
            raise ValueError(f"min_samples ({value}) must be at least 2 x n_folds ({2 * self.n_folds})")

    _model: dict | None = attrs.field(default=None, init=False, repr=False)

    @property
    def is_fitted(self) -> bool:
        return self._model is not None

    def _require_fitted(self):
        if self._model is None:
            raise RuntimeError("SupportVectorOperator is not fitted; call fit() or from_dataset() first")

    def fit(self, soil_moisture, lai, backscatter_db, valid=None, *, site_ids: Sequence | None = None):
        """Grid-search and fit the SVR per site; returns a new fitted ``SupportVectorOperator``.

        Shapes ``(time,)`` or ``(site, time)``; SM m3 m-3, LAI m2 m-2, backscatter dB.
        """
        data = prepare_calibration(
            soil_moisture, lai, backscatter_db, valid, site_ids=site_ids, min_samples=self.min_samples
        )
        tasks, scalers = [], []
        for index in range(data.n_sites):
            sm, lai_site, sigma = data.site_samples(index)
            mean, scale = standardise(sm, lai_site)
            scalers.append((mean, scale))
            features = (np.stack([sm, lai_site], axis=-1) - mean) / scale
            rng = stream(self.entropy, site_stream_key(data.site_ids[index]), Purpose.OPERATOR_FIT, 1)
            tasks.append((features, sigma, cross_validation_folds(sigma.size, self.n_folds, self.folds, rng)))
        args = (self.gamma_grid, self.c_grid, self.epsilon, self.tol, self.cache_size)
        n_workers = min(joblib.effective_n_jobs(self.n_jobs), len(tasks))
        if n_workers <= 1:
            results = _calibrate_batch(tasks, *args)
        else:
            batches = [tasks[i::n_workers] for i in range(n_workers)]  # round robin balances sizes
            parts = joblib.Parallel(n_jobs=n_workers, backend="loky")(
                joblib.delayed(_calibrate_batch)(batch, *args) for batch in batches
            )
            results = [None] * len(tasks)
            for worker, part in enumerate(parts):
                results[worker::n_workers] = part
        n_sv_max = max(r["dual_coef"].size for r in results)
        n_sites = data.n_sites
        support_vectors = np.zeros((n_sites, n_sv_max, 2))
        dual_coef = np.zeros((n_sites, n_sv_max))
        for index, result in enumerate(results):
            n = result["dual_coef"].size
            support_vectors[index, :n] = result["support_vectors"]
            dual_coef[index, :n] = result["dual_coef"]
        fitted = attrs.evolve(self)
        fitted._model = {
            "site_ids": data.site_ids,
            "single_site": data.single_site,
            "C": np.array([r["C"] for r in results]),
            "gamma": np.array([r["gamma"] for r in results]),
            "scaler_mean": np.array([s[0] for s in scalers]),
            "scaler_scale": np.array([s[1] for s in scalers]),
            "support_vectors": support_vectors,
            "dual_coef": dual_coef,
            "n_support": np.array([r["dual_coef"].size for r in results]),
            "intercept": np.array([r["intercept"] for r in results]),
            "cv_rmsd": np.array([r["cv_rmsd"] for r in results]),
        }
        # in-sample statistics: R = mean squared residual (same definition as the WCM)
        error_variance, fit_rmsd, fit_r, n_samples = [], [], [], []
        for index in range(n_sites):
            sm, lai_site, sigma = data.site_samples(index)
            simulated = fitted._predict_sites(sm[:, np.newaxis], lai_site[:, np.newaxis], [index])[:, 0]
            error_variance.append(np.mean((simulated - sigma) ** 2))
            fit_rmsd.append(rmsd(simulated, sigma))
            fit_r.append(pearson_r(simulated, sigma))
            n_samples.append(sigma.size)
        fitted._model.update(
            error_variance=np.array(error_variance),
            rmsd=np.array(fit_rmsd),
            r=np.array(fit_r),
            n_samples=np.array(n_samples),
        )
        return fitted

    def _predict_sites(self, soil_moisture, lai, sites=slice(None)):
        m = self._model
        sm, lai = np.broadcast_arrays(np.asarray(soil_moisture, float), np.asarray(lai, float))
        mean, scale = m["scaler_mean"][sites], m["scaler_scale"][sites]
        features = np.stack([(sm - mean[:, 0]) / scale[:, 0], (lai - mean[:, 1]) / scale[:, 1]], axis=-1)
        return rbf_expansion(
            features, m["support_vectors"][sites], m["dual_coef"][sites], m["intercept"][sites], m["gamma"][sites]
        )

    def predict(self, soil_moisture, lai) -> np.ndarray:
        """sigma0 dB; broadcasts over leading axes, the last axis is site (any shape if one site)."""
        self._require_fitted()
        sm, lai = np.broadcast_arrays(np.asarray(soil_moisture, float), np.asarray(lai, float))
        if self._model["single_site"]:
            return self._predict_sites(sm.reshape(-1, 1), lai.reshape(-1, 1))[:, 0].reshape(sm.shape)
        n_sites = self._model["intercept"].size
        if sm.ndim == 0 or sm.shape[-1] != n_sites:
            raise ValueError(f"last axis must be site ({n_sites}), got shape {sm.shape}")
        out = self._predict_sites(sm.reshape(-1, n_sites), lai.reshape(-1, n_sites))
        return out.reshape(sm.shape)

    def sensitivity(self, soil_moisture, lai, step: float = 1e-3) -> np.ndarray:
        """d sigma0 / d SM (dB per m3 m-3) by central finite difference of ``predict``."""
        sm = np.asarray(soil_moisture, float)
        return (self.predict(sm + step, lai) - self.predict(sm - step, lai)) / (2 * step)

    @property
    def error_variance(self) -> np.ndarray:
        self._require_fitted()
        return self._model["error_variance"].copy()

    @property
    def site_ids(self) -> np.ndarray:
        self._require_fitted()
        return self._model["site_ids"]

    @property
    def hyperparameters(self) -> dict[str, np.ndarray]:
        """Selected ``C`` and ``gamma`` per site."""
        self._require_fitted()
        return {"C": self._model["C"].copy(), "gamma": self._model["gamma"].copy()}

    def to_dataset(self) -> xr.Dataset:
        self._require_fitted()
        m = self._model
        n_sites = m["intercept"].size
        return xr.Dataset(
            {
                "C": ("site", m["C"], {"units": "dB-1", "long_name": "SVR regularisation C selected by cross-validation"}),
                "gamma": ("site", m["gamma"], {"units": "1", "long_name": "RBF kernel width gamma (standardised inputs)"}),
                "epsilon": ("site", np.full(n_sites, self.epsilon), {"units": "dB", "long_name": "SVR epsilon-insensitive tube half-width"}),
                "scaler_mean": (("site", "feature"), m["scaler_mean"], {"units": "input units (m3 m-3, m2 m-2)", "long_name": "mean of the inputs used for standardisation"}),
                "scaler_scale": (("site", "feature"), m["scaler_scale"], {"units": "input units (m3 m-3, m2 m-2)", "long_name": "standard deviation of the inputs used for standardisation"}),
                "support_vectors": (("site", "support_vector", "feature"), m["support_vectors"], {"units": "1", "long_name": "standardised support vectors, zero-padded beyond n_support"}),
                "dual_coef": (("site", "support_vector"), m["dual_coef"], {"units": "dB", "long_name": "dual coefficients alpha_i - alpha_i*, zero-padded"}),
                "n_support": ("site", m["n_support"], {"units": "1", "long_name": "number of support vectors"}),
                "intercept": ("site", m["intercept"], {"units": "dB", "long_name": "SVR intercept b"}),
                "cv_rmsd": (("site", "c_grid", "gamma_grid"), m["cv_rmsd"], {"units": "dB", "long_name": "cross-validated RMSD (mean over folds) per grid point"}),
                "error_variance": ("site", m["error_variance"], {"units": "dB2", "long_name": "observation error variance R: mean squared calibration residual"}),
                "rmsd": ("site", m["rmsd"], {"units": "dB", "long_name": "in-sample RMSD of the fitted SVR"}),
                "r": ("site", m["r"], {"units": "1", "long_name": "in-sample Pearson correlation of the fitted SVR"}),
                "n_samples": ("site", m["n_samples"], {"units": "1", "long_name": "number of calibration samples"}),
            },
            coords={
                "site": ("site", text_coordinate(m["site_ids"]), {"long_name": "site identifier", "units": "1"}),
                "feature": ("feature", text_coordinate(FEATURES), {"long_name": "SVR input", "units": "1"}),
                "c_grid": ("c_grid", list(self.c_grid), {"long_name": "grid of C values", "units": "dB-1"}),
                "gamma_grid": ("gamma_grid", list(self.gamma_grid), {"long_name": "grid of gamma values", "units": "1"}),
            },
            attrs={
                "operator": "support_vector_regression",
                "kernel": "rbf",
                "folds": self.folds,
                "n_folds": self.n_folds,
                "entropy": self.entropy,
                "tol": self.tol,
                "single_site": int(m["single_site"]),
            },
        )

    @classmethod
    def from_dataset(cls, dataset: xr.Dataset) -> SupportVectorOperator:
        """Rebuild a fitted operator from :meth:`to_dataset` output (no refit)."""
        if dataset.attrs.get("operator") != "support_vector_regression":
            raise ValueError("dataset was not written by SupportVectorOperator.to_dataset")
        a = dataset.attrs
        epsilon = np.unique(dataset["epsilon"].values)
        operator = cls(
            epsilon=float(epsilon[0]),
            gamma_grid=tuple(dataset["gamma_grid"].values),
            c_grid=tuple(dataset["c_grid"].values),
            n_folds=int(a["n_folds"]),
            folds=a["folds"],
            entropy=int(a["entropy"]),
            tol=float(a["tol"]),
            min_samples=max(10, 2 * int(a["n_folds"])),
        )
        operator._model = {
            "site_ids": dataset["site"].values,
            "single_site": bool(a["single_site"]),
            **{
                key: dataset[key].values
                for key in (
                    "C", "gamma", "scaler_mean", "scaler_scale", "support_vectors", "dual_coef", "n_support",
                    "intercept", "cv_rmsd", "error_variance", "rmsd", "r", "n_samples",
                )
            },
        }
        return operator
