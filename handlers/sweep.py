"""Sweep stage: re-enqueue uploads that never produced a result item.

Lambda entry point: `handlers.sweep.lambda_handler`, fed by the sweep queue with the
scheduler's `{"version": 1, "kind": "sweep"}`. It lists `incoming/` (ListObjectsV2),
looks up each object's doc_id in the results table (BatchGetItem), and sends one
`ocr.request` per missing result (SendMessage; SendMessageBatch is a separate IAM action
the function does not have), oldest first, at most SWEEP_MAX_PER_RUN per run.

Idempotent: a sweep changes nothing but the ocr queue, and an object whose result exists
is never re-sent; re-sending one still in flight only repeats deterministic work.
Objects older than SWEEP_MAX_AGE_MINUTES (default a day) are no longer re-sent: a document
that still has no result by then failed every retry and rests in a DLQ, and re-sending it on
every tick would only pile copies there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from handlers import config, runtime
from handlers.envelope import ObjectRef, doc_id_for, ocr_request, parse_sweep, to_json

STAGE = "sweep"
BATCH_GET_LIMIT = 100  # DynamoDB BatchGetItem's maximum keys per request


@dataclass(frozen=True)
class Candidate:
    key: str
    etag: str
    last_modified: datetime
    doc_id: str


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return runtime.run_batch(STAGE, event, context, handle_message)


def handle_message(body: str) -> None:
    parse_sweep(body)
    sent = sweep(datetime.now(UTC))
    runtime.logger(STAGE).info("sweep done", extra={"re_enqueued": sent})
    runtime.count(STAGE, "ReEnqueued", len(sent))


def sweep(now: datetime) -> list[str]:
    """Re-enqueue stale objects without a result; return the keys sent."""
    bucket = config.bucket()
    newest = now - timedelta(minutes=config.sweep_min_age_minutes())
    oldest = now - timedelta(minutes=config.sweep_max_age_minutes())
    limit = config.sweep_max_per_run()
    stale = sorted(_stale_objects(bucket, oldest, newest), key=lambda c: (c.last_modified, c.key))
    missing = _without_result(config.table(), stale)[:limit]
    queue_url = config.next_queue_url()
    sqs = runtime.client("sqs")
    for candidate in missing:
        ref = ObjectRef(bucket=bucket, key=candidate.key, etag=candidate.etag, origin="sweep")
        sqs.send_message(QueueUrl=queue_url, MessageBody=to_json(ocr_request(ref)))
    return [c.key for c in missing]


def _stale_objects(bucket: str, oldest: datetime, newest: datetime) -> Iterator[Candidate]:
    prefix = config.Prefixes.from_env().incoming
    paginator = runtime.client("s3").get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith("/") or not oldest <= obj["LastModified"] <= newest:
                continue  # folder markers hold no document; young objects are still in flight
            etag = str(obj["ETag"]).strip('"')
            yield Candidate(
                obj["Key"], etag, obj["LastModified"], doc_id_for(bucket, obj["Key"], etag)
            )


def _without_result(table: str, candidates: list[Candidate]) -> list[Candidate]:
    recorded: set[str] = set()
    ids = sorted({c.doc_id for c in candidates})
    for start in range(0, len(ids), BATCH_GET_LIMIT):
        recorded |= _recorded_ids(table, ids[start : start + BATCH_GET_LIMIT])
    return [c for c in candidates if c.doc_id not in recorded]


def _recorded_ids(table: str, doc_ids: list[str]) -> set[str]:
    dynamodb = runtime.client("dynamodb")
    request: dict[str, Any] = {
        table: {"Keys": [{"doc_id": {"S": d}} for d in doc_ids], "ProjectionExpression": "doc_id"}
    }
    found: set[str] = set()
    # DynamoDB may return part of a batch as UnprocessedKeys under load: ask again for those.
    for _attempt in range(8):
        response = dynamodb.batch_get_item(RequestItems=request)
        found |= {item["doc_id"]["S"] for item in response.get("Responses", {}).get(table, [])}
        request = response.get("UnprocessedKeys") or {}
        if not request:
            return found
    raise RuntimeError(f"BatchGetItem left keys unprocessed after retries on table {table}")
