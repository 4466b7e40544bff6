"""EventBridge Pipes, locally: an SQS source starting a Step Functions state machine.

moto stores a pipe and never moves a message, so local mode does what Pipes does for an SQS
source: poll the queue with the pipe role's credentials, and per batch (batch size 1: per
message) start the target with the batch as a JSON array of SQS records, the same shape
Lambda gets (Pipes send an array even for a batch of one). The batch leaves the queue once
the target took it: for FIRE_AND_FORGET (Standard workflows) when StartExecution succeeded,
for REQUEST_RESPONSE (Express) when the execution succeeded (moto 5.2.5 has no
StartSyncExecution, so the poller starts the execution and waits for its end, as
StartSyncExecution would). A batch that could not be started, or an Express execution that
failed, stays: it becomes visible again after the visibility timeout, and the queue's redrive
moves it to the DLQ after maxReceiveCount.
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-sqs.html
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from local.metrics import Stats
from local.poller import lambda_record, receive
from local.topology import PipeSpec

FIRE_AND_FORGET = "FIRE_AND_FORGET"
EXPRESS_MAX_S = 300.0  # an Express execution ends after five minutes at most
# Express executions the poller waits for at once (Pipes scale their pollers; a laptop not).
SYNC_CONCURRENCY = 8


class PipePoller:
    """One pipe from an SQS queue to a state machine."""

    def __init__(self, pipe: PipeSpec, sqs: Any, sfn: Any, stats: Stats) -> None:
        self.pipe = pipe
        self.sqs = sqs
        self.sfn = sfn
        self.stats = stats
        self.synchronous = pipe.invocation_type != FIRE_AND_FORGET
        self._slots = threading.BoundedSemaphore(SYNC_CONCURRENCY if self.synchronous else 1)
        self._executor = ThreadPoolExecutor(SYNC_CONCURRENCY, thread_name_prefix="pipe-sync")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"pipe-{pipe.name}", daemon=True)
        self.started = 0
        self.start_errors = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self._receive()
            except Exception as exc:  # the emulator refused (e.g. the role may not receive)
                self._note("Poll", exc)
                self._stop.wait(1.0)
                continue
            size = max(1, self.pipe.batch_size)
            for start in range(0, len(messages), size):
                self._deliver(messages[start : start + size])

    def _receive(self) -> list[dict[str, Any]]:
        # a short wait, so stop() stays responsive; Pipes long-poll 20 s
        return receive(self.sqs, self.pipe.source.url, self.stats, 10, wait_s=1)

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        records = [lambda_record(m, self.pipe.source.arn) for m in batch]
        if not self.synchronous:
            if self._start(records) is not None:
                self._delete(batch)
            return
        self._slots.acquire()
        self._executor.submit(self._run_and_settle, batch, records)

    def _start(self, records: list[dict[str, Any]]) -> str | None:
        """StartExecution with the pipe's role; None when the start was refused."""
        try:
            arn = str(
                self.sfn.start_execution(
                    stateMachineArn=self.pipe.target.arn, input=json.dumps(records)
                )["executionArn"]
            )
        except Exception as exc:
            self._note("StartExecution", exc)
            return None
        self.started += 1
        with self.stats.lock:
            self.stats.executions_started[self.pipe.target.name] += 1
        return arn

    def _run_and_settle(self, batch: list[dict[str, Any]], records: list[dict[str, Any]]) -> None:
        try:
            arn = self._start(records)
            if arn is not None and self._wait(arn) == "SUCCEEDED":
                self._delete(batch)
        except Exception as exc:
            self._note("Settle", exc)
        finally:
            self._slots.release()

    def _wait(self, execution_arn: str) -> str:
        deadline = time.monotonic() + EXPRESS_MAX_S + 30
        while not self._stop.is_set() and time.monotonic() < deadline:
            status = str(self.sfn.describe_execution(executionArn=execution_arn)["status"])
            if status != "RUNNING":
                return status
            self._stop.wait(0.2)
        return "RUNNING"

    def _delete(self, batch: list[dict[str, Any]]) -> None:
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        try:
            self.sqs.delete_message_batch(QueueUrl=self.pipe.source.url, Entries=entries)
        except Exception as exc:  # the batch comes back after its visibility timeout
            self._note("Delete", exc)

    def _note(self, kind: str, exc: Exception) -> None:
        self.start_errors += kind == "StartExecution"
        with self.stats.lock:
            self.stats.note_error(self.pipe.name, {"type": kind, "message": str(exc)})
