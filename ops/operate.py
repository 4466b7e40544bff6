"""Status, dead letters and sending documents: the operator's view of a running pipeline.

Every function takes a `Target`, so the same code serves a deployed stack and local mode.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from contract import settings, stages
from contract.layout import INCOMING
from contract.messages import manual_event
from ops.dlq_records import SeenDeadLetters
from ops.target import Target

# How long a dead letter stays hidden from other readers while it is being moved; long
# enough that a slow send cannot let it reappear and be moved twice.
MOVE_VISIBILITY_SECONDS = 300
# The handlers' own metrics (Powertools, embedded in their logs).
NAMESPACE = settings.METRICS_NAMESPACE.default


@dataclass(frozen=True)
class StageStatus:
    stage: str
    queued: int
    in_flight: int
    dead_letters: int
    oldest_age_s: float | None
    errors_1h: float | None
    """Failed invocations (AWS/Lambda Errors): timeouts, crashes, unhandled exceptions."""
    failed_1h: float | None
    """Records the function failed and SQS will retry (the pipeline's RecordsFailed): a
    batch of failed records through Powertools' batch processor is no invocation error."""
    rejected_1h: float | None
    """Documents settled as rejected, with their reason in the ledger (RecordsRejected)."""
    throttles_1h: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def queue_counts(target: Target, url: str) -> tuple[int, int]:
    attributes = target.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )


def _metric(
    target: Target, namespace: str, metric: str, dimension: tuple[str, str], statistic: str
) -> float | None:
    """The latest hour of a CloudWatch metric; None where there are no data points (a new
    stack, or an emulator that does not publish service metrics)."""
    now = datetime.now(UTC)
    points = target.client("cloudwatch").get_metric_statistics(
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[{"Name": dimension[0], "Value": dimension[1]}],
        StartTime=now - timedelta(hours=1),
        EndTime=now,
        Period=3600,
        Statistics=[statistic],
    )["Datapoints"]
    if not points:
        return None
    values = [point[statistic] for point in points]
    return max(values) if statistic == "Maximum" else sum(values)


def status(target: Target) -> list[StageStatus]:
    rows = []
    for stage in target.stages:
        queued, in_flight = queue_counts(target, target.queue_url(stage))
        dead, _ = queue_counts(target, target.dlq_url(stage))
        queue_name = target.queue_url(stage).rsplit("/", 1)[-1]
        function = ("FunctionName", target.function_name(stage))
        service = ("service", stages.service_name(stage))
        rows.append(
            StageStatus(
                stage=stage,
                queued=queued,
                in_flight=in_flight,
                dead_letters=dead,
                oldest_age_s=_metric(
                    target,
                    "AWS/SQS",
                    "ApproximateAgeOfOldestMessage",
                    ("QueueName", queue_name),
                    "Maximum",
                ),
                errors_1h=_metric(target, "AWS/Lambda", "Errors", function, "Sum"),
                failed_1h=_metric(target, NAMESPACE, "RecordsFailed", service, "Sum"),
                rejected_1h=_metric(target, NAMESPACE, "RecordsRejected", service, "Sum"),
                throttles_1h=_metric(target, "AWS/Lambda", "Throttles", function, "Sum"),
            )
        )
    return rows


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    body: str
    receive_count: int
    """Deliveries to the function before it was dead-lettered (never this tool's own looks:
    see ops/dlq_records.py)."""
    sent_at: str
    reason: str | None = None
    """Why its last delivery failed, where local mode noted it (local/dead_letters.py)."""
    dead_lettered_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _dead_letter(
    message: dict[str, Any], url: str, seen: SeenDeadLetters, notes: dict[str, Any]
) -> DeadLetter:
    attributes = message.get("Attributes", {})
    sent_ms = int(attributes.get("SentTimestamp", "0"))
    message_id = message["MessageId"]
    note = notes.get(message_id)
    return DeadLetter(
        message_id=message_id,
        body=message["Body"],
        receive_count=note.receive_count
        if note
        else seen.receive_count(url, message_id, int(attributes.get("ApproximateReceiveCount", 1))),
        sent_at=datetime.fromtimestamp(sent_ms / 1000, UTC).isoformat(),
        reason=note.reason if note else None,
        dead_lettered_at=note.at if note else None,
    )


def _notes(target: Target) -> dict[str, Any]:
    if target.dead_letter_notes is None:
        return {}
    from local.dead_letters import load

    return dict(load(target.dead_letter_notes))


