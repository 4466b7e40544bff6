"""`docpipe local run`: upload documents, wait until each is settled, report, tear down.

A document is settled when its ledger item says `done` or `rejected` (with the reason), or a
DLQ holds a message about it (`dead-lettered`; with the Step Functions orchestration also a
failed execution about it, `local.executions`). When the wait ends, a document the ledger
knows but has not settled, or whose message is still in flight, is `in-progress`; `lost`
counts only uploads with no trace at all. Each poll reads the ledger items of the documents
still unsettled (BatchGetItem), so its cost does not grow with the table.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from contract import ledger
from contract.layout import INCOMING
from contract.ledger import Attr
from contract.messages import doc_id_for, doc_id_in
from handlers.formats.model import SUFFIXES
from local import executions
from local.metrics import queued_doc_ids
from local.session import LocalSession

# What `local run DIR` picks up from a directory (files named explicitly are always sent).
DOCUMENT_SUFFIXES = frozenset(s for suffixes in SUFFIXES.values() for s in suffixes)
# A DLQ message stays hidden this long once seen, so each poll sees new ones only.
DLQ_HOLD_S = 600
# Where failed executions count among the dead letters.
WORKFLOW = "workflow"


@dataclass(frozen=True)
class Input:
    """A file to upload and the key it gets."""

    path: Path
    key: str


class KeyCollision(ValueError):
    """Two different files would be uploaded under one key."""


@dataclass
class Upload:
    source: str
    key: str
    etag: str
    version_id: str | None
    doc_id: str


SETTLED = (ledger.DONE, ledger.REJECTED)


@dataclass
class DocumentResult:
    source: str
    key: str
    doc_id: str
    status: str  # "done", "rejected", "dead-lettered", "in-progress" or "lost"
    reason: str | None = None  # why it was rejected or dead-lettered
    category: str | None = None
    confidence: float | None = None
    pages: int | None = None
    summary: str | None = None
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Report:
    documents: list[DocumentResult]
    dlq: dict[str, int]
    lost: int
    elapsed_s: float

    @property
    def answered(self) -> bool:
        """Every document settled: done, or rejected with its reason."""
        return all(d.status in SETTLED for d in self.documents)

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents": [asdict(d) for d in self.documents],
            "dlq": dict(self.dlq),
            "lost": self.lost,
            "elapsed_s": round(self.elapsed_s, 2),
        }


@dataclass
class Progress:
    """What the progress display shows on each tick."""

    settled: int
    total: int
    invocations: dict[str, int]
    dead_lettered: int
    last_error: str | None


def document_files(paths: Iterable[Path]) -> list[Path]:
    return [item.path for item in inputs(paths)]


def inputs(paths: Iterable[Path], prefix: str = INCOMING.path) -> list[Input]:
    """The files to upload and their keys: a file named explicitly keeps its name
    (`a/b/x.pdf` -> `incoming/x.pdf`); a directory's documents keep their path below it
    (`docs/2024-01/scan.png` -> `incoming/2024-01/scan.png`). The same file given twice is
    uploaded twice; two different files that would get one key are refused (KeyCollision),
    never one silently overwriting the other."""
    found: list[Input] = []
    for path in paths:
        if path.is_dir():
            found += [
                Input(p, prefix + p.relative_to(path).as_posix())
                for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix.lower() in DOCUMENT_SUFFIXES
            ]
        elif path.is_file():
            found.append(Input(path, prefix + path.name))
        else:
            raise FileNotFoundError(f"no such file or directory: {path}")
    _refuse_collisions(found)
    return found


def _refuse_collisions(found: list[Input]) -> None:
    sources: dict[str, set[Path]] = {}
    for item in found:
        sources.setdefault(item.key, set()).add(item.path.resolve())
    clashes = {key: paths for key, paths in sources.items() if len(paths) > 1}
    if clashes:
        described = "; ".join(
            f"{key} <- {', '.join(sorted(str(p) for p in paths))}" for key, paths in clashes.items()
        )
        raise KeyCollision(
            f"different files would be uploaded under the same key: {described} "
            "(give their directory instead, which keeps relative paths, or rename them)"
        )


def upload(
    session: LocalSession, files: Iterable[Path | Input], prefix: str = INCOMING.path
) -> list[Upload]:
    """PutObject each file as the operator; S3's notification queues it for the first stage.
    A bare path is uploaded under its name."""
    s3, bucket = session.client("s3"), session.outputs["bucket_name"]
    uploads = []
    for item in files:
        path, key = (item.path, item.key) if isinstance(item, Input) else (item, prefix + item.name)
        response = s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
        etag = response["ETag"].strip('"')
        uploads.append(
            Upload(str(path), key, etag, response.get("VersionId"), doc_id_for(bucket, key, etag))
        )
    return uploads


class Watcher:
    """Reads the ledger items of unsettled uploads and the DLQs until every upload is settled
    or time runs out."""

    BATCH = 100  # BatchGetItem's most keys per request

    def __init__(self, session: LocalSession) -> None:
        self.session = session
        self.items: dict[str, dict[str, Any]] = {}
        # DLQ stage -> message id -> doc id (None when the message names no document)
        self.dead_letters: dict[str, dict[str, str | None]] = {}
        self._handles: list[tuple[str, str]] = []
        self._dlq_urls: dict[str, str] = dict(session.outputs.get("dlq_urls") or {})
        self.state_machine: str | None = session.outputs.get("state_machine_arn")

    def poll(self, uploads: list[Upload]) -> None:
        for url_stage, url in self._dlq_urls.items():
            self._read_dlq(url_stage, url)
        if self.state_machine:
            failed = self.dead_letters.setdefault(WORKFLOW, {})
            executions.ended_badly(self.session.client("stepfunctions"), self.state_machine, failed)
        dead = self.dead_doc_ids()
        # an upload sent twice is one document: one key per document
        unsettled = sorted({u.doc_id for u in uploads if not self._settled(u.doc_id, dead)})
        for start in range(0, len(unsettled), self.BATCH):
            self._read_items(unsettled[start : start + self.BATCH])

    def _read_items(self, doc_ids: list[str]) -> None:
        table = self.session.outputs["table_name"]
        request: dict[str, Any] = {
            table: {"Keys": [{ledger.KEY: {"S": d}} for d in doc_ids], "ConsistentRead": True}
        }
        dynamodb = self.session.client("dynamodb")
        while request:
            response = dynamodb.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(table, []):
                self.items[item[ledger.KEY]["S"]] = item
            request = response.get("UnprocessedKeys") or {}

    def _read_dlq(self, stage: str, url: str) -> None:
        sqs, seen = self.session.client("sqs"), self.dead_letters.setdefault(stage, {})
        for _ in range(100):  # bounded: 1,000 dead letters per poll at most
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=DLQ_HOLD_S
            ).get("Messages", [])
            if not messages:
                return
            for message in messages:
                seen[message["MessageId"]] = doc_id_in(message["Body"])
                self._handles.append((url, message["ReceiptHandle"]))

    def release(self) -> None:
        """Make the dead letters visible again (someone may want to redrive them)."""
        sqs = self.session.client("sqs")
        for url, handle in self._handles:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
        self._handles.clear()

    def children(self, uploads: list[Upload]) -> list[Upload]:
        """The documents the ledger says were found inside these (attachments, archive
        members) that are not among them yet."""
        known = {u.doc_id for u in uploads}
        found = []
        for parent in uploads:
            item = self.items.get(parent.doc_id) or {}
            for listed in item.get(Attr.CHILDREN, {}).get("L", []):
                child = {name: value["S"] for name, value in listed["M"].items() if "S" in value}
                if child["doc_id"] not in known:
                    known.add(child["doc_id"])
                    source = f"{parent.source} > {child['name']}"
                    found.append(Upload(source, child["key"], child["etag"], None, child["doc_id"]))
        return found

    def dead_doc_ids(self) -> set[str]:
        return {d for messages in self.dead_letters.values() for d in messages.values() if d}

    def status_of(self, doc_id: str) -> str | None:
        item = self.items.get(doc_id)
        return item.get(Attr.STATUS, {}).get("S") if item else None

    def _settled(self, doc_id: str, dead: set[str]) -> bool:
        status = self.status_of(doc_id)
        return doc_id in dead or (status is not None and ledger.is_settled(status))

    def settled(self, uploads: list[Upload]) -> int:
        dead = self.dead_doc_ids()
        return sum(1 for u in uploads if self._settled(u.doc_id, dead))

    def dlq_counts(self) -> dict[str, int]:
        return {stage: len(messages) for stage, messages in self.dead_letters.items()}


def wait_until_settled(
    session: LocalSession,
    uploads: list[Upload],
    timeout_s: float,
    on_progress: Callable[[Progress], None] | None = None,
    poll_s: float = 0.5,
) -> Watcher:
    """Wait for every upload and every document found inside one (which joins `uploads`)."""
    watcher = Watcher(session)
    deadline = time.monotonic() + timeout_s
    while True:
        watcher.poll(uploads)
        uploads += watcher.children(uploads)
        settled = watcher.settled(uploads)
        if on_progress:
            on_progress(_progress(session, watcher, settled, len(uploads)))
        if settled == len(uploads) or time.monotonic() >= deadline:
            return watcher
        time.sleep(poll_s)


def _progress(session: LocalSession, watcher: Watcher, settled: int, total: int) -> Progress:
    stats = session.runtime.stats if session.runtime else None
    invocations: dict[str, int] = {}
    last_error = None
    if stats:
        with stats.lock:
            for spec in session.topology.functions:
                invocations[spec.stage] = stats.invocations[spec.name]
            last_error = stats.last_errors[-1] if stats.last_errors else None
    dead = sum(watcher.dlq_counts().values())
    return Progress(settled, total, invocations, dead, last_error)


def _number(value: Any) -> float | None:
    raw = (value or {}).get("N")
    return float(Decimal(raw)) if raw is not None else None


def _timings(session: LocalSession, item: dict[str, Any] | None, doc_id: str) -> dict[str, float]:
    """Seconds per stage: the handler's own measure from the item, else enqueue-to-done."""
    if item and "timings_ms" in item:
        return {
            stage: round(float(value["N"]) / 1000, 3)
            for stage, value in item["timings_ms"]["M"].items()
        }
    stats = session.runtime.stats if session.runtime else None
    if stats is None:
        return {}
    with stats.lock:
        return {
            stage: seconds[doc_id]
            for stage, seconds in stats.stage_seconds.items()
            if doc_id in seconds
        }


