"""Why a message was dead-lettered, and after how many deliveries: noted by local mode's
pollers at the moment it happens, read by `docpipe dlq show` and `docpipe local run`.

SQS keeps neither. A dead letter's ApproximateReceiveCount keeps growing with every receive,
so each look at a DLQ (`dlq list`, `dlq show`, the `local run` watcher) adds one: a message
delivered 3 times showed 4, then 5, then 6, and peeking without receiving is impossible. The
poller, which delivered the message, knows the count when its last delivery failed (the
message's ApproximateReceiveCount then, which has reached the queue's maxReceiveCount, so
the next receive moves it) and why it failed: the invocation's error (a timeout, a crash, an
unhandled exception), or else the last error the function logged naming the message id.

`docpipe local up` appends each note to a JSON-lines file beside its state file (mode 0600),
which `dlq show` reads; `local run` keeps them in memory.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# Log fields that carry a failure's type and message: Lambda's own shape, then docpipe's
# handlers' (handlers/runtime.py logs a failed record with `error_type` and `error`).
TYPE_FIELDS = ("errorType", "error_type")
MESSAGE_FIELDS = ("errorMessage", "error", "message")


@dataclass(frozen=True)
class DeadLetterNote:
    stage: str
    message_id: str
    doc_id: str | None
    receive_count: int
    """Deliveries to the function when it was dead-lettered (its queue's maxReceiveCount)."""
    reason: str
    at: str
    """When its last delivery failed (ISO 8601, UTC)."""


def reason_in_log(record: dict[str, Any]) -> str:
    """`Type: message` from a record the function logged at level ERROR."""
    kind = next((str(record[f]) for f in TYPE_FIELDS if record.get(f)), "Error")
    message = next((str(record[f]) for f in MESSAGE_FIELDS if record.get(f)), "")
    return f"{kind}: {message}"


def reason_for(
    message_id: str, invocation_error: dict[str, Any] | None, logged: list[dict[str, Any]]
) -> str:
    """Why one record of a batch failed."""
    if invocation_error is not None:
        return f"{invocation_error.get('type')}: {invocation_error.get('message')}"
    naming = [record for record in logged if message_id in record.values()]
    if naming:
        return reason_in_log(naming[-1])
    return "the function reported the record as failed (batchItemFailures)"


class DeadLetterNotes:
    """The notes of one deployment: in memory, and appended to `path` when given."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._notes: dict[str, DeadLetterNote] = load(path) if path else {}

    def add(self, note: DeadLetterNote) -> None:
        with self._lock:
            self._notes[note.message_id] = note
            if self.path is not None:
                self._append(note)

    def _append(self, note: DeadLetterNote) -> None:
        assert self.path is not None
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(descriptor, "a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(note)) + "\n")

    def get(self, message_id: str) -> DeadLetterNote | None:
        with self._lock:
            return self._notes.get(message_id)


def load(path: Path) -> dict[str, DeadLetterNote]:
    """Every note in a notes file (none when it does not exist)."""
    if not path.exists():
        return {}
    notes = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            note = DeadLetterNote(**json.loads(line))
            notes[note.message_id] = note
    return notes
