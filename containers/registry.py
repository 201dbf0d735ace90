"""One registry of component kinds, filled from the ``s1da.components`` entry points.

Every component an experiment YAML can select by ``kind`` is a :class:`Component`: the layer
it belongs to, its kind name, the attrs class its YAML options are checked against, and a
factory building it.  Distributions announce their components with an entry point in the group
``s1da.components`` whose object is a :class:`Component` or a sequence of them; s1da's own
components are registered the same way (``s1da.containers.kinds:BUILTIN`` in its
``pyproject.toml``).  A third-party package does the same in its own ``pyproject.toml``::

    [project.entry-points."s1da.components"]
    bucket = "s1da_bucket.registration:COMPONENTS"

A factory is called as ``factory(parameters, context)`` with the checked parameter object and
a :class:`BuildContext`, and returns the component (a
:class:`~s1da.framework.interfaces.LandModel`, ``ObservationOperator``, ``Filter``,
``Perturber``, or a :class:`~s1da.framework.sitedata.SiteData` for a data source).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from importlib import metadata
from typing import Any

import attrs

from s1da.framework.config import ConfigError

GROUP = "s1da.components"
LAYERS = {
    "source": "data source: builds the sites, forcing, observations (and truth) of the experiment",
    "model": "land model: advances soil moisture one day at a time",
    "perturbation": "forcing perturber: member forcing from site forcing",
    "filter": "ensemble filter: the analysis",
    "operator": "observation operator: soil moisture and vegetation to backscatter (dB)",
}
"""Layers in the order of the YAML sections (``operators`` holds one operator per run label)."""


class RegistryError(ConfigError):
    """A plugin that cannot be loaded or clashes with another: names the distribution."""


@attrs.frozen
class BuildContext:
    """What a factory may need besides its parameters.

    ``experiment``: the checked ``experiment`` section (``spinup_start``, ``start``, ``end``
    as dates, ``seed``, ``members``, ...).  ``sites``: the site table (``xarray.Dataset`` with
    dimension ``site``) for land models and perturbers (positions); ``None`` when building a data source.
    ``model_factory``: for data sources that run a truth (twin experiments), a callable
    ``sites -> LandModel`` building the configured land model for other sites.
    """

    experiment: Mapping[str, Any] = attrs.field(factory=dict)
    sites: Any = None
    model_factory: Callable[[Any], Any] | None = None


@attrs.frozen
class Component:
    """One selectable kind of one layer."""

    layer: str = attrs.field(validator=attrs.validators.in_(tuple(LAYERS)))
    kind: str = attrs.field(validator=attrs.validators.instance_of(str))
    parameters: type = attrs.field()
    factory: Callable[[Any, BuildContext], Any] = attrs.field(validator=attrs.validators.is_callable())
    doc: str = ""
    distribution: str = "?"
    version: str = "?"

    @parameters.validator
    def _attrs_class(self, attribute, value):
        if not (isinstance(value, type) and attrs.has(value)):
            raise TypeError(f"parameters of kind {self.kind!r} must be an attrs class, got {value!r}")

    @property
    def summary(self) -> str:
        """The one-line description: ``doc`` or the first line of the parameter class's docstring."""
        text = self.doc or (self.parameters.__doc__ or "").strip()
        return text.splitlines()[0].strip() if text else ""

    def build(self, parameters: Any, context: BuildContext | None = None) -> Any:
        return self.factory(parameters, context or BuildContext())

    def record(self) -> dict[str, str]:
        """Kind, distribution and version, as the store records them."""
        return {"kind": self.kind, "distribution": self.distribution, "version": self.version}


def _announced(entry_point: metadata.EntryPoint) -> list[Component]:
    distribution = entry_point.dist.name if entry_point.dist is not None else "?"
    version = entry_point.dist.version if entry_point.dist is not None else "?"
    where = f"distribution {distribution!r} (entry point {entry_point.name!r} = {entry_point.value!r} in group {GROUP!r})"
    try:
        loaded = entry_point.load()
    except Exception as error:  # a plugin's import error must not look like ours
        raise RegistryError(f"{where} cannot be loaded: {type(error).__name__}: {error}") from error
    items = [loaded] if isinstance(loaded, Component) else loaded
    if not isinstance(items, Iterable) or not all(isinstance(item, Component) for item in items):
        raise RegistryError(f"{where} must point at a s1da.containers.registry.Component or a list of them, got {type(loaded).__name__}")
    return [attrs.evolve(item, distribution=distribution, version=version) for item in items]


@attrs.frozen
class Registry:
    """Components by layer and kind."""

    components: Mapping[tuple[str, str], Component]

    @classmethod
    def from_components(cls, components: Iterable[Component]) -> Registry:
        table: dict[tuple[str, str], Component] = {}
        for component in components:
            key = (component.layer, component.kind)
            if key in table:
                other = table[key]
                raise RegistryError(
                    f"{component.layer} kind {component.kind!r} is registered twice: by distribution "
                    f"{other.distribution!r} {other.version} and by distribution {component.distribution!r} {component.version}"
                )
            table[key] = component
        return cls(table)

    def kinds(self, layer: str) -> dict[str, Component]:
        return {kind: component for (each, kind), component in sorted(self.components.items()) if each == layer}

    def get(self, layer: str, kind: str) -> Component:
        return self.components[(layer, kind)]


def _entry_points() -> list[metadata.EntryPoint]:
    seen, points = set(), []
    for point in metadata.entry_points(group=GROUP):
        # the same distribution can be visible twice (an editable install next to a checkout)
        key = (point.dist.name if point.dist else None, point.name, point.value)
        if key not in seen:
            seen.add(key)
            points.append(point)
    return points


_in_use: list[Registry] = []


def registry() -> Registry:
    """The registry in use: the installed distributions', or one extended by :func:`registered`."""
    return _in_use[-1] if _in_use else installed()


@contextlib.contextmanager
def registered(*components: Component) -> Iterator[Registry]:
    """Use the installed kinds plus ``components`` inside the block (tests, notebooks, prototypes).

    A plugin under development can be tried without installing it; clashes are errors as for
    installed distributions.
    """
    extended = Registry.from_components([*registry().components.values(), *components])
    _in_use.append(extended)
    try:
        yield extended
    finally:
        _in_use.remove(extended)


@functools.cache
def installed() -> Registry:
    """The registry of every installed distribution (loaded once per process)."""
    points = _entry_points()
    if not any(point.dist is not None and point.dist.name == "s1da" for point in points):
        raise RegistryError(
            f"the installed s1da announces no components in the entry-point group {GROUP!r}: its "
            "metadata predates the registry of kinds; reinstall it (pip install -e .)"
        )
    return Registry.from_components(component for point in points for component in _announced(point))
