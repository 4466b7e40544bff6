"""What local mode counts, and the AWS/Lambda metrics Lambda would publish per invocation."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
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
