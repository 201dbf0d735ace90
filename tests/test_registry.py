"""The one registry of kinds: built-ins through s1da's own entry point, plugin errors name the distribution."""

import types

import attrs
import pytest

from s1da.containers import registry as registry_module
from s1da.containers.catalogue import describe_kinds, options
from s1da.containers.registry import LAYERS, BuildContext, Component, Registry, RegistryError, registered, registry
from s1da.framework.interfaces import Filter, ObservationOperator

COMPONENTS = sorted(registry().components.values(), key=lambda component: (component.layer, component.kind))
INTERFACES = {"filter": Filter, "operator": ObservationOperator}


def test_builtins_come_from_the_s1da_entry_point():
    builtin = {(c.layer, c.kind) for c in COMPONENTS if c.distribution == "s1da"}
    assert {("model", "gleam"), ("filter", "denkf"), ("operator", "wcm"), ("source", "twin"), ("perturbation", "forcing")} <= builtin
    assert all(c.version not in ("", "?") for c in COMPONENTS)


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: f"{c.layer}.{c.kind}")
def test_every_registered_component_declares_its_metadata(component):
    """As landlab checks its components: layer, doc, typed options with units, interface."""
    assert component.layer in LAYERS and component.kind.isidentifier()
    assert component.summary, "one-line doc (parameter class docstring or Component.doc)"
    declared = list(options(component.parameters))
    for option in declared:
        assert option.type, option.key
        if option.type.startswith("a number"):
            assert option.units, f"{component.kind}: numeric option {option.key} declares no units"
    keys = [option.key for option in declared]
    assert len(keys) == len(set(keys))
    if component.layer in INTERFACES:  # filters and operators are their own parameter objects
        built = component.build(component.parameters(), BuildContext())
        assert isinstance(built, INTERFACES[component.layer])


@attrs.frozen
class _Options:
    """A test kind."""

    size: float = attrs.field(default=1.0, metadata={"units": "mm"})


def _point(name, loaded=None, error=None, distribution="s1da-test-plugin"):
    def load():
        if error is not None:
            raise error
        return loaded

    return types.SimpleNamespace(
        name=name, value=f"{distribution.replace('-', '_')}:THING", dist=types.SimpleNamespace(name=distribution, version="9.9"), load=load
    )


def test_plugin_that_cannot_be_imported_names_the_distribution():
    with pytest.raises(RegistryError, match="s1da-test-plugin.*cannot be loaded.*ModuleNotFoundError"):
        registry_module._announced(_point("broken", error=ModuleNotFoundError("No module named 'numpyy'")))


def test_plugin_pointing_at_something_else_names_the_distribution():
    with pytest.raises(RegistryError, match="s1da-test-plugin.*must point at"):
        registry_module._announced(_point("odd", loaded=[1, 2]))


def test_conflicting_kinds_name_both_distributions():
    ours = registry_module._announced(_point("a", Component("model", "bucket", _Options, lambda p, c: p), distribution="first-plugin"))
    theirs = registry_module._announced(_point("b", [Component("model", "bucket", _Options, lambda p, c: p)], distribution="second-plugin"))
    with pytest.raises(RegistryError, match="model kind 'bucket' is registered twice.*first-plugin.*second-plugin"):
        Registry.from_components(ours + theirs)


def test_component_declaration_is_checked():
    with pytest.raises(ValueError):
        Component("modle", "x", _Options, lambda p, c: p)
    with pytest.raises(TypeError, match="attrs class"):
        Component("model", "x", dict, lambda p, c: p)


def test_stale_metadata_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(registry_module, "_entry_points", lambda: [])
    registry_module.installed.cache_clear()
    try:
        with pytest.raises(RegistryError, match="reinstall"):
            registry_module.registry()
    finally:
        monkeypatch.undo()
        registry_module.installed.cache_clear()


def test_registered_kinds_are_used_inside_the_block_only():
    extra = Component("model", "test_only_bucket", _Options, lambda p, c: p, distribution="here", version="0")
    with registered(extra) as extended:
        assert registry() is extended and registry().get("model", "test_only_bucket") is extra
        with pytest.raises(RegistryError, match="registered twice"):
            with registered(extra):
                pass
    assert "test_only_bucket" not in registry().kinds("model")


def test_catalogue_lists_every_kind_with_keys_units_and_defaults():
    text = describe_kinds(registry())
    for component in COMPONENTS:
        assert f"  {component.kind}  ({component.distribution} {component.version})" in text
    assert "inflation: a number, default 1.0 [1]" in text
    assert "incidence_angle_deg" in text and "[degree]" in text


def test_broken_plugin_at_the_cli_is_one_line_naming_the_distribution(monkeypatch, capsys):
    from s1da.containers.cli import main

    real = registry_module._entry_points()
    broken = _point("broken", error=ImportError("cannot import name 'Model' from 'broken_plugin'"), distribution="broken-plugin")
    monkeypatch.setattr(registry_module, "_entry_points", lambda: [*real, broken])
    registry_module.installed.cache_clear()
    try:
        assert main(["kinds"]) == 2
        error = capsys.readouterr().err.strip()
        assert "\n" not in error and "distribution 'broken-plugin'" in error and "cannot be loaded" in error
    finally:
        monkeypatch.undo()
        registry_module.installed.cache_clear()
