"""Ensemble Kalman filters (docs/model/filters.md c): DEnKF, stochastic EnKF and ETKF.

Pure batched analysis functions live in :mod:`.analysis` (the one-observation kernel in
:mod:`.kernels`); the classes in :mod:`.enkf` implement :class:`s1da.framework.interfaces.Filter`.

Example (32 members, 3 state variables and one backscatter observation per site)::

    from s1da.components.filters import DEnKF

    denkf = DEnKF(inflation=1.0)
    analysed = denkf.analyse(states, predicted, observed, error_variance)
    # states (site, 32, 3) m3 m-3, predicted (site, 32, 1) dB, observed (site, 1) dB (NaN = none),
    # error_variance (site, 1) dB2; denkf.diagnostics holds innovations, increments, spreads, gain
"""

from .analysis import AnalysisResult, denkf_analysis, etkf_analysis, stochastic_enkf_analysis
from .kernels import numba_available
from .enkf import DEnKF, ETKF, StochasticEnKF

__all__ = [
    "AnalysisResult",
    "DEnKF",
    "ETKF",
    "StochasticEnKF",
    "denkf_analysis",
    "numba_available",
    "etkf_analysis",
    "stochastic_enkf_analysis",
]