def build_report(
    session: LocalSession, uploads: list[Upload], watcher: Watcher, elapsed_s: float
) -> Report:
    dead = _dead_letter_reasons(session, watcher)
    in_flight = _in_flight_doc_ids(session)
    if watcher.state_machine:
        sfn = session.client("stepfunctions")
        in_flight |= executions.running_documents(sfn, watcher.state_machine)
    documents = []
    for upload_ in uploads:
        item = watcher.items.get(upload_.doc_id)
        result = _result(upload_, item, dead, in_flight)
        result.timings = _timings(session, item, upload_.doc_id)
        documents.append(result)
    lost = sum(1 for d in documents if d.status == "lost")
    return Report(documents, watcher.dlq_counts(), lost, elapsed_s)


def _dead_letter_reasons(session: LocalSession, watcher: Watcher) -> dict[str, str]:
    """doc id -> why its message was dead-lettered, as its poller noted it."""
    notes = session.runtime.dead_letters if session.runtime else None
    reasons = {}
    for stage, messages in watcher.dead_letters.items():
        for message_id, doc_id in messages.items():
            note = notes.get(message_id) if notes else None
            if doc_id:
                reasons[doc_id] = (
                    f"{stage}: after {note.receive_count} deliveries: {note.reason}"
                    if note
                    else f"{stage}: dead-lettered"
                )
    return reasons


