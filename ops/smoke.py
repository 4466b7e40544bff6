"""`docpipe smoke`: one built-in test page through the deployed pipeline, end to end.

Uploads `smoke_page.png` (a scanned invoice line, 8 KB) under `incoming/docpipe-smoke/` with
a unique name, then waits, within a bound, for one of:
- its result item in the table: success, with the category and the text OCR read;
- a dead letter in any stage's DLQ that names it: the message and its stage;
- an error in a stage function's log since the upload (a layer that fails to import, a
  missing traineddata, a timeout, a rejected document): the log record, at once, instead of
  after max_receive_count retries. On AWS the logs are the functions' log groups; in local
  mode, the files the local runtime writes (the emulator holds no function logs). Run it on
  a quiet pipeline: another document's error in that window is reported too.
If none comes in time, it says where the document waits (each stage's queue counts).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from contract import ledger
from contract.layout import INCOMING, TEXT
from contract.ledger import Attr
from contract.messages import doc_id_for
from ops import operate, results
from ops.target import Target

SMOKE_PAGE = Path(__file__).resolve().with_name("smoke_page.png")
# What the page says: the words OCR must find in it.
SMOKE_WORDS = ("docpipe", "smoke", "Invoice", "2041", "Amount", "due", "EUR", "payment")
SMOKE_PREFIX = f"{INCOMING.path}docpipe-smoke/"
DEFAULT_TIMEOUT_S = 300.0
LOG_PAGES = 5  # CloudWatch pages read per log group and poll; a quiet pipeline needs one


@dataclass
class SmokeReport:
    ok: bool
    key: str
    doc_id: str
    seconds: float
    category: str | None = None
    confidence: float | None = None
    text: str | None = None
    missing_words: list[str] | None = None
    failure: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run(
    target: Target,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    poll_s: float = 2.0,
    logs: LogSource | None = None,
) -> SmokeReport:
    """Send the test page and wait for its result or its failure (see the module doc)."""
    start = time.monotonic()
    logs = logs or log_source(target)
    logs.mark()
    key, doc_id = upload(target)
    marker = key.rsplit("/", 1)[-1].removesuffix(".png")  # a uuid: in every message about it
    while True:
        elapsed = round(time.monotonic() - start, 1)
        item = result_item(target, doc_id)
        if item is not None:
            return _report_result(target, key, doc_id, elapsed, item)
        failure = dead_letter_for(target, marker, doc_id) or logs.first_error()
        if failure:
            return SmokeReport(False, key, doc_id, elapsed, failure=failure)
        if elapsed >= timeout_s:
            return SmokeReport(
                False,
                key,
                doc_id,
                elapsed,
                failure=f"no result after {elapsed:.0f} s; {where(target)}",
            )
        time.sleep(poll_s)


def upload(target: Target) -> tuple[str, str]:
    """Upload the page under a unique key; its key and `doc_id` (from the stored ETag)."""
    bucket = target.outputs["bucket_name"]
    key = f"{SMOKE_PREFIX}{uuid.uuid4().hex}.png"
    s3 = target.client("s3")
    s3.put_object(Bucket=bucket, Key=key, Body=SMOKE_PAGE.read_bytes(), ContentType="image/png")
    etag = str(s3.head_object(Bucket=bucket, Key=key)["ETag"])
    return key, doc_id_for(bucket, key, etag)


def result_item(target: Target, doc_id: str) -> dict[str, Any] | None:
    """The document's ledger item once it is settled (done or rejected), else None."""
    try:
        item = results.show_document(target, doc_id)
    except ValueError:
        return None  # not received yet
    return item if item.get(Attr.STATUS) in (ledger.DONE, ledger.REJECTED) else None


def _report_result(
    target: Target, key: str, doc_id: str, elapsed: float, item: dict[str, Any]
) -> SmokeReport:
    if item[Attr.STATUS] == ledger.REJECTED:
        reason = f"{item.get(Attr.ERROR_TYPE)}: {item.get(Attr.ERROR_MESSAGE)}"
        rejected = f"the {item.get(Attr.ERROR_STAGE)} stage rejected the test page ({reason})"
        return SmokeReport(False, key, doc_id, elapsed, failure=rejected)
    text = _text(target, TEXT.key_for(doc_id))
    missing = [word for word in SMOKE_WORDS if word.lower() not in (text or "").lower()]
    failure = (
        f"OCR missed {', '.join(missing)} on the test page; it read {text!r}" if missing else None
    )
    return SmokeReport(
        failure is None,
        key,
        doc_id,
        elapsed,
        category=str(item.get(Attr.CATEGORY)),
        confidence=float(item[Attr.CONFIDENCE]) if Attr.CONFIDENCE in item else None,
        text=text,
        missing_words=missing,
        failure=failure,
    )


