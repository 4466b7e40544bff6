"""Lambda's poller for one SQS event source mapping.

It polls with the function's role credentials (as Lambda does), never has more batches in
flight than the mapping's maximum concurrency, gathers up to `batch_size` messages within the
batching window, and settles each batch like Lambda: success deletes the batch; with
ReportBatchItemFailures only the records the function did not name; an error, a timeout or
an invalid failure list deletes nothing. Nothing else touches a failed message: it becomes
visible again after the queue's visibility timeout, and the emulator's redrive moves it to the
DLQ after maxReceiveCount. When a failed delivery was a message's last, the poller notes why
it failed and after how many deliveries (`local.dead_letters`).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from contract.messages import doc_id_in
from local.dead_letters import DeadLetterNote, DeadLetterNotes, reason_for
from local.emulator import REGION
from local.metrics import Stats
from local.pool import FunctionPool, Invocation
from local.topology import MappingSpec


def receive(
    sqs: Any, url: str, stats: Stats, max_messages: int, wait_s: float
) -> list[dict[str, Any]]:
    """Up to `max_messages` messages with every attribute, as Lambda's pollers and Pipes take
    them, each delivery counted."""
    response = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=max(1, min(10, max_messages)),  # SQS returns 10 at most
        WaitTimeSeconds=max(0, min(20, int(wait_s))),
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    messages: list[dict[str, Any]] = response.get("Messages", [])
    with stats.lock:
        stats.deliveries.update(m["MessageId"] for m in messages)
    return messages


def lambda_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """An SQS message as Lambda puts it in the event: camelCase, attributes as strings."""
    attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value["DataType"],
        }
        for name, value in (message.get("MessageAttributes") or {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": attributes,
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def failed_message_ids(
    invocation: Invocation, message_ids: list[str], report_failures: bool
) -> list[str]:
    """Which records of a batch stay on the queue, by Lambda's rules for SQS.

    An error fails the whole batch. Without ReportBatchItemFailures a success deletes the
    whole batch, whatever the function returned. With it: an empty or missing list deletes
    all; a list naming an id that is empty or not in the batch fails the whole batch.
    https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
    """
    if not invocation.ok:
        return list(message_ids)
    if not report_failures:
        return []
    result = invocation.result if isinstance(invocation.result, dict) else {}
    failures = result.get("batchItemFailures") or []
    if not isinstance(failures, list):
        return list(message_ids)
    named = [f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures]
    if any(not item or item not in message_ids for item in named):
        return list(message_ids)
    return [message_id for message_id in message_ids if message_id in named]


class QueuePoller:
    """Lambda's poller for one event source mapping."""

    def __init__(
        self,
        mapping: MappingSpec,
        pool: FunctionPool,
        sqs: Any,
        concurrency: int,
        stats: Stats,
        dead_letters: DeadLetterNotes | None = None,
    ) -> None:
        self.mapping = mapping
        self.pool = pool
        self.sqs = sqs
        self.stats = stats
        self.dead_letters = dead_letters or DeadLetterNotes()
        self.concurrency = concurrency
        self._slots = threading.BoundedSemaphore(concurrency)
        self._executor = ThreadPoolExecutor(
            concurrency, thread_name_prefix=f"invoke-{pool.spec.stage}"
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"poll-{pool.spec.stage}", daemon=True
        )
        self.receive_errors = 0
        self.in_flight = 0
        self.peak_in_flight = 0  # the most batches ever in flight at once (<= concurrency)
        self._count_lock = threading.Lock()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self._executor.shutdown(wait=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            # A slot first, then receive: a received message must not wait for a free worker
            # while its visibility timeout runs.
            if not self._slots.acquire(timeout=0.5):
                continue
            try:
                batch = self._collect_batch()
            except Exception as exc:  # the emulator refused (e.g. the role may not receive)
                self._slots.release()
                self.receive_errors += 1
                with self.stats.lock:
                    self.stats.note_error(
                        self.pool.spec.name, {"type": "Poll", "message": str(exc)}
                    )
                self._stop.wait(1.0)
                continue
            if not batch:
                self._slots.release()
                continue
            with self._count_lock:
                self.in_flight += 1
                self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            self._executor.submit(self._invoke_and_settle, batch)

    def _receive(self, max_messages: int, wait_s: float) -> list[dict[str, Any]]:
        return receive(self.sqs, self.mapping.queue.url, self.stats, max_messages, wait_s)

    def _collect_batch(self) -> list[dict[str, Any]]:
        """Up to batch_size messages: Lambda invokes when the batch is full or the window ends."""
        batch_size = self.mapping.batch_size
        # A short long-poll keeps stop() responsive; Lambda itself waits 20 s.
        batch = self._receive(batch_size, wait_s=1)
        if not batch or self.mapping.batching_window_s <= 0:
            return batch
        window_ends = time.monotonic() + self.mapping.batching_window_s
        while len(batch) < batch_size and not self._stop.is_set():
            remaining = window_ends - time.monotonic()
            if remaining <= 0:
                break
            more = self._receive(batch_size - len(batch), wait_s=min(remaining, 1))
            if not more and remaining < 1:  # SQS long-polls whole seconds only: do not spin
                self._stop.wait(min(remaining, 0.2))
            batch += more
        return batch

    def _invoke_and_settle(self, batch: list[dict[str, Any]]) -> None:
        documents = [d for d in (doc_id_in(m["Body"]) for m in batch) if d]
        with self.stats.lock:
            self.stats.in_flight_docs.update(documents)
        try:
            queue_arn = self.mapping.queue.arn
            event = {"Records": [lambda_record(m, queue_arn) for m in batch]}
            invocation = self.pool.invoke(event)
            ids = [m["MessageId"] for m in batch]
            failed = set(
                failed_message_ids(invocation, ids, self.mapping.report_batch_item_failures)
            )
            done = [m for m in batch if m["MessageId"] not in failed]
            self._delete(done)
            self._record(done, len(failed))
            self._note_last_deliveries([m for m in batch if m["MessageId"] in failed], invocation)
        except Exception as exc:  # never let a settling error kill the invoke thread silently
            with self.stats.lock:
                self.stats.note_error(self.pool.spec.name, {"type": "Settle", "message": str(exc)})
        finally:
            with self.stats.lock:
                self.stats.in_flight_docs.subtract(documents)
                self.stats.in_flight_docs += Counter()  # drop the documents at zero
            with self._count_lock:
                self.in_flight -= 1
            self._slots.release()

    def _note_last_deliveries(self, failed: list[dict[str, Any]], invocation: Invocation) -> None:
        """Messages whose receive count has reached maxReceiveCount go to the DLQ on their
        next receive: note why their last delivery failed, and how many there were."""
        queue = self.mapping.queue
        if not (queue.dead_letter_arn and queue.max_receive_count):
            return
        now = datetime.now(UTC).isoformat(timespec="seconds")
        for message in failed:
            receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", 0))
            if receives < queue.max_receive_count:
                continue
            reason = reason_for(message["MessageId"], invocation.error, invocation.logged_errors)
            self.dead_letters.add(
                DeadLetterNote(
                    self.pool.spec.stage,
                    message["MessageId"],
                    doc_id_in(message["Body"]),
                    receives,
                    reason,
                    now,
                )
            )

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):  # DeleteMessageBatch takes 10 at most
            chunk = messages[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.mapping.queue.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
                ],
            )

    def _record(self, done: list[dict[str, Any]], failed: int) -> None:
        stage, now = self.pool.spec.stage, time.time()
        with self.stats.lock:
            self.stats.deleted[stage] += len(done)
            self.stats.failed_records[stage] += failed
            for message in done:
                doc_id = doc_id_in(message["Body"])
                sent = int(message.get("Attributes", {}).get("SentTimestamp", 0)) / 1000
                if doc_id:
                    self.stats.done_at[stage][doc_id] = now
                if doc_id and sent:
                    self.stats.stage_seconds[stage][doc_id] = round(now - sent, 3)
