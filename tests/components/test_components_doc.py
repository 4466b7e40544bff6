"""docs/components.md's reference tables are generated from the components' schema."""

from __future__ import annotations

import components_doc


def test_components_doc_is_in_sync_with_the_code() -> None:
    text = components_doc.DOC.read_text()
    assert components_doc.render(text) == text, (
        "docs/components.md is stale: run .venv/bin/python tests/components/components_doc.py"
    )


def test_every_component_and_type_has_a_reference_table() -> None:
    names = set(components_doc.MARKER.findall(components_doc.DOC.read_text()))
    assert names == {
        "QueueFunction", "DocumentStore", "ResultsTable", "ScheduledTrigger", "DocumentPipeline",
        "QueueProducerArgs", "PolicyStatementArgs", "PolicyConditionArgs",
        "QueueNotificationArgs", "StageArgs", "CategoryArgs",
    }  # fmt: skip
