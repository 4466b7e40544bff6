"""Collection for operators: the sources a stack collects from, each one's last run, and
running one now (`docpipe sources`, `docpipe collect SOURCE`).

The sources are the stack's `sources` output: the validated `docpipe:sources`, exported by
`__main__.py`. Each source's last run is the run item the collector writes at the end of every
run (handlers/collect/aws.py, keyed `run_key(name)`), read with one GetItem per source: the
cost follows the sources, never the table. Running a source now sends the collect queue the
message that source's schedule sends (`contract.sources.collect_message`), so the run is an
ordinary one: the queue's retries and DLQ apply, and a scheduled run cannot overlap it
unseen.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from contract.ledger import KEY
from contract.sources import Source, collect_message, parse_sources
from handlers.collect.aws import STAGE as COLLECT
from handlers.collect.aws import run_key
from ops.results import plain
from ops.target import Target

DEFAULT_TIMEOUT_S = 600.0  # the collect function's default timeout (300 s), and one retry
POLL_S = 2.0
# A run started this long before the request still counts as the one it asked for: the
# operator's clock and Lambda's may disagree a little (the run item has the function's time).
CLOCK_SKEW = timedelta(seconds=30)
# The run item's counters (handlers/collect/aws.py DynamoSeenStore.record_run).
COUNTERS = ("found", "new", "changed", "unchanged", "deferred", "failed", "bytes")


class SourceError(Exception):
    """The stack has no sources, or none of that name: the message names the known ones."""


class RunTimeoutError(Exception):
    """No run of the source was recorded in time after the request."""


@dataclass(frozen=True)
class SourceRun:
    """A source and its last run, as the run item records it (`started_at` None: never run).

    `last_error` is why the listing (the feed, the sitemap, the bucket) could not be read;
    `failures` are the first documents that could not be fetched (`failed` counts them all).
    """

    source: str
    kind: str
    schedule: str
    started_at: str | None = None
    found: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deferred: int = 0
    failed: int = 0
    bytes: int = 0
    last_error: str | None = None
    failures: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, source: Source, item: dict[str, Any] | None) -> SourceRun:
        """`item` is the raw DynamoDB run item, or None when the source never ran."""
        run = cls(source.name, source.kind, source.schedule)
        if item is None:
            return run
        values = plain(item)
        counts = {name: int(values.get(name, 0)) for name in COUNTERS}
        return cls(
            source.name,
            source.kind,
            source.schedule,
            started_at=values.get("started_at"),
            last_error=values.get("last_error"),
            failures=list(values.get("failures", [])),
            **counts,
        )

    @property
    def ran(self) -> bool:
        return self.started_at is not None

    @property
    def ok(self) -> bool:
        """The run listed its source and fetched every document it chose."""
        return self.ran and self.last_error is None and self.failed == 0

    @property
    def problem(self) -> str | None:
        """The listing's error, else the first document failure (`url: reason`)."""
        if self.last_error:
            return self.last_error
        if self.failures:
            first = self.failures[0]
            return f"{first.get('url')}: {first.get('reason')}"
        return None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def configured_sources(target: Target) -> list[Source]:
    """The stack's sources, validated again as the collector reads them."""
    exported = target.outputs.get("sources")
    if not exported:
        raise SourceError(
            "the stack collects from no sources: set docpipe:sources (docs/collection.md)"
        )
    return parse_sources(json.dumps(exported))


def source_named(sources: list[Source], name: str) -> Source:
    for source in sources:
        if source.name == name:
            return source
    known = ", ".join(source.name for source in sources)
    raise SourceError(f"no source named {name!r}; the stack's sources: {known}")


def last_runs(target: Target) -> list[SourceRun]:
    """Every configured source with its last run, in configuration order."""
    read = run_reader(target)
    return [SourceRun.of(source, read(source.name)) for source in configured_sources(target)]


def run_now(
    target: Target,
    name: str,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    poll_s: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SourceRun:
    """Send the source's schedule message to the collect queue, then wait for its run.

    The run is the first run item written after the request whose start is not before it
    (less CLOCK_SKEW). RunTimeoutError when none is recorded within `timeout_s`.
    """
    source = source_named(configured_sources(target), name)
    read = run_reader(target)
    before = read(name)
    requested = datetime.now(UTC)
    target.client("sqs").send_message(
        QueueUrl=target.queue_url(COLLECT), MessageBody=json.dumps(collect_message(name))
    )
    deadline = time.monotonic() + timeout_s
    while True:
        item = read(name)
        if item is not None and item != before and _started(item) >= requested - CLOCK_SKEW:
            return SourceRun.of(source, item)
        if time.monotonic() >= deadline:
            raise RunTimeoutError(
                f"no run of {name!r} was recorded within {timeout_s:.0f} s of the request: "
                f"its message waits in the {COLLECT} queue, or failed to its DLQ "
                f"(`docpipe status`, `docpipe dlq list {COLLECT}`)"
            )
        sleep(POLL_S if poll_s is None else poll_s)


def run_reader(target: Target) -> Callable[[str], dict[str, Any] | None]:
    """Reads a source's raw run item (None: it never ran) with one GetItem."""
    dynamodb, table = target.client("dynamodb"), target.outputs["table_name"]

    def read(name: str) -> dict[str, Any] | None:
        response = dynamodb.get_item(
            TableName=table,
            Key={KEY: {"S": run_key(name)}},
            ConsistentRead=True,  # a run that just ended is seen at once
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    return read


def _started(item: dict[str, Any]) -> datetime:
    started = datetime.fromisoformat(item["started_at"]["S"])
    return started if started.tzinfo else started.replace(tzinfo=UTC)
