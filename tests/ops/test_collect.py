"""`docpipe collect` and `docpipe sources` on moto: the run items the collector's own store
writes, the message each source's schedule sends, one GetItem per source."""

from __future__ import annotations

import functools
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from stack_helpers import run_stack

from cli.main import main
from contract.sources import parse_collect_message
from handlers.collect.aws import DynamoSeenStore
from handlers.collect.collector import CollectReport, Failure, iso
from ops import collect
from ops.collect import RunTimeoutError, SourceError, SourceRun
from ops.target import Target

REGION = "us-east-1"
SOURCES: list[dict[str, Any]] = [
    {"name": "reports", "kind": "http", "urls": ["https://example.org/a.pdf"]},
    {"name": "news", "kind": "feed", "url": "https://example.org/feed.xml",
     "schedule": "rate(6 hours)"},
]  # fmt: skip


@dataclass
class Deployed:
    """A results table and a collect queue on moto, and the target naming them."""

    target: Target
    calls: list[str] = field(default_factory=list)

    @property
    def queue_url(self) -> str:
        return self.target.queue_url("collect")

    @functools.cached_property
    def store(self) -> DynamoSeenStore:
        return DynamoSeenStore(self.target.outputs["table_name"], self.target.client("dynamodb"))

    @functools.cached_property
    def sqs(self) -> Any:
        return self.target.client("sqs")

    def record(self, source: str, started: datetime, **counts: Any) -> CollectReport:
        """A run item as the collector writes it at the end of a run."""
        report = CollectReport(source=source, kind="http", started_at=iso(started), **counts)
        self.store.record_run(report)
        return report

    def receive(self) -> list[str]:
        messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
        return [m["Body"] for m in messages.get("Messages", [])]


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Deployed]:
    import boto3
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        suffix = uuid.uuid4().hex[:8]
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        table = f"docpipe-results-{suffix}"
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "doc_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "doc_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        queue = boto3.client("sqs", region_name=REGION).create_queue(
            QueueName=f"docpipe-collect-{suffix}"
        )["QueueUrl"]
        outputs = {
            "bucket_name": f"docpipe-{suffix}",
            "table_name": table,
            "queue_urls": {"collect": queue},
            "dlq_urls": {"collect": queue + "-dlq"},
            "function_names": {"collect": f"docpipe-collect-{suffix}"},
            "sources": [source.to_dict() for source in _parsed()],
        }
        (tmp_path / "outputs.json").write_text(json.dumps(outputs))
        target = Target(outputs=outputs, region=REGION)
        yield _traced(Deployed(target))


def _parsed() -> list[Any]:
    from contract.sources import parse_sources

    return parse_sources(json.dumps(SOURCES))


def _traced(deployed: Deployed) -> Deployed:
    """Record the DynamoDB operations the target's clients make."""
    build = deployed.target.client

    def client(service: str) -> Any:
        made = build(service)
        if service == "dynamodb":
            made.meta.events.register(
                "provide-client-params",
                lambda model, **_: deployed.calls.append(model.name),
            )
        return made

    deployed.target.client = client  # type: ignore[method-assign]
    return deployed


NOW = datetime.now(UTC)


# -- docpipe sources -------------------------------------------------------------------------


def test_sources_never_run_are_listed_with_their_schedule(deployed: Deployed) -> None:
    runs = collect.last_runs(deployed.target)
    assert [(r.source, r.kind, r.schedule, r.ran) for r in runs] == [
        ("reports", "http", "rate(1 day)", False),
        ("news", "feed", "rate(6 hours)", False),
    ]
    assert not runs[0].ok


def test_each_last_run_is_read_with_one_get_item_per_source(deployed: Deployed) -> None:
    deployed.record("reports", NOW, found=3, new=2, unchanged=1, bytes=2048)
    deployed.record(
        "news",
        NOW,
        found=5,
        new=1,
        failed=[Failure("https://example.org/b.pdf", "HTTP 404", "HttpStatusError")],
        listing_error=None,
    )
    deployed.calls.clear()
    reports, news = collect.last_runs(deployed.target)
    assert deployed.calls == ["GetItem", "GetItem"]  # never a scan
    assert (reports.found, reports.new, reports.unchanged, reports.bytes) == (3, 2, 1, 2048)
    assert reports.ok and reports.problem is None
    assert (news.failed, news.ok) == (1, False)
    assert news.problem == "https://example.org/b.pdf: HTTP 404"


def test_a_listing_error_is_the_last_error(deployed: Deployed) -> None:
    deployed.record("news", NOW, listing_error="feed https://example.org/feed.xml: HTTP 500")
    news = collect.last_runs(deployed.target)[1]
    assert news.last_error == news.problem == "feed https://example.org/feed.xml: HTTP 500"
    assert not news.ok


def test_a_stack_without_sources_says_how_to_configure_them(deployed: Deployed) -> None:
    del deployed.target.outputs["sources"]
    with pytest.raises(SourceError, match="docpipe:sources"):
        collect.last_runs(deployed.target)


# -- docpipe collect SOURCE ------------------------------------------------------------------


