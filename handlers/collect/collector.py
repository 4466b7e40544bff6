"""One source's run: find its documents, fetch the new or changed ones, store them once.

For http, feed and sitemap sources: discover the candidate URLs (discover.py), look up what
was seen of them, fetch at most `max_documents` (never seen first, then the longest unchecked,
so a backlog drains over runs and known documents are re-checked in turn), each with the
validators last seen (If-None-Match / If-Modified-Since). A 304, or a body whose SHA-256
equals the last stored one (a new ETag on the same bytes), stores nothing. For an s3 source:
list the bucket and prefix; an object whose ETag was seen is unchanged without a request,
the others are read (at most `max_documents`) and stored when their bytes are new.

A stored document goes to `<incoming>/<source>/<16 hex of sha256(identity)>-<file name>`
(identity: the URL, or `s3://bucket/key`): one stable key per document, so a changed document
becomes a new version of the same key, hence a new doc_id downstream. Its origin is in the
object's user metadata (ORIGIN_* below); S3 requires that metadata be US-ASCII and at most
2 KB, so values are percent-encoded UTF-8 and a long URL is cut (its SHA-256 stays, and
the full URL is in the source's seen-state item).

The stores, the fetcher and the bucket reader are small protocols: aws.py implements them on
DynamoDB and S3, tests and local mode use the same adapters on moto.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlsplit

from contract.errors import DocumentError
from contract.layout import INCOMING
from contract.sources import Source
from handlers.collect.discover import MAX_CANDIDATES, MAX_LISTING_BYTES, discover
from handlers.collect.fetch import FetchError, Response, TooLargeError, Validators
from handlers.formats.sniff import media_type_of

# User metadata keys of a collected object (S3 returns them as x-amz-meta-<key>).
ORIGIN_SOURCE = "origin-source"
ORIGIN_URL = "origin-url"  # percent-encoded; cut when too long (then ORIGIN_URL_CUT is "true")
ORIGIN_URL_CUT = "origin-url-cut"
ORIGIN_URL_SHA256 = "origin-url-sha256"
ORIGIN_FETCHED_AT = "origin-fetched-at"
ORIGIN_ETAG = "origin-etag"
ORIGIN_LAST_MODIFIED = "origin-last-modified"
ORIGIN_SHA256 = "origin-sha256"  # of the document's bytes
ORIGIN_DECLARED_TYPE = "origin-declared-type"  # the server's Content-Type (the object's own
# ContentType is the sniffed one)

# S3: "the user-defined metadata is limited to 2 KB in size ... the sum of the number of bytes
# in the UTF-8 encoding of each key and value". Counted here with the x-amz-meta- prefix, to
# stay clear of the limit however S3 counts it.
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html#UserMetadata
METADATA_BUDGET = 2000
METADATA_HEADER_PREFIX = "x-amz-meta-"
MAX_METADATA_VALUE = 256  # any one value but the URL
# Printable ASCII but `%` (the escape) and space (trimmed by HTTP): kept as they are.
_METADATA_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "%")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME_CHARS = 80
MAX_ERROR_CHARS = 500


# --- the state kept per document and per run -----------------------------------------------


@dataclass(frozen=True)
class Seen:
    """What the collector knows of one document of one source (`url`: its identity)."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None  # sha256 hex of the last stored bytes
    key: str | None = None  # where they were stored
    last_checked: str | None = None  # ISO 8601 UTC of the last fetch (or attempt)
    last_stored: str | None = None
    last_error: str | None = None  # of the last attempt; None once it succeeds

    @property
    def validators(self) -> Validators:
        return Validators(etag=self.etag, last_modified=self.last_modified)


@dataclass(frozen=True)
class Failure:
    url: str
    reason: str
    error: str  # the error's type name
    transient: bool = False


