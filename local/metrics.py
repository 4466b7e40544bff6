"""What local mode counts, and the AWS/Lambda metrics Lambda would publish per invocation."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local.pool import Invocation


@dataclass
class Stats:
    """Counters the progress display and the report read (all updated under `lock`)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    invocations: Counter[str] = field(default_factory=Counter)
    cold_starts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    timeouts: Counter[str] = field(default_factory=Counter)
    # synchronous invokes refused at the function's reserved concurrency (workflow steps)
    throttles: Counter[str] = field(default_factory=Counter)
    # executions the local pipes started, by state machine name
    executions_started: Counter[str] = field(default_factory=Counter)
    deleted: Counter[str] = field(default_factory=Counter)
    failed_records: Counter[str] = field(default_factory=Counter)
    # stage -> doc_id -> seconds from the message's enqueue to the end of its invocation
    stage_seconds: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    last_errors: list[str] = field(default_factory=list)
    invocation_ms: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    # stage -> doc_id -> wall-clock time its message was done (deleted) in that stage
    done_at: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    # message id -> times a poller received it (each one a delivery to the function)
    deliveries: Counter[str] = field(default_factory=Counter)
    # doc id -> messages about it a poller holds right now (received, not yet settled)
    in_flight_docs: Counter[str] = field(default_factory=Counter)

    def note_error(self, function: str, error: dict[str, Any] | None) -> None:
        text = f"{function}: {(error or {}).get('type')}: {(error or {}).get('message')}"
        self.last_errors = [*self.last_errors[-19:], text]


class ServiceMetrics:
    """The AWS/Lambda metrics Lambda publishes per invocation, put into the emulator's
    CloudWatch, so `docpipe status` reads local mode exactly as it reads AWS."""

    def __init__(self, cloudwatch: Any, stats: Stats) -> None:
        self.cloudwatch = cloudwatch
        self.stats = stats

    def record(self, function_name: str, invocation: Invocation) -> None:
        dimensions = [{"Name": "FunctionName", "Value": function_name}]
        data = [
            {"MetricName": "Invocations", "Value": 1.0, "Unit": "Count"},
            {"MetricName": "Errors", "Value": float(not invocation.ok), "Unit": "Count"},
            {"MetricName": "Duration", "Value": invocation.duration_ms, "Unit": "Milliseconds"},
        ]
        try:
            self.cloudwatch.put_metric_data(
                Namespace="AWS/Lambda",
                MetricData=[{**datum, "Dimensions": dimensions} for datum in data],
            )
        except Exception as exc:  # metrics must never fail a batch; say so where it shows
            with self.stats.lock:
                self.stats.note_error(function_name, {"type": "Metrics", "message": str(exc)})

    def record_throttle(self, function_name: str) -> None:
        try:
            self.cloudwatch.put_metric_data(
                Namespace="AWS/Lambda",
                MetricData=[
                    {
                        "MetricName": "Throttles",
                        "Value": 1.0,
                        "Unit": "Count",
                        "Dimensions": [{"Name": "FunctionName", "Value": function_name}],
                    }
                ],
            )
        except Exception as exc:
            with self.stats.lock:
                self.stats.note_error(function_name, {"type": "Metrics", "message": str(exc)})


def _queued(queue_name: str) -> list[Any]:
    """The queue's non-deleted messages (in flight included), from the in-process emulator."""
    from moto.sqs.models import sqs_backends

    from local.emulator import ACCOUNT_ID, REGION

    queue = sqs_backends[ACCOUNT_ID][REGION].queues.get(queue_name)
    return list(queue._messages) if queue else []


def queued_doc_ids(queue_names: Iterable[str]) -> set[str]:
    """The documents the messages waiting in these queues are about."""
    from contract.messages import doc_id_in

    bodies = (m.body for name in queue_names for m in _queued(name))
    return {doc_id for body in bodies if (doc_id := doc_id_in(body))}


def oldest_message_age_s(queue_name: str, now_ms: int) -> float | None:
    """The age of the queue's oldest non-deleted message (in flight included), as SQS
    computes ApproximateAgeOfOldestMessage; None for an empty queue. Read from the
    in-process emulator: moto does not publish SQS metrics."""
    messages = _queued(queue_name)
    stamps: list[int] = [t for m in messages if (t := getattr(m, "sent_timestamp", None))]
    return (now_ms - min(stamps)) / 1000 if stamps else None


class QueueMetrics:
    """SQS's per-minute queue metrics, published locally on an interval: the sweep's backlog
    guard and `docpipe status` read ApproximateAgeOfOldestMessage from CloudWatch."""

    def __init__(self, cloudwatch: Any, queue_names: list[str], stats: Stats) -> None:
        self.cloudwatch = cloudwatch
        self.queue_names = queue_names
        self.stats = stats

    def publish(self) -> None:
        now_ms = int(time.time() * 1000)
        data = [
            {
                "MetricName": "ApproximateAgeOfOldestMessage",
                "Dimensions": [{"Name": "QueueName", "Value": name}],
                "Value": age,
                "Unit": "Seconds",
            }
            for name in self.queue_names
            if (age := oldest_message_age_s(name, now_ms)) is not None
        ]
        for start in range(0, len(data), 20):  # PutMetricData's most data per request
            try:
                self.cloudwatch.put_metric_data(
                    Namespace="AWS/SQS", MetricData=data[start : start + 20]
                )
            except Exception as exc:  # metrics must never stop the runtime; say so where it shows
                with self.stats.lock:
                    self.stats.note_error("sqs-metrics", {"type": "Metrics", "message": str(exc)})
