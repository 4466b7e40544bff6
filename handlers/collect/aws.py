"""The collector on AWS: its seen-state in the results table, documents into S3, the Lambda entry.

Items in the results table. The table is keyed by `doc_id` alone, and the pipeline's own
items use 32 lowercase hex digits there; the collector's keys start with `source#`, which
no hex id can, so the two never collide, the sweep's and classify's look-ups by id never
meet a collector item, and the role's `dynamodb:LeadingKeys` condition `source#*` confines
the collector to its own items (docs/collection.md, policy.py):

  doc_id "source#<name>#<sha256 hex of the URL or s3://bucket/key>"  one document of a source
    item_type "collect.seen", source, url, etag?, last_modified?, content_hash?, object_key?,
    last_checked?, last_stored?, last_error?
  doc_id "source#<name>"                                              a source's last run
    item_type "collect.run", source, kind, started_at, found, new, changed, unchanged,
    deferred, failed (count), bytes, last_error?, failures (at most MAX_RUN_FAILURES
    {url, reason, error})

Neither carries `status` or `status_rank`: the ledger's status index (a sparse index keyed
on `status`) never lists them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from contract import settings as env
from contract.errors import DocumentError
from contract.layout import INCOMING
from contract.sources import parse_collect_message, source_named
from handlers import runtime
from handlers.collect import settings
from handlers.collect.collector import (
    CollectReport,
    RemoteObject,
    Seen,
    collect_source,
    url_sha256,
)
from handlers.collect.fetch import Fetcher, FetchError, TooLargeError

STAGE = "collect"
TABLE_KEY, KEY_PREFIX = settings.TABLE_KEY, settings.SEEN_KEY_PREFIX
ITEM_SEEN, ITEM_RUN = "collect.seen", "collect.run"
MAX_RUN_FAILURES = 20  # failures kept on the run item (the count is always whole)
BATCH_GET_LIMIT = 100  # DynamoDB BatchGetItem's maximum keys per request
_SEEN_FIELDS = (
    "etag",
    "last_modified",
    "content_hash",
    "last_checked",
    "last_stored",
    "last_error",
)
# S3 error codes that mean "not now" rather than "never" (throttling, a race with a writer).
_TRANSIENT_S3_CODES = frozenset(
    {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "PreconditionFailed"}
)


def seen_key(source: str, identity: str) -> str:
    return f"{KEY_PREFIX}{source}#{url_sha256(identity)}"


def run_key(source: str) -> str:
    return f"{KEY_PREFIX}{source}"


# --- the seen-store -------------------------------------------------------------------------


class DynamoSeenStore:
    """SeenStore on the results table: one item per (source, document), one per source run."""

    def __init__(self, table: str, client: Any = None) -> None:
        self.table = table
        self.client = client or runtime.client("dynamodb")

    def get_many(self, source: str, urls: Sequence[str]) -> dict[str, Seen]:
        keys = list(dict.fromkeys(seen_key(source, url) for url in urls))
        found: dict[str, Seen] = {}
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            for item in self._batch_get(keys[start : start + BATCH_GET_LIMIT]):
                seen = _seen_from_item(item)
                found[seen.url] = seen
        return found

    def put(self, source: str, seen: Seen) -> None:
        item = {
            TABLE_KEY: seen_key(source, seen.url),
            "item_type": ITEM_SEEN,
            "source": source,
            "url": seen.url,
            "object_key": seen.key,
            **{name: getattr(seen, name) for name in _SEEN_FIELDS},
        }
        self.client.put_item(TableName=self.table, Item=_attributes(item))

    def record_run(self, report: CollectReport) -> None:
        item: dict[str, Any] = {
            TABLE_KEY: run_key(report.source),
            "item_type": ITEM_RUN,
            "source": report.source,
            "kind": report.kind,
            "started_at": report.started_at,
            "found": report.found,
            "new": report.new,
            "changed": report.changed,
            "unchanged": report.unchanged,
            "deferred": report.deferred,
            "failed": len(report.failed),
            "bytes": report.bytes,
            "last_error": report.listing_error,
            "failures": [
                {"url": f.url, "reason": f.reason, "error": f.error}
                for f in report.failed[:MAX_RUN_FAILURES]
            ],
            # what this run stored (at most max_documents): the documents it started
            "stored": [{"key": key, "etag": report.etags.get(key)} for key in report.stored],
        }
        self.client.put_item(TableName=self.table, Item=_attributes(item))

    def _batch_get(self, keys: list[str]) -> list[dict[str, Any]]:
        if not keys:
            return []
        request: dict[str, Any] = {self.table: {"Keys": [{TABLE_KEY: {"S": k}} for k in keys]}}
        items: list[dict[str, Any]] = []
        # Under load DynamoDB returns part of a batch as UnprocessedKeys: ask again, backing off.
        for attempt in range(8):
            response = self.client.batch_get_item(RequestItems=request)
            items += response.get("Responses", {}).get(self.table, [])
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return items
            time.sleep(min(1.0, 0.05 * 2**attempt))
        raise RuntimeError(f"BatchGetItem left keys unprocessed after retries on {self.table}")


def _attributes(item: Mapping[str, Any]) -> dict[str, Any]:
    """Plain values as DynamoDB attributes; None values are left out."""
    return {name: _attribute(value) for name, value in item.items() if value is not None}


def _attribute(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, list):
        return {"L": [_attribute(v) for v in value]}
    if isinstance(value, dict):
        return {"M": _attributes(value)}
    raise TypeError(f"no DynamoDB attribute for {type(value).__name__}")


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _value(attribute) for name, attribute in item.items()}


def _value(attribute: Mapping[str, Any]) -> Any:
    ((kind, value),) = attribute.items()
    if kind == "N":
        return int(value)
    if kind == "L":
        return [_value(v) for v in value]
    if kind == "M":
        return _plain(value)
    return value


def _seen_from_item(item: Mapping[str, Any]) -> Seen:
    plain = _plain(item)
    return Seen(
        url=plain["url"],
        key=plain.get("object_key"),
        **{name: plain.get(name) for name in _SEEN_FIELDS},
    )


# --- S3 -------------------------------------------------------------------------------------


class BucketError(FetchError):
    """An s3 source's bucket or object that cannot be read (access, missing, throttled)."""

    def __init__(self, url: str, problem: str, transient: bool) -> None:
        super().__init__(url, problem)
        self.transient = transient


