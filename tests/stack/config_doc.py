"""Render docs/configuration.md's reference table from Pulumi.yaml.

    .venv/bin/python tests/stack/config_doc.py     # rewrite the table in place

test_stack_config.py fails when the file and Pulumi.yaml disagree.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

PROJECT_DIR = Path(__file__).resolve().parents[2]
DOC = PROJECT_DIR / "docs" / "configuration.md"
BEGIN = "<!-- BEGIN config table: generated from Pulumi.yaml by tests/stack/config_doc.py -->"
END = "<!-- END config table -->"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def table() -> str:
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
    lines = ["| key | type | default | description |", "|---|---|---|---|"]
    for key, spec in project["config"].items():
        default = spec["default"]
        shown = default if isinstance(default, str) else json.dumps(default)
        lines.append(
            f"| `docpipe:{key}` | {spec['type']} | `{_cell(shown) or chr(34) * 2}` "
            f"| {_cell(spec['description'])} |"
        )
    return "\n".join([BEGIN, *lines, END])


def current() -> str:
    text = DOC.read_text()
    return text[text.index(BEGIN) : text.index(END) + len(END)]


def write() -> None:
    text = DOC.read_text()
    DOC.write_text(text.replace(current(), table()))


if __name__ == "__main__":
    write()
