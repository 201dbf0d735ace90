"""Filter classes implementing :class:`s1da.framework.interfaces.Filter`.

Thin attrs wrappers around the pure functions in :mod:`s1da.components.filters.analysis`: each
holds its multiplicative ``inflation`` and keeps the :class:`AnalysisResult` of the last call on
``self.diagnostics``.  A user model needs nothing but these classes (no containers).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from s1da.framework.interfaces import Filter

from .analysis import AnalysisResult, denkf_analysis, etkf_analysis, stochastic_enkf_analysis
from s1da.framework.validators import finite_positive

__all__ = ["DEnKF", "StochasticEnKF", "ETKF"]


def _inflation_field():
    return attrs.field(
        default=1.0,
        converter=float,
        validator=finite_positive,
        metadata={"units": "1", "description": "multiplicative inflation of the forecast anomalies"},
    )


def _use_numba_field():
    return attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.instance_of(bool)),
        metadata={"description": "one-observation kernel: None = numba when installed, False = numpy"},
    )


def _diagnostics_field():
    return attrs.field(default=None, init=False, eq=False, repr=False)


@attrs.define
class DEnKF(Filter):
    """Deterministic EnKF of Sakov & Oke (2008), docs/model/filters.md (c); the filter of Rains et al. (2022)."""

    inflation: float = _inflation_field()
    use_numba: bool | None = _use_numba_field()
    diagnostics: AnalysisResult | None = _diagnostics_field()

    def analyse(self, states, predicted, observed, error_variance, *, rng=None) -> np.ndarray:
        """Analysed states (..., member, n_state); ``rng`` is accepted for the interface and unused."""
        self.diagnostics = denkf_analysis(
            states, predicted, observed, error_variance, inflation=self.inflation, use_numba=self.use_numba
        )
        return self.diagnostics.states


@attrs.define
class ETKF(Filter):
    """Ensemble transform Kalman filter, symmetric square root (Bishop et al. 2001), docs/model/filters.md (c)."""

    inflation: float = _inflation_field()
    use_numba: bool | None = _use_numba_field()
    diagnostics: AnalysisResult | None = _diagnostics_field()

    def analyse(self, states, predicted, observed, error_variance, *, rng=None) -> np.ndarray:
        """Analysed states (..., member, n_state); ``rng`` is accepted for the interface and unused."""
        self.diagnostics = etkf_analysis(
            states, predicted, observed, error_variance, inflation=self.inflation, use_numba=self.use_numba
        )
        return self.diagnostics.states


@attrs.define
class StochasticEnKF(Filter):
    """EnKF with centred perturbed observations (Burgers et al. 1998), docs/model/filters.md (c).

    ``rng`` is required.  Either one ``numpy.random.Generator`` (one draw shaped like
    ``predicted``), or an array/sequence of generators with the batch shape (one draw of
    ``(member, n_obs)`` per batch), e.g. ``s1da.framework.randomness.stream(entropy, site_id,
    Purpose.OBSERVATION_PERTURBATION, day)`` per site, so that the numbers do not depend on how
    sites are chunked (docs/architecture.md "Scaling").
    """

    inflation: float = _inflation_field()
    use_numba: bool | None = _use_numba_field()
    diagnostics: AnalysisResult | None = _diagnostics_field()
    needs_rng = True  # the experiment hands it one keyed generator per site

    def analyse(self, states, predicted, observed, error_variance, *, rng=None) -> np.ndarray:
        """Analysed states (..., member, n_state)."""
        predicted_array = np.asarray(predicted)
        if predicted_array.ndim < 2:
            raise ValueError(
                f"predicted must have at least 2 dimensions (..., member, n_obs), got shape {predicted_array.shape}"
            )
        standard_normal = _draw_standard_normal(rng, predicted_array.shape)
        self.diagnostics = stochastic_enkf_analysis(
            states,
            predicted_array,
            observed,
            error_variance,
            standard_normal=standard_normal,
            inflation=self.inflation,
            use_numba=self.use_numba,
        )
        return self.diagnostics.states


def _draw_standard_normal(rng, shape: tuple[int, ...]) -> np.ndarray:
    if rng is None:
        raise ValueError(
            "StochasticEnKF needs rng: a numpy.random.Generator, or one Generator per batch "
            "(e.g. from s1da.framework.randomness.stream keyed by site id)"
        )
    if isinstance(rng, np.random.Generator):
        return rng.standard_normal(shape)
    generators = np.asarray(rng, dtype=object) if isinstance(rng, (Sequence, np.ndarray)) else None
    batch = shape[:-2]
    if generators is None or generators.shape != batch:
        got = type(rng).__name__ if generators is None else f"shape {generators.shape}"
        raise TypeError(
            f"rng must be a numpy.random.Generator or an array of Generators with the batch shape {batch}, got {got}"
        )
    draws = np.empty(shape)
    flat_draws = draws.reshape((-1,) + shape[-2:])
    for index, generator in enumerate(generators.reshape(-1)):  # draws only; the update is batched
        if not isinstance(generator, np.random.Generator):
            position = tuple(int(i) for i in np.unravel_index(index, batch))
            raise TypeError(f"rng[{position}] is {type(generator).__name__}, not a Generator")
        flat_draws[index] = generator.standard_normal(shape[-2:])
    return draws
