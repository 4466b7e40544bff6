"""Versioned messages between the stages, validated on receipt, and the document id.

Stages pass small JSON envelopes (ids and S3 keys, never document bodies: SQS caps a
message at 1 MiB and text can be larger). Every envelope carries `"version": 1` and a
`"kind"`; a receiver rejects an unknown version or kind, a missing field or a wrong type
with `InvalidEnvelopeError`, which fails that record only.

ocr queue (input of ocr), any of:
  S3 notification   {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                      "s3": {"bucket": {"name"}, "object": {"key" (URL-encoded), "eTag",
                      "versionId"?}}}]}
  S3 test event     {"Event": "s3:TestEvent", ...}                  ignored, succeeds
  manual            {"file": "incoming/x.pdf", "bucket"?}           bucket defaults to config
  ocr.request       {"version": 1, "kind": "ocr.request", "bucket", "key", "etag"?,
                     "version_id"?, "origin": "sweep" | "manual"}   what the sweep sends
summarize queue:
  text.ready        {"version": 1, "kind": "text.ready", "doc_id", "source": SOURCE,
                     "text_key", "pages", "ocr_confidence", "timings_ms": {"ocr": ms}}
classify queue:
  summary.ready     text.ready's fields with kind "summary.ready" plus "summary_key",
                     "summary_sentences", and timings_ms {"ocr", "summarize"}
sweep queue:
  sweep             {"version": 1, "kind": "sweep"}                 from EventBridge Scheduler

SOURCE = {"bucket", "key", "etag", "version_id": str | null}.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from handlers.errors import InvalidEnvelopeError

ENVELOPE_VERSION = 1
DOC_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")


def doc_id_for(bucket: str, key: str, etag: str) -> str:
    """The stable id of one version of an object (see docs/runtime-contract.md)."""
    identity = f"s3://{bucket}/{key}\n{etag.strip(chr(34))}"
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class ObjectRef:
    """An uploaded object to OCR. `etag` is unknown for manual events until GetObject."""

    bucket: str
    key: str
    etag: str | None = None
    version_id: str | None = None
    origin: str = "s3"


@dataclass(frozen=True)
class Source:
    """The uploaded object a document came from, once its ETag is known."""

    bucket: str
    key: str
    etag: str
    version_id: str | None = None

    @property
    def doc_id(self) -> str:
        return doc_id_for(self.bucket, self.key, self.etag)

    def to_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "key": self.key,
            "etag": self.etag,
            "version_id": self.version_id,
        }


@dataclass(frozen=True)
class TextReady:
    """ocr -> summarize: the text is at `text_key`."""

    doc_id: str
    source: Source
    text_key: str
    pages: int
    ocr_confidence: float
    timings_ms: dict[str, int] = field(default_factory=dict)

    KIND = "text.ready"

    def to_dict(self) -> dict[str, Any]:
        return _envelope(self.KIND, self)


@dataclass(frozen=True)
class SummaryReady:
    """summarize -> classify: text and summary are in S3."""

    doc_id: str
    source: Source
    text_key: str
    summary_key: str
    summary_sentences: int
    pages: int
    ocr_confidence: float
    timings_ms: dict[str, int] = field(default_factory=dict)

    KIND = "summary.ready"

    def to_dict(self) -> dict[str, Any]:
        return _envelope(self.KIND, self)


def _envelope(kind: str, message: TextReady | SummaryReady) -> dict[str, Any]:
    """A stage-to-stage message on the wire: version and kind, then the dataclass's fields
    (nested Source as a dict) in declaration order."""
    return {"version": ENVELOPE_VERSION, "kind": kind, **asdict(message)}


def to_json(envelope: TextReady | SummaryReady | dict[str, Any]) -> str:
    """Deterministic JSON: the same envelope always gives the same message body."""
    body = envelope if isinstance(envelope, dict) else envelope.to_dict()
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def ocr_request(ref: ObjectRef) -> dict[str, Any]:
    """The message the sweep (or an operator) sends to the ocr queue."""
    return {
        "version": ENVELOPE_VERSION,
        "kind": "ocr.request",
        "bucket": ref.bucket,
        "key": ref.key,
        "etag": ref.etag,
        "version_id": ref.version_id,
        "origin": ref.origin,
    }


# --- validation -------------------------------------------------------------------------


def _loads(body: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise InvalidEnvelopeError(f"message body is not JSON ({exc})", "message") from exc
    if not isinstance(data, dict):
        raise InvalidEnvelopeError("message body is not a JSON object", "message")
    return data


def _field(data: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = data.get(name)
    # bool is an int in Python: never accept it where a number is expected.
    if value is None or isinstance(value, bool) or not isinstance(value, kind):
        raise InvalidEnvelopeError(f"field {name!r} missing or not {_type_name(kind)}", where)
    return value


def _optional_str(data: dict[str, Any], name: str, where: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidEnvelopeError(f"field {name!r} must be a string or null", where)
    return value


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def _check_header(data: dict[str, Any], kind: str) -> str:
    where = f"{kind} envelope"
    if data.get("version") != ENVELOPE_VERSION:
        raise InvalidEnvelopeError(
            f"unsupported envelope version {data.get('version')!r} (expected 1)", where
        )
    if data.get("kind") != kind:
        raise InvalidEnvelopeError(f"kind {data.get('kind')!r} is not {kind!r}", where)
    return where


def _doc_id(data: dict[str, Any], where: str) -> str:
    doc_id = _field(data, "doc_id", str, where)
    if not DOC_ID_PATTERN.match(doc_id):
        raise InvalidEnvelopeError(f"doc_id {doc_id!r} is not 32 hex digits", where)
    return str(doc_id)


def _source(data: dict[str, Any], doc_id: str, where: str) -> Source:
    raw = _field(data, "source", dict, where)
    source = Source(
        bucket=_field(raw, "bucket", str, where),
        key=_field(raw, "key", str, where),
        etag=_field(raw, "etag", str, where),
        version_id=_optional_str(raw, "version_id", where),
    )
    if source.doc_id != doc_id:
        raise InvalidEnvelopeError("doc_id does not match its source object", where)
    return source


def _key_under(data: dict[str, Any], name: str, prefix: str, where: str) -> str:
    key = _field(data, name, str, where)
    if not key.startswith(prefix):
        raise InvalidEnvelopeError(f"{name} {key!r} is not under {prefix!r}", where)
    return str(key)


def _timings(data: dict[str, Any], where: str) -> dict[str, int]:
    raw = data.get("timings_ms", {})
    if not isinstance(raw, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in raw.values()
    ):
        raise InvalidEnvelopeError("timings_ms must map stage names to integers", where)
    return {str(k): int(v) for k, v in raw.items()}


def _confidence(data: dict[str, Any], where: str) -> float:
    value = float(_field(data, "ocr_confidence", (int, float), where))
    if not 0.0 <= value <= 1.0:
        raise InvalidEnvelopeError("ocr_confidence must be within [0, 1]", where)
    return value


def _count(data: dict[str, Any], name: str, where: str) -> int:
    value = int(_field(data, name, int, where))
    if value < 0:
        raise InvalidEnvelopeError(f"{name} must not be negative", where)
    return value


def parse_text_ready(body: str, text_prefix: str = "text/") -> TextReady:
    data = _loads(body)
    where = _check_header(data, TextReady.KIND)
    doc_id = _doc_id(data, where)
    return TextReady(
        doc_id=doc_id,
        source=_source(data, doc_id, where),
        text_key=_key_under(data, "text_key", text_prefix, where),
        pages=_count(data, "pages", where),
        ocr_confidence=_confidence(data, where),
        timings_ms=_timings(data, where),
    )


def parse_summary_ready(
    body: str, text_prefix: str = "text/", summary_prefix: str = "summaries/"
) -> SummaryReady:
    data = _loads(body)
    where = _check_header(data, SummaryReady.KIND)
    doc_id = _doc_id(data, where)
    return SummaryReady(
        doc_id=doc_id,
        source=_source(data, doc_id, where),
        text_key=_key_under(data, "text_key", text_prefix, where),
        summary_key=_key_under(data, "summary_key", summary_prefix, where),
        summary_sentences=_count(data, "summary_sentences", where),
        pages=_count(data, "pages", where),
        ocr_confidence=_confidence(data, where),
        timings_ms=_timings(data, where),
    )


def parse_sweep(body: str) -> None:
    """The scheduler's tick carries no data; validating it still catches misrouted messages."""
    _check_header(_loads(body), "sweep")


