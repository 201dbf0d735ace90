"""Support-vector-regression observation operator (docs/model/operators.md b, "SVR alternative").

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
* the grid search (``solver="smo"``, with numba) runs on our compiled SMO solver
  (``s1da.components.operators.smo``: LIBSVM's working-set selection, shrinking and stopping
  rule, plus Newton steps on the free variables), with the squared distances once per site, the
  Gram matrix once per gamma, warm starts along the increasing C path and early abandoning of grid
  points that cannot win; sites run in parallel
  threads (numba ``prange``).  Without numba, or with ``solver="libsvm"``, every (fold, C) fit
  uses scikit-learn's ``SVR(kernel="precomputed")`` on slices of the per-gamma Gram matrix,
  in parallel over sites with joblib (process backend: LIBSVM holds the GIL);
* the final model at the selected (C, gamma) is fitted by LIBSVM (scikit-learn) on all samples,
  so its predictions are LIBSVM's.

Each site's result is a pure function of its own data (and of its own keyed stream for shuffled
folds), so it does not depend on the other sites in the run or on the number of workers.

``predict`` evaluates f(x) = sum_i alpha_i exp(-gamma |x - x_i|^2) + b for all sites at once
against the support vectors of every site padded to a common length (padding has alpha = 0):
compiled (numba, sites in parallel threads, each site over its own support vectors) or, without
numba, vectorised over rows and sites.  Either way the sum runs over the support vectors in
order, one term at a time, so a site's prediction is bit-identical whatever other sites (and so
whatever padding) share the operator.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import joblib
import numpy as np
import xarray as xr
from sklearn.svm import SVR
from tqdm.auto import tqdm

from s1da.components.operators import smo
from s1da.components.operators.inputs import (
    check_residual_variance,
    pearson_r,
    prepare_calibration,
    prepare_prediction,
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
SOLVERS = ("smo", "libsvm")  # smo: compiled grid search (needs numba; LIBSVM without it)
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


def squared_distances(features):
    """|x_s - x_t|^2 for all pairs of rows of ``features`` (n, 2)."""
    difference = features[:, np.newaxis, :] - features[np.newaxis, :, :]
    return np.einsum("ijk,ijk->ij", difference, difference)


def libsvm_fold_table(features, target, folds, gammas, costs, epsilon, tol, cache_size):
    """Fold RMSDs (C, gamma, fold) by LIBSVM (scikit-learn, precomputed Gram once per gamma)."""
    squared_distance = squared_distances(features)
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
    return fold_rmsd


def _libsvm_batch(batch, gammas, costs, epsilon, tol, cache_size):
    return [libsvm_fold_table(f, y, folds, gammas, costs, epsilon, tol, cache_size) for f, y, folds in batch]


def smo_fold_tables(tasks, gammas, costs, epsilon, tol, abandon):
    """Fold RMSDs (site, C, gamma, fold) of many sites by the compiled SMO grid search.

    ``tasks`` as for :func:`_libsvm_batch`; the C path runs in ascending order whatever the
    order of ``costs`` (the table comes back in the given order).  NaN marks abandoned points.
    """
    order = np.argsort(costs, kind="stable")
    offsets = np.concatenate([[0], np.cumsum([target.size for _, target, _ in tasks])])
    fold_of = np.empty(offsets[-1], dtype=np.int64)
    for (features, target, folds), start in zip(tasks, offsets):
        for index, (_, test) in enumerate(folds):
            fold_of[start + test] = index
    tables = smo.cv_rmsd_sites(
        np.concatenate([task[0] for task in tasks]), np.concatenate([task[1] for task in tasks]), fold_of, offsets,
        len(tasks[0][2]), np.asarray(gammas, float), np.asarray(costs, float)[order], epsilon, tol, abandon, True, True, True,
    )
    return tables[:, np.argsort(order)]


def select_grid_point(fold_rmsd):
    """(C index, gamma index, fold-mean table) of the lowest mean fold RMSD; ties go to the first
    point in C-outer, gamma-inner order (sklearn's ``GridSearchCV``); NaN (abandoned) never wins."""
    mean_rmsd = np.mean(fold_rmsd, axis=-1)
    best = int(np.argmin(np.where(np.isnan(mean_rmsd), np.inf, mean_rmsd).ravel()))
    cost_index, gamma_index = np.unravel_index(best, mean_rmsd.shape)
    return cost_index, gamma_index, mean_rmsd


def final_fit(features, target, gamma, cost, epsilon, tol, cache_size):
    """The site's model at the selected (C, gamma), fitted by LIBSVM on all samples."""
    model = SVR(kernel="precomputed", C=cost, epsilon=epsilon, tol=tol, cache_size=cache_size)
    model.fit(np.exp(-gamma * squared_distances(features)), target)
    return {
        "support_vectors": features[model.support_],
        "dual_coef": model.dual_coef_[0].copy(),
        "intercept": float(model.intercept_[0]),
    }


def rbf_expansion(features, support_vectors, dual_coef, intercept, gamma):
    """sum_i alpha_i exp(-gamma |x - x_i|^2) + b per site.

    ``features`` (rows, site, 2); ``support_vectors`` (site, n_sv, 2) zero-padded;
    ``dual_coef`` (site, n_sv) zero-padded; ``intercept``, ``gamma`` (site,).  Returns (rows, site).
    The terms are accumulated one support vector at a time (vectorised over rows and sites), so a
    padded term adds an exact zero and the result of a site does not depend on the padding.
    """
    n_rows, n_sites, _ = features.shape
    out = np.empty((n_rows, n_sites))
    negative_gamma = -np.asarray(gamma, float)
    row_block = max(1, _PREDICT_CHUNK_ELEMENTS // max(n_sites, 1))
    for r0 in range(0, n_rows, row_block):
        x = features[r0 : r0 + row_block]
        total = np.zeros(x.shape[:2])
        term, other = np.empty_like(total), np.empty_like(total)
        for k in range(support_vectors.shape[1]):
            np.subtract(x[..., 0], support_vectors[:, k, 0], out=term)
            np.multiply(term, term, out=term)
            np.subtract(x[..., 1], support_vectors[:, k, 1], out=other)
            np.multiply(other, other, out=other)
            term += other
            term *= negative_gamma
            np.exp(term, out=term)
            term *= dual_coef[:, k]
            total += term
        out[r0 : r0 + row_block] = total + intercept
    return out


def _rbf_expansion_compiled(features, support_vectors, dual_coef, n_support, intercept, gamma):
    """:func:`rbf_expansion` compiled, sites in parallel threads, each over its own support
    vectors only (``n_support`` (site,)) in the same order: a site's result depends on nothing
    else.  The exponentials are libm's, so values may differ from numpy's in the last bits."""
    n_rows, n_sites = features.shape[0], features.shape[1]
    out = np.empty((n_rows, n_sites))
    for s in _prange(n_sites):
        negative_gamma = -gamma[s]
        for r in range(n_rows):
            x0, x1 = features[r, s, 0], features[r, s, 1]
            total = 0.0
            for k in range(n_support[s]):
                d0 = x0 - support_vectors[s, k, 0]
                d1 = x1 - support_vectors[s, k, 1]
                total += np.exp((d0 * d0 + d1 * d1) * negative_gamma) * dual_coef[s, k]
            out[r, s] = total + intercept[s]
    return out


if smo.AVAILABLE:
    _prange = smo.numba.prange
    _rbf_expansion_compiled = smo.numba.njit(cache=True, parallel=True)(_rbf_expansion_compiled)


def _check_folds(instance, attribute, value):
    if value not in FOLD_MODES:
        raise ValueError(f"folds must be one of {FOLD_MODES}, got {value!r}")


def _positive_grid(instance, attribute, value):
    if len(value) == 0 or any(v <= 0 for v in value):
        raise ValueError(f"{attribute.name} must be a non-empty tuple of positive values, got {value}")


@attrs.define
class SupportVectorOperator(ObservationOperator):
    """epsilon-SVR operator h(SM, LAI) -> sigma0 dB, one model per site.

    Inputs ``soil_moisture`` (m3 m-3) and ``lai`` (m2 m-2).  ``fit`` returns a *new* fitted
    operator and leaves this configuration object untouched.
    """

    required_inputs = {"soil_moisture": "m3 m-3", "lai": "m2 m-2"}

    epsilon: float = attrs.field(default=0.1, converter=float, validator=attrs.validators.ge(0.0), metadata={"units": "dB"})
    gamma_grid: tuple = attrs.field(default=GAMMA_GRID, converter=lambda v: tuple(float(x) for x in v), validator=_positive_grid)
    c_grid: tuple = attrs.field(default=C_GRID, converter=lambda v: tuple(float(x) for x in v), validator=_positive_grid)
    n_folds: int = attrs.field(default=5, validator=attrs.validators.ge(2))
    folds: str = attrs.field(default="blocked", validator=_check_folds)
    entropy: int = 0  # seeds the shuffled folds (keyed by site id)
    n_jobs: int = -1
    solver: str = attrs.field(
        default="smo",
        validator=attrs.validators.in_(SOLVERS),
        metadata={"units": "1", "doc": "grid search: smo (compiled, needs numba; LIBSVM without it) or libsvm"},
    )
    early_abandon: bool = attrs.field(
        default=True, metadata={"units": "1", "doc": "skip the remaining folds of grid points that cannot win (smo)"}
    )
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

    @property
    def uses_compiled_solver(self) -> bool:
        """True when the grid search runs on the compiled SMO solver (``solver="smo"`` and numba)."""
        return self.solver == "smo" and smo.AVAILABLE

    def fit(self, inputs, backscatter_db, valid=None, *, site_ids: Sequence | None = None, progress: str | None = None):
        """Grid-search and fit the SVR per site; returns a new fitted ``SupportVectorOperator``.

        ``inputs`` maps ``soil_moisture`` (m3 m-3) and ``lai`` (m2 m-2) to arrays shaped like
        ``backscatter_db``: ``(time,)`` or ``(site, time)``, dB, NaN where missing.  ``progress``
        names a progress bar of sites done (none when None).
        """
        data = prepare_calibration(
            inputs, backscatter_db, valid, required=self.required_inputs, site_ids=site_ids, min_samples=self.min_samples
        )
        tasks, scalers = [], []
        for index in range(data.n_sites):
            site_inputs, sigma = data.site_samples(index)
            sm, lai_site = site_inputs["soil_moisture"], site_inputs["lai"]
            mean, scale = standardise(sm, lai_site)
            scalers.append((mean, scale))
            features = (np.stack([sm, lai_site], axis=-1) - mean) / scale
            rng = stream(self.entropy, site_stream_key(data.site_ids[index]), Purpose.OPERATOR_FIT, 1)
            tasks.append((features, sigma, cross_validation_folds(sigma.size, self.n_folds, self.folds, rng)))
        results = []
        for (features, sigma, _), table in zip(tasks, self._fold_tables(tasks, progress)):
            cost_index, gamma_index, mean_rmsd = select_grid_point(table)
            gamma, cost = self.gamma_grid[gamma_index], self.c_grid[cost_index]
            model = final_fit(features, sigma, gamma, cost, self.epsilon, self.tol, self.cache_size)
            results.append({"cv_rmsd": mean_rmsd, "gamma": gamma, "C": cost, **model})
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
            site_inputs, sigma = data.site_samples(index)
            sm, lai_site = site_inputs["soil_moisture"], site_inputs["lai"]
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
        check_residual_variance(fitted._model["error_variance"], data.site_ids, "SVR")
        return fitted

    def _fold_tables(self, tasks, progress):
        """Fold RMSD tables (C, gamma, fold) per site, in blocks of sites (for the progress bar)."""
        n_workers = max(1, min(joblib.effective_n_jobs(self.n_jobs), len(tasks)))
        block = max(8 * n_workers, 32)
        tables = []
        with tqdm(total=len(tasks), desc=progress, unit="site", disable=progress is None) as bar:
            for start in range(0, len(tasks), block):
                batch = tasks[start : start + block]
                tables.extend(self._fold_tables_block(batch, n_workers))
                bar.update(len(batch))
        return tables

    def _fold_tables_block(self, tasks, n_workers):
        args = (self.gamma_grid, self.c_grid, self.epsilon, self.tol)
        if self.uses_compiled_solver:
            previous = smo.numba.get_num_threads()
            smo.numba.set_num_threads(min(n_workers, smo.numba.config.NUMBA_NUM_THREADS))
            try:
                return list(smo_fold_tables(tasks, *args, self.early_abandon))
            finally:
                smo.numba.set_num_threads(previous)
        if n_workers <= 1:
            return _libsvm_batch(tasks, *args, self.cache_size)
        batches = [tasks[i::n_workers] for i in range(n_workers)]  # round robin balances sizes
        parts = joblib.Parallel(n_jobs=n_workers, backend="loky")(
            joblib.delayed(_libsvm_batch)(batch, *args, self.cache_size) for batch in batches
        )
        tables = [None] * len(tasks)
        for worker, part in enumerate(parts):
            tables[worker::n_workers] = part
        return tables

    def _predict_sites(self, soil_moisture, lai, sites=slice(None)):
        m = self._model
        sm, lai = np.broadcast_arrays(np.asarray(soil_moisture, float), np.asarray(lai, float))
        mean, scale = m["scaler_mean"][sites], m["scaler_scale"][sites]
        features = np.stack([(sm - mean[:, 0]) / scale[:, 0], (lai - mean[:, 1]) / scale[:, 1]], axis=-1)
        if smo.AVAILABLE:
            return _rbf_expansion_compiled(
                np.ascontiguousarray(features), m["support_vectors"][sites], m["dual_coef"][sites], m["n_support"][sites],
                m["intercept"][sites], m["gamma"][sites],
            )
        return rbf_expansion(
            features, m["support_vectors"][sites], m["dual_coef"][sites], m["intercept"][sites], m["gamma"][sites]
        )

    def predict(self, inputs) -> np.ndarray:
        """sigma0 dB shaped ``(..., site)`` like the broadcast inputs (any shape if one site)."""
        self._require_fitted()
        arrays = prepare_prediction(
            inputs, required=self.required_inputs, site_ids=self._model["site_ids"], single_site=self._model["single_site"]
        )
        sm, lai = arrays["soil_moisture"], arrays["lai"]
        columns = 1 if self._model["single_site"] else self._model["intercept"].size
        out = self._predict_sites(sm.reshape(-1, columns), lai.reshape(-1, columns))
        return out.reshape(sm.shape)

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