def _text(target: Target, text_key: str) -> str | None:
    try:
        body = target.client("s3").get_object(Bucket=target.outputs["bucket_name"], Key=text_key)
    except ClientError:
        return None
    return str(body["Body"].read().decode("utf-8"))


def dead_letter_for(target: Target, marker: str, doc_id: str) -> str | None:
    """A dead letter in any stage's DLQ that names this document, as the failure to report."""
    for stage in target.stages:
        sqs, url = target.client("sqs"), target.dlq_url(stage)
        attributes = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        if int(attributes.get("ApproximateNumberOfMessages", 0)) == 0:
            continue
        for letter in operate.dlq_show(target, stage, limit=10):
            if marker in letter.body or doc_id in letter.body:
                return (
                    f"dead-lettered by the {stage} stage after {letter.receive_count} receives: "
                    f"{letter.body}"
                )
    return None


def where(target: Target) -> str:
    """Each stage's queue counts: where a document without a result waits."""
    rows = operate.status(target)
    return "queues: " + ", ".join(
        f"{row.stage} {row.queued} queued {row.in_flight} in flight {row.dead_letters} dead"
        for row in rows
    )


# --- function logs -------------------------------------------------------------------------


def failure_in(record: str) -> str | None:
    """The failure a function's log record reports, if it reports one.

    Powertools' records (`level` ERROR for a crashed record, WARNING "bad input" for a
    rejected document), the runtime's own errors (an import error at init, JSON `level`
    ERROR with `errorType`), and Lambda's platform report of a timeout or crash.
    """
    try:
        data = json.loads(record)
    except ValueError:
        return record.strip() if "Task timed out" in record or "[ERROR]" in record else None
    if not isinstance(data, dict):
        return None
    level = str(data.get("level", "")).upper()
    report = data.get("record")
    if not isinstance(report, dict):
        report = {}
    if level in ("ERROR", "CRITICAL") or (
        level == "WARNING" and data.get("message") == "bad input"
    ):
        return json.dumps(data, default=str)
    if str(report.get("status", "")) in ("error", "failure", "timeout"):
        return json.dumps(data, default=str)
    return None


class LogSource:
    """Where the stage functions' log records are; `mark` before the upload."""

    def mark(self) -> None:
        raise NotImplementedError

    def first_error(self) -> str | None:
        raise NotImplementedError


class LocalLogs(LogSource):
    """Local mode: one file per stage in the runtime's log folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.offsets: dict[Path, int] = {}

    def mark(self) -> None:
        self.offsets = {path: path.stat().st_size for path in self.folder.glob("*.log")}

    def first_error(self) -> str | None:
        for path in sorted(self.folder.glob("*.log")):
            with path.open("rb") as log:
                log.seek(self.offsets.get(path, 0))
                for line in log.read().decode("utf-8", "replace").splitlines():
                    failure = failure_in(line)
                    if failure:
                        return f"{path.stem} function: {failure}"
        return None


class CloudWatchLogs(LogSource):
    """A deployed stack: each function's log group (from its logging config)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.start_ms = 0
        self.groups: dict[str, str] = {}

    def mark(self) -> None:
        self.start_ms = int(time.time() * 1000)
        functions = self.target.client("lambda")
        for stage in self.target.stages:
            configuration = functions.get_function_configuration(
                FunctionName=self.target.function_name(stage)
            )
            group = (configuration.get("LoggingConfig") or {}).get("LogGroup")
            self.groups[stage] = group or f"/aws/lambda/{self.target.function_name(stage)}"

    def first_error(self) -> str | None:
        logs = self.target.client("logs")
        for stage, group in self.groups.items():
            request: dict[str, Any] = {"logGroupName": group, "startTime": self.start_ms}
            for _page in range(LOG_PAGES):
                try:
                    response = logs.filter_log_events(**request)
                except ClientError as error:
                    if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                        break  # nothing logged yet
                    raise
                for event in response.get("events", []):
                    failure = failure_in(str(event.get("message", "")))
                    if failure:
                        return f"{stage} function: {failure}"
                if not response.get("nextToken"):
                    break
                request["nextToken"] = response["nextToken"]
        return None


def log_source(target: Target) -> LogSource:
    if target.log_dir is not None:
        return LocalLogs(Path(target.log_dir))
    return CloudWatchLogs(target)
