"""One Lambda execution environment: `python -m local.worker MODULE.FUNCTION`.

Started by `local.runtime` with exactly the function's environment (its variables, its role's
credentials, AWS_ENDPOINT_URL at the emulator). Like Lambda, it imports the handler once
(the init phase, a cold start) and then serves invocations one at a time while it stays warm.

Protocol: one JSON object per line. The worker's real stdout is reserved for it; fd 1 is
pointed at stderr so anything the handler prints (Powertools logs JSON to stdout) goes to the
function's log instead of corrupting the protocol.
  worker -> {"ready": true, "init_ms": n} | {"ready": false, "error": {...}}
  runtime -> {"event": {...}, "request_id": "...", "timeout_ms": n}
  worker -> {"result": <json>, "duration_ms": n} | {"error": {"type", "message"}, ...}
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import IO, Any


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


def serve(spec: str) -> int:
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # handler output goes to the log (stderr), never into the protocol
    sys.stdout = sys.stderr
    started = time.perf_counter()
    try:
        handler = load_handler(spec)
    except Exception as exc:  # an init error: Lambda reports it and retries with a new sandbox
        _send(channel, {"ready": False, "error": _error(exc)})
        return 1
    _send(channel, {"ready": True, "init_ms": int((time.perf_counter() - started) * 1000)})
    for line in sys.stdin:
        request = json.loads(line)
        context = LambdaContext(request["request_id"], int(request["timeout_ms"]))
        started = time.perf_counter()
        try:
            result = handler(request["event"], context)
            reply: dict[str, Any] = {"result": result}
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
        reply["duration_ms"] = int((time.perf_counter() - started) * 1000)
        _send(channel, reply)
    return 0


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1]))
