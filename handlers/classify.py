"""Classify stage: `summary.ready` -> category -> one result item in DynamoDB per document.

Lambda entry point: `handlers.classify.lambda_handler` (SQS batches of `summary.ready`).
Debugging without AWS: `python -m handlers.classify FILE.txt` prints the category as JSON
(categories from CLASSIFY_CATEGORIES, else the stack's defaults).

The result item is written once: the put is conditional on no item, or an item in an
earlier state (`status_rank` lower than ours), so a replayed message neither duplicates
nor regresses it and leaves its `processed_at` unchanged.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from handlers import config, runtime
from handlers.envelope import SummaryReady, parse_summary_ready
from handlers.errors import DocumentError
from handlers.textio import read_local_text, read_s3_text

STAGE = "classify"
# Ordered states of a result item; a write may only move an item forward.
STATUS_RANK = {"pending": 0, "failed": 1, "classified": 2, "unclassified": 2}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return runtime.run_batch(STAGE, event, context, handle_message)


def handle_message(body: str) -> None:
    from handlers.classifier import UNCLASSIFIED, classifier_for

    prefixes = config.Prefixes.from_env()
    envelope = parse_summary_ready(body, prefixes.text, prefixes.summaries)
    table = config.table()
    if _already_recorded(table, envelope.doc_id):
        _skip(envelope, "result item already recorded")
        return
    with runtime.timed() as elapsed_ms:
        text = read_s3_text(envelope.source.bucket, envelope.text_key)
        summary = read_s3_text(envelope.source.bucket, envelope.summary_key)
        classifier = classifier_for(json.dumps(config.categories(), sort_keys=True))
        result = classifier.classify(text, config.classify_threshold())
    status = "unclassified" if result.category == UNCLASSIFIED else "classified"
    item = result_item(envelope, result.to_dict(), summary, status, {STAGE: elapsed_ms()})
    if _put_once(table, item):
        runtime.logger(STAGE).info(
            "classified",
            extra={
                "doc_id": envelope.doc_id,
                "category": result.category,
                "confidence": result.confidence,
                "runner_up": result.runner_up,
            },
        )
        runtime.count(STAGE, "Classified" if status == "classified" else "Unclassified")
    else:
        _skip(envelope, "result item written concurrently")


def result_item(
    envelope: SummaryReady,
    classification: dict[str, Any],
    summary: str,
    status: str,
    timings: dict[str, int],
) -> dict[str, Any]:
    """The result item in DynamoDB's attribute-value format (numbers as strings)."""
    item: dict[str, Any] = {
        "doc_id": {"S": envelope.doc_id},
        "source_bucket": {"S": envelope.source.bucket},
        "source_key": {"S": envelope.source.key},
        "source_etag": {"S": envelope.source.etag},
        "category": {"S": classification["category"]},
        "confidence": {"N": _number(classification["confidence"])},
        "runner_up_confidence": {"N": _number(classification["runner_up_confidence"])},
        "summary": {"S": summary},
        "text_key": {"S": envelope.text_key},
        "summary_key": {"S": envelope.summary_key},
        "pages": {"N": str(envelope.pages)},
        "ocr_confidence": {"N": _number(envelope.ocr_confidence)},
        "timings_ms": {
            "M": {k: {"N": str(v)} for k, v in {**envelope.timings_ms, **timings}.items()}
        },
        "status": {"S": status},
        "status_rank": {"N": str(STATUS_RANK[status])},
        "processed_at": {"S": datetime.now(UTC).isoformat(timespec="seconds")},
    }
    if envelope.source.version_id:
        item["source_version_id"] = {"S": envelope.source.version_id}
    if classification["runner_up"]:
        item["runner_up"] = {"S": classification["runner_up"]}
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


def _skip(envelope: SummaryReady, reason: str) -> None:
    runtime.logger(STAGE).info(reason, extra={"doc_id": envelope.doc_id})
    runtime.count(STAGE, "Replays")


def main(argv: list[str]) -> int:
    """`python -m handlers.classify FILE.txt`: print JSON; exit 1 on bad input."""
    from handlers.classifier import DEFAULT_CATEGORIES, classifier_for

    if len(argv) != 1:
        print("usage: python -m handlers.classify FILE.txt", file=sys.stderr)
        return 2
    categories = (
        config.categories() if os.environ.get("CLASSIFY_CATEGORIES") else DEFAULT_CATEGORIES
    )
    try:
        text = read_local_text(Path(argv[0]))
    except DocumentError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    classifier = classifier_for(json.dumps(categories, sort_keys=True))
    print(json.dumps(classifier.classify(text, config.classify_threshold()).to_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
