"""The collector on moto: each source kind end to end through the Lambda entry (slow: a web
site and an emulated AWS per test), re-runs that store nothing, the item and metadata
shapes, and every AWS call inside the grants of policy.py."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import pytest
from handler_fixtures import (  # noqa: F401  (fixtures, registered by name)
    Aws,
    aws_fixture,
    env_fixture,
    nltk_data_fixture,
)

from contract import settings as contract_env
from contract.messages import DOC_ID_PATTERN
from contract.sources import Source, collect_message, parse_sources, sources_json
from handlers.collect import aws as collect_aws
from handlers.collect import collector, settings
from handlers.collect.aws import (
    DynamoSeenStore,
    S3BucketReader,
    S3ObjectStore,
    SourceListingError,
    SourceUnavailableError,
    handle_collect_message,
    lambda_handler,
    run_key,
    seen_key,
)
from handlers.collect.collector import Seen, object_key
from handlers.collect.fetch import Fetcher
from local.site import SAMPLE_NAMES, SAMPLES, DocumentSite
from ops.results import plain

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
PARTNER = "partner-exports"
TYPES = {
    "contract.pdf": "application/pdf",
    "invoice.jpg": "image/jpeg",
    "letter.png": "image/png",
    "report.tiff": "image/tiff",
}


@pytest.fixture(name="site")
def site_fixture() -> Iterator[DocumentSite]:
    with DocumentSite() as site:
        yield site


@pytest.fixture(name="collect")
def collect_fixture(
    aws: Aws, env: pytest.MonkeyPatch, site: DocumentSite
) -> Callable[..., collector.CollectReport]:
    """Run one source through the Lambda entry, as local mode's deployment would."""
    # local mode's flag: the site is on loopback
    env.setenv(contract_env.COLLECT_ALLOW_LOOPBACK.name, "1")
    env.setenv("DOCPIPE_STAGE", "collect")
    aws.client("s3").create_bucket(Bucket=PARTNER)

    def run(*entries: dict[str, Any], name: str | None = None, at: datetime = T0) -> Any:
        env.setenv(contract_env.COLLECT_SOURCES.name, json.dumps(list(entries)))
        body = json.dumps(collect_message(name or entries[0]["name"]))
        return handle_collect_message(body, now=at)

    return run


def stored(aws: Aws, prefix: str = "incoming/") -> dict[str, dict[str, Any]]:
    """Every object version under `prefix`: key -> (versions, head of the latest)."""
    s3 = aws.client("s3")
    versions = s3.list_object_versions(Bucket=aws.bucket, Prefix=prefix).get("Versions", [])
    found: dict[str, dict[str, Any]] = {}
    for version in versions:
        entry = found.setdefault(version["Key"], {"versions": 0})
        entry["versions"] += 1
    for key, entry in found.items():
        entry["head"] = s3.head_object(Bucket=aws.bucket, Key=key)
    return found


def url_of(head: dict[str, Any]) -> str:
    return unquote(head["Metadata"][collector.ORIGIN_URL])


def stack_grants(aws: Aws, sources: list[Source]) -> list[dict[str, Any]]:
    """The collect function's role policy as the dev stack writes it for these sources, its
    bucket and table swapped for the test's: the handler and the IAM cannot drift."""
    from mockrun import run_program

    run = run_program("dev", {"sources": sources_json(sources)})
    bucket = run.named("docpipe-store-bucket").inputs["bucket"]
    table = run.named("docpipe-results-table").state["arn"]
    policy = run.named("docpipe-collect-role-policy").inputs["policy"]
    policy = policy.replace(f":::{bucket}", f":::{aws.bucket}").replace(table, table_arn_of(aws))
    return [
        {
            "actions": statement["Action"],
            "resources": statement["Resource"],
            "conditions": [
                {"test": test, "variable": variable, "values": values}
                for test, keys in statement.get("Condition", {}).items()
                for variable, values in keys.items()
            ],
        }
        for statement in json.loads(policy)["Statement"]
    ]


def table_arn_of(aws: Aws) -> str:
    return f"arn:aws:dynamodb:us-east-1:123456789012:table/{aws.table}"