@dataclass
class CollectReport:
    """One run of one source. `new` and `changed` documents were stored; `deferred` ones
    were found but left for a later run (max_documents, the time budget)."""

    source: str
    kind: str
    started_at: str
    found: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deferred: int = 0
    bytes: int = 0
    failed: list[Failure] = field(default_factory=list)
    stored: list[str] = field(default_factory=list)
    etags: dict[str, str] = field(default_factory=dict)  # stored key -> the object's ETag
    listing_error: str | None = None  # the feed, sitemap or bucket could not be read
    listing_transient: bool = False  # ... for a reason a later attempt may not meet

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- the collaborators ----------------------------------------------------------------------


class SeenStore(Protocol):
    def get_many(self, source: str, urls: Sequence[str]) -> dict[str, Seen]: ...

    def put(self, source: str, seen: Seen) -> None: ...

    def record_run(self, report: CollectReport) -> None: ...


class ObjectStore(Protocol):
    def put(
        self, key: str, body: bytes, content_type: str, metadata: Mapping[str, str]
    ) -> str | None:
        """Store the bytes; the stored object's ETag when the store has one."""
        ...


class HttpFetcher(Protocol):
    def fetch(
        self,
        url: str,
        *,
        max_bytes: int,
        allow_http: bool = False,
        validators: Validators | None = None,
    ) -> Response: ...


@dataclass(frozen=True)
class RemoteObject:
    """An object of an s3 source's bucket, as ListObjectsV2 describes it."""

    key: str
    etag: str  # without quotes
    size: int
    last_modified: datetime


class BucketReader(Protocol):
    def list(self, bucket: str, prefix: str, owner: str | None) -> Iterator[RemoteObject]: ...

    def get(self, bucket: str, obj: RemoteObject, owner: str | None, max_bytes: int) -> bytes: ...


# --- the run --------------------------------------------------------------------------------


