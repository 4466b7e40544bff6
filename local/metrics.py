"""What local mode counts, and the metrics AWS would publish: Lambda's per invocation, SQS's
per queue, and the functions' own (embedded metric format in their logs)."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
    crashes: Counter[str] = field(default_factory=Counter)  # runtimes that exited or went away
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


# PutMetricData's most data per request.
PUT_LIMIT = 20


def embedded_metric_data(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(namespace, datum) for each value of an embedded-metric-format document, as CloudWatch
    Logs extracts them from a function's log. A metric's value may be a list of values."""
    directives = document["_aws"]
    stamp = datetime.fromtimestamp(int(directives.get("Timestamp", time.time() * 1000)) / 1000, UTC)
    for directive in directives["CloudWatchMetrics"]:
        for dimension_set in directive.get("Dimensions") or [[]]:
            dimensions = [{"Name": name, "Value": str(document[name])} for name in dimension_set]
            for metric in directive.get("Metrics", []):
                values = document.get(metric["Name"])
                for value in values if isinstance(values, list) else [values]:
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        yield (
                            directive["Namespace"],
                            {
                                "MetricName": metric["Name"],
                                "Dimensions": dimensions,
                                "Value": float(value),
                                "Unit": metric.get("Unit", "None"),
                                "Timestamp": stamp,
                            },
                        )


class ServiceMetrics:
    """What the Lambda service publishes for each invocation, put into the emulator's
    CloudWatch, so `docpipe status` reads local mode exactly as it reads AWS: the AWS/Lambda
    metrics, and the function's own embedded-format metrics from its log."""

    def __init__(self, cloudwatch: Any, stats: Stats) -> None:
        self.cloudwatch = cloudwatch
        self.stats = stats

    def publish_embedded(self, function_name: str, documents: list[dict[str, Any]]) -> None:
        by_namespace: dict[str, list[dict[str, Any]]] = defaultdict(list)
        try:
            for document in documents:
                for namespace, datum in embedded_metric_data(document):
                    by_namespace[namespace].append(datum)
            for namespace, data in by_namespace.items():
                for start in range(0, len(data), PUT_LIMIT):
                    self.cloudwatch.put_metric_data(
                        Namespace=namespace, MetricData=data[start : start + PUT_LIMIT]
                    )
        except Exception as exc:  # a malformed document or a refused put: say so, go on
            with self.stats.lock:
                self.stats.note_error(function_name, {"type": "Metrics", "message": str(exc)})

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
        for start in range(0, len(data), PUT_LIMIT):
            try:
                self.cloudwatch.put_metric_data(
                    Namespace="AWS/SQS", MetricData=data[start : start + PUT_LIMIT]
                )
            except Exception as exc:  # metrics must never stop the runtime; say so where it shows
                with self.stats.lock:
                    self.stats.note_error("sqs-metrics", {"type": "Metrics", "message": str(exc)})
