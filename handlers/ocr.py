"""OCR stage: an uploaded document in `incoming/` -> `text/{doc_id}.txt` -> summarize queue.

Lambda entry point: `handlers.ocr.lambda_handler`. Fed by the ocr queue (S3 notifications,
the sweep's `ocr.request` messages, manual `{"file": ...}` messages); also accepts the
console test event `{"file": "incoming/key"}` invoked directly.

Debugging without AWS: `python -m handlers.ocr FILE` prints the extracted text as JSON.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contract import layout, metrics
from contract.errors import DocumentError, DocumentTooLargeError, InvalidEnvelopeError
from contract.ledger import RECEIVED, REJECTED, Attr, stage_done
from contract.messages import (
    Document,
    ObjectRef,
    Source,
    parse_upload_event,
    parse_upload_message,
)
from handlers import children, config, ledger, runtime, steps

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from handlers.formats import Extracted

STAGE = "ocr"


def lambda_handler(event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
    if _is_sqs_batch(event):
        return dict(runtime.run_batch(STAGE, event, context, handle_record, reject_upload))
    # Direct invocation (console test event, or an S3 event without a queue): no batch to
    # report on, so a bad document raises and the invocation fails visibly.
    runtime.check_stage(STAGE)
    try:
        done = [process_object(ref) for ref in parse_upload_event(event, config.default_bucket())]
    finally:
        runtime.metrics(STAGE).flush_metrics()
    return {"processed": [document.to_dict() for document in done if document is not None]}


def step_handler(event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
    """A workflow step (docpipe:orchestration = stepfunctions): one upload message in (the
    intake queue's message body, as the pipe passes it), its document message out
    (handlers/steps.py)."""
    return steps.run_step(STAGE, event, context, handle_record, reject_upload)


def _is_sqs_batch(event: dict[str, Any]) -> bool:
    records = event.get("Records")
    return (
        bool(records) and isinstance(records, list) and records[0].get("eventSource") == "aws:sqs"
    )


def handle_record(record: SQSRecord) -> None:
    # One message may announce several uploads: each is settled on its own.
    for ref in parse_upload_message(record.body, config.default_bucket()):
        with runtime.settling(STAGE, reject_upload):
            process_object(ref)


def process_object(ref: ObjectRef) -> Document | None:
    """Take one upload: extract its text, store the documents found inside it, pass it on,
    and move the upload out of `incoming/`. None when the ledger shows it was taken already
    (a replay)."""
    from handlers.formats import DocumentLimits, extract_document

    limits = config.OcrLimits.from_env()
    where = f"s3://{ref.bucket}/{ref.key}"
    if not ref.key.startswith(layout.INCOMING.path):
        raise InvalidEnvelopeError(f"key is not under {layout.INCOMING.path!r}", where)
    if ref.etag is not None and _replayed(Source(ref.bucket, ref.key, ref.etag, ref.version_id)):
        return None
    with runtime.timed() as elapsed_ms:
        upload = _download(ref, limits.max_bytes, where)
        source = upload.source
        if source.etag != ref.etag and _replayed(source):
            return None
        lineage = children.lineage_of(upload.metadata, source.doc_id, where)
        ledger.advance(
            source,
            STAGE,
            RECEIVED,
            **{Attr.RECEIVED_AT: ledger.now(), Attr.ORIGIN: ref.origin},
            **lineage.ledger_facts(),
        )
        document_limits = DocumentLimits.from_env()
        result = extract_document(
            upload.data, where, document_limits, ocr_limits=limits, depth=lineage.depth
        )
        found = children.store(source, lineage, result.children, document_limits, where)
        text_key = layout.TEXT.key_for(source.doc_id)
        runtime.put_text(source.bucket, text_key, result.text)
    document = Document(
        doc_id=source.doc_id,
        source=source,
        stage=STAGE,
        keys={"text": text_key},
        pages=result.pages,
        ocr_confidence=result.confidence,
        media_type=result.media_type,
        method=result.method,
        timings_ms={STAGE: elapsed_ms()},
    )
    runtime.forward(document)
    facts = {
        Attr.PAGES: document.pages,
        Attr.OCR_CONFIDENCE: document.ocr_confidence,
        Attr.MEDIA_TYPE: result.media_type,
        Attr.METHOD: result.method,
        Attr.ENCODING: result.encoding,
        Attr.CHILDREN: found or None,
        Attr.ARCHIVED_KEY: layout.archived_key(layout.PROCESSED, source.key),
    }
    ledger.advance(source, STAGE, stage_done(STAGE), **facts)
    runtime.archive_upload(source, layout.PROCESSED)
    _record(document, result, len(found), ref.origin)
    return document


def _replayed(source: Source) -> bool:
    """Was this upload taken already? Then finish what a crash may have left: its move."""
    runtime.identify(source)
    status = ledger.passed(source.doc_id, STAGE)
    if status is None:
        return False
    runtime.archive_upload(source, layout.REJECTED if status == REJECTED else layout.PROCESSED)
    runtime.logger(STAGE).info("replay: upload taken already", extra={"doc_id": source.doc_id})
    runtime.count(STAGE, "Replays")
    if not runtime.replay_ends(status):
        # A workflow step retried after its ledger write (the upload is gone from incoming/,
        # so the work cannot be done again): pass on the document the ledger describes.
        runtime.forward(_taken_document(source))
    return True


def _taken_document(source: Source) -> Document:
    """The document this stage passed on, rebuilt from the facts it recorded when done."""
    item = ledger.read(source.doc_id) or {}
    try:
        # The event may not name the version (a manual event); the ledger has the one read.
        version_id = source.version_id or item.get(Attr.SOURCE_VERSION)
        return Document(
            doc_id=source.doc_id,
            source=Source(source.bucket, source.key, source.etag, version_id),
            stage=STAGE,
            keys={"text": layout.TEXT.key_for(source.doc_id)},
            pages=int(item[Attr.PAGES]),
            ocr_confidence=float(item[Attr.OCR_CONFIDENCE]),
            media_type=item.get(Attr.MEDIA_TYPE),
            method=item.get(Attr.METHOD),
        )
    except (KeyError, TypeError, ValueError) as exc:
        # A deployment bug, not bad input: the step fails and the workflow retries it.
        raise RuntimeError(f"ledger item of {source.doc_id} lacks OCR facts: {exc}") from exc


def reject_upload(source: Source, error: DocumentError) -> None:
    """Record why the upload is refused, then keep it under `rejected/` (never deleted)."""
    kept = layout.archived_key(layout.REJECTED, source.key)
    ledger.reject(source, STAGE, error, **{Attr.ARCHIVED_KEY: kept})
    runtime.archive_upload(source, layout.REJECTED)


@dataclass(frozen=True)
class _Upload:
    data: bytes
    source: Source
    metadata: dict[str, str]


def _download(ref: ObjectRef, max_bytes: int, where: str) -> _Upload:
    """The object's bytes, identity and user metadata; the size is checked before the body
    is read."""
    response = runtime.get_object(ref.bucket, ref.key, ref.version_id)
    # The ETag of the bytes we read, not the event's: a manual event has none, and an
    # overwrite between event and read must give the new version its own doc_id.
    source = Source(
        bucket=ref.bucket,
        key=ref.key,
        etag=str(response["ETag"]).strip('"'),
        version_id=response.get("VersionId") or ref.version_id,
    )
    runtime.identify(source)
    size = int(response.get("ContentLength", 0))
    if size > max_bytes:
        response["Body"].close()
        raise DocumentTooLargeError(f"{size} bytes exceeds the {max_bytes} limit", where)
    return _Upload(response["Body"].read(), source, dict(response.get("Metadata") or {}))


def _record(document: Document, result: Extracted, children: int, origin: str) -> None:
    runtime.logger(STAGE).info(
        "text extracted",
        extra={
            "doc_id": document.doc_id,
            "key": document.source.key,
            "media_type": result.media_type,
            "method": result.method,
            "pages": document.pages,
            "ocr_pages": result.ocr_pages,
            "children": children,
            "confidence": document.ocr_confidence,
            "origin": origin,
            "ms": document.timings_ms[STAGE],
        },
    )
    runtime.count(STAGE, metrics.PAGES, document.pages)
    runtime.count(STAGE, metrics.OCR_PAGES, result.ocr_pages)
    runtime.count(STAGE, "Children", children)
    if result.ocr_pages:
        runtime.count(STAGE, "OcrConfidence", document.ocr_confidence * 100, "Percent")
    runtime.count(STAGE, "OcrDuration", document.timings_ms[STAGE], "Milliseconds")


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
