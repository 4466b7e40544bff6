"""Lambda semantics on one machine: pollers per event source mapping, worker processes, schedules.

- One poller per event source mapping, polling with the function's role credentials (as
  Lambda does). It never has more batches in flight than the mapping's maximum concurrency,
  gathers up to `batch_size` messages within the batching window, and settles each batch like
  Lambda: success deletes the batch; with ReportBatchItemFailures only the records the
  function did not name; an error, a timeout or an invalid failure list deletes nothing.
  Nothing else touches a failed message: it becomes visible again after the queue's
  visibility timeout, and the emulator's redrive moves it to the DLQ after maxReceiveCount.
- Each function runs in its own worker processes (`local.worker`): spawned on demand (a cold
  start), reused while warm, killed on timeout (Lambda discards the environment).
- Schedules tick on a local interval and send their target input with the schedule's role.
- Each invocation's AWS/Lambda metrics (Invocations, Errors, Duration) go to the emulator's
  CloudWatch, as Lambda publishes them, for `docpipe status`.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote_plus

from handlers.config import TESSDATA_ENV, installed_tessdata
from local.emulator import REGION, Credentials, Emulator, assume_role_credentials
from local.topology import FunctionSpec, MappingSpec, ScheduleSpec, Topology

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Lambda gives the init phase (imports, cold start) 10 s of its own, outside the timeout.
INIT_TIMEOUT_S = 10.0
# Worker processes per function at most, whatever the mapping allows: a laptop is not a fleet.
DEFAULT_LOCAL_CONCURRENCY = 4
# Host variables a worker keeps (tesseract on PATH, a locale, a temp dir); nothing else leaks.
HOST_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TESSDATA_PREFIX")


class WorkerError(Exception):
    """The worker failed to start, crashed, or ran out of time."""


@dataclass
class Invocation:
    """What one invocation returned, as the poller needs it to settle the batch."""

    ok: bool
    result: Any = None
    error: dict[str, Any] | None = None
    duration_ms: int = 0
    cold_start: bool = False
    timed_out: bool = False


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


# -- worker processes ------------------------------------------------------------------------


class Worker:
    """One warm execution environment of a function."""

    def __init__(self, spec: FunctionSpec, handler: str, env: dict[str, str], log: IO[str]):
        self.spec = spec
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local.worker", handler],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
            cwd=PROJECT_DIR,
            text=True,
        )
        self._buffer = ""
        reply = self._read(INIT_TIMEOUT_S)
        if not reply.get("ready"):
            self.kill()
            raise WorkerError(f"init failed: {reply.get('error')}")
        self.init_ms = int(reply.get("init_ms", 0))

    def _read(self, timeout_s: float) -> dict[str, Any]:
        """One reply line, or WorkerError when the deadline passes or the process died."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout_s
        while "\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerError(f"timed out after {timeout_s:.1f} s")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 65536).decode()
            if not chunk:
                raise WorkerError(f"worker exited with code {self.process.wait()}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split("\n", 1)
        reply: dict[str, Any] = json.loads(line)
        return reply

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        request = {
            "event": event,
            "request_id": str(uuid.uuid4()),
            "timeout_ms": self.spec.timeout_s * 1000,
        }
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self._read(float(self.spec.timeout_s))

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)

    def close(self) -> None:
        """Ask a warm worker to exit (end of input), then make sure it did."""
        try:
            if self.process.stdin:
                self.process.stdin.close()
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()


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


