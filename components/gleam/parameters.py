"""All GLEAM parameters in one frozen attrs object, grouped by the module that uses them."""

from __future__ import annotations

import collections
from typing import NamedTuple

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
    """Parameters of the GLEAM v3 model (docs/model/gleam.md a).

    ``snow_mode``: ``"auto"`` uses the SWE-forced GLEAM mode on days whose forcing contains
    ``swe`` and the temperature-index fallback otherwise (docs/model/gleam.md a.5); ``"swe"`` requires SWE;
    ``"temperature_index"`` ignores any SWE.
    """

    thermodynamics: ThermodynamicParameters = attrs.field(factory=ThermodynamicParameters)
    priestley_taylor: PriestleyTaylorParameters = attrs.field(factory=PriestleyTaylorParameters)
    snow: SnowParameters = attrs.field(factory=SnowParameters)
    interception: InterceptionParameters = attrs.field(factory=InterceptionParameters)
    evaporation: ActualEvaporationParameters = attrs.field(factory=ActualEvaporationParameters)
    soil: SoilParameters = attrs.field(factory=SoilParameters)
    snow_mode: str = attrs.field(default="auto", validator=v.in_(SNOW_MODES))

    def record(self) -> GleamRecord:
        """The parameters as nested named tuples of numbers, which numba compiles against (the
        process functions read the same attribute names from either form)."""
        groups = {name: _record_of(getattr(self, name)) for name in GleamRecord._fields}
        return GleamRecord(**groups)


class GleamRecord(NamedTuple):
    """Numba-compatible form of :class:`GleamParameters` (without ``snow_mode``, a driver option)."""

    thermodynamics: tuple
    priestley_taylor: tuple
    snow: tuple
    interception: tuple
    evaporation: tuple
    soil: tuple


def _named_record(cls):
    """A named tuple type of ``cls``'s fields, defined in this module (so that pickle, and with it
    numba's on-disk cache, finds it by name)."""
    record = collections.namedtuple(cls.__name__.replace("Parameters", "Record"), [f.name for f in attrs.fields(cls)])
    record.__module__ = __name__
    return record


ThermodynamicRecord = _named_record(ThermodynamicParameters)
PriestleyTaylorRecord = _named_record(PriestleyTaylorParameters)
SnowRecord = _named_record(SnowParameters)
InterceptionRecord = _named_record(InterceptionParameters)
ActualEvaporationRecord = _named_record(ActualEvaporationParameters)
_RECORD_TYPES = {
    ThermodynamicParameters: ThermodynamicRecord, PriestleyTaylorParameters: PriestleyTaylorRecord,
    SnowParameters: SnowRecord, InterceptionParameters: InterceptionRecord,
    ActualEvaporationParameters: ActualEvaporationRecord,
}  # fmt: skip


def _record_of(group):
    """A named tuple of the group's float fields, or the group's own ``record()``."""
    if hasattr(group, "record"):
        return group.record()
    return _RECORD_TYPES[type(group)](*(float(getattr(group, f.name)) for f in attrs.fields(type(group))))