def dlq_show(target: Target, stage: str, limit: int = 10) -> list[DeadLetter]:
    """Read up to `limit` dead letters and make them visible again at once: reading a DLQ
    moves nothing (it has no redrive of its own)."""
    sqs, url = target.client("sqs"), target.dlq_url(stage)
    seen, notes = SeenDeadLetters(target.records_dir), _notes(target)
    shown: dict[str, DeadLetter] = {}
    receipts = []
    while len(shown) < limit:
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(10, limit - len(shown)),
            VisibilityTimeout=30,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            shown.setdefault(message["MessageId"], _dead_letter(message, url, seen, notes))
            receipts.append(message["ReceiptHandle"])
    seen.save()
    for receipt in receipts:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt, VisibilityTimeout=0)
    return list(shown.values())


@dataclass(frozen=True)
class RedriveResult:
    stage: str
    moved: int
    method: str  # "StartMessageMoveTask" (asynchronous, AWS) or "receive-send-delete"
    task_handle: str | None = None


def _queue_arn(target: Target, url: str) -> str:
    attributes = target.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["QueueArn"]
    )["Attributes"]
    return str(attributes["QueueArn"])


def dlq_redrive(target: Target, stage: str) -> RedriveResult:
    """Move every dead letter of `stage` back to its work queue.

    AWS's own StartMessageMoveTask is used where the service offers it; elsewhere (the
    emulator) each message is sent to the work queue first and deleted from the DLQ only
    after the send succeeded, so a failure leaves it in the DLQ rather than losing it.
    """
    sqs = target.client("sqs")
    source_arn = _queue_arn(target, target.dlq_url(stage))
    destination_arn = _queue_arn(target, target.queue_url(stage))
    try:
        task = sqs.start_message_move_task(SourceArn=source_arn, DestinationArn=destination_arn)
        return RedriveResult(stage, 0, "StartMessageMoveTask", task["TaskHandle"])
    except NotImplementedError:
        pass  # moto in-process
    except ClientError as error:
        if not move_task_unsupported(error, emulated=target.endpoint_url is not None):
            raise  # AccessDenied, a bad ARN, ...: the operator must see it, not a fallback
    return RedriveResult(stage, _move_messages(target, stage), "receive-send-delete")


UNSUPPORTED_CODES = {"UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation"}


def move_task_unsupported(error: ClientError, emulated: bool) -> bool:
    """Whether StartMessageMoveTask is missing, rather than refused: SQS says so with
    UnsupportedOperation; moto's server answers a bare HTTP 500 for actions it lacks."""
    code = error.response.get("Error", {}).get("Code", "")
    return code in UNSUPPORTED_CODES or (emulated and code == "500")


def _move_messages(target: Target, stage: str) -> int:
    sqs, dlq, queue = target.client("sqs"), target.dlq_url(stage), target.queue_url(stage)
    moved: set[str] = set()
    while True:
        messages = sqs.receive_message(
            QueueUrl=dlq,
            MaxNumberOfMessages=10,
            VisibilityTimeout=MOVE_VISIBILITY_SECONDS,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return len(moved)
        for message in messages:
            # Seen again only if an earlier delete failed after its send: never send twice.
            if message["MessageId"] not in moved:
                arguments: dict[str, Any] = {"QueueUrl": queue, "MessageBody": message["Body"]}
                if message.get("MessageAttributes"):
                    arguments["MessageAttributes"] = message["MessageAttributes"]
                sqs.send_message(**arguments)
                moved.add(message["MessageId"])
            sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])


def dlq_purge(target: Target, stage: str) -> int:
    """Delete every dead letter of `stage`; returns how many there were."""
    url = target.dlq_url(stage)
    count, _ = queue_counts(target, url)
    target.client("sqs").purge_queue(QueueUrl=url)
    return count


def send_file(target: Target, path: Path, key: str | None = None) -> str:
    """Upload a document under incoming/; the bucket's notification starts the pipeline."""
    if not path.is_file():
        raise FileNotFoundError(f"no such document: {path}")
    object_key = key or f"{INCOMING.path}{path.name}"
    if not object_key.startswith(INCOMING.path):
        raise ValueError(f"key {object_key!r} must start with {INCOMING.path!r}")
    target.client("s3").upload_file(str(path), target.outputs["bucket_name"], object_key)
    return object_key


def send_test_event(target: Target, key: str) -> str:
    """The manual test event `{"file": key}` for an object already in the bucket, sent to
    the first stage's queue."""
    response = target.client("sqs").send_message(
        QueueUrl=target.queue_url(stages.TABLE.first.name),
        MessageBody=json.dumps(manual_event(key)),
    )
    return str(response["MessageId"])