def check_calls_within_grants(aws: Aws, sources: list[Source]) -> None:
    """Every S3 and DynamoDB call the collector made is one its role policy in the stack
    allows, on its resources, with its conditions (moto enforces neither: IAM here is ours)."""
    table_arn = table_arn_of(aws)
    grants = stack_grants(aws, sources)
    operation_action = {"ListObjectsV2": "s3:ListBucket"}
    assert aws.calls, "the collector made no AWS call"
    for service, operation, params in aws.calls:
        action = operation_action.get(operation, f"{service}:{operation}")
        matching = [g for g in grants if action in g["actions"]]
        assert matching, (action, params)
        if service == "s3":
            bucket = params["Bucket"]
            if operation == "ListObjectsV2":
                resource = f"arn:aws:s3:::{bucket}"
                prefixes = [
                    c["values"][0]
                    for g in matching
                    for c in g.get("conditions", [])
                    if c["variable"] == "s3:prefix" and resource in g["resources"]
                ]
                assert any(fnmatch.fnmatchcase(params["Prefix"], p) for p in prefixes), params
            else:
                resource = f"arn:aws:s3:::{bucket}/{params['Key']}"
                patterns = [r for g in matching for r in g["resources"]]
                assert any(fnmatch.fnmatchcase(resource, p) for p in patterns), (action, resource)
        else:
            assert all(r == table_arn for g in matching for r in g["resources"])
            keys = [
                key[settings.TABLE_KEY]["S"]
                for request in params.get("RequestItems", {}).values()
                for key in request["Keys"]
            ] or [params["Item"][settings.TABLE_KEY]["S"]]
            assert all(k.startswith(settings.SEEN_KEY_PREFIX) for k in keys), keys


# --- http, feed, sitemap end to end -----------------------------------------------------------


def http_source(site: DocumentSite, **settings_: Any) -> dict[str, Any]:
    urls = [site.url(f"/docs/{name}") for name in SAMPLE_NAMES[:3]]
    urls.append(site.url("/wrong-type/report.tiff"))
    return {"name": "samples", "kind": "http", "urls": urls, "allow_http": True, **settings_}


@pytest.mark.slow
def test_an_http_source_stores_each_document_once_with_its_origin(
    aws: Aws, site: DocumentSite, collect: Callable[..., Any]
) -> None:
    # GIVEN four documents on the site, one served with a wrong Content-Type
    source = http_source(site)
    # WHEN the source is collected
    report = collect(source)
    # THEN each is stored once under incoming/samples/, typed by its bytes, with its origin
    assert (report.found, report.new, report.changed, report.unchanged) == (4, 4, 0, 0)
    assert report.failed == [] and report.listing_error is None
    objects = stored(aws)
    assert sorted(objects) == sorted(report.stored)
    assert all(key.startswith("incoming/samples/") for key in objects)
    for key, entry in objects.items():
        head, url = entry["head"], url_of(entry["head"])
        name = url.rsplit("/", 1)[-1]
        data = (SAMPLES / name).read_bytes()
        assert head["ContentType"] == TYPES[name]
        assert head["ContentLength"] == len(data)
        assert key == object_key("incoming/", "samples", url)
        assert head["Metadata"] == {
            collector.ORIGIN_SOURCE: "samples",
            collector.ORIGIN_URL: url.replace("%", "%25"),
            collector.ORIGIN_URL_SHA256: collector.url_sha256(url),
            collector.ORIGIN_FETCHED_AT: "2026-03-02T08:00:00+00:00",
            collector.ORIGIN_ETAG: head["Metadata"][collector.ORIGIN_ETAG],
            collector.ORIGIN_LAST_MODIFIED: "Mon,%2005%20Jan%202026%2009:30:00%20GMT",
            collector.ORIGIN_SHA256: collector.hashlib.sha256(data).hexdigest(),
            collector.ORIGIN_DECLARED_TYPE: head["Metadata"][collector.ORIGIN_DECLARED_TYPE],
        }
    declared = {
        url_of(e["head"]): e["head"]["Metadata"]["origin-declared-type"] for e in objects.values()
    }
    assert declared[site.url("/wrong-type/report.tiff")] == "text/html;%20charset=utf-8"
    assert report.bytes == sum(e["head"]["ContentLength"] for e in objects.values())
    check_calls_within_grants(aws, parse_sources(json.dumps([source])))


