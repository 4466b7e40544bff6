"""The collector's decisions, fast: a real web site on 127.0.0.1 and the real fetcher, with
in-memory stores in place of DynamoDB and S3 (test_collect_aws.py runs the same on moto)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from collect_site import SAMPLE_NAMES, SAMPLES, DocumentSite

from contract.sources import Source
from handlers.collect.collector import (
    CollectReport,
    RemoteObject,
    Seen,
    collect_source,
)
from handlers.collect.fetch import Fetcher

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@dataclass
class MemorySeen:
    seen: dict[tuple[str, str], Seen] = field(default_factory=dict)
    runs: list[CollectReport] = field(default_factory=list)

    def get_many(self, source: str, urls: Sequence[str]) -> dict[str, Seen]:
        return {u: self.seen[(source, u)] for u in urls if (source, u) in self.seen}

    def put(self, source: str, seen: Seen) -> None:
        self.seen[(source, seen.url)] = seen

    def record_run(self, report: CollectReport) -> None:
        self.runs.append(report)


@dataclass
class MemoryObjects:
    puts: list[tuple[str, bytes, str, dict[str, str]]] = field(default_factory=list)

    def put(self, key: str, body: bytes, content_type: str, metadata: Mapping[str, str]) -> None:
        self.puts.append((key, body, content_type, dict(metadata)))


@dataclass
class MemoryBucket:
    objects: dict[str, bytes]
    gets: list[str] = field(default_factory=list)

    def list(self, bucket: str, prefix: str, owner: str | None) -> Iterator[RemoteObject]:
        import hashlib

        for key, body in sorted(self.objects.items()):
            if key.startswith(prefix):
                yield RemoteObject(key, hashlib.md5(body).hexdigest(), len(body), T0)

    def get(self, bucket: str, obj: RemoteObject, owner: str | None, max_bytes: int) -> bytes:
        self.gets.append(obj.key)
        return self.objects[obj.key]


@pytest.fixture(name="site")
def site_fixture() -> Iterator[DocumentSite]:
    with DocumentSite() as site:
        yield site


def run(
    source: Source,
    seen: MemorySeen,
    objects: MemoryObjects,
    at: datetime = T0,
    **options: Any,
) -> CollectReport:
    fetcher = Fetcher(allow_loopback=True, sleep=lambda seconds: None)
    return collect_source(source, seen, objects, fetcher, at, **options)


def docs_source(site: DocumentSite, **settings: Any) -> Source:
    urls = tuple(site.url(f"/docs/{name}") for name in SAMPLE_NAMES)
    return Source(name="docs", kind="http", urls=urls, allow_http=True, **settings)


def test_a_rerun_sends_conditional_requests_and_stores_nothing(site: DocumentSite) -> None:
    seen, objects = MemorySeen(), MemoryObjects()
    source = docs_source(site)
    first = run(source, seen, objects)
    assert (first.new, len(objects.puts)) == (4, 4)
    assert [ct for _, _, ct, _ in objects.puts] == [
        "application/pdf",
        "image/jpeg",
        "image/png",
        "image/tiff",
    ]
    second = run(source, seen, objects, T0 + timedelta(hours=1))
    assert (second.new, second.changed, second.unchanged, len(objects.puts)) == (0, 0, 4, 4)
    assert all(r.headers.get("If-None-Match") for r in site.requests[4:])
    assert seen.runs == [first, second]
    assert {s.last_checked for s in seen.seen.values()} == {"2026-03-02T09:00:00+00:00"}


def test_a_new_etag_on_the_same_bytes_stores_nothing(site: DocumentSite) -> None:
    seen, objects = MemorySeen(), MemoryObjects()
    source = Source(
        name="e", kind="http", urls=(site.url("/changing-etag/report.tiff"),), allow_http=True
    )
    run(source, seen, objects)
    again = run(source, seen, objects, T0 + timedelta(hours=1))
    assert (again.unchanged, len(objects.puts)) == (1, 1)
    assert site.state.hits["/changing-etag/report.tiff"] == 2


def test_a_changed_document_is_stored_again_under_its_key(site: DocumentSite) -> None:
    seen, objects = MemorySeen(), MemoryObjects()
    source = docs_source(site)
    run(source, seen, objects)
    site.change("invoice.jpg", b"\xff\xd8\xff a new scan")
    again = run(source, seen, objects, T0 + timedelta(days=1))
    assert (again.changed, again.unchanged) == (1, 3)
    keys = [key for key, *_ in objects.puts]
    assert keys[-1] == keys[1]  # the invoice's key, now holding the new bytes
    assert objects.puts[-1][1] == b"\xff\xd8\xff a new scan"


def test_unseen_documents_go_first_then_the_longest_unchecked(site: DocumentSite) -> None:
    seen, objects = MemorySeen(), MemoryObjects()
    source = Source(
        name="map",
        kind="sitemap",
        url=site.url("/sitemap_index.xml"),
        pattern=site.url("/docs/*"),
        max_documents=2,
        allow_http=True,
    )
    fetched: list[list[str]] = []
    for hour in range(4):
        before = len(site.requests)
        report = run(source, seen, objects, T0 + timedelta(hours=hour))
        fetched.append([p.rsplit("/", 1)[-1] for p in site.paths()[before:] if "/docs/" in p])
        assert (report.found, report.deferred) == (4, 2)
    assert fetched == [
        ["contract.pdf", "invoice.jpg"],
        ["letter.png", "report.tiff"],  # never fetched: first
        ["contract.pdf", "invoice.jpg"],  # then the longest unchecked
        ["letter.png", "report.tiff"],
    ]
    assert len(objects.puts) == 4


def test_the_deadline_defers_what_is_left(site: DocumentSite) -> None:
    ticks = iter(range(100))
    seen, objects = MemorySeen(), MemoryObjects()
    report = run(docs_source(site), seen, objects, deadline=2, clock=lambda: next(ticks))
    assert (report.new, report.deferred) == (2, 2)


def test_a_listing_error_is_recorded_in_the_run(site: DocumentSite) -> None:
    seen, objects = MemorySeen(), MemoryObjects()
    source = Source(name="f", kind="feed", url=site.url("/docs/missing.xml"), allow_http=True)
    report = run(source, seen, objects)
    assert report.listing_error == (f"HttpStatusError: {site.url('/docs/missing.xml')}: HTTP 404")
    assert report.listing_transient is False
    assert seen.runs == [report]


def test_an_s3_source_copies_by_etag() -> None:
    bucket = MemoryBucket({f"in/{n}": (SAMPLES / n).read_bytes() for n in SAMPLE_NAMES})
    bucket.objects["in/folder/"] = b""
    seen, objects = MemorySeen(), MemoryObjects()
    source = Source(name="b", kind="s3", bucket="other", prefix="in/", include=("*.pdf", "*.png"))
    first = run(source, seen, objects, bucket_reader=bucket)
    assert (first.found, first.new, bucket.gets) == (2, 2, ["in/contract.pdf", "in/letter.png"])
    second = run(source, seen, objects, T0 + timedelta(hours=1), bucket_reader=bucket)
    assert (second.unchanged, len(bucket.gets), len(objects.puts)) == (2, 2, 2)
    metadata = objects.puts[0][3]
    assert metadata["origin-url"] == "s3://other/in/contract.pdf"
    assert metadata["origin-last-modified"] == "Mon,%2002%20Mar%202026%2008:00:00%20GMT"


def test_an_s3_source_without_a_reader_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="pass a bucket_reader"):
        run(Source(name="b", kind="s3", bucket="x"), MemorySeen(), MemoryObjects())