def test_the_message_is_what_the_source_schedule_sends(deployed: Deployed) -> None:
    def collector(_seconds: float) -> None:
        (body,) = deployed.receive()
        deployed.record(parse_collect_message(body), datetime.now(UTC), found=1, new=1)
        sent.append(body)

    sent: list[str] = []
    run = collect.run_now(deployed.target, "news", timeout_s=5, poll_s=0, sleep=collector)
    schedule = run_stack("dev", {"sources": json.dumps(SOURCES)}).named(
        "docpipe-collect-news-schedule-schedule"
    )
    assert sent == [schedule.inputs["target"]["input"]]
    assert (run.source, run.found, run.new, run.ok) == ("news", 1, 1, True)


def test_the_previous_run_is_not_taken_for_the_requested_one(deployed: Deployed) -> None:
    deployed.record("reports", NOW - timedelta(hours=1), found=9)
    ticks: list[int] = []

    def collector(_seconds: float) -> None:
        ticks.append(1)
        if len(ticks) == 1:
            # a scheduled run that started long before the request and ends now
            deployed.record("reports", NOW - timedelta(minutes=5), found=7)
        elif len(ticks) == 3:
            deployed.record("reports", datetime.now(UTC), found=4)

    run = collect.run_now(deployed.target, "reports", timeout_s=5, poll_s=0, sleep=collector)
    assert (run.found, len(ticks)) == (4, 3)


def test_no_run_in_time_is_a_timeout_naming_where_to_look(deployed: Deployed) -> None:
    with pytest.raises(RunTimeoutError, match=r"docpipe dlq list collect"):
        collect.run_now(deployed.target, "reports", timeout_s=0)
    assert len(deployed.receive()) == 1  # the request waits in the queue


def test_an_unknown_source_names_the_known_ones(deployed: Deployed) -> None:
    with pytest.raises(SourceError, match="no source named 'missing'; the stack's sources: "
                       "reports, news"):  # fmt: skip
        collect.run_now(deployed.target, "missing", timeout_s=0)
    assert deployed.receive() == []  # nothing was sent


# -- the commands ----------------------------------------------------------------------------


def cli(tmp_path: Path, *argv: str) -> int:
    return main([*argv, "--outputs", str(tmp_path / "outputs.json"), "--region", REGION])


def test_docpipe_sources_json(
    deployed: Deployed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed.record("reports", NOW, found=2, new=2)
    assert cli(tmp_path, "sources", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(s["source"], s["found"], s["started_at"]) for s in listed] == [
        ("reports", 2, iso(NOW)),
        ("news", 0, None),
    ]
    assert set(listed[0]) == set(SourceRun.__dataclass_fields__)


def test_docpipe_sources_table(
    deployed: Deployed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed.record("news", NOW, found=1, listing_error="feed: HTTP 500")
    assert cli(tmp_path, "sources") == 0
    out = capsys.readouterr().out
    assert "reports" in out and "never" in out and "feed: HTTP 500" in out


def test_docpipe_collect_unknown_source_exits_1(
    deployed: Deployed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(tmp_path, "collect", "nope", "--timeout", "0") == 1
    assert "the stack's sources: reports, news" in capsys.readouterr().err


@pytest.fixture
def collector(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[dict[str, Any]]]:
    """Plays the collect function: takes each message and records the run it is given."""
    monkeypatch.setattr(collect, "POLL_S", 0.05)
    runs: list[dict[str, Any]] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            for body in deployed.receive():
                deployed.record(parse_collect_message(body), datetime.now(UTC), **runs.pop(0))
            stop.wait(0.02)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield runs
    stop.set()
    thread.join(timeout=5)


def test_docpipe_collect_prints_the_run(
    collector: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    collector.append({"found": 3, "new": 1, "unchanged": 2})
    assert cli(tmp_path, "collect", "news") == 0
    out = capsys.readouterr().out
    assert "news (feed) run started " in out
    assert "found 3, new 1, changed 0, unchanged 2, deferred 0, failed 0" in out
    assert out.endswith("last error: none\n")


def test_docpipe_collect_exits_1_on_a_failed_run(
    collector: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failure = Failure("https://example.org/b.pdf", "HTTP 404", "HttpStatusError")
    collector.append({"found": 2, "new": 1, "failed": [failure]})
    assert cli(tmp_path, "collect", "reports", "--json") == 1
    run = json.loads(capsys.readouterr().out)
    assert (run["found"], run["new"], run["failed"]) == (2, 1, 1)
    assert run["failures"] == [
        {"url": "https://example.org/b.pdf", "reason": "HTTP 404", "error": "HttpStatusError"}
    ]
    collector.append({"found": 0, "listing_error": "feed: HTTP 500"})
    assert cli(tmp_path, "collect", "news") == 1
    assert "last error: feed: HTTP 500" in capsys.readouterr().out


def test_docpipe_collect_timeout_exits_1(
    deployed: Deployed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(tmp_path, "collect", "news", "--timeout", "0") == 1
    assert "no run of 'news' was recorded within 0 s" in capsys.readouterr().err
