"""docpipe:sources: every kind parses with its defaults, every problem is named at once."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from contract import sources as src
from contract.errors import InvalidEnvelopeError
from contract.sources import (
    Source,
    collect_message,
    parse_collect_message,
    parse_sources,
    source_named,
    sources_json,
)

HTTP = {"name": "reports", "kind": "http", "urls": ["https://example.org/a.pdf"]}
FEED = {"name": "news", "kind": "feed", "url": "https://example.org/feed.xml"}
SITEMAP = {
    "name": "site",
    "kind": "sitemap",
    "url": "https://example.org/sitemap.xml",
    "pattern": "https://example.org/docs/*.pdf",
}
S3 = {"name": "partner", "kind": "s3", "bucket": "partner-exports", "prefix": "docs/"}


def parse(*entries: Any) -> list[Source]:
    return parse_sources(json.dumps(list(entries)))


def problems(*entries: Any) -> list[str]:
    with pytest.raises(ValueError) as raised:
        parse(*entries)
    lines = str(raised.value).splitlines()
    assert lines[0] == f"docpipe:sources has {len(lines) - 1} problem(s):"
    return [line.removeprefix("  - ") for line in lines[1:]]


def test_each_kind_parses_with_the_defaults() -> None:
    http, feed, sitemap, bucket = parse(HTTP, FEED, SITEMAP, S3)
    defaults = {
        "schedule": "rate(1 day)",
        "include": ("*",),
        "exclude": (),
        "max_bytes": 26_214_400,
        "max_documents": 100,
        "allow_http": False,
    }
    for source in (http, feed, sitemap, bucket):
        assert {k: getattr(source, k) for k in defaults} == defaults
    assert http.urls == ("https://example.org/a.pdf",)
    assert feed.url == "https://example.org/feed.xml"
    assert (sitemap.url, sitemap.pattern) == (SITEMAP["url"], SITEMAP["pattern"])
    assert (bucket.bucket, bucket.prefix, bucket.account) == ("partner-exports", "docs/", None)


def test_every_setting_is_taken() -> None:
    entry = {
        **S3,
        "account": "123456789012",
        "schedule": "cron(0 6 ? * MON-FRI *)",
        "include": ["docs/*.pdf"],
        "exclude": ["docs/draft-*"],
        "max_bytes": 1000,
        "max_documents": 5,
    }
    (source,) = parse(entry)
    assert source == Source(
        name="partner",
        kind="s3",
        schedule="cron(0 6 ? * MON-FRI *)",
        bucket="partner-exports",
        prefix="docs/",
        account="123456789012",
        include=("docs/*.pdf",),
        exclude=("docs/draft-*",),
        max_bytes=1000,
        max_documents=5,
    )


def test_sources_json_round_trips_and_names_only_each_kinds_fields() -> None:
    parsed = parse(HTTP, FEED, SITEMAP, S3)
    data = json.loads(sources_json(parsed))
    assert parse_sources(sources_json(parsed)) == parsed
    assert set(data[0]) == src.COMMON_FIELDS | src.KIND_FIELDS["http"]
    assert set(data[3]) | {"account"} == src.COMMON_FIELDS | src.KIND_FIELDS["s3"]  # None left out


@pytest.mark.parametrize(
    ("include", "exclude", "pattern", "url", "wanted"),
    [
        (["*"], [], None, "https://a.org/x.pdf", True),
        (["*.pdf"], [], None, "https://a.org/x.pdf", True),
        (["*.pdf"], [], None, "https://a.org/x.pdf?download=1", False),
        (["*.pdf"], [], None, "https://a.org/x.PDF", False),  # case-sensitive
        (["*.pdf", "*.tiff"], [], None, "https://a.org/scan.tiff", True),
        (["*"], ["*/drafts/*"], None, "https://a.org/drafts/x.pdf", False),
        (["*"], [], "https://a.org/reports/*", "https://a.org/reports/2024/q1.pdf", True),
        (["*"], [], "https://a.org/reports/*", "https://a.org/press/q1.pdf", False),
        (["*.pdf"], [], "https://a.org/reports/*", "https://a.org/reports/q1.html", False),
    ],
)
def test_patterns_are_globs_over_the_whole_url(
    include: list[str], exclude: list[str], pattern: str | None, url: str, wanted: bool
) -> None:
    source = Source(
        name="x", kind="sitemap", include=tuple(include), exclude=tuple(exclude), pattern=pattern
    )
    assert source.wants(url) is wanted


@pytest.mark.parametrize(
    "schedule",
    [
        "rate(1 minute)",
        "rate(5 minutes)",
        "rate(1 hour)",
        "rate(12 hours)",
        "rate(7 days)",
        "cron(0 6 * * ? *)",
        "cron(0/15 * ? * MON-FRI *)",
        "cron(0 8 ? * 2#1 *)",
        "cron(0 12 L * ? 2030)",
    ],
)
def test_valid_schedules(schedule: str) -> None:
    (source,) = parse({**HTTP, "schedule": schedule})
    assert source.schedule == schedule


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("rate(0 minutes)", "the rate must be a positive integer"),
        ("rate(5 fortnights)", "is not rate(N minutes|hours|days) or cron(6 fields)"),
        ("rate(1.5 hours)", "is not rate(N minutes|hours|days) or cron(6 fields)"),
        ("every day", "is not rate(N minutes|hours|days) or cron(6 fields)"),
        ("at(2030-01-01T00:00:00)", "is not rate(N minutes|hours|days) or cron(6 fields)"),
        ("cron(0 6 * * ?)", "cron needs 6 fields"),
        ("cron(0 6 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 6 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 6 * * ? 20%)", "year field '20%' has characters cron does not allow"),
        (42, "must be a rate(...) or cron(...) expression"),
    ],
)
def test_invalid_schedules_are_named(schedule: Any, message: str) -> None:
    (problem,) = problems({**HTTP, "schedule": schedule})
    assert problem.startswith("sources[0] 'reports': schedule: ")
    assert message in problem


# (entry, the one expected problem)
INVALID: list[tuple[dict[str, Any], str]] = [
    ({**HTTP, "name": "Reports"}, "sources[0] 'Reports': name: must be 1-32 of a-z, 0-9"),
    ({**HTTP, "name": "-x"}, "name: must be 1-32 of a-z, 0-9 and inner hyphens, got '-x'"),
    ({**HTTP, "name": "a" * 33}, "name: must be 1-32"),
    ({k: v for k, v in HTTP.items() if k != "name"}, "sources[0]: name: must be 1-32"),
    ({**HTTP, "kind": "ftp"}, "kind: must be one of http, feed, sitemap, s3, got 'ftp'"),
    ({**HTTP, "bucket": "b"}, "bucket: is not a field of a http source"),
    ({**HTTP, "max_size": 3}, "max_size: is not a field of a http source"),
    ({**S3, "allow_http": True}, "allow_http: is not a field of a s3 source"),
    ({"name": "x", "kind": "http"}, "urls: is required for a http source"),
    ({**HTTP, "urls": []}, "urls: must be a non-empty list of URLs"),
    ({**HTTP, "urls": "https://a.org/x"}, "urls: must be a non-empty list of URLs"),
    ({**HTTP, "urls": ["http://a.org/x"]}, "scheme must be https (set allow_http"),
    ({**HTTP, "urls": ["ftp://a.org/x"], "allow_http": True}, "scheme must be https or http"),
    ({**HTTP, "urls": ["https://u:pw@a.org/x"]}, "credentials in URLs are not allowed"),
    ({**HTTP, "urls": ["/relative.pdf"]}, "scheme must be https"),
    ({**HTTP, "urls": ["https:///x"]}, "has no host"),
    ({**HTTP, "urls": ["https://a.org:99999/x"]}, "is not a valid URL"),
    ({**HTTP, "urls": ["https://a.org/a b"]}, "contains white space or control characters"),
    ({**HTTP, "urls": ["https://a.org/" + "x" * 2048]}, "URL longer than 2048 characters"),
    ({**HTTP, "urls": ["https://a.org/x", "https://a.org/x"]}, "listed more than once"),
    (
        {**HTTP, "urls": ["https://a.org/1", "https://a.org/2"], "max_documents": 1},
        "urls: 2 URLs exceed max_documents (1)",
    ),
    ({**HTTP, "allow_http": "yes"}, "allow_http: must be true or false, got 'yes'"),
    ({"name": "x", "kind": "feed"}, "url: is required for a feed source"),
    ({**FEED, "url": 7}, "url: must be an absolute URL, got 7"),
    ({k: v for k, v in SITEMAP.items() if k != "pattern"}, "pattern: is required for a sitemap"),
    ({**SITEMAP, "pattern": ""}, "pattern: must be a glob of 1 to 512 characters"),
    ({"name": "x", "kind": "s3"}, "bucket: is required for a s3 source"),
    ({**S3, "bucket": "Partner"}, "bucket: 'Partner' is not a valid S3 bucket name"),
    ({**S3, "bucket": "a..b"}, "bucket: 'a..b' is not a valid S3 bucket name"),
    ({**S3, "bucket": "192.168.1.1"}, "(formatted as an IP address)"),
    ({**S3, "prefix": "/docs"}, "prefix: must be a key prefix of at most 512 characters"),
    ({**S3, "prefix": "docs/*"}, "prefix: 'docs/*': a prefix has no control characters"),
    ({**S3, "account": 123456789012}, "account: must be a 12-digit AWS account id (a string)"),
    ({**S3, "account": "12345"}, "account: must be a 12-digit AWS account id"),
    ({**HTTP, "include": "*.pdf"}, "include: must be a list of at most 50 globs"),
    ({**HTTP, "exclude": [""]}, "exclude: must be a glob of 1 to 512 characters, got ''"),
    ({**HTTP, "include": ["*"] * 51}, "include: must be a list of at most 50 globs"),
    ({**HTTP, "max_bytes": 0}, "max_bytes: must be an integer from 1 to 268435456, got 0"),
    ({**HTTP, "max_bytes": True}, "max_bytes: must be an integer from 1 to 268435456, got True"),
    ({**HTTP, "max_bytes": 2.5}, "max_bytes: must be an integer"),
    ({**HTTP, "max_documents": 1001}, "max_documents: must be an integer from 1 to 1000"),
]


@pytest.mark.parametrize(("entry", "expected"), INVALID)
def test_each_invalid_field_is_named(entry: dict[str, Any], expected: str) -> None:
    (problem,) = problems(entry)
    assert expected in problem, problem


def test_one_error_names_every_bad_source_and_field() -> None:
    found = problems(
        HTTP,
        {**FEED, "url": "http://example.org/feed.xml", "max_documents": 0},
        {**S3, "name": "reports", "bucket": "x"},
        "not an object",
        {"name": "q", "kind": "queue"},
    )
    assert found == [
        "sources[1] 'news': max_documents: must be an integer from 1 to 1000, got 0",
        "sources[1] 'news': url: 'http://example.org/feed.xml': scheme must be https "
        "(set allow_http to allow http)",
        "sources[2] 'reports': bucket: 'x' is not a valid S3 bucket name",
        "sources[3]: must be a JSON object, got str",
        "sources[4] 'q': kind: must be one of http, feed, sitemap, s3, got 'queue'",
    ]


def test_duplicate_names_are_named() -> None:
    assert problems(HTTP, {**FEED, "name": "reports"}) == [
        "sources[1] 'reports': name: already used by sources[0]"
    ]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{oops", "docpipe:sources is not JSON"),
        ('{"name": "x"}', "docpipe:sources must be a JSON array of sources, got dict"),
    ],
)
def test_not_an_array(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_sources(raw)


def test_no_sources_is_valid() -> None:
    assert parse_sources("[]") == []


def test_the_scheduler_message_round_trips() -> None:
    message = collect_message("reports")
    assert message == {"version": 1, "kind": "collect", "source": "reports"}
    assert parse_collect_message(json.dumps(message)) == "reports"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "message body is not JSON"),
        ("[]", "message body is not a JSON object"),
        ('{"version": 2, "kind": "collect", "source": "a"}', "unsupported envelope version 2"),
        ('{"version": 1, "kind": "sweep"}', "kind 'sweep' is not 'collect'"),
        ('{"version": 1, "kind": "collect"}', "source must be a source name, got None"),
        ('{"version": 1, "kind": "collect", "source": "../x"}', "source must be a source name"),
    ],
)
def test_bad_messages_are_invalid_envelopes(body: str, message: str) -> None:
    with pytest.raises(InvalidEnvelopeError, match=message):
        parse_collect_message(body)


def test_source_named_refuses_an_unknown_name() -> None:
    configured = parse(HTTP, FEED)
    assert source_named(configured, "news").kind == "feed"
    with pytest.raises(InvalidEnvelopeError, match="no source named 'gone' is configured"):
        source_named(configured, "gone")


def test_the_stack_side_needs_only_the_standard_library() -> None:
    """The stack parses sources at preview: no boto3, botocore, defusedxml nor Pulumi."""
    code = (
        "import sys, contract.sources;"
        "heavy = {'boto3', 'botocore', 'defusedxml', 'pulumi', 'aws_lambda_powertools'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
