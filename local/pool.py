"""Lambda's execution environments, locally: a pool of worker processes per function.

Each function runs in its own worker processes (`local.worker`): spawned on demand (a cold
start), reused while warm. A worker that runs out of time, crashes, or cannot be reached at
all (its pipe broken, its reply garbled) is handled as Lambda handles a failed environment:
the invocation fails (its batch is retried by SQS), the error goes to the function's log in
Lambda's shape and into its Errors metric, and the environment is thrown away; the next
invocation starts a new one.

Each worker leads a process group of its own, so killing it kills what it started
(tesseract), and is reaped once killed. Each invocation gets its own temporary directory
(TMPDIR), removed when the invocation ends, however it ends.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from local.metrics import ServiceMetrics, Stats
from local.topology import FunctionSpec

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Lambda gives the init phase (imports, cold start) 10 s of its own, outside the timeout.
INIT_TIMEOUT_S = 10.0
# How long a worker told to exit (end of input) may take before it is killed.
CLOSE_TIMEOUT_S = 5.0


class WorkerError(Exception):
    """The worker failed to start, crashed, could not be reached, or ran out of time.

    `error_type` and `message` are what Lambda reports for the failed invocation."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message

    @property
    def timed_out(self) -> bool:
        return self.error_type == TIMED_OUT


TIMED_OUT = "Sandbox.Timedout"
EXITED = "Runtime.ExitError"
INIT_FAILED = "Runtime.InitError"
# Local mode's own: the runtime stopped (`local down`) while the invocation ran. Its batch
# fails like any other (SQS delivers it again), but the function did nothing wrong.
STOPPED = "Runtime.Stopped"


@dataclass
class Invocation:
    """What one invocation returned, as the poller needs it to settle the batch."""

    ok: bool
    result: Any = None
    error: dict[str, Any] | None = None
    duration_ms: int = 0
    cold_start: bool = False
    timed_out: bool = False
    request_id: str = ""
    # What the function logged: EMF documents, and records logged at level ERROR.
    metrics: list[dict[str, Any]] = field(default_factory=list)
    logged_errors: list[dict[str, Any]] = field(default_factory=list)


def exit_status(returncode: int) -> str:
    """A process's end as Lambda words it: `signal: killed`, `exit status 3`."""
    if returncode < 0:
        return f"signal: {signal.strsignal(-returncode) or -returncode}".lower()
    return f"exit status {returncode}"