def parse_ocr_message(body: str, default_bucket: str) -> list[ObjectRef]:
    """The objects an ocr-queue message asks for; `[]` for S3's test event."""
    return parse_ocr_event(_loads(body), default_bucket)


def parse_ocr_event(data: dict[str, Any], default_bucket: str) -> list[ObjectRef]:
    if data.get("Event") == "s3:TestEvent":
        return []  # S3 sends it once when the notification is configured: nothing to do.
    if "Records" in data:
        return _s3_records(data["Records"])
    if "file" in data:
        return [_manual(data, default_bucket)]
    if data.get("kind") == "ocr.request":
        return [_ocr_request(data)]
    raise InvalidEnvelopeError(
        "not an S3 event, s3:TestEvent, manual {'file': key} or ocr.request envelope", "message"
    )


def _s3_records(records: Any) -> list[ObjectRef]:
    where = "S3 event"
    if not isinstance(records, list):
        raise InvalidEnvelopeError("'Records' is not a list", where)
    refs = []
    for record in records:
        if not isinstance(record, dict) or record.get("eventSource") != "aws:s3":
            raise InvalidEnvelopeError("record is not from aws:s3", where)
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue  # only creations carry a document; deletions have nothing to OCR
        s3 = _field(record, "s3", dict, where)
        obj = _field(s3, "object", dict, where)
        key = unquote_plus(_field(obj, "key", str, where))  # S3 URL-encodes keys, spaces as '+'
        if key.endswith("/"):
            # A "folder" the console creates is a zero-byte object: OCR would fail it as
            # empty on every try and it would reach the DLQ and raise the alarm.
            continue
        refs.append(
            ObjectRef(
                bucket=_field(_field(s3, "bucket", dict, where), "name", str, where),
                key=key,
                etag=_optional_str(obj, "eTag", where),
                version_id=_optional_str(obj, "versionId", where),
            )
        )
    return refs


def _manual(data: dict[str, Any], default_bucket: str) -> ObjectRef:
    where = "manual event"
    key = _field(data, "file", str, where)
    bucket = data.get("bucket", default_bucket)
    if not isinstance(bucket, str) or not bucket:
        raise InvalidEnvelopeError("no bucket given and none configured", where)
    return ObjectRef(bucket=bucket, key=key, origin="manual")


def _ocr_request(data: dict[str, Any]) -> ObjectRef:
    where = _check_header(data, "ocr.request")
    return ObjectRef(
        bucket=_field(data, "bucket", str, where),
        key=_field(data, "key", str, where),
        etag=_optional_str(data, "etag", where),
        version_id=_optional_str(data, "version_id", where),
        origin=str(data.get("origin") or "sweep"),
    )
