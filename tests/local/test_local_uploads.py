"""Uploads the first stage must not mistake for one another or for folders, end to end on the
dev stack with the real handlers.

- Two different documents uploaded under one key, one right after the other: S3 events name
  each object's version, so each is read as it was uploaded; both are documents of their own.
- A key ending in "/" is a console folder only when the object is empty: a document stored
  under such a key is processed like any other, the empty folder marker is not.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from localtest import queue_messages, table_items

from local.run import Input, Report, run_documents
from local.runtime import PROJECT_DIR, RuntimeOptions
from local.session import LocalSession, SessionOptions

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SAMPLES = PROJECT_DIR / "samples"


@dataclass
class Run:
    report: Report
    items: list[dict[str, Any]]
    dead_letters: list[dict[str, Any]]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    folder = tmp_path_factory.mktemp("uploads")
    options = SessionOptions(
        stack="dev", runtime=RuntimeOptions(schedule_interval_s=0, log_dir=folder / "logs")
    )
    with LocalSession(options) as session:
        # The folder marker first: it is no document, so the run does not wait for it.
        session.client("s3").put_object(
            Bucket=session.outputs["bucket_name"], Key="incoming/scans/", Body=b""
        )
        documents = [
            Input(SAMPLES / "invoice.jpg", "incoming/same.pdf"),
            Input(SAMPLES / "contract.pdf", "incoming/same.pdf"),
            Input(SAMPLES / "letter.png", "incoming/odd name/"),
        ]
        report = run_documents(session, documents, timeout_s=180)
        yield Run(
            report,
            table_items(session),
            queue_messages(session, session.outputs["dlq_urls"]["ocr"]),
        )


def test_two_documents_uploaded_under_one_key_are_both_processed(run: Run) -> None:
    same = [d for d in run.report.documents if d.key == "incoming/same.pdf"]
    assert [d.status for d in same] == ["done", "done"]
    assert [d.category for d in same] == ["invoice", "contract"]  # each read as uploaded
    assert len({d.doc_id for d in same}) == 2
    items = [i for i in run.items if i["source_key"]["S"] == "incoming/same.pdf"]
    assert len(items) == 2
    assert len({i["source_version_id"]["S"] for i in items}) == 2


def test_a_document_under_a_key_ending_in_a_slash_is_processed(run: Run) -> None:
    (odd,) = [d for d in run.report.documents if d.key == "incoming/odd name/"]
    assert (odd.status, odd.category) == ("done", "letter")


def test_an_empty_folder_marker_is_no_document(run: Run) -> None:
    assert [i for i in run.items if i["source_key"]["S"] == "incoming/scans/"] == []
    assert run.dead_letters == []
    assert run.report.lost == 0
