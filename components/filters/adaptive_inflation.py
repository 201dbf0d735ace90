"""Adaptive multiplicative inflation per site from the innovations (Li, Kalnay & Miyoshi 2009).

The forecast ensemble variance is multiplied by ``rho`` (the anomalies by ``sqrt(rho)``).  From
one observation with innovation ``d``, un-inflated predicted variance ``s2 = var(y)`` and error
variance ``R``, ``E[d^2] = rho sigma_y^2 + R`` gives the observed estimate (Desroziers et al.
2005; Li, Kalnay & Miyoshi 2009, QJRMS 135, eq. 8; Miyoshi 2011, MWR 139, eq. 3)

``rho_o = (d^2 - R) / s2 * (N - 3) / (N - 1)``,

where the factor removes the bias of ``1 / s2`` for N Gaussian members
(``E[1 / s2] = (N - 1) / ((N - 3) sigma_y^2)``).  As in Li et al. (2009) the single-observation
estimates, far too noisy on their own, are averaged in time: a running mean per site started from
``initial`` with the weight of ``prior_weight`` analyses, forgetting old analyses by ``forgetting``
per analysis.  The inflation applied is that mean bounded to ``[min_inflation, max_inflation]``;
the bound is not fed back (a floor inside a sequential update makes it a reflected random walk,
biased high).  Miyoshi's (2011) Gaussian update weights each estimate by
``v_o = 2 ((rho_b s2 + R) / s2)^2``, which ties the weight to the prior and biases the estimate
when one observation per site is all there is; the running mean does not.

State, shaped ``(site,)``: ``inflation_sum`` and ``inflation_weight``.
"""

from __future__ import annotations

import attrs
import numpy as np


def _check_positive(instance, attribute, value):
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be finite and > 0, got {value}")


def _check_unit(instance, attribute, value):
    if not 0 < value <= 1:
        raise ValueError(f"{attribute.name} must be in (0, 1], got {value}")


@attrs.frozen
class AdaptiveInflation:
    """Per-site adaptive variance inflation (module docstring)."""

    initial: float = attrs.field(default=1.0, validator=_check_positive, metadata={"units": "1"})
    prior_weight: float = attrs.field(default=10.0, validator=_check_positive, metadata={"units": "analyses"})
    forgetting: float = attrs.field(default=0.99, validator=_check_unit, metadata={"units": "1"})
    min_inflation: float = attrs.field(default=1.0, validator=_check_positive, metadata={"units": "1"})
    max_inflation: float = attrs.field(default=20.0, validator=_check_positive, metadata={"units": "1"})

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
        with np.errstate(divide="ignore", invalid="ignore"):
            sample = (d**2 - r) / s2 * (n_members - 3) / (n_members - 1)
        decay = np.where(usable, self.forgetting, 1.0)
        return {
            "inflation_sum": decay * state["inflation_sum"] + np.where(usable, sample, 0.0),
            "inflation_weight": decay * state["inflation_weight"] + usable,
        }
