"""Adaptive multiplicative inflation per site from the innovations (Li, Kalnay & Miyoshi 2009).

The forecast ensemble variance is multiplied by ``rho`` (the anomalies by ``sqrt(rho)``).  From
one observation with innovation ``d``, un-inflated predicted variance ``s2 = var(y)`` and error
variance ``R``, ``E[d^2] = rho sigma_y^2 + R`` gives the observed estimate (Desroziers et al.
2005; Li, Kalnay & Miyoshi 2009, QJRMS 135, eq. 8; Miyoshi 2011, MWR 139, eq. 3)

``d^2 - R = rho s2 + noise``, a regression of ``d^2 - R`` on ``s2`` through the origin.

One such estimate is very noisy: its SD is about ``sqrt(2) (rho s2 + R) / s2``, hundreds when
the predicted spread is far below R (S1 assimilation: ``s2`` of a few 0.001 dB2 against R near
0.5 dB2).  The estimates are therefore combined in time by weighted least squares with the
weights ``w = 1 / R^2`` (the inverse variance of ``d^2`` where the spread is small; a weight
that depended on ``s2`` would correlate with it and bias the estimate):

``rho = (p rho_0 + sum_t f^(T-t) w_t s2_t (d_t^2 - R_t)) / (p + sum_t f^(T-t) w_t s2_t^2 / c_N)``,

with ``rho_0 = initial`` carrying ``prior_weight`` p fully informative analyses (``s2 >> R``),
the forgetting factor f per analysis, and ``c_N = (N + 1) / (N - 1)`` removing the bias of
``s2^2`` of N Gaussian members (``E[s2^2] = c_N sigma^4``; ``s2`` and ``d`` are independent).
This is the time-averaged innovation estimate of Li, Kalnay & Miyoshi (2009) with
the observation-estimate variance that Miyoshi (2011) and Anderson (2009) weight by: where the
spread is far below R the analyses carry almost no information on rho, and it stays near
``initial`` instead of following the noise.  The inflation applied is rho bounded to
``[min_inflation, max_inflation]``; the bound is not fed back.

State, shaped ``(site,)``: ``inflation_sum`` (the numerator's sum) and ``inflation_weight``
(the denominator's).
"""

from __future__ import annotations

import attrs
import numpy as np
from s1da.framework.validators import finite_positive, unit_interval


@attrs.frozen
class AdaptiveInflation:
    """Per-site adaptive variance inflation (module docstring)."""

    initial: float = attrs.field(default=1.0, validator=finite_positive, metadata={"units": "1"})
    prior_weight: float = attrs.field(default=10.0, validator=finite_positive, metadata={"units": "analyses"})
    forgetting: float = attrs.field(default=0.99, validator=unit_interval, metadata={"units": "1"})
    min_inflation: float = attrs.field(default=1.0, validator=finite_positive, metadata={"units": "1"})
    max_inflation: float = attrs.field(default=20.0, validator=finite_positive, metadata={"units": "1"})

    def __attrs_post_init__(self):
        if not self.min_inflation <= self.initial <= self.max_inflation:
            raise ValueError(
                f"need min_inflation <= initial <= max_inflation, got {self.min_inflation}, {self.initial}, {self.max_inflation}"
            )

    def initial_state(self, n_sites: int) -> dict[str, np.ndarray]:
        return {"inflation_sum": np.zeros(n_sites), "inflation_weight": np.zeros(n_sites)}

    def estimate(self, state: dict[str, np.ndarray]) -> np.ndarray:
        """The variance inflation ``rho`` to apply per site."""
        mean = (self.prior_weight * self.initial + state["inflation_sum"]) / (self.prior_weight + state["inflation_weight"])
        return np.clip(mean, self.min_inflation, self.max_inflation)

    def update(
        self,
        state: dict[str, np.ndarray],
        innovation: np.ndarray,
        predicted_variance: np.ndarray,
        error_variance: np.ndarray,
        n_members: int,
    ) -> dict[str, np.ndarray]:
        """New state after one analysis; NaN innovations (no observation) keep the state.

        ``innovation`` ``d - mean(y)``, ``predicted_variance`` the *un-inflated* member variance of
        the predictions (ddof 1), ``error_variance`` R, all ``(site,)``; ``n_members`` N > 3.
        """
        if n_members <= 3:
            raise ValueError(f"adaptive inflation needs more than 3 members, got {n_members}")
        s2 = np.asarray(predicted_variance, dtype=float)
        d = np.asarray(innovation, dtype=float)
        r = np.asarray(error_variance, dtype=float)
        usable = np.isfinite(d) & np.isfinite(s2) & (s2 > 0) & np.isfinite(r)
        s2, d, r = (np.where(usable, value, 1.0) for value in (s2, d, r))
        weight = 1.0 / r**2
        numerator = weight * s2 * (d**2 - r)
        denominator = weight * s2**2 * (n_members - 1) / (n_members + 1)
        decay = np.where(usable, self.forgetting, 1.0)
        return {
            "inflation_sum": decay * state["inflation_sum"] + np.where(usable, numerator, 0.0),
            "inflation_weight": decay * state["inflation_weight"] + np.where(usable, denominator, 0.0),
        }
