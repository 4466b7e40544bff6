"""The messages on the pipeline's queues and the document id, without AWS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contract import messages as envelope
from contract.errors import InvalidEnvelopeError

EVENTS = Path(__file__).resolve().parent.parent / "events"


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def test_doc_id_follows_the_runtime_contract() -> None:
    import hashlib

    expected = hashlib.sha256(b"s3://b/incoming/a b.pdf\nabc123").hexdigest()[:32]
    assert envelope.doc_id_for("b", "incoming/a b.pdf", '"abc123"') == expected
    assert envelope.doc_id_for("b", "incoming/a b.pdf", "abc123") == expected


def test_s3_event_keys_are_url_decoded() -> None:
    event = load_event("s3_object_created_spaces.json")
    (ref,) = envelope.parse_upload_event(event, "default-bucket")
    assert (ref.bucket, ref.key, ref.etag, ref.origin) == (
        "BUCKET",
        "incoming/scanned invoice (42).png",
        "ETAG",
        "s3",
    )


def test_non_creation_records_carry_no_document() -> None:
    event = load_event("s3_object_created_spaces.json")
    event["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert envelope.parse_upload_event(event, "b") == []


def with_record(event: dict[str, Any], key: str, size: int) -> dict[str, Any]:
    """The event with one more record in front: an object of `size` bytes under `key`."""
    record = json.loads(json.dumps(event["Records"][0]))
    record["s3"]["object"].update(key=key, size=size)
    return {"Records": [record, *event["Records"]]}


def test_folder_markers_carry_no_document() -> None:
    # GIVEN an event for the console's zero-byte "folder" and one for a document in it
    event = with_record(load_event("s3_object_created_spaces.json"), "incoming/scans+2026/", 0)

    # WHEN it is parsed THEN only the document remains
    refs = envelope.parse_upload_event(event, "b")
    assert [ref.key for ref in refs] == ["incoming/scanned invoice (42).png"]


def test_an_object_with_bytes_is_a_document_whatever_its_key_ends_with() -> None:
    # GIVEN a 1,024-byte upload whose key ends in "/" (a legal S3 key, not a folder)
    event = with_record(load_event("s3_object_created_spaces.json"), "incoming/odd+name/", 1024)

    # WHEN it is parsed THEN it is a document to process (or reject with a reason)
    refs = envelope.parse_upload_event(event, "b")
    assert [ref.key for ref in refs] == ["incoming/odd name/", "incoming/scanned invoice (42).png"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"Records": [{"eventSource": "aws:sns"}]}, "not from aws:s3"),
        ({"Records": "x"}, "not a list"),
        ({"file": "incoming/x.pdf"}, "no bucket given"),
        ({"file": 3}, "'file' missing or not str"),
        ({"version": 1, "kind": "ocr.request", "key": "incoming/x"}, "'bucket' missing"),
        ({"version": 9, "kind": "ocr.request"}, "unsupported envelope version 9"),
        ({"what": "ever"}, "not an S3 event"),
        ([1, 2], "not a JSON object"),
    ],
)
def test_bad_ocr_messages_name_the_problem(body: object, problem: str) -> None:
    with pytest.raises(InvalidEnvelopeError, match=problem):
        envelope.parse_upload_message(json.dumps(body), "")


def test_ocr_request_round_trip_and_deterministic_json() -> None:
    ref = envelope.ObjectRef("b", "incoming/x.pdf", "e1", "v1", origin="sweep")
    body = envelope.to_json(envelope.ocr_request(ref))
    assert body == envelope.to_json(envelope.ocr_request(ref))
    assert envelope.parse_upload_message(body, "") == [ref]


def document(**changes: Any) -> envelope.Document:
    source = envelope.Source("b", "incoming/x.pdf", "e1", None)
    fields: dict[str, Any] = {
        "doc_id": source.doc_id,
        "source": source,
        "stage": "ocr",
        "keys": {"text": f"text/{source.doc_id}.txt"},
        "pages": 3,
        "ocr_confidence": 0.9,
        "timings_ms": {"ocr": 5},
    }
    return envelope.Document(**{**fields, **changes})


def test_document_round_trip_with_and_without_optional_fields() -> None:
    plain = document()
    full = document(summary_sentences=2, media_type="application/pdf", method="ocr")
    for message in (plain, full):
        assert envelope.parse_document(message.to_json()) == message
    assert "summary_sentences" not in plain.to_dict()


def test_each_stage_advances_the_same_message() -> None:
    # GIVEN the first stage's document WHEN a later stage adds its artifact and time
    first = document()
    summary_key = f"summaries/{first.doc_id}.txt"
    later = first.advanced("summarize", 7, keys={"summary": summary_key}, summary_sentences=2)

    # THEN earlier artifacts and timings stay, and the message names who sent it
    assert later.keys == {"text": first.keys["text"], "summary": summary_key}
    assert later.timings_ms == {"ocr": 5, "summarize": 7}
    assert (later.stage, later.summary_sentences) == ("summarize", 2)
    assert envelope.parse_document(later.to_json()) == later


def test_version_1_messages_in_flight_still_parse() -> None:
    # GIVEN text.ready and summary.ready bodies exactly as version 1 stages sent them
    source = envelope.Source("b", "incoming/x.pdf", "e1", "v9")
    v1 = {
        "version": 1,
        "kind": "text.ready",
        "doc_id": source.doc_id,
        "source": source.to_dict(),
        "text_key": f"text/{source.doc_id}.txt",
        "pages": 2,
        "ocr_confidence": 0.8,
        "timings_ms": {"ocr": 3},
    }
    summary = {
        **v1,
        "kind": "summary.ready",
        "summary_key": f"summaries/{source.doc_id}.txt",
        "summary_sentences": 4,
        "timings_ms": {"ocr": 3, "summarize": 4},
    }

    # WHEN parsed THEN each is the document it describes
    text_doc = envelope.parse_document(json.dumps(v1))
    assert (text_doc.stage, text_doc.keys, text_doc.pages) == ("ocr", {"text": v1["text_key"]}, 2)
    summary_doc = envelope.parse_document(json.dumps(summary))
    assert summary_doc.keys == {"text": v1["text_key"], "summary": summary["summary_key"]}
    assert (summary_doc.stage, summary_doc.summary_sentences) == ("summarize", 4)
    assert summary_doc.source == source


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"version": 3}, "unsupported envelope version 3"),
        ({"kind": "text.ready", "version": 2}, "is not 'document'"),
        ({"doc_id": "f" * 32}, "doc_id does not match"),
        ({"keys": {"text": "incoming/x.txt"}}, "not under 'text/'"),
        ({"keys": {"translation": "text/x"}}, "unknown artifact 'translation'"),
        ({"pages": -1}, "pages must not be negative"),
        ({"ocr_confidence": 1.5}, "within"),
        ({"stage": None}, "'stage' missing"),
        ({"media_type": 3}, "'media_type' must be str"),
    ],
)
def test_invalid_documents_name_the_problem(change: dict[str, Any], problem: str) -> None:
    body = {**document().to_dict(), **change}
    with pytest.raises(InvalidEnvelopeError, match=problem):
        envelope.parse_document(json.dumps(body))


def test_a_missing_artifact_is_named() -> None:
    with pytest.raises(InvalidEnvelopeError, match="has no 'summary' key"):
        document().key("summary")


def test_bool_is_not_accepted_as_a_number() -> None:
    body = json.dumps({**document().to_dict(), "pages": True})
    with pytest.raises(InvalidEnvelopeError, match="'pages' missing or not int"):
        envelope.parse_document(body)


def test_manual_event_must_name_an_upload() -> None:
    assert envelope.manual_event("incoming/x.pdf") == {"file": "incoming/x.pdf"}
    with pytest.raises(ValueError, match="must start with 'incoming/'"):
        envelope.manual_event("text/x.txt")


def test_doc_id_in_reads_every_message_that_names_a_document() -> None:
    event = load_event("s3_object_created_spaces.json")
    key = "incoming/scanned invoice (42).png"
    assert envelope.doc_id_in(json.dumps(event)) == envelope.doc_id_for("BUCKET", key, "ETAG")
    assert envelope.doc_id_in(document().to_json()) == document().doc_id
    ref = envelope.ObjectRef("b", "incoming/x.pdf", "e1")
    assert envelope.doc_id_in(json.dumps(envelope.ocr_request(ref))) == envelope.doc_id_for(
        "b", "incoming/x.pdf", "e1"
    )
    assert envelope.doc_id_in("not json") is None
    assert envelope.doc_id_in(json.dumps({"file": "incoming/x.pdf"})) is None
