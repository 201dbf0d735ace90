"""Observation-error variance R from time-blocked cross-validation (docs/model/operators.md, "R options").

The paper's R is the mean squared residual of the calibration itself (Rains et al. 2022).  For a
flexible operator that is optimistic: the SVR fits part of the noise, so its in-sample residual
is smaller than its error on days it has not seen (Hastie, Tibshirani & Friedman 2009, ch. 7).
:class:`CrossValidatedOperator` wraps any operator, calibrates it on all samples as usual (the
predictions are the wrapped operator's), and sets R per site to the mean squared residual of
K-fold cross-validation over contiguous blocks of that site's valid samples in time order: each
block is predicted by the operator fitted on the other blocks.  Time blocks, not shuffled days,
because neighbouring days share the weather and the vegetation (Roberts et al. 2017; Bergmeir &
Benitez 2012).  K is the operator's own number of folds (the SVR's ``n_folds``) unless given,
5 otherwise; the SVR's hyper-parameter search is repeated inside each training set, so the
held-out blocks never choose the hyper-parameters that predict them.

``to_dataset`` writes the wrapped operator's dataset with ``error_variance`` = the cross-validated
R (the one the filter uses) and adds ``in_sample_error_variance`` (the wrapped operator's own R),
``held_out_rmsd`` and ``held_out_r``; ``from_dataset`` rebuilds the wrapped operator from it.
"""

from __future__ import annotations

import importlib
import math
import warnings
from collections.abc import Mapping, Sequence

import attrs
import numpy as np
import xarray as xr

from s1da.components.operators.diagnostics import _filled
from s1da.components.operators.inputs import CalibrationData, check_residual_variance, pearson_r, prepare_calibration
from s1da.framework.interfaces import ObservationOperator

DEFAULT_FOLDS = 5


def class_path(operator_class: type) -> str:
    """``module:qualname`` of a class, to rebuild a wrapped operator from a stored dataset."""
    return f"{operator_class.__module__}:{operator_class.__qualname__}"


def class_from_path(path: str) -> type:
    """The class a :func:`class_path` names; a clear error when it cannot be imported."""
    module_name, _, name = path.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"the stored operator class {path!r} cannot be imported: {error}") from error
    if not (isinstance(found, type) and issubclass(found, ObservationOperator)):
        raise ValueError(f"the stored operator class {path!r} is not an ObservationOperator")
    return found


