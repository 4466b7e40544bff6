"""Lambda's execution environments, locally: a pool of worker processes per function.

Each function runs in its own worker processes (`local.worker`): spawned on demand (a cold
start), reused while warm, killed on timeout (Lambda discards the environment).
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
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from local.metrics import ServiceMetrics, Stats
from local.topology import FunctionSpec

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Lambda gives the init phase (imports, cold start) 10 s of its own, outside the timeout.
INIT_TIMEOUT_S = 10.0


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
