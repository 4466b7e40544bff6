"""Render the argument and output tables of docs/components.md from the components' schema.

    .venv/bin/python tests/components/components_doc.py    # rewrite the tables in place

The tables come from the same analysis `pulumi package add` runs (TypedDict fields and their
docstrings), so the reference cannot drift from the code; test_components_doc.py checks it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pulumi.provider.experimental.analyzer import Analyzer

from components import COMPONENTS

DOC = Path(__file__).resolve().parents[2] / "docs" / "components.md"
MARKER = re.compile(r"<!-- BEGIN (\w+) reference -->.*?<!-- END \1 reference -->", re.S)


def _type(prop: Any) -> str:
    if prop.ref:
        return prop.ref.split("/")[-1]
    kind = prop.type.value
    if kind == "array" and prop.items is not None:
        return f"list[{_type(prop.items)}]"
    if kind == "object" and prop.additional_properties is not None:
        return f"map[{_type(prop.additional_properties)}]"
    return kind


def _cell(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def _rows(properties: dict[str, Any], mapping: dict[str, str], inputs: bool) -> list[str]:
    rows = []
    for camel, prop in properties.items():
        required = "" if prop.optional or not inputs else " (required)"
        rows.append(f"| `{mapping[camel]}`{required} | {_type(prop)} | {_cell(prop.description)} |")
    return rows


def section(name: str, schema: Any) -> str:
    if name in schema["component_definitions"]:
        definition = schema["component_definitions"][name]
        lines = [f"`docpipe:index:{name}`", "", "| argument | type | meaning and default |",
                 "|---|---|---|"]  # fmt: skip
        lines += _rows(definition.inputs, definition.inputs_mapping, True)
        lines += ["", "| output | type | meaning |", "|---|---|---|"]
        lines += [
            f"| `{definition.outputs_mapping[k]}` | {_type(v)} | {_cell(v.description)} |"
            for k, v in definition.outputs.items()
        ]
    else:
        definition = schema["type_definitions"][name]
        lines = ["| field | type | meaning and default |", "|---|---|---|"]
        lines += _rows(definition.properties, definition.properties_mapping, True)
    return "\n".join([f"<!-- BEGIN {name} reference -->", *lines, f"<!-- END {name} reference -->"])


def render(text: str) -> str:
    schema = Analyzer("docpipe").analyze(COMPONENTS)
    return MARKER.sub(lambda match: section(match.group(1), schema), text)


if __name__ == "__main__":
    DOC.write_text(render(DOC.read_text()))
