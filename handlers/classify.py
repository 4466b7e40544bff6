"""Classify stage: a document's text -> category, recorded on its ledger item as `done`.

Lambda entry point: `handlers.classify.lambda_handler` (SQS batches of document messages; the
summary, when an earlier stage wrote one, is stored on the item).
Debugging without AWS: `python -m handlers.classify FILE.txt` prints the category as JSON
(categories from CLASSIFY_CATEGORIES, else the stack's defaults).

The ledger write is conditional on the item being in an earlier state (`status_rank` lower
than done's), so a replayed message neither duplicates nor changes it.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contract import settings as env
from contract.categories import UNCLASSIFIED
from contract.errors import DocumentError
from contract.ledger import DONE, Attr
from contract.messages import Document
from handlers import ledger, runtime, steps
from handlers.classifier import Classification
from handlers.textio import read_local_text, read_s3_text

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

STAGE = "classify"


def lambda_handler(event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
    return dict(runtime.run_batch(STAGE, event, context, handle_record))


def step_handler(event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
    """A workflow step (docpipe:orchestration = stepfunctions): the document message in,
    its settled status (`done`) out (handlers/steps.py)."""
    return steps.run_step(STAGE, event, context, handle_record)


def handle_record(record: SQSRecord) -> None:
    from handlers.classifier import classifier_for

    document = runtime.take(record, STAGE)
    if document is None:
        return
    bucket = document.source.bucket
    with runtime.timed() as elapsed_ms:
        text = read_s3_text(bucket, document.key("text"))
        summary_key = document.keys.get("summary")
        summary = read_s3_text(bucket, summary_key) if summary_key else ""
        classifier = classifier_for(json.dumps(env.CLASSIFY_CATEGORIES.read(), sort_keys=True))
        result = classifier.classify(text, env.CLASSIFY_THRESHOLD.read())
    finished = document.advanced(STAGE, elapsed_ms())
    if not ledger.advance(
        document.source, STAGE, DONE, **result_attributes(finished, result, summary)
    ):
        runtime.logger(STAGE).info("already settled", extra={"doc_id": document.doc_id})
        runtime.count(STAGE, "Replays")
        return
    runtime.logger(STAGE).info(
        "classified",
        extra={
            "doc_id": document.doc_id,
            "category": result.category,
            "confidence": result.confidence,
            "runner_up": result.runner_up,
        },
    )
    runtime.count(STAGE, "Unclassified" if result.category == UNCLASSIFIED else "Classified")


def result_attributes(document: Document, result: Classification, summary: str) -> dict[str, Any]:
    """What the ledger item holds once the document is done: the category and what the
    stages made of it, the artifacts by their key names (`text_key`, `summary_key`)."""
    attributes: dict[str, Any] = {
        Attr.CATEGORY: result.category,
        Attr.CONFIDENCE: result.confidence,
        "runner_up": result.runner_up,
        "runner_up_confidence": result.runner_up_confidence,
        "summary": summary,
        "pages": document.pages,
        "ocr_confidence": document.ocr_confidence,
        "media_type": document.media_type,
        "method": document.method,
        "timings_ms": dict(document.timings_ms),
        "processed_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    attributes.update({f"{artifact}_key": key for artifact, key in document.keys.items()})
    return attributes


def main(argv: list[str]) -> int:
    """`python -m handlers.classify FILE.txt`: print JSON; exit 1 on bad input.
    Categories from CLASSIFY_CATEGORIES, else the stack's defaults."""
    from handlers.classifier import classifier_for

    if len(argv) != 1:
        print("usage: python -m handlers.classify FILE.txt", file=sys.stderr)
        return 2
    try:
        text = read_local_text(Path(argv[0]))
    except DocumentError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    classifier = classifier_for(json.dumps(env.CLASSIFY_CATEGORIES.read(), sort_keys=True))
    print(json.dumps(classifier.classify(text, env.CLASSIFY_THRESHOLD.read()).to_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
