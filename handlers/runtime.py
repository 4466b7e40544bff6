"""Lambda plumbing shared by the stages: AWS clients, logger, metrics, the batch loop.

boto3 and Powertools are imported on first use, never at module import, so the CLIs and the
pure logic load without them and a stage pays only for what it touches.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from contract import metrics as metrics_names
from contract import settings as env
from contract import stages
from contract.errors import DocumentError, InvalidEnvelopeError, ObjectNotFoundError
from contract.layout import Prefix, archived_key
from contract.messages import Document, Source, parse_document

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

RecordHandler = Callable[["SQSRecord"], None]
Rejecter = Callable[[Source, DocumentError], None]
Unit = Literal["Count", "Milliseconds", "Percent", "Bytes"]

# The document the record in hand is about, once a stage knows it: a document error then
# settles that document as rejected instead of retrying the message.
_document: ContextVar[Source | None] = ContextVar("docpipe_document", default=None)


class Handoff(Protocol):
    """How a stage passes a document on: the next queue, or a workflow step's output."""

    def send(self, document: Document) -> None: ...

    def replay_ends(self, status: str) -> bool:
        """Does a document found at `status` (past this stage) end here as a replay?"""
        ...

    def refused(self, source: Source, error: DocumentError) -> None:
        """The document stops here: it was settled as rejected."""
        ...


class QueueHandoff:
    """Send to the next stage's queue (the stack names it in the environment)."""

    def send(self, document: Document) -> None:
        client("sqs").send_message(
            QueueUrl=env.NEXT_QUEUE_URL.read(), MessageBody=document.to_json()
        )

    def replay_ends(self, status: str) -> bool:
        # A stage records its status after sending: the next queue has the document.
        return True

    def refused(self, source: Source, error: DocumentError) -> None:
        pass  # nothing was sent, and the message is done


_QUEUE_HANDOFF = QueueHandoff()
# None: the queue hand-off (a ContextVar default must not be a mutable object).
_handoff: ContextVar[Handoff | None] = ContextVar("docpipe_handoff", default=None)


def _current_handoff() -> Handoff:
    return _handoff.get() or _QUEUE_HANDOFF


@contextmanager
def handing_off(handoff: Handoff) -> Iterator[Handoff]:
    """Within this block, stages pass documents on through `handoff` (a workflow step)."""
    token = _handoff.set(handoff)
    try:
        yield handoff
    finally:
        _handoff.reset(token)


def replay_ends(status: str) -> bool:
    return _current_handoff().replay_ends(status)


@functools.cache
def client(service: str) -> Any:
    """One client per service per process (a warm Lambda reuses it).

    boto3 reads AWS_ENDPOINT_URL itself, which is how local mode points it at the emulator.
    """
    import boto3

    return boto3.session.Session().client(service)  # type: ignore[call-overload]


def get_object(bucket: str, key: str, version_id: str | None = None) -> dict[str, Any]:
    """S3 GetObject; a missing object or version is bad input, not a crash.

    S3 answers a missing key with 403 AccessDenied, not 404 NoSuchKey, when the caller may
    not s3:ListBucket (so it cannot learn which keys exist); no function here has that on
    its read prefixes, so a deleted upload arrives as AccessDenied:
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html#API_GetObject_RequestSyntax
    """
    from botocore.exceptions import ClientError

    request = {"Bucket": bucket, "Key": key}
    if version_id:
        request["VersionId"] = version_id
    try:
        return dict(client("s3").get_object(**request))
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        source = f"s3://{bucket}/{key}"
        if code in {"NoSuchKey", "NoSuchVersion", "404"}:
            raise ObjectNotFoundError(f"object not found ({code})", source) from exc
        if code in {"AccessDenied", "403"}:
            raise ObjectNotFoundError(
                f"object missing or not readable by this function ({code})", source
            ) from exc
        raise


def put_text(bucket: str, key: str, text: str) -> None:
    client("s3").put_object(
        Bucket=bucket, Key=key, Body=text.encode("utf-8"), ContentType="text/plain; charset=utf-8"
    )


def archive_upload(source: Source, area: Prefix) -> str:
    """Move the upload's version out of `incoming/` into `area` (copy, then delete exactly
    that version, so a newer upload under the same key stays); the key it is kept under.

    Idempotent: when the version is gone already (an earlier try moved it), nothing happens.
    """
    from botocore.exceptions import ClientError

    kept = archived_key(area, source.key)
    if source.version_id is None:
        return kept  # an unversioned upload cannot be moved safely: a newer one could go
    s3 = client("s3")
    try:
        s3.copy_object(
            Bucket=source.bucket,
            Key=kept,
            CopySource={"Bucket": source.bucket, "Key": source.key, "VersionId": source.version_id},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "NoSuchVersion", "404"}:
            return kept
        raise
    s3.delete_object(Bucket=source.bucket, Key=source.key, VersionId=source.version_id)
    return kept


def forward(document: Document) -> None:
    """Hand the document to the next stage: its queue, or the workflow (`handing_off`)."""
    _current_handoff().send(document)


def read_document(record: SQSRecord) -> Document:
    """The document message a record carries, about an object in this pipeline's bucket (a
    message naming another bucket is misrouted or forged: refused, never followed)."""
    document = parse_document(record.body)
    bucket = env.BUCKET.read()
    if document.source.bucket != bucket:
        raise InvalidEnvelopeError(
            f"names bucket {document.source.bucket!r}, not this pipeline's {bucket!r}",
            f"document {document.doc_id}",
        )
    identify(document.source)
    return document


