"""OCR stage: an uploaded document in `incoming/` -> `text/{doc_id}.txt` -> summarize queue.

Lambda entry point: `handlers.ocr.lambda_handler`. Fed by the ocr queue (S3 notifications,
the sweep's `ocr.request` messages, manual `{"file": ...}` messages); also accepts the
console test event `{"file": "incoming/key"}` invoked directly.

Debugging without AWS: `python -m handlers.ocr FILE` prints the extracted text as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from handlers import config, runtime
from handlers.envelope import (
    ObjectRef,
    Source,
    TextReady,
    parse_ocr_event,
    parse_ocr_message,
    to_json,
)
from handlers.errors import DocumentError, DocumentTooLargeError, InvalidEnvelopeError

STAGE = "ocr"


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if _is_sqs_batch(event):
        return runtime.run_batch(STAGE, event, context, handle_message)
    # Direct invocation (console test event, or an S3 event without a queue): no batch to
    # report on, so a bad document raises and the invocation fails visibly.
    try:
        done = [process_object(ref) for ref in parse_ocr_event(event, config.default_bucket())]
    finally:
        runtime.metrics(STAGE).flush_metrics()
    return {"processed": [envelope.to_dict() for envelope in done]}


def _is_sqs_batch(event: dict[str, Any]) -> bool:
    records = event.get("Records")
    return (
        bool(records) and isinstance(records, list) and records[0].get("eventSource") == "aws:sqs"
    )


def handle_message(body: str) -> None:
    for ref in parse_ocr_message(body, config.default_bucket()):
        process_object(ref)


def process_object(ref: ObjectRef) -> TextReady:
    """OCR one uploaded object, store its text, and tell the summarize stage."""
    from handlers.ocr_engine import extract_text

    prefixes = config.Prefixes.from_env()
    limits = config.OcrLimits.from_env()
    where = f"s3://{ref.bucket}/{ref.key}"
    if not ref.key.startswith(prefixes.incoming):
        raise InvalidEnvelopeError(f"key is not under {prefixes.incoming!r}", where)
    with runtime.timed() as elapsed_ms:
        data, source = _download(ref, limits.max_bytes, where)
        result = extract_text(data, where, limits)
        text_key = f"{prefixes.text}{source.doc_id}.txt"
        runtime.client("s3").put_object(
            Bucket=source.bucket,
            Key=text_key,
            Body=result.text.encode("utf-8"),
            ContentType="text/plain; charset=utf-8",
        )
    envelope = TextReady(
        doc_id=source.doc_id,
        source=source,
        text_key=text_key,
        pages=result.pages,
        ocr_confidence=result.confidence,
        timings_ms={"ocr": elapsed_ms()},
    )
    runtime.client("sqs").send_message(
        QueueUrl=config.next_queue_url(), MessageBody=to_json(envelope)
    )
    _record(envelope, result.ocr_pages, ref.origin)
    return envelope


def _download(ref: ObjectRef, max_bytes: int, where: str) -> tuple[bytes, Source]:
    """The object's bytes and identity; the size is checked before the body is read."""
    response = runtime.get_object(ref.bucket, ref.key, ref.version_id)
    size = int(response.get("ContentLength", 0))
    if size > max_bytes:
        response["Body"].close()
        raise DocumentTooLargeError(f"{size} bytes exceeds the {max_bytes} limit", where)
    data = response["Body"].read()
    # The ETag of the bytes we read, not the event's: a manual event has none, and an
    # overwrite between event and read must give the new version its own doc_id.
    source = Source(
        bucket=ref.bucket,
        key=ref.key,
        etag=str(response["ETag"]).strip('"'),
        version_id=response.get("VersionId") or ref.version_id,
    )
    return data, source


def _record(envelope: TextReady, ocr_pages: int, origin: str) -> None:
    runtime.logger(STAGE).info(
        "text extracted",
        extra={
            "doc_id": envelope.doc_id,
            "key": envelope.source.key,
            "pages": envelope.pages,
            "ocr_pages": ocr_pages,
            "confidence": envelope.ocr_confidence,
            "origin": origin,
            "ms": envelope.timings_ms["ocr"],
        },
    )
    runtime.count(STAGE, "Pages", envelope.pages)
    runtime.count(STAGE, "OcrPages", ocr_pages)
    runtime.count(STAGE, "OcrConfidence", envelope.ocr_confidence * 100, "Percent")
    runtime.count(STAGE, "OcrDuration", envelope.timings_ms["ocr"], "Milliseconds")


def main(argv: list[str]) -> int:
    """`python -m handlers.ocr FILE`: extract a local file's text (any accepted kind), print
    JSON with its children summarised; exit 1 on bad input."""
    from handlers.formats import DocumentLimits, extract_document

    if len(argv) != 1:
        print("usage: python -m handlers.ocr FILE", file=sys.stderr)
        return 2
    path = Path(argv[0])
    try:
        data = _read_file(path)
        result = extract_document(
            data,
            str(path),
            DocumentLimits.from_env(),
            ocr_limits=config.OcrLimits.from_env(),
        )
    except DocumentError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result.to_dict(), ensure_ascii=False))
    return 0


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"cannot read file ({exc.strerror})", str(path)) from exc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
