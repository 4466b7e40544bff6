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
from typing import TYPE_CHECKING, Any

from contract import settings as env
from contract.errors import DocumentError, InvalidEnvelopeError, ObjectNotFoundError
from contract.messages import Document, parse_document

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

RecordHandler = Callable[["SQSRecord"], None]


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


def forward(document: Document) -> None:
    """Hand the document to the next stage's queue (the stack names it in the environment)."""
    client("sqs").send_message(QueueUrl=env.NEXT_QUEUE_URL.read(), MessageBody=document.to_json())


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
    return document


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
    return os.environ.get(env.SERVICE_NAME.name) or f"docpipe-{stage}"


def count(stage: str, name: str, value: float = 1, unit: MetricUnit | str = "Count") -> None:
    metrics(stage).add_metric(name=name, unit=unit, value=value)


@contextmanager
def timed() -> Iterator[Callable[[], int]]:
    """`with timed() as elapsed_ms:` ... `elapsed_ms()` gives whole milliseconds so far."""
    start = time.perf_counter()
    yield lambda: int((time.perf_counter() - start) * 1000)


def run_batch(
    stage: str, event: dict[str, Any], context: LambdaContext | None, handle: RecordHandler
) -> PartialItemFailureResponse:
    """Process an SQS batch; return `batchItemFailures` naming exactly the failed records.

    Failed records stay in the queue, become visible again, and after the queue's
    maxReceiveCount the redrive moves the original message to the DLQ: nothing is dropped.
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
        _handle_record(stage, record, handle)

    # An entirely failed batch is reported record by record, like a partial one, rather
    # than raised: the outcome (every record retried) is the same and the log is clearer.
    processor = BatchProcessor(EventType.SQS, raise_on_entire_batch_failure=False)
    try:
        return process_partial_response(event, record_handler, processor, context)
    finally:
        metrics(stage).flush_metrics()


def _handle_record(stage: str, record: SQSRecord, handle: RecordHandler) -> None:
    log = logger(stage)
    try:
        with timed() as elapsed_ms:
            handle(record)
    except DocumentError as exc:
        log.warning(
            "bad input",
            extra={
                "message_id": record.message_id,
                "error": str(exc),
                "error_type": type(exc).__name__,
            },
        )
        count(stage, "RecordsRejected")
        raise
    except Exception:
        log.exception("record failed", extra={"message_id": record.message_id})
        count(stage, "RecordsFailed")
        raise
    count(stage, "RecordsProcessed")
    count(stage, "RecordDuration", elapsed_ms(), "Milliseconds")
