"""Ensemble Kalman filters (MODEL_SPEC c): DEnKF, stochastic EnKF and ETKF.

Pure batched analysis functions live in :mod:`.analysis`; the classes in :mod:`.enkf` implement
:class:`s1da.framework.interfaces.Filter`.
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
