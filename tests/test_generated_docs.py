"""The documentation the code defines is generated from it (`make docs`) and never stale."""

from __future__ import annotations

import pytest

from cli import docs
from components import COMPONENTS


@pytest.mark.parametrize("path", docs.DOCUMENTS, ids=lambda path: path.name)
def test_generated_parts_are_current(path: object) -> None:
    text = path.read_text()  # type: ignore[attr-defined]
    assert docs.render(text) == text, f"{path} is stale: run `make docs`"


def test_each_component_and_type_has_a_reference_table() -> None:
    schema = docs._component_schema()
    expected = {f"{c.__name__} reference" for c in COMPONENTS}
    expected |= {f"{name} reference" for name in schema["type_definitions"]}
    assert set(docs.regions(docs.ROOT / "docs" / "components.md")) == expected


def test_every_document_with_a_generated_part_is_listed() -> None:
    marked = {
        path
        for path in [
            docs.ROOT / "README.md",
            *docs.ROOT.glob("docs/*.md"),
            *docs.ROOT.glob("*/README.md"),
        ]
        if docs.regions(path)
    }
    assert marked == set(docs.DOCUMENTS)


def test_a_stale_part_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docs, "GENERATORS", {**docs.GENERATORS, "config table": lambda _: "new"})
    assert docs.ROOT / "README.md" in docs.stale_documents()