def take(record: SQSRecord, stage: str) -> Document | None:
    """The record's document, or None when the ledger shows the stage already passed it on
    (SQS delivers at least once: the work and the hand-off happened). A workflow step ends
    only at a settled document: an unsettled one is done again (`Handoff.replay_ends`)."""
    from handlers import ledger

    document = read_document(record)
    status = ledger.passed(document.doc_id, stage)
    if status is not None and replay_ends(status):
        logger(stage).info("replay: already passed on", extra={"doc_id": document.doc_id})
        count(stage, "Replays")
        return None
    return document


def identify(source: Source) -> None:
    """Name the document this record is about: from here on a document error rejects it."""
    _document.set(source)


def check_stage(stage: str) -> None:
    """The function runs the handler of the stage its configuration names; anything else is
    a deployment bug (one stage's code behind another's queue), failed loudly."""
    configured = env.STAGE.read()
    if configured != stage:
        raise ValueError(f"{env.STAGE.name}={configured!r} but this is the {stage!r} handler")


def reset_clients() -> None:
    """Forget cached clients (tests start a fresh emulator per test)."""
    client.cache_clear()


@functools.cache
def logger(stage: str) -> Logger:
    from aws_lambda_powertools import Logger

    return Logger(service=_service(stage))


@functools.cache
def metrics(stage: str) -> Metrics:
    from aws_lambda_powertools import Metrics

    return Metrics(namespace=env.METRICS_NAMESPACE.read(), service=_service(stage))


def _service(stage: str) -> str:
    return os.environ.get(env.SERVICE_NAME.name) or stages.service_name(stage)


def count(stage: str, name: str, value: float = 1, unit: Unit = "Count") -> None:
    metrics(stage).add_metric(name=name, unit=unit, value=value)


@contextmanager
def timed() -> Iterator[Callable[[], int]]:
    """`with timed() as elapsed_ms:` ... `elapsed_ms()` gives whole milliseconds so far."""
    start = time.perf_counter()
    yield lambda: int((time.perf_counter() - start) * 1000)


def run_batch(
    stage: str,
    event: dict[str, Any],
    context: LambdaContext | None,
    handle: RecordHandler,
    reject: Rejecter | None = None,
) -> PartialItemFailureResponse:
    """Process an SQS batch; return `batchItemFailures` naming exactly the failed records.

    A document error about a known document settles it at once: the ledger records it as
    rejected with its reason (`reject`, by default `ledger.reject`), and the message is done.
    Anything else fails the record: it stays in the queue, becomes visible again, and after
    the queue's maxReceiveCount the redrive moves the original message to the DLQ.
    """
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    check_stage(stage)
    log = logger(stage)
    if context is not None and hasattr(context, "aws_request_id"):
        log.append_keys(request_id=context.aws_request_id)

    def record_handler(record: SQSRecord) -> None:
        _handle_record(stage, record, handle, reject or ledger_reject(stage))

    # An entirely failed batch is reported record by record, like a partial one, rather
    # than raised: the outcome (every record retried) is the same and the log is clearer.
    processor = BatchProcessor(EventType.SQS, raise_on_entire_batch_failure=False)
    try:
        return process_partial_response(event, record_handler, processor, context)
    finally:
        metrics(stage).flush_metrics()


def ledger_reject(stage: str) -> Rejecter:
    def reject(source: Source, error: DocumentError) -> None:
        from handlers import ledger

        ledger.reject(source, stage, error)

    return reject


@dataclass
class Outcome:
    rejected: bool = False


@contextmanager
def settling(stage: str, reject: Rejecter) -> Iterator[Outcome]:
    """Run one document's work: a document error about a known document settles it as
    rejected (and is not raised); anything else propagates, so the message is retried."""
    outcome = Outcome()
    token = _document.set(None)
    try:
        yield outcome
    except DocumentError as exc:
        source = _document.get()
        # A message that is not a valid envelope may come from a newer deploy (retrying may
        # succeed) and one about no known document has nothing to settle: both are retried.
        if source is None or isinstance(exc, InvalidEnvelopeError):
            raise
        reject(source, exc)
        _current_handoff().refused(source, exc)
        fields = {"doc_id": source.doc_id, "error": str(exc), "error_type": type(exc).__name__}
        logger(stage).warning("document rejected", extra=fields)
        count(stage, metrics_names.RECORDS_REJECTED)
        outcome.rejected = True
    finally:
        _document.reset(token)


def _handle_record(stage: str, record: SQSRecord, handle: RecordHandler, reject: Rejecter) -> None:
    log = logger(stage)
    try:
        with timed() as elapsed_ms, settling(stage, reject) as outcome:
            handle(record)
    except Exception as exc:
        message = "bad message" if isinstance(exc, DocumentError) else "record failed"
        log.exception(message, extra=_error_fields(record, exc))
        count(stage, metrics_names.RECORDS_FAILED)
        raise
    if not outcome.rejected:
        count(stage, metrics_names.RECORDS_PROCESSED)
    count(stage, metrics_names.RECORD_DURATION, elapsed_ms(), "Milliseconds")


def _error_fields(record: SQSRecord, error: Exception) -> dict[str, str]:
    return {
        "message_id": record.message_id,
        "error": str(error),
        "error_type": type(error).__name__,
    }
