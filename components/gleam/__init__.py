"""GLEAM v3 land model (docs/model/gleam.md a): one module per process, kernels apart from the wrapper.

``thermodynamics`` (a.3), ``potential`` (a.4), ``snow`` (a.5), ``interception`` (a.6), ``stress``
(a.7), ``actual`` (a.8), ``soil`` (a.9), ``nudging`` (a.12), ``statics`` (a.1, a.11), ``kernel``
(the numpy daily step), ``kernel_numba`` (optional), ``model`` (:class:`GleamModel`).
"""

from .model import ForcingError, GleamModel
from .parameters import GleamParameters
from .statics import SOIL_TEXTURES, SiteStatics

__all__ = ["GleamModel", "GleamParameters", "SiteStatics", "SOIL_TEXTURES", "ForcingError"]
