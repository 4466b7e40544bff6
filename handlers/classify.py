"""Classify stage: a document's text -> category -> one result item in DynamoDB per document.

Lambda entry point: `handlers.classify.lambda_handler` (SQS batches of document messages; the
summary, when an earlier stage wrote one, is stored on the item).
Debugging without AWS: `python -m handlers.classify FILE.txt` prints the category as JSON
(categories from CLASSIFY_CATEGORIES, else the stack's defaults).

The result item is written once: the put is conditional on no item, or an item in an
earlier state (`status_rank` lower than ours), so a replayed message neither duplicates
nor regresses it and leaves its `processed_at` unchanged.
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
from contract.messages import Document
from handlers import runtime
from handlers.textio import read_local_text, read_s3_text

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

STAGE = "classify"
# Ordered states of a result item; a write may only move an item forward.
STATUS_RANK = {"pending": 0, "failed": 1, "classified": 2, "unclassified": 2}


def lambda_handler(event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
    return dict(runtime.run_batch(STAGE, event, context, handle_record))


def handle_record(record: SQSRecord) -> None:
    from handlers.classifier import classifier_for

    document = runtime.read_document(record)
    table = env.TABLE.read()
    if _already_recorded(table, document.doc_id):
        _skip(document, "result item already recorded")
        return
    bucket = document.source.bucket
    with runtime.timed() as elapsed_ms:
        text = read_s3_text(bucket, document.key("text"))
        summary = (
            read_s3_text(bucket, document.keys["summary"]) if "summary" in document.keys else ""
        )
        classifier = classifier_for(json.dumps(env.CLASSIFY_CATEGORIES.read(), sort_keys=True))
        result = classifier.classify(text, env.CLASSIFY_THRESHOLD.read())
    status = "unclassified" if result.category == UNCLASSIFIED else "classified"
    item = result_item(document.advanced(STAGE, elapsed_ms()), result.to_dict(), summary, status)
    if _put_once(table, item):
        runtime.logger(STAGE).info(
            "classified",
            extra={
                "doc_id": document.doc_id,
                "category": result.category,
                "confidence": result.confidence,
                "runner_up": result.runner_up,
            },
        )
        runtime.count(STAGE, "Classified" if status == "classified" else "Unclassified")
    else:
        _skip(document, "result item written concurrently")


def result_item(
    document: Document, classification: dict[str, Any], summary: str, status: str
) -> dict[str, Any]:
    """The result item in DynamoDB's attribute-value format (numbers as strings)."""
    item: dict[str, Any] = {
        "doc_id": {"S": document.doc_id},
        "source_bucket": {"S": document.source.bucket},
        "source_key": {"S": document.source.key},
        "source_etag": {"S": document.source.etag},
        "category": {"S": classification["category"]},
        "confidence": {"N": _number(classification["confidence"])},
        "runner_up_confidence": {"N": _number(classification["runner_up_confidence"])},
        "summary": {"S": summary},
        "pages": {"N": str(document.pages)},
        "ocr_confidence": {"N": _number(document.ocr_confidence)},
        "timings_ms": {"M": {k: {"N": str(v)} for k, v in document.timings_ms.items()}},
        "status": {"S": status},
        "status_rank": {"N": str(STATUS_RANK[status])},
        "processed_at": {"S": datetime.now(UTC).isoformat(timespec="seconds")},
    }
    # The artifacts by their v1 attribute names (text_key, summary_key), as readers expect.
    item.update({f"{artifact}_key": {"S": key} for artifact, key in document.keys.items()})
    optional = {
        "source_version_id": document.source.version_id,
        "runner_up": classification["runner_up"],
        "media_type": document.media_type,
        "method": document.method,
    }
    item.update({name: {"S": value} for name, value in optional.items() if value})
    return item


def _number(value: float) -> str:
    return format(round(float(value), 4), "f")


def _already_recorded(table: str, doc_id: str) -> bool:
    response = runtime.client("dynamodb").get_item(
        TableName=table,
        Key={"doc_id": {"S": doc_id}},
        ProjectionExpression="status_rank",
        ConsistentRead=True,
    )
    rank = response.get("Item", {}).get("status_rank", {}).get("N")
    return rank is not None and int(rank) >= STATUS_RANK["classified"]


def _put_once(table: str, item: dict[str, Any]) -> bool:
    """Write unless an item in this or a later state exists; False when one did."""
    dynamodb = runtime.client("dynamodb")
    try:
        dynamodb.put_item(
            TableName=table,
            Item=item,
            ConditionExpression="attribute_not_exists(doc_id) OR status_rank < :rank",
            ExpressionAttributeValues={":rank": item["status_rank"]},
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return False
    return True


def _skip(document: Document, reason: str) -> None:
    runtime.logger(STAGE).info(reason, extra={"doc_id": document.doc_id})
    runtime.count(STAGE, "Replays")


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
