"""The messages on the pipeline's queues, validated on receipt, and the document id.

Stages pass small JSON messages (ids and S3 keys, never document bodies: SQS caps a message
at 1 MiB and text can be larger). A receiver rejects an unknown version or kind, a missing
field, a wrong type or a key outside its prefix with `InvalidEnvelopeError`, which fails that
record only.

First stage's queue (uploads), any of:
  S3 notification   {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                      "s3": {"bucket": {"name"}, "object": {"key" (URL-encoded), "eTag",
                      "versionId"?, "size"?}}}]}
  S3 test event     {"Event": "s3:TestEvent", ...}                  ignored, succeeds
  manual            {"file": "incoming/x.pdf", "bucket"?}           bucket defaults to config
  ocr.request       {"version": 1, "kind": "ocr.request", "bucket", "key", "etag"?,
                     "version_id"?, "origin": "sweep" | "manual"}   what the sweep sends
Between stages, the document message each stage advances:
  document          {"version": 2, "kind": "document", "doc_id", "source": SOURCE,
                     "stage": the stage that sent it, "keys": {"text": "text/..",
                     "summary"?: "summaries/.."}, "pages", "ocr_confidence",
                     "summary_sentences"?, "media_type"?, "method"?,
                     "timings_ms": {stage: ms}}
  version 1, still accepted (messages in flight survive a deploy):
  text.ready        {"version": 1, "kind": "text.ready", "doc_id", "source", "text_key",
                     "pages", "ocr_confidence", "timings_ms"}
  summary.ready     text.ready's fields plus "summary_key", "summary_sentences"
Scheduled stages: {"version": 1, "kind": "<stage>"} from EventBridge Scheduler.

SOURCE = {"bucket", "key", "etag", "version_id": str | null}.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote_plus

from contract.errors import InvalidEnvelopeError
from contract.layout import ARTIFACTS, INCOMING

DOCUMENT_VERSION = 2
REQUEST_VERSION = 1  # ocr.request and schedule ticks
DOCUMENT = "document"
OCR_REQUEST = "ocr.request"
V1_KINDS = {"text.ready": "ocr", "summary.ready": "summarize"}  # kind -> the stage that sent it
DOC_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")


def doc_id_for(bucket: str, key: str, etag: str) -> str:
    """The stable id of one version of an object (see docs/runtime-contract.md)."""
    identity = f"s3://{bucket}/{key}\n{etag.strip(chr(34))}"
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class ObjectRef:
    """An uploaded object to process. `etag` is unknown for manual events until GetObject."""

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
class Document:
    """One document on its way through the stages: what it is and what has been made of it.

    Each stage reads the artifacts it needs by name (`key("text")`) and passes the message on
    advanced (`advanced(...)`), so no stage depends on which stage comes before it.
    """

    doc_id: str
    source: Source
    stage: str
    keys: dict[str, str]
    pages: int
    ocr_confidence: float
    summary_sentences: int | None = None
    media_type: str | None = None
    method: str | None = None
    timings_ms: dict[str, int] = field(default_factory=dict)

    def key(self, artifact: str) -> str:
        """The S3 key of an artifact an earlier stage wrote; a message without it is invalid."""
        if artifact not in self.keys:
            raise InvalidEnvelopeError(
                f"has no {artifact!r} key (keys: {sorted(self.keys)})", f"{DOCUMENT} message"
            )
        return self.keys[artifact]

    def advanced(self, stage: str, elapsed_ms: int, **changes: Any) -> Document:
        """This document as `stage` passes it on: its artifacts and facts added, its time kept."""
        keys = {**self.keys, **changes.pop("keys", {})}
        timings = {**self.timings_ms, stage: elapsed_ms}
        return replace(self, stage=stage, keys=keys, timings_ms=timings, **changes)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "version": DOCUMENT_VERSION,
            "kind": DOCUMENT,
            "doc_id": self.doc_id,
            "source": self.source.to_dict(),
            "stage": self.stage,
            "keys": dict(self.keys),
            "pages": self.pages,
            "ocr_confidence": self.ocr_confidence,
            "timings_ms": dict(self.timings_ms),
        }
        optional = {
            "summary_sentences": self.summary_sentences,
            "media_type": self.media_type,
            "method": self.method,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return body

    def to_json(self) -> str:
        return to_json(self.to_dict())


def to_json(body: dict[str, Any]) -> str:
    """Deterministic JSON: the same message always gives the same body."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def ocr_request(ref: ObjectRef) -> dict[str, Any]:
    """The message the sweep (or an operator) sends to the first stage's queue."""
    return {
        "version": REQUEST_VERSION,
        "kind": OCR_REQUEST,
        "bucket": ref.bucket,
        "key": ref.key,
        "etag": ref.etag,
        "version_id": ref.version_id,
        "origin": ref.origin,
    }


