"""End to end on a folder mixing every kind the first stage reads, all of them real files
(tests/handlers/documents/README.md says where each comes from), with archives expanded:
each document is answered (done with a category, or rejected with its reason), an e-mail's
attachment and a ZIP's members are documents of their own, nothing is lost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from local.run import Report, document_files, run_documents
from local.runtime import RuntimeOptions
from local.session import LocalSession, SessionOptions

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

DOCUMENTS = Path(__file__).resolve().parents[1] / "handlers" / "documents"
# Real files that are broken: each refused by its own kind's reader, with the reason.
BROKEN = {
    "cpython-msg31-broken-boundary.eml": "CorruptEmailError",
    "odfpy-external-entity.odt": "CorruptOdtError",
}
CHILDREN = {
    "quarterly-report.eml > report.pdf",
    "report-bundle.zip > report.odt",
    "report-bundle.zip > report.pdf",
    "report-bundle.zip > report.txt",
}
# The project's own report in every form it was written in: all read as the same report.
REPORTS = {
    "report.odt", "report.docx", "report-cp1252.txt", "report-utf16.txt", "report-source.html",
    *CHILDREN,
}  # fmt: skip


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Report]:
    files = document_files([DOCUMENTS])
    runtime = RuntimeOptions(schedule_interval_s=0, log_dir=tmp_path_factory.mktemp("logs"))
    options = SessionOptions(config_overrides={"expandArchives": "true"}, runtime=runtime)
    with LocalSession(options) as session:
        yield run_documents(session, files, timeout_s=240)


def test_every_document_is_answered_and_nothing_is_lost(mixed_run: Report) -> None:
    assert mixed_run.answered
    assert mixed_run.lost == 0
    assert sum(mixed_run.dlq.values()) == 0


def test_attachments_and_members_are_documents_of_their_own(mixed_run: Report) -> None:
    documents = {Path(d.source).name: d for d in mixed_run.documents}
    assert set(documents) >= CHILDREN
    assert all(documents[name].status == "done" for name in CHILDREN)


def test_each_kind_gets_its_category(mixed_run: Report) -> None:
    documents = {Path(d.source).name: d for d in mixed_run.documents}
    done = {name: d for name, d in documents.items() if d.status == "done"}
    assert set(done) == set(documents) - set(BROKEN)
    assert all(d.category for d in done.values())
    assert {name: done[name].category for name in REPORTS} == dict.fromkeys(REPORTS, "report")


def test_broken_files_are_rejected_with_their_reason(mixed_run: Report) -> None:
    documents = {Path(d.source).name: d for d in mixed_run.documents}
    for name, error_type in BROKEN.items():
        assert documents[name].status == "rejected"
        assert (documents[name].reason or "").startswith(f"ocr: {error_type}: ")
