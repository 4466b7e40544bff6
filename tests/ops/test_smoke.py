"""`docpipe smoke` against local mode: the real dev stack on the emulator, real functions.

Three deployments: one whose functions run (the test page gets its result), one whose OCR
function cannot find its traineddata (as with a broken layer: the error is reported at once,
from the function's log), and one whose functions do not run (no result: the report says
where the page waits; a dead letter naming the page is reported as the failure).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.runtime import RuntimeOptions
from local.session import LocalSession, SessionOptions
from ops import smoke
from ops.target import Target, from_local_session

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def session_target(session: LocalSession, log_dir: Path) -> Target:
    target = from_local_session(session.outputs, session.environment())
    target.log_dir = str(log_dir)
    return target


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[LocalSession, Path]]:
    logs = tmp_path / "logs"
    options = SessionOptions(runtime=RuntimeOptions(schedule_interval_s=0, log_dir=logs))
    with LocalSession(options) as session:
        yield session, logs


def test_the_test_page_gets_its_result(running: tuple[LocalSession, Path]) -> None:
    session, logs = running
    report = smoke.run(session_target(session, logs), timeout_s=120, poll_s=0.5)
    assert report.ok, report.failure
    assert report.key.startswith("incoming/docpipe-smoke/") and report.key.endswith(".png")
    assert (report.category, report.missing_words) == ("invoice", [])
    assert "Amount due" in (report.text or "")


def test_a_missing_model_is_reported_from_the_function_log(tmp_path: Path) -> None:
    # GIVEN a deployment whose OCR function finds no traineddata (an empty model folder)
    logs, empty = tmp_path / "logs", tmp_path / "no-models"
    empty.mkdir()
    runtime = RuntimeOptions(schedule_interval_s=0, log_dir=logs, tessdata=empty)
    with LocalSession(SessionOptions(runtime=runtime)) as session:
        # WHEN the smoke check runs THEN it fails with the function's own error, long before
        # the retries would dead-letter the page
        report = smoke.run(session_target(session, logs), timeout_s=90, poll_s=0.5)
    assert not report.ok
    assert report.failure is not None and report.failure.startswith("ocr function: ")
    assert "no traineddata for eng" in report.failure
    assert report.seconds < 60


@pytest.fixture(scope="module")
def idle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """A deployment whose functions never run, as when a stage is stopped."""
    logs = tmp_path_factory.mktemp("logs")
    options = SessionOptions(start_runtime=False, runtime=RuntimeOptions(log_dir=logs))
    with LocalSession(options) as session:
        yield session_target(session, logs)


def test_no_result_says_where_the_page_waits(idle: Target) -> None:
    report = smoke.run(idle, timeout_s=2, poll_s=0.5)
    assert not report.ok
    assert report.failure is not None and report.failure.startswith("no result after ")
    assert "ocr 1 queued" in report.failure or "ocr 2 queued" in report.failure  # + TestEvent


def test_a_dead_letter_naming_the_page_is_the_failure(idle: Target) -> None:
    # GIVEN a dead letter in the ocr DLQ that names an upload, as SQS's redrive leaves it
    marker = "0123456789abcdef0123456789abcdef"
    body = json.dumps({"file": f"incoming/docpipe-smoke/{marker}.png"})
    idle.client("sqs").send_message(QueueUrl=idle.dlq_url("ocr"), MessageBody=body)

    # WHEN it is looked for THEN it is found with its stage, and other documents' are not
    found = smoke.dead_letter_for(idle, marker, "no-such-doc-id")
    assert found is not None and found.startswith("dead-lettered by the ocr stage after ")
    assert marker in found
    assert smoke.dead_letter_for(idle, "f" * 32, "no-such-doc-id") is None


# --- log records -----------------------------------------------------------------------------

POWERTOOLS_ERROR = json.dumps({
    "level": "ERROR", "location": "_handle_record:160", "message": "record failed",
    "service": "docpipe-ocr", "message_id": "m1", "exception_name": "TesseractSetupError",
    "exception": "Traceback ... TesseractSetupError: no traineddata for eng",
})  # fmt: skip
REJECTED = json.dumps({
    "level": "WARNING", "message": "bad input", "error": "s3://b/incoming/x.pdf: cannot parse",
    "error_type": "CorruptPdfError",
})  # fmt: skip
INIT_ERROR = json.dumps({
    "timestamp": "2026-12-01T10:00:00Z", "level": "ERROR",
    "message": {"errorMessage": "Unable to import module 'handlers.ocr': No module named "
                "'tesserocr'", "errorType": "Runtime.ImportModuleError", "stackTrace": []},
})  # fmt: skip
TIMEOUT_REPORT = json.dumps({
    "time": "2026-12-01T10:00:00Z", "type": "platform.report",
    "record": {"requestId": "r1", "status": "timeout", "metrics": {"durationMs": 180000}},
})  # fmt: skip
FINE = [
    json.dumps({"level": "INFO", "message": "text extracted", "doc_id": "d"}),
    json.dumps({"type": "platform.report", "record": {"status": "success"}}),
    json.dumps({"_aws": {"CloudWatchMetrics": []}, "RecordsProcessed": [1.0]}),
    "START RequestId: r1 Version: $LATEST",
]


@pytest.mark.parametrize("record", [POWERTOOLS_ERROR, REJECTED, INIT_ERROR, TIMEOUT_REPORT])
def test_failures_in_function_logs_are_recognised(record: str) -> None:
    assert smoke.failure_in(record) == json.dumps(json.loads(record))


@pytest.mark.parametrize("record", FINE)
def test_ordinary_log_records_are_not_failures(record: str) -> None:
    assert smoke.failure_in(record) is None


def test_plain_text_timeouts_are_failures() -> None:
    line = "2026-12-01T10:00:00Z r1 Task timed out after 180.00 seconds"
    assert smoke.failure_in(line) == line