@pytest.mark.slow
def test_a_second_run_fetches_and_stores_nothing_new(
    aws: Aws, site: DocumentSite, collect: Callable[..., Any]
) -> None:
    source = http_source(site)
    collect(source)
    before = len(site.requests)
    # WHEN the unchanged source runs again
    again = collect(source, at=T0 + timedelta(hours=1))
    # THEN every request was conditional and answered 304; nothing was stored
    assert (again.new, again.changed, again.unchanged, again.bytes) == (0, 0, 4, 0)
    assert again.stored == []
    second = site.requests[before:]
    assert len(second) == 4
    assert all("If-None-Match" in r.headers and "If-Modified-Since" in r.headers for r in second)
    assert all(entry["versions"] == 1 for entry in stored(aws).values())


@pytest.mark.slow
def test_a_changed_document_becomes_a_new_version_of_the_same_key(
    aws: Aws, site: DocumentSite, collect: Callable[..., Any]
) -> None:
    source = http_source(site)
    first = collect(source)
    site.change("contract.pdf", b"%PDF-1.7\n% a revised contract\n")
    report = collect(source, at=T0 + timedelta(days=1))
    assert (report.new, report.changed, report.unchanged) == (0, 1, 3)
    key = object_key("incoming/", "samples", site.url("/docs/contract.pdf"))
    assert report.stored == [key] and key in first.stored
    objects = stored(aws)
    assert objects[key]["versions"] == 2
    assert objects[key]["head"]["Metadata"]["origin-fetched-at"] == "2026-03-03T08:00:00+00:00"


@pytest.mark.slow
def test_the_same_bytes_under_a_new_etag_are_not_stored_again(
    aws: Aws, site: DocumentSite, collect: Callable[..., Any]
) -> None:
    source = {
        "name": "etags",
        "kind": "http",
        "urls": [site.url("/changing-etag/contract.pdf")],
        "allow_http": True,
    }
    collect(source)
    report = collect(source, at=T0 + timedelta(hours=1))
    assert (report.new, report.changed, report.unchanged) == (0, 0, 1)
    assert site.state.hits["/changing-etag/contract.pdf"] == 2  # fetched (200), then deduped
    (entry,) = stored(aws).values()
    assert entry["versions"] == 1
    (item,) = [i for i in aws.items() if i["item_type"]["S"] == "collect.seen"]
    assert item["etag"]["S"] == '"v2"'  # the new validator is kept for the next request


@pytest.mark.slow
def test_a_feed_source_collects_item_links_and_enclosures(
    aws: Aws, site: DocumentSite, collect: Callable[..., Any]
) -> None:
    source = {"name": "news", "kind": "feed", "url": site.url("/feed.xml"), "allow_http": True}
    report = collect(source)
    assert (report.found, report.new) == (4, 4)
    urls = {url_of(e["head"]) for e in stored(aws).values()}
    assert urls == {site.url(f"/docs/{name}") for name in SAMPLE_NAMES}
    assert collect(source, at=T0 + timedelta(hours=2)).new == 0


@pytest.mark.slow
def test_an_atom_feed_source(aws: Aws, site: DocumentSite, collect: Callable[..., Any]) -> None:
    source = {
        "name": "atom",
        "kind": "feed",
        "url": site.url("/atom.xml"),
        "include": ["*.pdf", "*.png"],
        "allow_http": True,
    }
    report = collect(source)
    assert (report.found, report.new) == (2, 2)


@pytest.mark.slow
def test_a_sitemap_index_source_keeps_the_pattern_and_drains_a_backlog(
    aws: Aws, site: DocumentSite, collect: Callable[..., Any]
) -> None:
    source = {
        "name": "site",
        "kind": "sitemap",
        "url": site.url("/sitemap_index.xml"),
        "pattern": site.url("/docs/*"),
        "max_documents": 3,
        "allow_http": True,
    }
    first = collect(source)
    assert (first.found, first.new, first.deferred) == (4, 3, 1)  # about.html and / left out
    second = collect(source, at=T0 + timedelta(hours=1))
    # the one never fetched goes first, then the longest unchecked
    assert (second.new, second.unchanged, second.deferred) == (1, 2, 1)
    assert len(stored(aws)) == 4
    assert not any(path.endswith(("about.html", "/")) for path in site.paths()[3:])


