"""Sweep stage: re-enqueue, once, uploads that never produced a result item.

Lambda entry point: `handlers.sweep.lambda_handler`, fed by the sweep queue with the
scheduler's `{"version": 1, "kind": "sweep"}`. It lists `incoming/` (ListObjectsV2),
looks up each object's doc_id in the results table (BatchGetItem), and for each one with
no item, oldest first and at most SWEEP_MAX_PER_RUN per run, records a `pending` item
(PutItem on `attribute_not_exists(doc_id)`) and then sends one `ocr.request` (SendMessage;
SendMessageBatch is a separate IAM action the function does not have).

At most one re-send per upload: the pending item makes every later sweep see the upload as
handled, and its conditional put lets only one of two overlapping sweeps send. Classify
overwrites it (`status_rank` 0 is below every result's). A document that fails again rests
in the ocr DLQ once, instead of collecting a copy there on every tick. If SendMessage fails
after the put, the record fails (logged, retried) but that upload is not re-sent again: it
is visible as a `pending` item with no result.

SWEEP_MIN_AGE_MINUTES is at least the time an OCR message can spend retrying before its
DLQ (the stack validates it), so uploads still in the queue are not sent a second time.
SWEEP_MAX_AGE_MINUTES bounds each tick's DynamoDB lookups to the recent uploads: an older
upload has been swept already (it has a result or a pending item), and looking up the
bucket's whole history every tick would cost reads for nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from contract import settings as env
from contract.layout import INCOMING
from contract.messages import ObjectRef, doc_id_for, ocr_request, parse_tick, to_json
from handlers import runtime

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

STAGE = "sweep"
BATCH_GET_LIMIT = 100  # DynamoDB BatchGetItem's maximum keys per request


@dataclass(frozen=True)
class Candidate:
    key: str
    etag: str
    last_modified: datetime
    doc_id: str


def lambda_handler(event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
    return dict(runtime.run_batch(STAGE, event, context, handle_record))


def handle_record(record: SQSRecord) -> None:
    parse_tick(record.body, STAGE)
    sent = sweep(datetime.now(UTC))
    runtime.logger(STAGE).info("sweep done", extra={"re_enqueued": sent})
    runtime.count(STAGE, "ReEnqueued", len(sent))


def sweep(now: datetime) -> list[str]:
    """Re-enqueue stale objects without a result; return the keys sent."""
    bucket = env.BUCKET.read()
    newest = now - timedelta(minutes=env.SWEEP_MIN_AGE_MINUTES.read())
    oldest = now - timedelta(minutes=env.SWEEP_MAX_AGE_MINUTES.read())
    limit, table = env.SWEEP_MAX_PER_RUN.read(), env.TABLE.read()
    stale = sorted(_stale_objects(bucket, oldest, newest), key=lambda c: (c.last_modified, c.key))
    queue_url = env.NEXT_QUEUE_URL.read()
    sqs = runtime.client("sqs")
    sent: list[str] = []
    for candidate in _without_result(table, stale):
        if len(sent) == limit:
            break
        if not _record_pending(table, bucket, candidate, now):
            continue  # another sweep re-sent it just now, or its result has arrived
        ref = ObjectRef(bucket=bucket, key=candidate.key, etag=candidate.etag, origin="sweep")
        sqs.send_message(QueueUrl=queue_url, MessageBody=to_json(ocr_request(ref)))
        sent.append(candidate.key)
    return sent


def _record_pending(table: str, bucket: str, candidate: Candidate, now: datetime) -> bool:
    """Claim the one re-send of `candidate`; False when any item for it exists already."""
    dynamodb = runtime.client("dynamodb")
    item = {
        "doc_id": {"S": candidate.doc_id},
        "source_bucket": {"S": bucket},
        "source_key": {"S": candidate.key},
        "source_etag": {"S": candidate.etag},
        "status": {"S": "pending"},
        "status_rank": {"N": "0"},  # STATUS_RANK["pending"] (classify): its put replaces it
        "resent_at": {"S": now.isoformat(timespec="seconds")},
    }
    try:
        dynamodb.put_item(
            TableName=table, Item=item, ConditionExpression="attribute_not_exists(doc_id)"
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return False
    return True


def _stale_objects(bucket: str, oldest: datetime, newest: datetime) -> Iterator[Candidate]:
    paginator = runtime.client("s3").get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=INCOMING.path):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith("/") or not oldest <= obj["LastModified"] <= newest:
                continue  # folder markers hold no document; young objects are still in flight
            etag = str(obj["ETag"]).strip('"')
            yield Candidate(
                obj["Key"], etag, obj["LastModified"], doc_id_for(bucket, obj["Key"], etag)
            )


def _without_result(table: str, candidates: list[Candidate]) -> list[Candidate]:
    """Candidates with no item at all: a pending item counts as handled (re-sent once)."""
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