def blocked_test_masks(valid: np.ndarray, n_folds: int) -> np.ndarray:
    """(fold, site, time) masks of K contiguous blocks of each site's valid samples in time order.

    Block sizes differ by at most one (the first ``n % K`` blocks get one more), as
    :func:`~s1da.components.operators.svr.contiguous_folds`; every valid sample is in exactly one block.
    """
    valid = np.asarray(valid, dtype=bool)
    counts = valid.sum(axis=-1, keepdims=True)
    rank = np.cumsum(valid, axis=-1) - 1  # position of each valid sample among its site's
    small, extra = counts // n_folds, counts % n_folds
    # blocks 0..extra-1 hold small+1 samples, the rest small
    boundary = extra * (small + 1)
    fold = np.where(rank < boundary, rank // np.maximum(small + 1, 1), extra + (rank - boundary) // np.maximum(small, 1))
    return np.stack([valid & (fold == k) for k in range(n_folds)])


def _site_time_operator_inputs(data: CalibrationData) -> dict[str, np.ndarray]:
    """(time, site) inputs with every sample finite (unused ones filled), for ``predict``."""
    return {name: values.T for name, values in _filled(data).items()}


def held_out_predictions(
    operator: ObservationOperator, data: CalibrationData, n_folds: int, progress: str | None = None
) -> np.ndarray:
    """(site, time) predictions of each valid sample by the operator fitted without its block.

    NaN where the sample is not valid.  A fold whose training set is refused by the operator
    (too few samples, constant series) is a ``ValueError`` naming the fold.
    """
    masks = blocked_test_masks(data.valid, n_folds)
    predict_inputs = _site_time_operator_inputs(data)
    held_out = np.full(data.valid.shape, np.nan)
    for k, test in enumerate(masks):
        with warnings.catch_warnings():  # the warnings of the full fit are the ones reported
            warnings.simplefilter("ignore")
            try:
                trained = operator.fit(
                    data.inputs, data.backscatter_db, data.valid & ~test, site_ids=data.site_ids,
                    progress=None if progress is None else f"{progress} (fold {k + 1}/{n_folds})",
                )
            except ValueError as error:
                raise ValueError(f"cross-validation fold {k + 1} of {n_folds} (time-blocked): {error}") from error
        held_out = np.where(test, trained.predict(predict_inputs).T, held_out)
    return held_out


def held_out_scores(held_out: np.ndarray, data: CalibrationData) -> dict[str, np.ndarray]:
    """Per site: mean squared held-out residual (dB2), its root (dB) and the held-out Pearson R."""
    residual = np.where(data.valid, held_out - data.backscatter_db, 0.0)
    mse = (residual**2).sum(axis=1) / data.valid.sum(axis=1)
    correlation = np.array([pearson_r(held_out[i, m], data.backscatter_db[i, m]) for i, m in enumerate(data.valid)])
    return {"error_variance": mse, "rmsd": np.sqrt(mse), "r": correlation}


def _folds_of(instance, attribute, value):
    if value is not None and (not isinstance(value, int) or value < 2):
        raise ValueError(f"n_folds must be an integer >= 2 (or None for the operator's own), got {value!r}")


@attrs.define
class CrossValidatedOperator(ObservationOperator):
    """Any operator with R from time-blocked K-fold cross-validation per site (module docstring).

    ``operator``: the wrapped, unfitted operator.  ``n_folds``: K (default: the operator's own
    ``n_folds``, else 5).
    """

    operator: ObservationOperator = attrs.field(validator=attrs.validators.instance_of(ObservationOperator))
    n_folds: int | None = attrs.field(default=None, validator=_folds_of, metadata={"units": "1"})
    _fitted: ObservationOperator | None = attrs.field(default=None, init=False, repr=False)
    _scores: dict | None = attrs.field(default=None, init=False, repr=False)

    @property
    def folds(self) -> int:
        """K: ``n_folds``, else the wrapped operator's own ``n_folds``, else 5."""
        return self.n_folds or int(getattr(self.operator, "n_folds", None) or DEFAULT_FOLDS)

    @property
    def required_inputs(self) -> Mapping[str, str]:  # type: ignore[override]
        """Input names and units needed: the wrapped operator's."""
        return self.operator.required_inputs

    @property
    def optional_inputs(self) -> Mapping[str, str]:  # type: ignore[override]
        """Input names and units used when given: the wrapped operator's."""
        return self.operator.optional_inputs

    @property
    def min_samples(self) -> int:  # type: ignore[override]
        """Enough samples that every training set (K - 1 blocks) meets the wrapped operator's minimum."""
        return math.ceil(self.operator.min_samples * self.folds / (self.folds - 1)) + 1

    def select_inputs(self, available):  # type: ignore[override]
        return self.operator.select_inputs(available)

    def fit(self, inputs, backscatter_db, valid=None, *, site_ids: Sequence | None = None, progress: str | None = None):
        """Calibrate the wrapped operator on all samples and R by time-blocked cross-validation."""
        data = prepare_calibration(
            inputs, backscatter_db, valid, required=self.required_inputs, optional=self.optional_inputs,
            site_ids=site_ids, min_samples=self.min_samples,
        )
        squeeze = (lambda a: a[0]) if data.single_site else (lambda a: a)
        full = self.operator.fit(
            {name: squeeze(values) for name, values in data.inputs.items()}, squeeze(data.backscatter_db),
            squeeze(data.valid), site_ids=data.site_ids, progress=progress,
        )
        scores = held_out_scores(held_out_predictions(self.operator, data, self.folds, progress), data)
        check_residual_variance(scores["error_variance"], data.site_ids, "cross-validated")
        fitted = attrs.evolve(self)
        fitted._fitted, fitted._scores = full, scores
        return fitted

    def _require_fitted(self) -> ObservationOperator:
        if self._fitted is None:
            raise RuntimeError("CrossValidatedOperator is not fitted; call fit() or from_dataset() first")
        return self._fitted

    def predict(self, inputs) -> np.ndarray:
        return self._require_fitted().predict(inputs)

    def sensitivity(self, inputs, step: float = 1e-3) -> np.ndarray:
        return self._require_fitted().sensitivity(inputs, step)

    @property
    def error_variance(self) -> np.ndarray:
        """R per site (dB2): the mean squared time-blocked cross-validated residual."""
        self._require_fitted()
        return self._scores["error_variance"].copy()

    @property
    def in_sample_error_variance(self) -> np.ndarray:
        """The wrapped operator's own R per site (dB2): its mean squared calibration residual."""
        return self._require_fitted().error_variance

    @property
    def cross_validation_scores(self) -> dict[str, np.ndarray]:
        """Per site: ``error_variance`` (dB2), ``rmsd`` (dB) and ``r`` of the held-out predictions."""
        self._require_fitted()
        return {name: values.copy() for name, values in self._scores.items()}

    @property
    def site_ids(self) -> np.ndarray:
        return self._require_fitted().site_ids

    @property
    def fitted_operator(self) -> ObservationOperator:
        """The wrapped operator calibrated on all samples."""
        return self._require_fitted()

    def to_dataset(self) -> xr.Dataset:
        dataset = self._require_fitted().to_dataset()
        scores = self._scores
        in_sample = dataset["error_variance"]
        dataset = dataset.assign(
            in_sample_error_variance=in_sample.copy(),
            error_variance=("site", scores["error_variance"], {"units": "dB2", "long_name": f"observation error variance R: mean squared residual of {self.folds}-fold time-blocked cross-validation"}),
            held_out_rmsd=("site", scores["rmsd"], {"units": "dB", "long_name": f"RMSD of the {self.folds}-fold time-blocked cross-validated predictions"}),
            held_out_r=("site", scores["r"], {"units": "1", "long_name": f"Pearson R of the {self.folds}-fold time-blocked cross-validated predictions"}),
        )
        dataset["in_sample_error_variance"].attrs["long_name"] = "in-sample R of the wrapped operator: mean squared calibration residual"
        dataset.attrs = {
            **dataset.attrs,
            "operator": "cross_validated",
            "cv_wrapped_operator": dataset.attrs.get("operator", ""),
            "cv_wrapped_class": class_path(type(self._fitted)),
            "cv_n_folds": self.folds,
        }
        return dataset

    @classmethod
    def from_dataset(cls, dataset: xr.Dataset) -> CrossValidatedOperator:
        """Rebuild from :meth:`to_dataset` output (no refit)."""
        if dataset.attrs.get("operator") != "cross_validated":
            raise ValueError("dataset was not written by CrossValidatedOperator.to_dataset")
        attributes = dict(dataset.attrs)
        wrapped_class = class_from_path(attributes.pop("cv_wrapped_class"))
        n_folds = int(attributes.pop("cv_n_folds"))
        attributes["operator"] = attributes.pop("cv_wrapped_operator")
        scores = {"error_variance": dataset["error_variance"].values, "rmsd": dataset["held_out_rmsd"].values, "r": dataset["held_out_r"].values}
        inner = dataset.drop_vars(["error_variance", "held_out_rmsd", "held_out_r"]).rename({"in_sample_error_variance": "error_variance"})
        inner.attrs = attributes
        fitted = wrapped_class.from_dataset(inner)
        result = cls(fitted, n_folds=n_folds)  # a fitted operator configures a refit as well
        result._fitted, result._scores = fitted, scores
        return result
