"""What a run writes to the store: variables, members, ensemble statistics, dtype, compression.

A continental run cannot keep every member of every variable in float64 (100,000 cells x 32
members x 3 years of daily fields is about 187 GB per run), so the ``output:`` section of an
experiment chooses:

* ``variables``: the per-member and per-site variables written (default: all of them);
* ``members``: ``all``, ``none`` or a list of member numbers kept as they are, and
  ``members_of``: variables whose every member is kept whatever ``members`` says;
* ``statistics``: ensemble statistics written beside (or instead of) the members: ``mean`` and
  ``std`` (sample standard deviation over members, ``ddof=1``) as ``<variable>_mean`` and
  ``<variable>_std``, and ``quantiles`` (member quantiles, linear interpolation between order
  statistics, Hyndman & Fan 1996 type 7) as ``<variable>_quantile`` with a ``quantile``
  dimension;
* ``dtype``: ``float64`` or ``float32`` (statistics are computed in float64, then rounded);
* ``compression``: ``default`` (the store's checksummed Zstandard,
  :data:`~s1da.framework.store.CHECKSUMMED`), ``none`` (no compression, a CRC-32C checksum per
  chunk), or ``zstd`` with a ``compression_level`` (default 1, as the store's: 1.8-2.9x faster
  than level 3 for 0-2.5 % more bytes); every choice carries a checksum, so that
  ``s1da inspect`` detects a damaged chunk.

Site networks keep today's full output by default (every member, float64, no statistics);
gridded sources default to :data:`GRID_DEFAULT` (ensemble mean and spread in float32).
Statistics are linear where they must be: the ensemble mean of the storage change equals the
mean of the fluxes, so the water balance closes from ``*_mean`` fields as from members.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import attrs
import numpy as np
from zarr.codecs import Crc32cCodec, ZstdCodec

from s1da.framework.store import CHECKSUMMED

STATISTICS = ("mean", "std")
DTYPES = ("float64", "float32")
COMPRESSIONS = ("default", "none", "zstd")


def _members(value):
    if isinstance(value, str):
        if value not in ("all", "none"):
            raise ValueError(f"members must be 'all', 'none' or a list of member numbers, got {value!r}")
        return value
    members = tuple(int(member) for member in value)
    if not members or len(set(members)) != len(members) or min(members) < 0:
        raise ValueError(f"members: need distinct non-negative member numbers, got {list(value)}")
    return tuple(sorted(members))


def _statistics(instance, attribute, value) -> None:
    unknown = [name for name in value if name not in STATISTICS]
    if unknown:
        raise ValueError(f"statistics: unknown {unknown} (allowed: {', '.join(STATISTICS)}; quantiles go in 'quantiles')")


def _quantiles(instance, attribute, value) -> None:
    if any(not 0.0 <= q <= 1.0 for q in value) or len(set(value)) != len(value):
        raise ValueError(f"quantiles: need distinct values in [0, 1], got {list(value)}")


def _optional_names(value):
    return None if value is None else tuple(str(name) for name in value)


def member_moments(values: np.ndarray, member_axis: int, spread: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Ensemble mean and (``spread``) sample standard deviation (``ddof=1``) over ``member_axis``.

    The members are summed one after another in member order, vectorised over every other
    axis.  A NumPy reduction would sum a contiguous member axis pairwise but a strided one in
    sequence, so a site's statistics would depend on how many sites share the array; here every
    element sees the same operations whatever the shape, so any chunking gives the same numbers
    bit for bit, and no transposed copy of the ensemble is made.
    """
    members = np.moveaxis(np.asarray(values, dtype="float64"), member_axis, 0)
    n_members = members.shape[0]
    total = members[0].copy()
    for member in members[1:]:
        total += member
    mean = total / n_members
    if not spread:
        return mean, None
    squares = np.zeros_like(mean)
    deviation = np.empty_like(mean)
    for member in members:
        np.subtract(member, mean, out=deviation)
        deviation *= deviation
        squares += deviation
    squares /= n_members - 1
    return mean, np.sqrt(squares, out=squares)


def member_mean(values: np.ndarray, member_axis: int) -> np.ndarray:
    """Ensemble mean over ``member_axis``, the same for a site whatever the other sites (see :func:`member_moments`)."""
    return member_moments(values, member_axis, spread=False)[0]


