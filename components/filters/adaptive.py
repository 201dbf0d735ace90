"""A filter with per-site memory: adaptive inflation and/or adaptive R around any base filter.

:class:`AdaptiveFilter` wraps a :class:`~s1da.framework.interfaces.Filter` (DEnKF, EnKF, ETKF)
and, per site, inflates the forecast anomalies by ``sqrt(rho)`` (:class:`AdaptiveInflation`,
Li, Kalnay & Miyoshi 2009) and/or replaces the operator's R by the Desroziers et al. (2005) estimate
(:class:`DesroziersR`) before calling it, then updates both estimates from the analysis'
innovations.  Only sites with an observation are inflated and updated.

The memory is a *declared state* (``initial_state(n_sites)``, arrays shaped ``(site,)``), passed
in and returned by :meth:`AdaptiveFilter.analyse_with_state` so that a caller can keep it in its
checkpoints; :meth:`analyse` (the plain Filter interface) keeps it on ``self.state``.

Example::

    adaptive = AdaptiveFilter(DEnKF(), inflation=AdaptiveInflation(), observation_error=DesroziersR())
    memory = adaptive.initial_state(n_sites)
    analysed, memory = adaptive.analyse_with_state(memory, states, predicted, observed, error_variance)
    adaptive.used_error_variance  # (site, 1) dB2, the R of that analysis
"""

from __future__ import annotations

import attrs
import numpy as np

from s1da.framework.interfaces import Filter

from .adaptive_inflation import AdaptiveInflation
from .adaptive_r import DesroziersR

__all__ = ["AdaptiveFilter", "AdaptiveInflation", "DesroziersR"]


def _inflate(values: np.ndarray, factor: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Scale member anomalies (axis -2) by ``factor`` (leading axes) where ``where``; others untouched."""
    mean = values.mean(axis=-2, keepdims=True)
    return np.where(where[..., None, None], mean + factor[..., None, None] * (values - mean), values)


@attrs.define
class AdaptiveFilter(Filter):
    """A base filter with per-site adaptive inflation and/or adaptive R (module docstring)."""

    base: Filter = attrs.field(validator=attrs.validators.instance_of(Filter))
    inflation: AdaptiveInflation | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(AdaptiveInflation))
    )
    observation_error: DesroziersR | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(DesroziersR))
    )
    state: dict | None = attrs.field(default=None, init=False, eq=False, repr=False)
    used_error_variance: np.ndarray | None = attrs.field(default=None, init=False, eq=False, repr=False)

    @property
    def needs_rng(self) -> bool:  # type: ignore[override]
        return self.base.needs_rng

    @property
    def diagnostics(self):
        return self.base.diagnostics

    def initial_state(self, n_sites: int) -> dict[str, np.ndarray]:
        """Memory before the first analysis, arrays shaped ``(site,)``."""
        state: dict[str, np.ndarray] = {}
        if self.inflation is not None:
            state.update(self.inflation.initial_state(n_sites))
        if self.observation_error is not None:
            state.update(self.observation_error.initial_state(n_sites))
        return state

    def analyse_with_state(self, state, states, predicted, observed, error_variance, *, rng=None):
        """One analysis with one observation per site; returns ``(analysed states, new state)``.

        Shapes as :meth:`Filter.analyse` with a single leading ``site`` axis:
        ``states (site, member, n)``, ``predicted (site, member, 1)``, ``observed (site, 1)``,
        ``error_variance (site, 1)`` (the operator's R, the prior of the adaptive estimate).
        """
        states = np.asarray(states, dtype=float)
        predicted = np.asarray(predicted, dtype=float)
        observed = np.asarray(observed, dtype=float)
        prior_r = np.asarray(error_variance, dtype=float)[..., 0]
        has_obs = np.isfinite(observed[..., 0])
        used_r = prior_r if self.observation_error is None else self.observation_error.estimate(state, prior_r)
        if self.inflation is not None:
            factor = np.sqrt(self.inflation.estimate(state))
            states, inflated_predicted = _inflate(states, factor, has_obs), _inflate(predicted, factor, has_obs)
        else:
            inflated_predicted = predicted
        analysed = self.base.analyse(states, inflated_predicted, observed, used_r[..., None], rng=rng)
        diagnostics = self.base.diagnostics
        new_state = dict(state)
        if self.observation_error is not None:
            new_state.update(self.observation_error.update(state, used_r, diagnostics.normalised_innovation[..., 0]))
        if self.inflation is not None:
            predicted_variance = predicted[..., 0].var(axis=-1, ddof=1)
            new_state.update(
                self.inflation.update(state, diagnostics.innovation[..., 0], predicted_variance, used_r, predicted.shape[-2])
            )
        self.used_error_variance = used_r[..., None]
        return analysed, new_state

    def analyse(self, states, predicted, observed, error_variance, *, rng=None) -> np.ndarray:
        """The Filter interface; the memory lives on ``self.state`` (started on the first call)."""
        if self.state is None:
            self.state = self.initial_state(np.asarray(observed).shape[0])
        analysed, self.state = self.analyse_with_state(self.state, states, predicted, observed, error_variance, rng=rng)
        return analysed
