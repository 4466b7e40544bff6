"""Render the config reference table of README.md and docs/configuration.md from Pulumi.yaml.

    .venv/bin/python tests/stack/config_doc.py     # rewrite both tables in place

test_stack_config.py fails when either file and Pulumi.yaml disagree.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

PROJECT_DIR = Path(__file__).resolve().parents[2]
DOCS = (PROJECT_DIR / "README.md", PROJECT_DIR / "docs" / "configuration.md")
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


def current(doc: Path) -> str:
    text = doc.read_text()
    return text[text.index(BEGIN) : text.index(END) + len(END)]


def write() -> None:
    for doc in DOCS:
        doc.write_text(doc.read_text().replace(current(doc), table()))


if __name__ == "__main__":
    write()