def manual_event(key: str) -> dict[str, Any]:
    """`{"file": key}`: process an uploaded object again (a console test event, `docpipe
    send --file`); the key must be an upload."""
    if not key.startswith(INCOMING.path):
        raise ValueError(f"key {key!r} must start with {INCOMING.path!r}")
    return {"file": key}


def schedule_tick(stage: str) -> dict[str, Any]:
    """What a schedule sends to a scheduled stage's queue."""
    return {"version": REQUEST_VERSION, "kind": stage}


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


def _optional(data: dict[str, Any], name: str, kind: type, where: str) -> Any:
    value = data.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, kind)):
        raise InvalidEnvelopeError(f"field {name!r} must be {_type_name(kind)} or null", where)
    return value


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def parse_request(body: str, kind: str, version: int = REQUEST_VERSION) -> dict[str, Any]:
    """A request message's fields once its body is a JSON object of this kind and version
    (the header every message carries); InvalidEnvelopeError naming what is wrong."""
    data = _loads(body)
    _check_header(data, kind, version)
    return data


def _check_header(data: dict[str, Any], kind: str, version: int) -> str:
    where = f"{kind} envelope"
    if data.get("version") != version:
        raise InvalidEnvelopeError(
            f"unsupported envelope version {data.get('version')!r} (expected {version})", where
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
        version_id=_optional(raw, "version_id", str, where),
    )
    if source.doc_id != doc_id:
        raise InvalidEnvelopeError("doc_id does not match its source object", where)
    return source


def _keys(raw: Any, where: str) -> dict[str, str]:
    """Artifact name -> key, each under its own prefix (`text` under `text/`)."""
    if not isinstance(raw, dict):
        raise InvalidEnvelopeError("field 'keys' missing or not dict", where)
    for artifact, key in raw.items():
        prefix = ARTIFACTS.get(artifact)
        if prefix is None:
            raise InvalidEnvelopeError(f"unknown artifact {artifact!r} in keys", where)
        if not isinstance(key, str) or not key.startswith(prefix.path):
            raise InvalidEnvelopeError(
                f"{artifact} key {key!r} is not under {prefix.path!r}", where
            )
    return dict(raw)


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


def parse_document(body: str) -> Document:
    """A document message of any version still in flight."""
    data = _loads(body)
    if data.get("kind") in V1_KINDS and data.get("version") == 1:
        return _document_v1(data)
    where = _check_header(data, DOCUMENT, DOCUMENT_VERSION)
    doc_id = _doc_id(data, where)
    sentences = data.get("summary_sentences")
    return Document(
        doc_id=doc_id,
        source=_source(data, doc_id, where),
        stage=_field(data, "stage", str, where),
        keys=_keys(data.get("keys"), where),
        pages=_count(data, "pages", where),
        ocr_confidence=_confidence(data, where),
        summary_sentences=None if sentences is None else _count(data, "summary_sentences", where),
        media_type=_optional(data, "media_type", str, where),
        method=_optional(data, "method", str, where),
        timings_ms=_timings(data, where),
    )