@pytest.mark.slow
def test_document_failures_are_recorded_and_do_not_fail_the_run(
    aws: Aws, site: DocumentSite, collect: Callable[..., Any]
) -> None:
    urls = [
        site.url("/docs/contract.pdf"),
        site.url("/docs/missing.pdf"),
        site.url("/huge"),
        site.url("/empty"),
        site.url("/redirect?to=http://169.254.169.254/latest/meta-data/"),
    ]
    source = {
        "name": "mixed",
        "kind": "http",
        "urls": urls,
        "max_bytes": 1_000_000,
        "allow_http": True,
    }
    report = collect(source)
    assert report.new == 1
    assert [(f.url, f.error, f.transient) for f in report.failed] == [
        (url, error, False)
        for url, error in zip(
            urls[1:],
            ["HttpStatusError", "TooLargeError", "DocumentError", "UnsafeAddressError"],
            strict=True,
        )
    ]
    assert "169.254.169.254, the instance metadata service: refused" in report.failed[3].reason
    items = {i["doc_id"]["S"]: i for i in aws.items()}
    missing = items[seen_key("mixed", site.url("/docs/missing.pdf"))]
    assert missing["last_error"]["S"] == (
        f"HttpStatusError: {site.url('/docs/missing.pdf')}: HTTP 404"
    )
    run = items[run_key("mixed")]
    assert (run["failed"]["N"], run["new"]["N"], run["found"]["N"]) == ("4", "1", "5")
    assert "last_error" not in run  # the listing (the URLs themselves) was fine
    assert [f["M"]["error"]["S"] for f in run["failures"]["L"]] == [
        "HttpStatusError",
        "TooLargeError",
        "DocumentError",
        "UnsafeAddressError",
    ]


@pytest.mark.slow
def test_an_unreadable_listing_fails_the_message_after_recording_the_run(
    aws: Aws, site: DocumentSite, collect: Callable[..., Any]
) -> None:
    not_a_feed = {"name": "bad", "kind": "feed", "url": site.url("/about.html"), "allow_http": True}
    with pytest.raises(SourceListingError, match=r"about\.html: not well-formed XML"):
        collect(not_a_feed)
    run = {i["doc_id"]["S"]: i for i in aws.items()}[run_key("bad")]
    assert run["last_error"]["S"].startswith("ListingError: ")


@pytest.mark.slow
def test_a_listing_that_is_down_is_retried_by_the_queue(
    aws: Aws, site: DocumentSite, collect: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        Fetcher, "from_env", lambda: Fetcher(allow_loopback=True, sleep=lambda s: None)
    )
    down = {
        "name": "down",
        "kind": "sitemap",
        "url": site.url("/down"),
        "pattern": "*",
        "allow_http": True,
    }
    with pytest.raises(SourceUnavailableError, match="HTTP 503 after 3 tries"):
        collect(down)


@pytest.mark.slow
def test_the_lambda_entry_reports_a_bad_message_as_a_failed_record(
    aws: Aws, site: DocumentSite, collect: Callable[..., Any], env: pytest.MonkeyPatch
) -> None:
    from handler_fixtures import sqs_event

    env.setenv(contract_env.COLLECT_SOURCES.name, json.dumps([http_source(site)]))
    good = json.dumps(collect_message("samples"))
    unknown = json.dumps(collect_message("nosuch"))
    event = sqs_event(good, unknown, "{not json", queue="docpipe-collect")
    response = lambda_handler(event, None)
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    assert failed == {r["messageId"] for r in event["Records"][1:]}
    assert len(stored(aws)) == 4


# --- s3 sources ------------------------------------------------------------------------------