class BlockOutputs:
    """The arrays one block of a run stores, filled day by day from the ensemble's outputs.

    Each day's statistics are computed as the day comes (:func:`member_moments`), so a variable
    whose members are not stored never holds a ``(time, member, site)`` buffer; members that are
    stored (and every member of a variable with quantiles) are kept for the block.  ``variables``
    maps a run variable to its dims in the task layout, ``sizes`` gives every dim's size but
    ``time`` (the block's days).  Days a variable is not given stay NaN (DA diagnostics on days
    without an analysis).
    """

    def __init__(self, policy: OutputPolicy, variables: Mapping[str, tuple[str, ...]], n_days: int, sizes: Mapping[str, int]):
        self.policy = policy
        self.arrays: dict[str, np.ndarray] = {}
        self._members: dict[str, np.ndarray] = {}
        self._ensembles: dict[str, np.ndarray] = {}  # every member, for the quantiles
        self._plain: set[str] = set()  # kept variables without a member axis
        self._reduced: set[str] = set()  # member variables with statistics

        def empty(dims, **override):  # filled by add(); the days not given become NaN in finish()
            return np.empty(tuple(override.get(dim, n_days if dim == "time" else sizes[dim]) for dim in dims))

        for name, dims in variables.items():
            if not policy.keeps(name):
                continue
            if "member" not in dims:
                self.arrays[name] = empty(dims)
                self._plain.add(name)
                continue
            members = policy.member_numbers(sizes["member"], name)
            if members.size:
                self._members[name] = members
                self.arrays[name] = empty(dims, member=members.size)
            reduced = tuple(dim for dim in dims if dim != "member")
            for statistic in policy.statistics:
                self.arrays[f"{name}_{statistic}"] = empty(reduced)
                self._reduced.add(name)
            if policy.quantiles:
                self._ensembles[name] = empty(dims)
        self._given = {name: np.zeros(n_days, dtype=bool) for name in [*self.arrays, *self._ensembles]}

    def restart(self) -> None:
        """Start the next block in the same buffers (what :meth:`finish` returned is overwritten)."""
        for given in self._given.values():
            given[:] = False

    def add(self, day: int, outputs: Mapping[str, np.ndarray]) -> None:
        """Day ``day`` (of the block) of the outputs: ``(member, site, ...)`` or ``(site, ...)``."""
        for name, values in outputs.items():
            if name in self._plain:
                self._set(name, day, values)
                continue
            if name in self._members:
                members = self._members[name]
                self._set(name, day, values if members.size == values.shape[0] else values[members])
            if name in self._ensembles:
                self._ensembles[name][day] = values
                self._given[name][day] = True
            if name in self._reduced:
                mean, spread = member_moments(values, 0, "std" in self.policy.statistics)
                if "mean" in self.policy.statistics:
                    self._set(f"{name}_mean", day, mean)
                if spread is not None:
                    self._set(f"{name}_std", day, spread)

    def _set(self, key: str, day: int, values: np.ndarray) -> None:
        self.arrays[key][day] = values
        self._given[key][day] = True

    def finish(self, n_days: int) -> dict[str, np.ndarray]:
        """The stored arrays of the first ``n_days`` days, in float64; days not given are NaN."""
        for name, values in [*self.arrays.items(), *self._ensembles.items()]:
            missing = ~self._given[name][:n_days]
            if missing.any():
                values[:n_days][missing] = np.nan
        finished = {name: values[:n_days] for name, values in self.arrays.items()}
        for name, ensemble in self._ensembles.items():
            with warnings.catch_warnings():  # all-NaN members (days without an analysis) give NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                quantiles = np.quantile(np.moveaxis(ensemble[:n_days], 1, -1), self.policy.quantiles, axis=-1)  # (quantile, time, ...)
            finished[f"{name}_quantile"] = np.moveaxis(quantiles, 0, 1)
        return finished


def _optional(converter):
    return lambda value: None if value is None else converter(value)