class FunctionPool:
    """The warm workers of one function; a new one (cold start) when all are busy."""

    def __init__(
        self,
        spec: FunctionSpec,
        handler: str,
        env: dict[str, str],
        log_path: Path,
        stats: Stats,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self.spec = spec
        self.handler = handler
        self.env = env
        self.stats = stats
        self.metrics = metrics
        self._log = log_path.open("a", encoding="utf-8")
        self._idle: list[Worker] = []
        self._all: list[Worker] = []
        self._lock = threading.Lock()
        self._closed = False

    def _checkout(self) -> tuple[Worker, bool]:
        with self._lock:
            if self._closed:
                raise WorkerError("the runtime is stopping")
            if self._idle:
                return self._idle.pop(), False
        worker = Worker(self.spec, self.handler, self.env, self._log)
        with self._lock:
            self._all.append(worker)
            closed = self._closed
        if closed:  # stopped while this one was starting: do not leave it behind
            worker.kill()
            raise WorkerError("the runtime is stopping")
        return worker, True

    def _discard(self, worker: Worker) -> None:
        worker.kill()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)

    def invoke(self, event: dict[str, Any]) -> Invocation:
        invocation = self._invoke(event)
        if self.metrics is not None:
            self.metrics.record(self.spec.name, invocation)
        return invocation

    def _invoke(self, event: dict[str, Any]) -> Invocation:
        name = self.spec.name
        try:
            worker, cold = self._checkout()
        except WorkerError as exc:
            return self._failed({"type": "InitError", "message": str(exc)})
        try:
            reply = worker.invoke(event)
        except WorkerError as exc:
            # Timed out or crashed: Lambda throws the execution environment away.
            self._discard(worker)
            timed_out = "timed out" in str(exc)
            with self.stats.lock:
                self.stats.timeouts[name] += int(timed_out)
            return self._failed({"type": "Timeout" if timed_out else "Crash", "message": str(exc)})
        with self._lock:
            self._idle.append(worker)
        with self.stats.lock:
            self.stats.invocations[name] += 1
            self.stats.cold_starts[name] += int(cold)
            self.stats.invocation_ms[name].append(int(reply.get("duration_ms", 0)))
        if "error" in reply:
            return self._failed(reply["error"], cold)
        return Invocation(True, reply.get("result"), None, int(reply["duration_ms"]), cold)

    def _failed(self, error: dict[str, Any], cold: bool = False) -> Invocation:
        with self.stats.lock:
            self.stats.errors[self.spec.name] += 1
            self.stats.note_error(self.spec.name, error)
        return Invocation(False, error=error, cold_start=cold, timed_out=error["type"] == "Timeout")

    def close(self) -> None:
        """Idle workers exit at end of input; busy ones are killed (their batch fails)."""
        with self._lock:
            self._closed = True
            workers, idle = list(self._all), list(self._idle)
            self._all, self._idle = [], []
        for worker in workers:
            if worker in idle:
                worker.close()
            else:
                worker.kill()
        self._log.close()


# -- event source mapping pollers ------------------------------------------------------------


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


def doc_id_of(body: str) -> str | None:
    """The document a message is about (for per-stage timings), when it says."""
    from handlers.envelope import doc_id_for

    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("doc_id"), str):
        return str(data["doc_id"])
    records = data.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        s3 = records[0].get("s3") or {}
        bucket, obj = (s3.get("bucket") or {}).get("name"), s3.get("object") or {}
        if bucket and obj.get("key") and obj.get("eTag"):
            return doc_id_for(bucket, unquote_plus(obj["key"]), obj["eTag"])
    if data.get("kind") == "ocr.request" and data.get("etag"):
        return doc_id_for(data["bucket"], data["key"], data["etag"])
    return None


class QueuePoller:
    """Lambda's poller for one event source mapping."""

    def __init__(
        self,
        mapping: MappingSpec,
        pool: FunctionPool,
        sqs: Any,
        concurrency: int,
        stats: Stats,
    ) -> None:
        self.mapping = mapping
        self.pool = pool
        self.sqs = sqs
        self.stats = stats
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
        response = self.sqs.receive_message(
            QueueUrl=self.mapping.queue.url,
            MaxNumberOfMessages=max(1, min(10, max_messages)),  # SQS returns 10 at most
            WaitTimeSeconds=max(0, min(20, int(wait_s))),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        with self.stats.lock:
            self.stats.deliveries.update(m["MessageId"] for m in messages)
        return messages

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
        except Exception as exc:  # never let a settling error kill the invoke thread silently
            with self.stats.lock:
                self.stats.note_error(self.pool.spec.name, {"type": "Settle", "message": str(exc)})
        finally:
            with self._count_lock:
                self.in_flight -= 1
            self._slots.release()

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
                doc_id = doc_id_of(message["Body"])
                sent = int(message.get("Attributes", {}).get("SentTimestamp", 0)) / 1000
                if doc_id:
                    self.stats.done_at[stage][doc_id] = now
                if doc_id and sent:
                    self.stats.stage_seconds[stage][doc_id] = round(now - sent, 3)


# -- schedules ------------------------------------------------------------------------------


class ScheduleTicker:
    """EventBridge Scheduler, locally: every `interval_s`, send each target its input."""

    def __init__(
        self,
        schedules: list[ScheduleSpec],
        client_for_role: Callable[[str], Any],
        interval_s: float,
    ) -> None:
        self.schedules = schedules
        self.client_for_role = client_for_role
        self.interval_s = interval_s
        self.ticks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)

    def start(self) -> None:
        if self.schedules and self.interval_s > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def tick(self) -> None:
        for schedule in self.schedules:
            # The scheduler assumes the target's role: a role that may not send is an error.
            sqs = self.client_for_role(schedule.role_arn)
            sqs.send_message(QueueUrl=schedule.target_queue.url, MessageBody=schedule.message)
        self.ticks += 1

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.tick()
            except Exception:  # a denied send shows in the sweep's absence; keep ticking
                continue


# -- the whole runtime ----------------------------------------------------------------------