@pytest.mark.slow
def test_an_s3_source_in_another_bucket_copies_new_and_changed_objects_by_etag(
    aws: Aws, collect: Callable[..., Any]
) -> None:
    s3 = aws.client("s3")
    for name in SAMPLE_NAMES:
        s3.put_object(Bucket=PARTNER, Key=f"exports/{name}", Body=(SAMPLES / name).read_bytes())
    s3.put_object(Bucket=PARTNER, Key="exports/", Body=b"")  # a folder marker
    s3.put_object(Bucket=PARTNER, Key="exports/notes.txt", Body=b"not wanted")
    s3.put_object(Bucket=PARTNER, Key="private/secret.pdf", Body=b"%PDF- outside the prefix")
    source = {
        "name": "partner",
        "kind": "s3",
        "bucket": PARTNER,
        "prefix": "exports/",
        "account": "123456789012",
        "exclude": ["*.txt"],
    }
    first = collect(source)
    assert (first.found, first.new, first.failed) == (4, 4, [])
    objects = stored(aws)
    urls = {url_of(e["head"]) for e in objects.values()}
    assert urls == {f"s3://{PARTNER}/exports/{name}" for name in SAMPLE_NAMES}
    assert {e["head"]["ContentType"] for e in objects.values()} == set(TYPES.values())

    aws.calls.clear()
    again = collect(source, at=T0 + timedelta(hours=1))
    assert (again.new, again.unchanged) == (0, 4)
    assert [op for _, op, _ in aws.calls if op == "GetObject"] == []  # the ETags said it all

    s3.put_object(Bucket=PARTNER, Key="exports/letter.png", Body=b"\x89PNG\r\n\x1a\nnewer")
    s3.put_object(  # the same bytes again: same ETag, nothing to copy
        Bucket=PARTNER, Key="exports/invoice.jpg", Body=(SAMPLES / "invoice.jpg").read_bytes()
    )
    aws.calls.clear()
    third = collect(source, at=T0 + timedelta(hours=2))
    assert (third.new, third.changed, third.unchanged) == (0, 1, 3)
    gets = [p for _, op, p in aws.calls if op == "GetObject"]
    assert [(g["Key"], g["ExpectedBucketOwner"]) for g in gets] == [
        ("exports/letter.png", "123456789012")
    ]
    assert gets[0]["IfMatch"].startswith('"')
    check_calls_within_grants(aws, parse_sources(json.dumps([source])))


@pytest.mark.slow
def test_an_s3_object_over_max_bytes_is_refused_without_reading_it(
    aws: Aws, collect: Callable[..., Any]
) -> None:
    aws.client("s3").put_object(
        Bucket=PARTNER, Key="big/report.tiff", Body=b"II*\x00" + b"0" * 5000
    )
    source = {"name": "big", "kind": "s3", "bucket": PARTNER, "prefix": "big/", "max_bytes": 1000}
    report = collect(source)
    assert [(f.error, f.reason) for f in report.failed] == [
        ("TooLargeError", "5004 bytes exceeds 1000")
    ]
    assert not any(op == "GetObject" for _, op, _ in aws.calls)


@pytest.mark.slow
def test_a_missing_source_bucket_is_a_listing_error(aws: Aws, collect: Callable[..., Any]) -> None:
    source = {"name": "gone", "kind": "s3", "bucket": "no-such-bucket-here"}
    with pytest.raises(SourceListingError, match="S3 NoSuchBucket"):
        collect(source)


# --- the adapters and item shapes ------------------------------------------------------------


@dataclass
class Lean:
    """A bucket and a table on moto, and the clients the adapters are given."""

    bucket: str
    table: str
    s3: Any
    dynamodb: Any

    def items(self) -> list[dict[str, Any]]:
        return list(self.dynamodb.scan(TableName=self.table)["Items"])


