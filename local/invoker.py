"""Lambda's synchronous Invoke for the workflow's tasks, served by local mode's own workers.

moto's Step Functions engine invokes a task's function through moto's Lambda, which cannot run
code without Docker; `local.moto_patches` hands the call to `DirectInvoker.invoke` instead,
after moto has authorised it against the state machine role's policy. Like Lambda, a function
with reserved concurrency takes that many invocations at once and throttles the next one
(429 TooManyRequestsException: the workflow's Retry backs off); like a laptop, no function
runs more worker processes than local mode allows, so further calls wait for one.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from local.metrics import ServiceMetrics, Stats
from local.moto_patches import Throttled
from local.pool import FunctionPool, Invocation
from local.topology import Topology

# The FunctionError Lambda reports for an error the function did not handle, and the
# errorType of its own failures (a timeout, a runtime that exited).
# https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_ResponseSyntax
UNHANDLED = "Unhandled"
RUNTIME_ERROR_TYPES = {
    "Timeout": "Sandbox.Timedout",
    "Crash": "Runtime.ExitError",
    "InitError": "Runtime.Unknown",
}


def response(invocation: Invocation) -> tuple[bytes, str | None]:
    """The Invoke response: the result, or Lambda's error payload and its FunctionError."""
    if invocation.ok:
        return json.dumps(invocation.result).encode(), None
    error = invocation.error or {}
    kind = str(error.get("type") or "Error")
    payload = {
        "errorType": RUNTIME_ERROR_TYPES.get(kind, kind),
        "errorMessage": str(error.get("message") or ""),
        "stackTrace": list(error.get("trace") or []),
    }
    return json.dumps(payload).encode(), UNHANDLED


class DirectInvoker:
    """Synchronous invokes of the topology's functions, with Lambda's throttling."""

    def __init__(
        self,
        topology: Topology,
        pools: dict[str, FunctionPool],
        local_concurrency: int,
        stats: Stats,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self.topology = topology
        self.pools = pools
        self.stats = stats
        self.metrics = metrics
        self._reserved = {
            spec.name: threading.BoundedSemaphore(spec.reserved_concurrency)
            for spec in topology.functions
            if spec.reserved_concurrency > 0
        }
        self._workers = {
            spec.name: threading.BoundedSemaphore(max(1, local_concurrency))
            for spec in topology.functions
        }
        self._count_lock = threading.Lock()
        self.in_flight: Counter[str] = Counter()
        self.peak_in_flight: Counter[str] = Counter()  # the most invocations at once, by stage

    def invoke(self, function: str, payload: bytes) -> tuple[bytes, str | None]:
        spec = self.topology.function(function)  # KeyError: not a function local mode runs
        event: Any = json.loads(payload or b"{}")
        reserved = self._reserved.get(spec.name)
        if reserved is not None and not reserved.acquire(blocking=False):
            with self.stats.lock:
                self.stats.throttles[spec.name] += 1
            if self.metrics is not None:
                self.metrics.record_throttle(spec.name)
            raise Throttled(spec.name)
        try:
            with self._workers[spec.name], self._counting(spec.stage):
                invocation = self.pools[spec.name].invoke(event)
        finally:
            if reserved is not None:
                reserved.release()
        return response(invocation)

    @contextmanager
    def _counting(self, stage: str) -> Iterator[None]:
        with self._count_lock:
            self.in_flight[stage] += 1
            self.peak_in_flight[stage] = max(self.peak_in_flight[stage], self.in_flight[stage])
        try:
            yield
        finally:
            with self._count_lock:
                self.in_flight[stage] -= 1