class Worker:
    """One warm execution environment of a function."""

    def __init__(
        self, spec: FunctionSpec, handler: str, env: dict[str, str], log: IO[str], tmp_dir: Path
    ):
        self.spec = spec
        self.tmp_dir = tmp_dir
        tmp_dir.mkdir(parents=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local.worker", handler],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env={**env, "TMPDIR": str(tmp_dir)},
            cwd=PROJECT_DIR,
            text=True,
            start_new_session=True,  # its own process group: killed with its children
        )
        self._buffer = ""
        try:
            reply = self._read(INIT_TIMEOUT_S)
        except WorkerError:
            self.kill()
            raise
        if not reply.get("ready"):
            self.kill()
            error = reply.get("error") or {}
            raise WorkerError(INIT_FAILED, f"{error.get('type')}: {error.get('message')}")
        self.init_ms = int(reply.get("init_ms", 0))

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self, timeout_s: float) -> dict[str, Any]:
        """One reply line, or WorkerError when the deadline passes or the worker is gone."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout_s
        while "\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerError(TIMED_OUT, f"Task timed out after {timeout_s:.2f} seconds")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 65536).decode()
            if not chunk:
                raise self._exited()
            self._buffer += chunk
        line, self._buffer = self._buffer.split("\n", 1)
        try:
            reply: dict[str, Any] = json.loads(line)
        except ValueError as exc:
            raise WorkerError(EXITED, f"Runtime returned an invalid reply: {exc}") from exc
        return reply

    def _exited(self) -> WorkerError:
        try:
            status = exit_status(self.process.wait(timeout=1))
        except subprocess.TimeoutExpired:  # closed its pipes but lives on: end it
            self.kill()
            status = "closed its connection"
        return WorkerError(EXITED, f"Runtime exited with error: {status}")

    def invoke(self, request: dict[str, Any]) -> dict[str, Any]:
        """The worker's reply; WorkerError for anything but a reply in time."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            return self._read(float(self.spec.timeout_s))
        except (OSError, ValueError) as exc:  # a broken pipe (it died while idle), a closed one
            raise self._exited() from exc

    def kill(self) -> None:
        """Kill the worker and everything it started; reap it; remove its files."""
        with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):  # a broken pipe's buffered write
                    pipe.close()
        shutil.rmtree(self.tmp_dir, ignore_errors=True)

    def close(self) -> None:
        """Ask a warm worker to exit (end of input); kill what remains either way."""
        try:
            if self.process.stdin:
                self.process.stdin.close()
            self.process.wait(timeout=CLOSE_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()  # its group may hold a child it left behind


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
        tmp_root: Path | None = None,
    ) -> None:
        self.spec = spec
        self.handler = handler
        self.env = env
        self.stats = stats
        self.metrics = metrics
        self._log = log_path.open("a", encoding="utf-8")
        self._own_tmp_root = tmp_root is None
        self.tmp_root = Path(tempfile.mkdtemp(prefix="docpipe-")) if tmp_root is None else tmp_root
        self._numbers = itertools.count(1)
        self._idle: list[Worker] = []
        self._all: list[Worker] = []
        self._lock = threading.Lock()
        self._closed = False
        self.started_pids: list[int] = []  # every worker ever started (tests look for leftovers)

    def _checkout(self) -> tuple[Worker, bool]:
        with self._lock:
            if self._closed:
                raise WorkerError(INIT_FAILED, "the runtime is stopping")
            if self._idle:
                return self._idle.pop(), False
            tmp_dir = self.tmp_root / f"{self.spec.stage}-{next(self._numbers)}"
        worker = Worker(self.spec, self.handler, self.env, self._log, tmp_dir)
        with self._lock:
            self._all.append(worker)
            self.started_pids.append(worker.pid)
            closed = self._closed
        if closed:  # stopped while this one was starting: do not leave it behind
            self._discard(worker)
            raise WorkerError(INIT_FAILED, "the runtime is stopping")
        return worker, True

    def _discard(self, worker: Worker) -> None:
        worker.kill()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)

    def invoke(self, event: dict[str, Any]) -> Invocation:
        invocation = self._invoke(event)
        stopped = invocation.error is not None and invocation.error["type"] == STOPPED
        if self.metrics is not None and not stopped:
            self.metrics.record(self.spec.name, invocation)
            self.metrics.publish_embedded(self.spec.name, invocation.metrics)
        return invocation

    def _invoke(self, event: dict[str, Any]) -> Invocation:
        request_id = str(uuid.uuid4())
        try:
            worker, cold = self._checkout()
        except WorkerError as exc:
            return self._failed(request_id, exc)
        tmp_dir = worker.tmp_dir / request_id
        try:
            tmp_dir.mkdir()
            reply = worker.invoke(
                {
                    "event": event,
                    "request_id": request_id,
                    "timeout_ms": self.spec.timeout_s * 1000,
                    "tmpdir": str(tmp_dir),
                }
            )
        except WorkerError as failure:
            # Timed out, crashed or unreachable: Lambda throws the execution environment away.
            self._discard(worker)
            stopped = WorkerError(STOPPED, "the runtime stopped during the invocation")
            # killed by close(): no failure of the function's
            return self._failed(request_id, stopped if self._closed else failure, cold)
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)
        with self._lock:
            self._idle.append(worker)
        return self._replied(request_id, reply, cold)

    def _replied(self, request_id: str, reply: dict[str, Any], cold: bool) -> Invocation:
        name, duration = self.spec.name, int(reply.get("duration_ms", 0))
        with self.stats.lock:
            self.stats.invocations[name] += 1
            self.stats.cold_starts[name] += int(cold)
            self.stats.invocation_ms[name].append(duration)
        logged = {"metrics": reply.get("metrics") or [], "logged_errors": reply.get("errors") or []}
        error = reply.get("error")
        if error is not None:
            with self.stats.lock:
                self.stats.errors[name] += 1
                self.stats.note_error(name, error)
        return Invocation(
            error is None, reply.get("result"), error, duration, cold, False, request_id, **logged
        )

    def _failed(self, request_id: str, exc: WorkerError, cold: bool = False) -> Invocation:
        """An invocation the worker never answered: logged as Lambda logs it, and counted."""
        error = {"type": exc.error_type, "message": f"RequestId: {request_id} Error: {exc}"}
        self._log_platform_error(request_id, error)
        name = self.spec.name
        with self.stats.lock:
            self.stats.errors[name] += int(exc.error_type != STOPPED)
            self.stats.timeouts[name] += int(exc.timed_out)
            self.stats.crashes[name] += int(exc.error_type == EXITED)
            self.stats.note_error(name, error)
        return Invocation(
            False, error=error, cold_start=cold, timed_out=exc.timed_out, request_id=request_id
        )

    def _log_platform_error(self, request_id: str, error: dict[str, Any]) -> None:
        """What Lambda writes to the function's log when an invocation times out or its
        runtime exits (the handler itself can write nothing then)."""
        line = {
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": "ERROR",
            "requestId": request_id,
            "errorType": error["type"],
            "errorMessage": error["message"],
        }
        with self._lock:
            if not self._log.closed:  # a worker killed by close() answers after it
                self._log.write(json.dumps(line) + "\n")
                self._log.flush()

    def workers(self) -> list[int]:
        """The pids of the workers alive in this pool."""
        with self._lock:
            return [worker.pid for worker in self._all]

    def idle_workers(self) -> list[int]:
        """The pids of the idle workers, the one the next invocation takes first."""
        with self._lock:
            return [worker.pid for worker in reversed(self._idle)]

    def close(self) -> None:
        """Idle workers exit at end of input; busy ones are killed (their batch fails).
        Either way their process groups are killed and reaped, their files removed."""
        with self._lock:
            self._closed = True
            workers, idle = list(self._all), list(self._idle)
            self._all, self._idle = [], []
        for worker in workers:
            if worker in idle:
                worker.close()
            else:
                worker.kill()
        if self._own_tmp_root:
            shutil.rmtree(self.tmp_root, ignore_errors=True)
        with self._lock:
            self._log.close()
