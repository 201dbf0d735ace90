"""Sphinx directive ``s1da-config-reference``: the configuration reference, generated.

Every kind a YAML section may select is an attrs parameter class; its fields (name, type, default,
units from the field metadata, one-line doc) are the schema.  The directive walks the kinds the
containers know, nested parameter classes included, and renders one table per kind, so the
reference cannot drift from the code.
"""

from __future__ import annotations

import inspect
import typing

import attrs
from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList


def known_kinds() -> dict[str, dict[str, type]]:
    """``{layer: {kind: parameter class}}`` from the containers' one registry of kinds."""
    from s1da.containers.registry import LAYERS, registry

    return {layer: {kind: component.parameters for kind, component in registry().kinds(layer).items()} for layer in LAYERS}


def _type_name(annotation) -> str:
    if annotation is None or annotation is attrs.NOTHING:
        return ""
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _default(field: attrs.Attribute) -> str:
    default = field.default
    if default is attrs.NOTHING:
        return "required"
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        factory = default.factory
        return "(see below)" if attrs.has(factory) else f"{factory.__name__}()"
    return repr(default)


def _doc(field: attrs.Attribute) -> str:
    doc = field.metadata.get("doc") or field.metadata.get("description") or ""
    return " ".join(str(doc).split())


def _cell(text: str) -> str:
    return text.replace("|", "\\|") or " "


def field_rows(cls: type, prefix: str = "") -> tuple[list[str], list[tuple[str, type]]]:
    """Table rows of ``cls``'s init fields and the nested parameter classes to describe after it."""
    rows, nested = [], []
    hints = typing.get_type_hints(cls) if not inspect.isabstract(cls) else {}
    for field in attrs.fields(cls):
        if not field.init:
            continue
        name = f"{prefix}{field.alias or field.name}"
        annotation = hints.get(field.name, field.type)
        units = str(field.metadata.get("units", ""))
        rows.append(
            f"| `{name}` | {_cell(_type_name(annotation))} | {_cell(_default(field))} | {_cell(units)} | {_cell(_doc(field))} |"
        )
        factory = getattr(field.default, "factory", None)
        if factory is not None and attrs.has(factory):
            nested.append((f"{name}.", factory))
    return rows, nested


def kind_markdown(layer: str, kind: str, cls: type) -> list[str]:
    doc = inspect.getdoc(cls) or ""
    summary = doc.split("\n\n")[0].replace("\n", " ")
    lines = [f"### `{layer}: {{kind: {kind}}}`", "", f"{summary} (`{cls.__module__}.{cls.__qualname__}`)", ""]
    queue = [("", cls)]
    while queue:
        prefix, current = queue.pop(0)
        rows, nested = field_rows(current, prefix)
        if prefix:
            lines += [f"Keys under `{prefix[:-1]}` ({current.__qualname__}):", ""]
        if rows:
            lines += ["| key | type | default | units | meaning |", "|---|---|---|---|---|", *rows, ""]
        else:
            lines += ["No options.", ""]
        queue.extend(nested)
    return lines


class ConfigReference(Directive):
    has_content = False

    def run(self):
        lines: list[str] = []
        for layer, kinds in known_kinds().items():
            lines += [f"## Layer `{layer}`", ""]
            for kind, cls in kinds.items():
                lines += kind_markdown(layer, kind, cls)
        container = nodes.section()
        container.document = self.state.document
        parser_lines = StringList(lines, source="s1da-config-reference")
        self.state.nested_parse(parser_lines, self.content_offset, container)
        return container.children


def setup(app):
    app.add_directive("s1da-config-reference", ConfigReference)
    return {"parallel_read_safe": True, "version": "1"}