@attrs.frozen
class OutputPolicy:
    """``output: {...}``: what each run group stores (see the module docstring).

    A field left None takes the default of the layout (:meth:`resolved`): :data:`SITE_DEFAULT`
    for site networks, :data:`GRID_DEFAULT` for grids.
    """

    variables: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_names, metadata={"doc": "variables to write; null = all"})
    members: str | tuple[int, ...] | None = attrs.field(default=None, converter=_optional(_members), metadata={"doc": "all, none or a list of member numbers"})
    statistics: tuple[str, ...] | None = attrs.field(default=None, converter=_optional(tuple), validator=attrs.validators.optional(_statistics), metadata={"doc": "mean and/or std over members"})
    quantiles: tuple[float, ...] | None = attrs.field(default=None, converter=_optional(lambda v: tuple(float(q) for q in v)), validator=attrs.validators.optional(_quantiles), metadata={"units": "1"})
    members_of: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_names, metadata={"doc": "variables whose every member is stored whatever 'members' says"})
    dtype: str | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.in_(DTYPES)))
    compression: str | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.in_(COMPRESSIONS)))
    compression_level: int = attrs.field(default=1, validator=[attrs.validators.instance_of(int), attrs.validators.ge(-7), attrs.validators.le(22)])

    def resolved(self, gridded: bool) -> OutputPolicy:
        """Every None field filled from the layout's default; refuses a policy that stores no ensemble."""
        base = GRID_DEFAULT if gridded else SITE_DEFAULT
        values = {
            field.name: getattr(base, field.name) if getattr(self, field.name) is None else getattr(self, field.name)
            for field in attrs.fields(OutputPolicy)
        }
        if isinstance(values["members"], tuple):  # one member dimension per group: a list applies to all
            if self.members_of:
                raise ValueError("members_of needs members: none or all (a run group has one member dimension)")
            values["members_of"] = ()
        policy = OutputPolicy(**values)
        if policy.members == "none" and not policy.statistics and not policy.quantiles:
            raise ValueError("members: none with no statistics or quantiles would store nothing of the ensemble")
        if policy.members == "none" and "surface_soil_moisture" not in policy.members_of:
            raise ValueError("members: none needs members_of: [surface_soil_moisture] (the validation scores its spread and ranks)")
        return policy

    def check_variables(self, known: Sequence[str]) -> None:
        """Refuse variables no run writes; validation needs surface soil moisture."""
        if self.variables is None:
            return
        unknown = sorted(set(self.variables) - set(known))
        if unknown:
            raise ValueError(f"variables: unknown {unknown} (known: {', '.join(known)})")
        if "surface_soil_moisture" not in self.variables:
            raise ValueError("variables: must include surface_soil_moisture (calibration and validation use it)")

    def keeps(self, name: str) -> bool:
        return self.variables is None or name in self.variables

    def member_numbers(self, n_members: int, name: str | None = None) -> np.ndarray:
        """The member numbers stored as they are (possibly none), of variable ``name``."""
        if self.members == "all" or (name is not None and name in (self.members_of or ())):
            return np.arange(n_members)
        if self.members == "none":
            return np.arange(0)
        too_large = [member for member in self.members if member >= n_members]
        if too_large:
            raise ValueError(f"output.members: {too_large} do not exist in an ensemble of {n_members}")
        return np.asarray(self.members)

    def member_coordinate(self, n_members: int) -> np.ndarray:
        """The ``member`` coordinate of a run group (all members if any variable keeps them all)."""
        return np.arange(n_members) if self.members_of else self.member_numbers(n_members)

    def stored_variables(self, per_member: Mapping[str, tuple[str, ...]], n_members: int) -> dict[str, tuple[str, ...]]:
        """Store variable name -> dims (in the ``member``/``site`` layout of ``per_member``)."""
        stored: dict[str, tuple[str, ...]] = {}
        for name, dims in per_member.items():
            keep_members = self.member_numbers(n_members, name).size > 0
            if not self.keeps(name):
                continue
            if "member" not in dims:
                stored[name] = dims
                continue
            if keep_members:
                stored[name] = dims
            reduced = tuple(dim for dim in dims if dim != "member")
            for statistic in self.statistics:
                stored[f"{name}_{statistic}"] = reduced
            if self.quantiles:
                stored[f"{name}_quantile"] = (reduced[0], "quantile", *reduced[1:])
        return stored

    def encoding(self) -> dict:
        """dtype and compressors of the run arrays (:func:`~s1da.framework.store_regions.create_chunked_group`);
        every compressor verifies a checksum when a chunk is read."""
        if self.compression == "none":
            compressors = (Crc32cCodec(),)
        elif self.compression == "zstd":
            compressors = (ZstdCodec(level=self.compression_level, checksum=True),)
        else:
            compressors = CHECKSUMMED
        return {"dtype": self.dtype, "compressors": compressors}


SITE_DEFAULT = OutputPolicy(members="all", statistics=(), quantiles=(), members_of=(), dtype="float64", compression="default")
"""The default for site networks: every member of every variable in float64 (the full output)."""

GRID_DEFAULT = OutputPolicy(
    members="none", statistics=("mean", "std"), quantiles=(), members_of=("surface_soil_moisture",), dtype="float32", compression="zstd"
)
"""The default for gridded sources: ensemble mean and spread of every variable, every member of
surface soil moisture only (the validation's spread and rank scores need them), float32, zstd."""


def statistic_attributes(name: str, attributes: Mapping[str, str]) -> dict[str, str]:
    """CF attributes of ``<variable>_<statistic>`` from those of the variable (``cell_methods``)."""
    base, _, statistic = name.rpartition("_")
    label = {"mean": ("mean", "ensemble mean of"), "std": ("standard_deviation", "ensemble standard deviation of"), "quantile": ("percentile", "ensemble quantiles of")}
    method, prefix = label[statistic]
    return {**attributes, "long_name": f"{prefix} {attributes.get('long_name', base)}", "cell_methods": f"member: {method}"}
