"""Sweep stage: re-enqueue, once, uploads the pipeline never took.

Lambda entry point: `handlers.sweep.lambda_handler`, fed by the sweep queue with the
scheduler's `{"version": 1, "kind": "sweep"}`. The first stage moves every upload it takes out
of `incoming/` (to `processed/` or `rejected/`), so `incoming/` holds only what is waiting in
the first queue or was never announced (a lost notification): listing it costs in proportion
to pending work, not to every document ever uploaded.

For each upload old enough, oldest first and at most SWEEP_MAX_PER_RUN per run, with no ledger
item (BatchGetItem), the sweep records a `received` item with origin `sweep` (PutItem on
`attribute_not_exists(doc_id)`) and then sends one `ocr.request` (SendMessage). The item makes
every later sweep see the upload as handled, and its conditional put lets only one of two
overlapping sweeps send; a document that fails again rests in the first DLQ once.

An upload still waiting in the first queue must not be sent twice. An upload is "old
enough" when it is older than SWEEP_MIN_AGE_MINUTES and older than the oldest message in the
first queue (CloudWatch's ApproximateAgeOfOldestMessage, which counts in-flight messages too)
plus the metric's delay: whatever is younger may still be queued. SWEEP_MAX_AGE_MINUTES bounds
how far back each tick looks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from contract import ledger
from contract import settings as env
from contract.layout import INCOMING
from contract.ledger import Attr
from contract.messages import (
    ObjectRef,
    doc_id_for,
    is_folder_marker,
    ocr_request,
    parse_tick,
    to_json,
)
from handlers import runtime

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

STAGE = "sweep"
BATCH_GET_LIMIT = 100  # DynamoDB BatchGetItem's maximum keys per request
# SQS publishes its metrics every minute; one can arrive a few minutes late.
METRIC_DELAY = timedelta(minutes=5)
METRIC_WINDOW = timedelta(minutes=15)


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
    """Re-enqueue uploads nobody took; return the keys sent."""
    bucket, queue_url = env.BUCKET.read(), env.NEXT_QUEUE_URL.read()
    waiting = max(timedelta(minutes=env.SWEEP_MIN_AGE_MINUTES.read()), _backlog(queue_url, now))
    newest = now - waiting
    oldest = now - timedelta(minutes=env.SWEEP_MAX_AGE_MINUTES.read())
    limit, table = env.SWEEP_MAX_PER_RUN.read(), env.TABLE.read()
    stale = sorted(_stale_objects(bucket, oldest, newest), key=lambda c: (c.last_modified, c.key))
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


def _backlog(queue_url: str, now: datetime) -> timedelta:
    """How long an upload may still be waiting in the first queue: its oldest message's age
    (in-flight messages included) plus the metric's delay. Zero for a queue with no data."""
    response = runtime.client("cloudwatch").get_metric_data(
        MetricDataQueries=[
            {
                "Id": "oldest",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/SQS",
                        "MetricName": "ApproximateAgeOfOldestMessage",
                        "Dimensions": [
                            {"Name": "QueueName", "Value": queue_url.rsplit("/", 1)[-1]}
                        ],
                    },
                    "Period": 60,
                    "Stat": "Maximum",
                },
            }
        ],
        StartTime=now - METRIC_WINDOW,
        EndTime=now,
    )
    values = response["MetricDataResults"][0].get("Values") or []
    return timedelta(seconds=max(values)) + METRIC_DELAY if values else timedelta(0)


def _queue_name(queue_url: str) -> str:
    return queue_url.rstrip("/").rsplit("/", 1)[-1]


def _record_pending(table: str, bucket: str, candidate: Candidate, now: datetime) -> bool:
    """Claim the one re-send of `candidate`; False when any item for it exists already."""
    dynamodb = runtime.client("dynamodb")
    stamp = now.isoformat(timespec="seconds")
    item = {
        ledger.KEY: {"S": candidate.doc_id},
        Attr.SOURCE_BUCKET: {"S": bucket},
        Attr.SOURCE_KEY: {"S": candidate.key},
        Attr.SOURCE_ETAG: {"S": candidate.etag},
        Attr.STATUS: {"S": ledger.RECEIVED},
        Attr.RANK: {"N": str(ledger.rank(ledger.RECEIVED))},
        Attr.STAGE: {"S": STAGE},
        Attr.ORIGIN: {"S": STAGE},
        Attr.UPDATED_AT: {"S": stamp},
        Attr.RECEIVED_AT: {"S": stamp},
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
            if is_folder_marker(obj["Key"], obj.get("Size")):
                continue  # a console "folder" holds no document
            if not oldest <= obj["LastModified"] <= newest:
                continue  # young objects may still be in flight; old ones were swept
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
        table: {
            "Keys": [{ledger.KEY: {"S": d}} for d in doc_ids],
            "ProjectionExpression": ledger.KEY,
        }
    }
    found: set[str] = set()
    # DynamoDB may return part of a batch as UnprocessedKeys under load: ask again for those.
    for _attempt in range(8):
        response = dynamodb.batch_get_item(RequestItems=request)
        items = response.get("Responses", {}).get(table, [])
        found |= {item[ledger.KEY]["S"] for item in items}
        request = response.get("UnprocessedKeys") or {}
        if not request:
            return found
    raise RuntimeError(f"BatchGetItem left keys unprocessed after retries on table {table}")