def _document_v1(data: dict[str, Any]) -> Document:
    """text.ready / summary.ready, the version 1 messages, as the document they describe."""
    kind = data["kind"]
    where = f"{kind} envelope"
    doc_id = _doc_id(data, where)
    keys = {"text": data.get("text_key")}
    sentences = None
    if kind == "summary.ready":
        keys["summary"] = data.get("summary_key")
        sentences = _count(data, "summary_sentences", where)
    return Document(
        doc_id=doc_id,
        source=_source(data, doc_id, where),
        stage=V1_KINDS[kind],
        keys=_keys(keys, where),
        pages=_count(data, "pages", where),
        ocr_confidence=_confidence(data, where),
        summary_sentences=sentences,
        timings_ms=_timings(data, where),
    )


def parse_tick(body: str, stage: str) -> None:
    """A schedule's tick carries no data; validating it still catches misrouted messages."""
    _check_header(_loads(body), stage, REQUEST_VERSION)


def parse_upload_message(body: str, default_bucket: str) -> list[ObjectRef]:
    """The objects a first-stage message asks for; `[]` for S3's test event."""
    return parse_upload_event(_loads(body), default_bucket)


def parse_upload_event(data: dict[str, Any], default_bucket: str) -> list[ObjectRef]:
    if data.get("Event") == "s3:TestEvent":
        return []  # S3 sends it once when the notification is configured: nothing to do.
    if "Records" in data:
        return _s3_records(data["Records"])
    if "file" in data:
        return [_manual(data, default_bucket)]
    if data.get("kind") == OCR_REQUEST:
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
            continue  # only creations carry a document; deletions have nothing to process
        s3 = _field(record, "s3", dict, where)
        obj = _field(s3, "object", dict, where)
        key = unquote_plus(_field(obj, "key", str, where))  # S3 URL-encodes keys, spaces as '+'
        if is_folder_marker(key, _optional(obj, "size", int, where)):
            continue
        refs.append(
            ObjectRef(
                bucket=_field(_field(s3, "bucket", dict, where), "name", str, where),
                key=key,
                etag=_optional(obj, "eTag", str, where),
                version_id=_optional(obj, "versionId", str, where),
            )
        )
    return refs


def is_folder_marker(key: str, size: int | None) -> bool:
    """A "folder" the console creates: a zero-byte object whose key ends in `/`. It holds no
    document (processing would reject it as empty). A key ending in `/` is a legal name for
    any object, though: one with bytes is a document like any other. S3 events and
    ListObjectsV2 both give the size; without one, the object is taken as a document."""
    return key.endswith("/") and size == 0


def _manual(data: dict[str, Any], default_bucket: str) -> ObjectRef:
    where = "manual event"
    key = _field(data, "file", str, where)
    bucket = data.get("bucket", default_bucket)
    if not isinstance(bucket, str) or not bucket:
        raise InvalidEnvelopeError("no bucket given and none configured", where)
    return ObjectRef(bucket=bucket, key=key, origin="manual")


def _ocr_request(data: dict[str, Any]) -> ObjectRef:
    where = _check_header(data, OCR_REQUEST, REQUEST_VERSION)
    return ObjectRef(
        bucket=_field(data, "bucket", str, where),
        key=_field(data, "key", str, where),
        etag=_optional(data, "etag", str, where),
        version_id=_optional(data, "version_id", str, where),
        origin=str(data.get("origin") or "sweep"),
    )


def doc_id_in(body: str) -> str | None:
    """The document a message is about, when it says (for local mode's per-stage timings)."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("doc_id"), str):
        return str(data["doc_id"])
    records = data.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        s3 = records[0].get("s3") or {}
        bucket, obj = (s3.get("bucket") or {}).get("name"), s3.get("object") or {}
        if bucket and obj.get("key") and obj.get("eTag"):
            return doc_id_for(bucket, unquote_plus(obj["key"]), obj["eTag"])
    if data.get("kind") == OCR_REQUEST and data.get("etag"):
        return doc_id_for(data["bucket"], data["key"], data["etag"])
    return None
