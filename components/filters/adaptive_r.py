"""Adaptive per-site observation-error variance from the innovations (Desroziers et al. 2005).

Desroziers et al. (2005, QJRMS 131) show that for a consistent linear analysis
``E[d_ob d_oa] = R``, with ``d_ob = y - H x_b`` the innovation and ``d_oa = y - H x_a`` the
analysis residual.  For one observation per site and a Kalman-type mean update,
``d_oa = d_ob R_used / (var(y) + R_used)``, so ``d_ob d_oa = R_used nu^2`` with
``nu = d_ob / sqrt(var(y) + R_used)`` the normalised innovation every filter of
:mod:`s1da.components.filters` reports.  Iterated over time with the current estimate as
``R_used`` this converges to the R that makes the innovations consistent (Desroziers et al. 2005,
section 3; Li, Kalnay & Miyoshi 2009, QJRMS 135, estimate it online in the same way).

The estimate per site is a weighted running mean of ``R_used nu^2``, started from a prior (the
operator's in-sample residual) with the weight of ``prior_weight`` analyses, and forgetting old
analyses with the factor ``forgetting`` per analysis (1 = plain cumulative mean).  State, shaped
``(site,)``: ``r_sum`` (dB2, weighted sum) and ``r_weight`` (weighted count).
"""

from __future__ import annotations

import attrs
import numpy as np
from s1da.framework.validators import finite_positive, unit_interval


@attrs.frozen
class DesroziersR:
    """Online Desroziers (2005) estimate of R per site (module docstring)."""

    prior_weight: float = attrs.field(default=10.0, validator=finite_positive, metadata={"units": "analyses"})
    forgetting: float = attrs.field(default=1.0, validator=unit_interval, metadata={"units": "1"})
    min_ratio: float = attrs.field(default=0.1, validator=finite_positive, metadata={"units": "1", "doc": "lower bound of R / prior"})
    max_ratio: float = attrs.field(default=10.0, validator=finite_positive, metadata={"units": "1", "doc": "upper bound of R / prior"})

    def initial_state(self, n_sites: int) -> dict[str, np.ndarray]:
        """No analysis yet: the estimate is the prior."""
        return {"r_sum": np.zeros(n_sites), "r_weight": np.zeros(n_sites)}

    def estimate(self, state: dict[str, np.ndarray], prior: np.ndarray) -> np.ndarray:
        """R per site (dB2) from the state and the prior R (e.g. the operator's in-sample residual)."""
        prior = np.asarray(prior, dtype=float)
        estimate = (self.prior_weight * prior + state["r_sum"]) / (self.prior_weight + state["r_weight"])
        return np.clip(estimate, self.min_ratio * prior, self.max_ratio * prior)

    def update(
        self, state: dict[str, np.ndarray], used_error_variance: np.ndarray, normalised_innovation: np.ndarray
    ) -> dict[str, np.ndarray]:
        """New state after one analysis; sites with a NaN innovation (no observation) keep theirs.

        ``used_error_variance`` is the R the analysis used, ``normalised_innovation`` its
        ``d / sqrt(var(y) + R)``, both ``(site,)``.
        """
        sample = np.asarray(used_error_variance, dtype=float) * np.asarray(normalised_innovation, dtype=float) ** 2
        observed = np.isfinite(sample)
        decay = np.where(observed, self.forgetting, 1.0)
        return {
            "r_sum": decay * state["r_sum"] + np.where(observed, sample, 0.0),
            "r_weight": decay * state["r_weight"] + observed,
        }