def collect_source(
    source: Source,
    seen_store: SeenStore,
    object_store: ObjectStore,
    fetcher: HttpFetcher,
    now: datetime,
    *,
    bucket_reader: BucketReader | None = None,
    incoming_prefix: str = INCOMING.path,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> CollectReport:
    """Collect what is new at `source`; the report is also recorded in `seen_store`.

    A listing that cannot be read (the feed, the sitemap, the bucket) ends the run with
    `listing_error` set; a document that cannot be fetched is one `failed` entry.
    `deadline` (a `clock()` value) stops the run early: what is left is `deferred`.
    """
    run = _Run(source, seen_store, object_store, now, incoming_prefix, deadline, clock)
    try:
        if source.kind == "s3":
            if bucket_reader is None:
                raise ValueError(f"source {source.name!r} is an s3 source: pass a bucket_reader")
            run.collect_bucket(bucket_reader)
        else:
            run.collect_urls(fetcher)
    except (FetchError, DocumentError) as exc:
        run.report.listing_error = _error_text(exc)
        run.report.listing_transient = bool(getattr(exc, "transient", False))
    seen_store.record_run(run.report)
    return run.report


@dataclass
class _Run:
    source: Source
    seen_store: SeenStore
    object_store: ObjectStore
    now: datetime
    incoming_prefix: str
    deadline: float | None
    clock: Callable[[], float]
    report: CollectReport = field(init=False)

    def __post_init__(self) -> None:
        self.report = CollectReport(self.source.name, self.source.kind, iso(self.now))

    # -- http, feed, sitemap ------------------------------------------------------------------

    def collect_urls(self, fetcher: HttpFetcher) -> None:
        source = self.source

        def fetch_listing(url: str) -> tuple[bytes, str]:
            response = fetcher.fetch(url, max_bytes=MAX_LISTING_BYTES, allow_http=source.allow_http)
            return response.body, response.final_url

        discovery = discover(source, fetch_listing)
        self.report.found = discovery.found
        self.report.failed += [Failure(url, why, "ListingError") for url, why in discovery.errors]
        seen = self.seen_store.get_many(source.name, discovery.candidates)
        chosen = self._choose(discovery.candidates, seen, discovery.found)
        for position, url in enumerate(chosen):
            if self._out_of_time():
                self.report.deferred += len(chosen) - position
                return
            self._collect_url(fetcher, url, seen.get(url))

    def _collect_url(self, fetcher: HttpFetcher, url: str, previous: Seen | None) -> None:
        seen = previous or Seen(url)
        try:
            response = fetcher.fetch(
                url,
                max_bytes=self.source.max_bytes,
                allow_http=self.source.allow_http,
                validators=seen.validators,
            )
        except FetchError as exc:
            self._failed(seen, exc, exc.transient)
            return
        seen = replace(
            seen,
            etag=response.etag or (seen.etag if response.not_modified else None),
            last_modified=response.last_modified
            or (seen.last_modified if response.not_modified else None),
        )
        if response.not_modified:
            self._unchanged(seen)
            return
        self._store(seen, response.body, response.declared_type)

    # -- s3 -----------------------------------------------------------------------------------

    def collect_bucket(self, reader: BucketReader) -> None:
        source = self.source
        assert source.bucket is not None
        listed: dict[str, RemoteObject] = {}
        for obj in reader.list(source.bucket, source.prefix, source.account):
            if obj.key.endswith("/") or not source.wants(obj.key):
                continue  # folder markers hold no document
            self.report.found += 1
            if len(listed) < MAX_CANDIDATES:
                listed[s3_identity(source.bucket, obj.key)] = obj
        seen = self.seen_store.get_many(source.name, list(listed))
        todo = []
        for identity, obj in listed.items():
            previous = seen.get(identity)
            if previous is not None and previous.etag == obj.etag:
                self.report.unchanged += 1  # the ETag says it all: no request, no write
            else:
                todo.append(identity)
        chosen = self._choose(todo, seen, len(todo) + self.report.found - len(listed))
        for position, identity in enumerate(chosen):
            if self._out_of_time():
                self.report.deferred += len(chosen) - position
                return
            self._copy(reader, listed[identity], seen.get(identity) or Seen(identity))

    def _copy(self, reader: BucketReader, obj: RemoteObject, seen: Seen) -> None:
        assert self.source.bucket is not None
        try:
            if obj.size > self.source.max_bytes:
                raise TooLargeError(seen.url, f"{obj.size} bytes exceeds {self.source.max_bytes}")
            body = reader.get(self.source.bucket, obj, self.source.account, self.source.max_bytes)
        except FetchError as exc:
            self._failed(seen, exc, exc.transient)
            return
        modified = format_datetime(obj.last_modified.astimezone(UTC), usegmt=True)
        self._store(replace(seen, etag=obj.etag, last_modified=modified), body, None)

    # -- shared -------------------------------------------------------------------------------

    def _choose(self, candidates: Sequence[str], seen: Mapping[str, Seen], found: int) -> list[str]:
        """At most max_documents: never seen first (in listing order), then the longest
        unchecked; the rest (and what MAX_CANDIDATES cut) is deferred to later runs."""
        unseen = [c for c in candidates if c not in seen]
        known = sorted(
            (c for c in candidates if c in seen), key=lambda c: seen[c].last_checked or ""
        )
        chosen = (unseen + known)[: self.source.max_documents]
        self.report.deferred += found - len(chosen)
        return chosen

    def _store(self, seen: Seen, body: bytes, declared_type: str | None) -> None:
        """Store `body` unless it is empty or the bytes last stored; `seen` carries the
        validators it came with."""
        if not body:
            self._failed(seen, DocumentError("empty document (0 bytes)", seen.url), False)
            return
        digest = hashlib.sha256(body).hexdigest()
        if digest == seen.content_hash:
            self._unchanged(seen)  # new validators, same bytes
            return
        key = object_key(self.incoming_prefix, self.source.name, seen.url)
        metadata = origin_metadata(
            source=self.source.name,
            url=seen.url,
            fetched_at=iso(self.now),
            etag=seen.etag,
            last_modified=seen.last_modified,
            content_hash=digest,
            declared_type=declared_type,
        )
        etag = self.object_store.put(key, body, media_type_of(body), metadata)
        if seen.content_hash is None:
            self.report.new += 1
        else:
            self.report.changed += 1
        self.report.bytes += len(body)
        self.report.stored.append(key)
        if etag:
            self.report.etags[key] = etag
        now = iso(self.now)
        self.seen_store.put(
            self.source.name,
            replace(
                seen,
                content_hash=digest,
                key=key,
                last_checked=now,
                last_stored=now,
                last_error=None,
            ),
        )

    def _unchanged(self, seen: Seen) -> None:
        self.report.unchanged += 1
        self.seen_store.put(
            self.source.name, replace(seen, last_checked=iso(self.now), last_error=None)
        )

    def _failed(self, seen: Seen, exc: Exception, transient: bool) -> None:
        problem = getattr(exc, "problem", str(exc))
        self.report.failed.append(Failure(seen.url, problem, type(exc).__name__, transient))
        self.seen_store.put(
            self.source.name,
            replace(seen, last_checked=iso(self.now), last_error=_error_text(exc)),
        )

    def _out_of_time(self) -> bool:
        return self.deadline is not None and self.clock() >= self.deadline


# --- names and metadata ---------------------------------------------------------------------


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def s3_identity(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def url_sha256(identity: str) -> str:
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


def object_key(incoming_prefix: str, source: str, identity: str) -> str:
    """`incoming/<source>/<16 hex>-<file name>`: stable per document, readable, bounded."""
    path = urlsplit(identity).path
    name = _UNSAFE_NAME.sub("-", unquote(path.rsplit("/", 1)[-1])).strip("-.")
    name = name[-MAX_NAME_CHARS:].lstrip("-.") or "document"
    return f"{incoming_prefix}{source}/{url_sha256(identity)[:16]}-{name}"


def metadata_value(value: str, limit: int = MAX_METADATA_VALUE) -> str:
    """US-ASCII for S3 user metadata: UTF-8 percent-encoded (urllib.parse.unquote reverts it),
    at most `limit` characters, cut between characters (never inside one's escapes)."""
    encoded = quote(value, safe=_METADATA_SAFE)
    if len(encoded) <= limit:
        return encoded
    pieces, size = [], 0
    for char in value:
        piece = quote(char, safe=_METADATA_SAFE)
        if size + len(piece) > limit:
            break
        pieces.append(piece)
        size += len(piece)
    return "".join(pieces)


def origin_metadata(
    *,
    source: str,
    url: str,
    fetched_at: str,
    etag: str | None,
    last_modified: str | None,
    content_hash: str,
    declared_type: str | None,
) -> dict[str, str]:
    """The object's user metadata, within METADATA_BUDGET: the URL gets what is left."""
    values = {
        ORIGIN_SOURCE: source,
        ORIGIN_FETCHED_AT: fetched_at,
        ORIGIN_SHA256: content_hash,
        ORIGIN_URL_SHA256: url_sha256(url),
        ORIGIN_ETAG: etag,
        ORIGIN_LAST_MODIFIED: last_modified,
        ORIGIN_DECLARED_TYPE: declared_type,
    }
    metadata = {k: metadata_value(v) for k, v in values.items() if v}
    left = METADATA_BUDGET - _metadata_size(metadata)
    room = left - len(METADATA_HEADER_PREFIX + ORIGIN_URL)
    encoded_url = quote(url, safe=_METADATA_SAFE)
    if len(encoded_url) <= room:
        metadata[ORIGIN_URL] = encoded_url
    else:
        cut_flag = len(METADATA_HEADER_PREFIX + ORIGIN_URL_CUT) + len("true")
        metadata[ORIGIN_URL] = metadata_value(url, room - cut_flag)
        metadata[ORIGIN_URL_CUT] = "true"
    return metadata


def _metadata_size(metadata: Mapping[str, str]) -> int:
    return sum(len(METADATA_HEADER_PREFIX + k) + len(v) for k, v in metadata.items())


def _error_text(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
