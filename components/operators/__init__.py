"""Observation operators h(soil moisture, LAI) -> Sentinel-1 VV backscatter (dB), docs/model/operators.md (b).

``WaterCloudModel`` (physically based, four parameters per site) and ``SupportVectorOperator``
(epsilon-SVR with RBF kernel, the paper's data-driven alternative) share the
``s1da.framework.interfaces.ObservationOperator`` interface; ``diagnose`` compares them
in and out of sample.  ``CrossValidatedOperator`` (R from time-blocked cross-validation) and
``SeasonalOperator`` (one calibration per season) wrap either.
"""

from s1da.components.operators.wcm import (
    WaterCloudModel,
    WcmCalibrationWarning,
    transmissivity,
    water_cloud_backscatter,
    water_cloud_jacobian,
    water_cloud_sensitivity,
)

__all__ = [
    "WaterCloudModel",
    "WcmCalibrationWarning",
    "transmissivity",
    "water_cloud_backscatter",
    "water_cloud_jacobian",
    "water_cloud_sensitivity",
]

from s1da.components.operators.svr import SupportVectorOperator  # noqa: E402

__all__ += ["SupportVectorOperator"]

from s1da.components.operators.diagnostics import diagnose  # noqa: E402

__all__ += ["diagnose"]

from s1da.components.operators.cross_validated import CrossValidatedOperator  # noqa: E402
from s1da.components.operators.seasonal import SeasonalOperator  # noqa: E402

__all__ += ["CrossValidatedOperator", "SeasonalOperator"]
