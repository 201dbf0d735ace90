"""All GLEAM parameters in one frozen attrs object, grouped by the module that uses them."""

from __future__ import annotations

import attrs
from attrs import validators as v

from .actual import ActualEvaporationParameters
from .interception import InterceptionParameters
from .potential import PriestleyTaylorParameters
from .snow import SnowParameters
from .soil import SoilParameters
from .thermodynamics import ThermodynamicParameters

SNOW_MODES = ("auto", "swe", "temperature_index")


@attrs.frozen
class GleamParameters:
    """Parameters of the GLEAM v3 model (MODEL_SPEC a).

    ``snow_mode``: ``"auto"`` uses the SWE-forced GLEAM mode on days whose forcing contains
    ``swe`` and the temperature-index fallback otherwise (MODEL_SPEC a.5); ``"swe"`` requires SWE;
    ``"temperature_index"`` ignores any SWE.
    """

    thermodynamics: ThermodynamicParameters = attrs.field(factory=ThermodynamicParameters)
    priestley_taylor: PriestleyTaylorParameters = attrs.field(factory=PriestleyTaylorParameters)
    snow: SnowParameters = attrs.field(factory=SnowParameters)
    interception: InterceptionParameters = attrs.field(factory=InterceptionParameters)
    evaporation: ActualEvaporationParameters = attrs.field(factory=ActualEvaporationParameters)
    soil: SoilParameters = attrs.field(factory=SoilParameters)
    snow_mode: str = attrs.field(default="auto", validator=v.in_(SNOW_MODES))