class S3ObjectStore:
    """ObjectStore on the document bucket: PutObject under the incoming prefix."""

    def __init__(self, bucket: str, client: Any = None) -> None:
        self.bucket = bucket
        self.client = client or runtime.client("s3")

    def put(self, key: str, body: bytes, content_type: str, metadata: Mapping[str, str]) -> str:
        response = self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            Metadata=dict(metadata),
        )
        return str(response["ETag"]).strip('"')


class S3BucketReader:
    """BucketReader for s3 sources: ListObjectsV2 and GetObject, the owner checked each call."""

    def __init__(self, client: Any = None) -> None:
        self.client = client or runtime.client("s3")

    def list(self, bucket: str, prefix: str, owner: str | None) -> Iterator[RemoteObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        request = {"Bucket": bucket, "Prefix": prefix, **_owner(owner)}
        with _bucket_errors(f"s3://{bucket}/{prefix}"):
            for page in paginator.paginate(**request):
                for obj in page.get("Contents", []):
                    yield RemoteObject(
                        key=obj["Key"],
                        etag=str(obj["ETag"]).strip('"'),
                        size=int(obj["Size"]),
                        last_modified=obj["LastModified"],
                    )

    def get(self, bucket: str, obj: RemoteObject, owner: str | None, max_bytes: int) -> bytes:
        """The object as listed: IfMatch its ETag (412 if it changed since), size-capped."""
        url = f"s3://{bucket}/{obj.key}"
        with _bucket_errors(url):
            response = self.client.get_object(
                Bucket=bucket, Key=obj.key, IfMatch=f'"{obj.etag}"', **_owner(owner)
            )
            body = response["Body"].read(max_bytes + 1)
            response["Body"].close()
        if len(body) > max_bytes:
            raise TooLargeError(url, f"body exceeds {max_bytes} bytes")
        return bytes(body)


def _owner(owner: str | None) -> dict[str, str]:
    """ExpectedBucketOwner: S3 refuses the call if someone else now owns a bucket of that
    name (a deleted and re-created bucket must not feed the pipeline)."""
    return {"ExpectedBucketOwner": owner} if owner else {}


@contextmanager
def _bucket_errors(url: str) -> Iterator[None]:
    """botocore's ClientError as a BucketError naming the object and the S3 error code."""
    from botocore.exceptions import ClientError

    try:
        yield
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        raise BucketError(url, f"S3 {code}", code in _TRANSIENT_S3_CODES) from exc


# --- the Lambda entry ------------------------------------------------------------------------


class SourceListingError(DocumentError):
    """A source whose feed, sitemap or bucket cannot be read for a lasting reason."""


class SourceUnavailableError(RuntimeError):
    """A source whose listing failed for a passing reason: the queue retries the message."""


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(runtime.run_batch(STAGE, event, context, handle_record))


def handle_record(record: Any) -> None:
    handle_collect_message(record.body)


def handle_collect_message(body: str, now: datetime | None = None) -> CollectReport:
    """Run the source a scheduler message names: `{"version": 1, "kind": "collect",
    "source": NAME}`; the source comes from COLLECT_SOURCES.

    A listing that cannot be read fails the message (after the run is recorded), so the
    queue retries it and, in the end, the DLQ and its alarm show it; failed documents do not
    (they are in the report and the seen-state, and the next run tries them again).
    """
    source = source_named(settings.sources(), parse_collect_message(body))
    report = collect_source(
        source,
        DynamoSeenStore(env.TABLE.read()),
        S3ObjectStore(env.BUCKET.read()),
        Fetcher.from_env(),
        now or datetime.now(UTC),
        bucket_reader=S3BucketReader(),
        incoming_prefix=INCOMING.path,
        deadline=time.monotonic() + settings.time_budget_seconds(),
    )
    _log(report)
    if report.listing_error:
        error = SourceUnavailableError if report.listing_transient else SourceListingError
        raise error(f"source {source.name!r}: {report.listing_error}")
    return report


def _log(report: CollectReport) -> None:
    summary = {k: v for k, v in report.to_dict().items() if k not in ("failed", "stored", "etags")}
    summary["failures"] = [f"{f.url}: {f.reason}" for f in report.failed[:MAX_RUN_FAILURES]]
    runtime.logger(STAGE).info("collect done", extra=summary)
    for metric, value in (
        ("DocumentsFound", report.found),
        ("DocumentsStored", report.new + report.changed),
        ("DocumentsUnchanged", report.unchanged),
        ("DocumentsFailed", len(report.failed)),
        ("DocumentsDeferred", report.deferred),
    ):
        runtime.count(STAGE, metric, value)
    runtime.count(STAGE, "BytesStored", report.bytes, "Bytes")
