"""One Lambda execution environment: `python -m local.worker MODULE.FUNCTION`.

Started by `local.pool` with exactly the function's environment (its variables, its role's
credentials, AWS_ENDPOINT_URL at the emulator), in a process group of its own so that a kill
takes its children (tesseract) with it. Like Lambda, it imports the handler once (the init
phase, a cold start) and then serves invocations one at a time while it stays warm.

Protocol: one JSON object per line. The worker's real stdout is reserved for it; fd 1 is
pointed at stderr so anything the handler prints (Powertools logs JSON to stdout) goes to the
function's log instead of corrupting the protocol.
  worker -> {"ready": true, "init_ms": n} | {"ready": false, "error": {...}}
  runtime -> {"event": {...}, "request_id": "...", "timeout_ms": n, "tmpdir": "..."}
  worker -> {"result": <json>, "duration_ms": n, "metrics": [...], "errors": [...]}
          | {"error": {"type", "message"}, ...}

What the handler prints is read the way Lambda's log pipeline reads it: embedded-metric-format
documents (Powertools' metrics) go back to the runtime as `metrics`, which publishes them to
the emulator's CloudWatch as CloudWatch Logs would; JSON lines logged at level ERROR go back
as `errors` (the reason local mode records when a message is dead-lettered).
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
"""

from __future__ import annotations

import importlib
import io
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from typing import IO, Any

# Bounds on what one invocation sends back from its log (the log file keeps everything).
MAX_ERRORS_PER_INVOCATION = 50
MAX_FIELD_CHARS = 1000


class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    def __init__(self, request_id: str, timeout_ms: int) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.invoked_function_arn = os.environ.get("DOCPIPE_LOCAL_FUNCTION_ARN", "")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LogStream(io.TextIOBase):
    """The handler's stdout: every line goes to the function's log; EMF documents and JSON
    lines logged at ERROR are also kept for the runtime, per invocation."""

    def __init__(self, log: IO[str]) -> None:
        self.log = log
        self.metrics: list[dict[str, Any]] = []
        self.logged_errors: list[dict[str, Any]] = []
        self._partial = ""

    def write(self, text: str) -> int:
        self.log.write(text)
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self._read(line)
        return len(text)

    def flush(self) -> None:
        self.log.flush()

    def fileno(self) -> int:
        return self.log.fileno()

    def _read(self, line: str) -> None:
        if not line.startswith("{"):
            return
        try:
            record = json.loads(line)
        except ValueError:
            return
        if not isinstance(record, dict):
            return
        if "CloudWatchMetrics" in (record.get("_aws") or {}):
            self.metrics.append(record)
        elif record.get("level") == "ERROR" and len(self.logged_errors) < MAX_ERRORS_PER_INVOCATION:
            self.logged_errors.append(_brief(record))

    def take(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """What this invocation logged (and forget it)."""
        metrics, errors = self.metrics, self.logged_errors
        self.metrics, self.logged_errors = [], []
        return metrics, errors


def _brief(record: dict[str, Any]) -> dict[str, Any]:
    """A logged record's plain fields, each bounded (a traceback stays in the log file)."""
    return {
        key: value[:MAX_FIELD_CHARS] if isinstance(value, str) else value
        for key, value in record.items()
        if isinstance(value, str | int | float | bool)
    }


def _error(exc: BaseException) -> dict[str, Any]:
    return {
        "type": type(exc).__name__,
        "message": str(exc),
        "trace": traceback.format_exception(exc)[-6:],
    }


def _send(channel: IO[str], message: dict[str, Any]) -> None:
    channel.write(json.dumps(message, default=str) + "\n")
    channel.flush()


def load_handler(spec: str) -> Callable[[Any, Any], Any]:
    module_name, _, function_name = spec.rpartition(".")
    module = importlib.import_module(module_name)
    handler: Callable[[Any, Any], Any] = getattr(module, function_name)
    return handler


def use_temp_dir(path: str) -> None:
    """Temporary files of this invocation (and of the programs it starts) go under `path`,
    which the runtime removes once the invocation ends, however it ends."""
    os.environ["TMPDIR"] = path
    tempfile.tempdir = path  # the tempfile module caches the directory it chose first


def invoke(handler: Callable[[Any, Any], Any], request: dict[str, Any]) -> dict[str, Any]:
    context = LambdaContext(request["request_id"], int(request["timeout_ms"]))
    try:
        return {"result": handler(request["event"], context)}
    except Exception as exc:
        reply = {"error": _error(exc)}
        # Lambda's runtime logs an unhandled error to the function's log in this shape.
        print(
            json.dumps(
                {
                    "errorMessage": str(exc),
                    "errorType": type(exc).__name__,
                    "requestId": request["request_id"],
                    "stackTrace": reply["error"]["trace"],
                }
            ),
            file=sys.stderr,
        )
        return reply


def serve(spec: str) -> int:
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # handler output goes to the log (stderr), never into the protocol
    stream = LogStream(sys.stderr)
    sys.stdout = stream
    base_temp_dir = os.environ.get("TMPDIR", tempfile.gettempdir())
    started = time.perf_counter()
    try:
        handler = load_handler(spec)
    except Exception as exc:  # an init error: Lambda reports it and retries with a new sandbox
        _send(channel, {"ready": False, "error": _error(exc)})
        return 1
    _send(channel, {"ready": True, "init_ms": int((time.perf_counter() - started) * 1000)})
    for line in sys.stdin:
        request = json.loads(line)
        use_temp_dir(request.get("tmpdir") or base_temp_dir)
        started = time.perf_counter()
        reply = invoke(handler, request)
        reply["duration_ms"] = int((time.perf_counter() - started) * 1000)
        stream.flush()
        reply["metrics"], reply["errors"] = stream.take()
        use_temp_dir(base_temp_dir)
        _send(channel, reply)
    return 0


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1]))