@pytest.fixture(name="lean")
def lean_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[Lean]:
    """Lighter than handler_fixtures' `aws` (no queues, no tracing): the adapter tests."""
    import boto3
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        lean = Lean(
            "docpipe-docs", "docpipe-results", session.client("s3"), session.client("dynamodb")
        )
        lean.s3.create_bucket(Bucket=lean.bucket)
        lean.s3.create_bucket(Bucket=PARTNER)
        lean.dynamodb.create_table(
            TableName=lean.table,
            KeySchema=[{"AttributeName": "doc_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "doc_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield lean


def test_seen_items_round_trip_in_batches_and_never_look_like_pipeline_items(lean: Lean) -> None:
    store = DynamoSeenStore(lean.table, lean.dynamodb)
    urls = [f"https://a.example/doc-{n}.pdf" for n in range(150)]  # two BatchGetItem calls
    for n, url in enumerate(urls):
        store.put(
            "reports",
            Seen(
                url,
                etag=f'"{n}"',
                content_hash="ab" * 32,
                key=f"k{n}",
                last_checked="2026-03-02T08:00:00+00:00",
            ),
        )
    store.put("other", Seen(urls[0], etag='"other"'))
    found = store.get_many("reports", [*urls, "https://a.example/never.pdf", urls[0]])
    assert set(found) == set(urls)
    assert found[urls[7]] == Seen(
        urls[7],
        etag='"7"',
        content_hash="ab" * 32,
        key="k7",
        last_checked="2026-03-02T08:00:00+00:00",
    )
    assert store.get_many("other", urls[:1])[urls[0]].etag == '"other"'  # per source
    items = lean.items()
    assert len(items) == 151
    for item in items:
        doc_id = item["doc_id"]["S"]
        assert re.fullmatch(r"source#(reports|other)#[0-9a-f]{64}", doc_id)
        assert not DOC_ID_PATTERN.match(doc_id)
        assert "status" not in item and "status_rank" not in item
        assert item["item_type"]["S"] == "collect.seen"


def test_run_items_hold_what_docpipe_sources_shows(lean: Lean) -> None:
    store = DynamoSeenStore(lean.table, lean.dynamodb)
    report = collector.CollectReport("reports", "feed", "2026-03-02T08:00:00+00:00", found=3, new=2)
    report.failed = [
        collector.Failure(f"https://a.example/{n}", "HTTP 404", "HttpStatusError")
        for n in range(25)
    ]
    store.record_run(report)
    runs = {
        item["source"]["S"]: plain(item)
        for item in lean.items()
        if item["item_type"]["S"] == "collect.run"
    }
    assert list(runs) == ["reports"]
    run = runs["reports"]
    assert run["doc_id"] == "source#reports" and run["item_type"] == "collect.run"
    assert (run["found"], run["new"], run["failed"], run["kind"]) == (3, 2, 25, "feed")
    assert len(run["failures"]) == collect_aws.MAX_RUN_FAILURES
    assert run["failures"][0] == {
        "url": "https://a.example/0",
        "reason": "HTTP 404",
        "error": "HttpStatusError",
    }


def test_metadata_is_ascii_and_within_two_kilobytes(lean: Lean) -> None:
    long_url = "https://bücher.example/Jahresbericht " + "ä" * 900 + ".pdf"
    metadata = collector.origin_metadata(
        source="books",
        url=long_url,
        fetched_at="2026-03-02T08:00:00+00:00",
        etag='W/"ünïcode-etag"',
        last_modified="Mon, 05 Jan 2026 09:30:00 GMT",
        content_hash="0" * 64,
        declared_type="application/pdf",
    )
    size = sum(len("x-amz-meta-" + k) + len(v.encode()) for k, v in metadata.items())
    assert size <= 2000
    assert all(v.isascii() and v.isprintable() and " " not in v for v in metadata.values())
    assert metadata[collector.ORIGIN_URL_CUT] == "true"
    assert long_url.startswith(unquote(metadata[collector.ORIGIN_URL]))
    assert unquote(metadata[collector.ORIGIN_ETAG]) == 'W/"ünïcode-etag"'
    S3ObjectStore(lean.bucket, lean.s3).put(
        "incoming/books/x.pdf", b"%PDF-", "application/pdf", metadata
    )
    head = lean.s3.head_object(Bucket=lean.bucket, Key="incoming/books/x.pdf")
    assert head["Metadata"] == metadata and head["ContentType"] == "application/pdf"


def test_object_keys_are_stable_readable_and_bounded() -> None:
    url = "https://a.example/reports/Annual%20Report%202024%20(final).pdf?download=1"
    key = object_key("incoming/", "reports", url)
    assert key == object_key("incoming/", "reports", url)
    assert re.fullmatch(r"incoming/reports/[0-9a-f]{16}-Annual-Report-2024-final-\.pdf", key)
    assert object_key("incoming/", "r", "https://a.example/").endswith("-document")
    assert object_key("incoming/", "r", "s3://b/deep/path/x.tiff").endswith("-x.tiff")
    assert len(object_key("incoming/", "r", "https://a.example/" + "n" * 500)) < 120


def test_the_bucket_reader_refuses_a_changed_object(lean: Lean) -> None:
    s3 = lean.s3
    s3.put_object(Bucket=PARTNER, Key="docs/a.pdf", Body=b"%PDF- one")
    reader = S3BucketReader(lean.s3)
    (listed,) = reader.list(PARTNER, "docs/", None)
    s3.put_object(Bucket=PARTNER, Key="docs/a.pdf", Body=b"%PDF- two")
    with pytest.raises(collect_aws.BucketError, match="S3 PreconditionFailed") as raised:
        reader.get(PARTNER, listed, None, 1000)
    assert raised.value.transient