@dataclass
class RuntimeOptions:
    nltk_data: Path | None = None
    # The OCR models for the in-process engine: on Lambda its layer's /opt/python/tessdata,
    # here the tessdata packages installed into the venv.
    tessdata: Path = field(default_factory=installed_tessdata)
    log_dir: Path = PROJECT_DIR / ".docpipe" / "logs"
    local_concurrency: int = DEFAULT_LOCAL_CONCURRENCY
    schedule_interval_s: float = 60.0
    # stage -> "module.function": run a variant instead of the stack's handler (tests, bench)
    handler_overrides: dict[str, str] = field(default_factory=dict)
    extra_pythonpath: list[Path] = field(default_factory=list)


class LambdaRuntime:
    """Pollers, worker pools and the schedule ticker for one deployed topology."""

    def __init__(
        self,
        emulator: Emulator,
        topology: Topology,
        options: RuntimeOptions,
        service_credentials: Credentials | None = None,
    ) -> None:
        self.emulator = emulator
        self.topology = topology
        self.options = options
        self.stats = Stats()
        # The Lambda service's own calls (its metrics), made with the operator's keys: the
        # emulator has no service principal.
        self.metrics = (
            ServiceMetrics(emulator.client("cloudwatch", service_credentials), self.stats)
            if service_credentials
            else None
        )
        self._credentials: dict[str, Credentials] = {}
        self.pools: dict[str, FunctionPool] = {}
        self.pollers: list[QueuePoller] = []
        self.ticker = ScheduleTicker(
            topology.schedules, self.sqs_for_role, options.schedule_interval_s
        )

    def credentials_for(self, role_arn: str) -> Credentials:
        if role_arn not in self._credentials:
            session = f"docpipe-local-{role_arn.rsplit('/', 1)[-1]}"[:64]
            self._credentials[role_arn] = assume_role_credentials(role_arn, session)
        return self._credentials[role_arn]

    def sqs_for_role(self, role_arn: str) -> Any:
        return self.emulator.client("sqs", self.credentials_for(role_arn))

    def function_env(self, spec: FunctionSpec) -> dict[str, str]:
        """The function's variables plus what Lambda sets, pointed at the emulator."""
        env = {key: os.environ[key] for key in HOST_VARIABLES if key in os.environ}
        env.update(spec.environment)
        env.update(self.credentials_for(spec.role_arn).as_env())
        pythonpath = [PROJECT_DIR, *self.options.extra_pythonpath]
        env.update(
            {
                "AWS_ENDPOINT_URL": self.emulator.endpoint,
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout_s),
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
                "DOCPIPE_LOCAL_FUNCTION_ARN": spec.arn,
                "PYTHONPATH": os.pathsep.join(str(p) for p in pythonpath),
                "PYTHONUNBUFFERED": "1",
            }
        )
        # No X-Ray daemon runs locally; Powertools' tracer would only warn on every call.
        env.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
        if self.options.nltk_data and "NLTK_DATA" in env:
            env["NLTK_DATA"] = str(self.options.nltk_data)  # /opt/python/... exists only on AWS
        if TESSDATA_ENV in spec.environment:
            env[TESSDATA_ENV] = str(self.options.tessdata)
        return env

    def concurrency_for(self, mapping: MappingSpec) -> int:
        limits = [mapping.maximum_concurrency, self.options.local_concurrency]
        if mapping.function.reserved_concurrency >= 0:
            limits.append(mapping.function.reserved_concurrency)
        return max(0, min(limits))

    def start(self) -> None:
        self.options.log_dir.mkdir(parents=True, exist_ok=True)
        for spec in self.topology.functions:
            handler = self.options.handler_overrides.get(spec.stage, spec.handler)
            log_path = self.options.log_dir / f"{spec.stage}.log"
            self.pools[spec.name] = FunctionPool(
                spec, handler, self.function_env(spec), log_path, self.stats, self.metrics
            )
        for mapping in self.topology.mappings:
            concurrency = self.concurrency_for(mapping)
            if not mapping.enabled or concurrency == 0:
                continue  # a disabled mapping, or reserved concurrency 0: Lambda does not poll
            poller = QueuePoller(
                mapping,
                self.pools[mapping.function.name],
                self.sqs_for_role(mapping.function.role_arn),
                concurrency,
                self.stats,
            )
            self.pollers.append(poller)
            poller.start()
        self.ticker.start()

    def stop(self) -> None:
        self.ticker.stop()
        for poller in self.pollers:
            poller._stop.set()  # all stop receiving at once
        # Then end the workers, so an invocation in flight fails now instead of running out
        # its timeout (up to 15 minutes); its messages stay on their queue.
        for pool in self.pools.values():
            pool.close()
        for poller in self.pollers:
            poller.stop()
