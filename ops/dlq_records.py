"""The receive count a dead letter had when it was dead-lettered, across `docpipe dlq` runs.

SQS counts every receive, and reading a DLQ is receiving from it (there is no peek): a
message delivered 3 times shows ApproximateReceiveCount 4 at the first look, 5 at the next,
and so on. SQS keeps a message's count when its redrive policy moves it to the DLQ, so the
first time the tool sees a dead letter, the count minus that one receive is the count it was
dead-lettered with. The tool records it (keyed by DLQ and message id) and reports the
recorded value on every later look. What it cannot know: receives by other readers before
its first look (they are counted as deliveries). Local mode's notes, taken by the poller that
made the deliveries, are exact and win where they exist (`local.dead_letters`).

The record is a small JSON file, mode 0600; entries older than SQS's longest retention (14
days, after which the message is gone) are dropped.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

FILE_NAME = "dlq-receive-counts.json"
MAX_RETENTION = timedelta(days=14)


class SeenDeadLetters:
    """The dead letters the tool has looked at, with their count when dead-lettered."""

    def __init__(self, directory: Path | None) -> None:
        self.path = directory / FILE_NAME if directory else None
        self._seen: dict[str, dict[str, object]] = self._load()

    def _load(self) -> dict[str, dict[str, object]]:
        if self.path is None or not self.path.exists():
            return {}
        try:
            seen = json.loads(self.path.read_text())
        except ValueError:
            return {}  # a damaged record costs accuracy only, never the command
        horizon = (datetime.now(UTC) - MAX_RETENTION).isoformat()
        return {key: entry for key, entry in seen.items() if str(entry.get("seen")) > horizon}

    def receive_count(self, queue_url: str, message_id: str, receive_count_now: int) -> int:
        """Deliveries before the DLQ, given the count this receive returned."""
        key = f"{queue_url} {message_id}"
        if key not in self._seen:
            self._seen[key] = {
                "receive_count": max(0, receive_count_now - 1),
                "seen": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        return int(str(self._seen[key]["receive_count"]))

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            json.dump(self._seen, out, indent=1)
        temporary.replace(self.path)