def _result(
    upload_: Upload, item: dict[str, Any] | None, dead: dict[str, str], in_flight: set[str]
) -> DocumentResult:
    result = DocumentResult(upload_.source, upload_.key, upload_.doc_id, "lost")
    status = (item or {}).get(Attr.STATUS, {}).get("S")
    if item is not None and status == ledger.DONE:
        result.status = "done"
        result.category = item.get(Attr.CATEGORY, {}).get("S")
        result.confidence = _number(item.get(Attr.CONFIDENCE))
        pages = _number(item.get("pages"))
        result.pages = int(pages) if pages is not None else None
        result.summary = item.get("summary", {}).get("S")
    elif item is not None and status == ledger.REJECTED:
        result.status = "rejected"
        result.reason = "{}: {}: {}".format(
            *(
                item.get(a, {}).get("S", "?")
                for a in (Attr.ERROR_STAGE, Attr.ERROR_TYPE, Attr.ERROR_MESSAGE)
            )
        )
    elif upload_.doc_id in dead:
        result.status = "dead-lettered"
        result.reason = dead[upload_.doc_id]
    elif item is not None or upload_.doc_id in in_flight:
        result.status = "in-progress"
    return result


def _in_flight_doc_ids(session: LocalSession) -> set[str]:
    """Documents on their way: a message about them waits in a stage's queue or a poller
    holds it (received, not yet settled)."""
    queues = [url.rsplit("/", 1)[-1] for url in session.outputs["queue_urls"].values()]
    waiting = queued_doc_ids(queues)
    stats = session.runtime.stats if session.runtime else None
    if stats is None:
        return waiting
    with stats.lock:
        return waiting | set(stats.in_flight_docs)


def run_documents(
    session: LocalSession,
    files: Sequence[Path | Input],
    timeout_s: float,
    on_progress: Callable[[Progress], None] | None = None,
) -> Report:
    """Upload, wait, report: the part of `local run` between deploy and teardown."""
    started = time.monotonic()
    uploads = upload(session, files)
    watcher = wait_until_settled(session, uploads, timeout_s, on_progress)
    report = build_report(session, uploads, watcher, time.monotonic() - started)
    watcher.release()
    return report
