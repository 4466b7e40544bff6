"""Envelope parsing and the document id, without AWS."""

from __future__ import annotations

import json

import pytest
from handler_fixtures import load_event

from handlers import envelope
from handlers.errors import InvalidEnvelopeError


def test_doc_id_follows_the_runtime_contract() -> None:
    import hashlib

    expected = hashlib.sha256(b"s3://b/incoming/a b.pdf\nabc123").hexdigest()[:32]
    assert envelope.doc_id_for("b", "incoming/a b.pdf", '"abc123"') == expected
    assert envelope.doc_id_for("b", "incoming/a b.pdf", "abc123") == expected


def test_s3_event_keys_are_url_decoded() -> None:
    event = load_event("s3_object_created_spaces.json")
    (ref,) = envelope.parse_ocr_event(event, "default-bucket")
    assert (ref.bucket, ref.key, ref.etag, ref.origin) == (
        "BUCKET",
        "incoming/scanned invoice (42).png",
        "ETAG",
        "s3",
    )


def test_non_creation_records_carry_no_document() -> None:
    event = load_event("s3_object_created_spaces.json")
    event["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert envelope.parse_ocr_event(event, "b") == []


def test_folder_markers_carry_no_document() -> None:
    # GIVEN an event for the console's zero-byte "folder" and one for a document in it
    event = load_event("s3_object_created_spaces.json")
    folder = json.loads(json.dumps(event["Records"][0]))
    folder["s3"]["object"]["key"] = "incoming/scans+2026/"
    event["Records"].insert(0, folder)

    # WHEN it is parsed THEN only the document remains
    refs = envelope.parse_ocr_event(event, "b")
    assert [ref.key for ref in refs] == ["incoming/scanned invoice (42).png"]


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
        envelope.parse_ocr_message(json.dumps(body), "")


def test_ocr_request_round_trip_and_deterministic_json() -> None:
    ref = envelope.ObjectRef("b", "incoming/x.pdf", "e1", "v1", origin="sweep")
    body = envelope.to_json(envelope.ocr_request(ref))
    assert body == envelope.to_json(envelope.ocr_request(ref))
    assert envelope.parse_ocr_message(body, "") == [ref]


def test_text_ready_round_trip() -> None:
    source = envelope.Source("b", "incoming/x.pdf", "e1", None)
    ready = envelope.TextReady(
        source.doc_id, source, f"text/{source.doc_id}.txt", 3, 0.9, {"ocr": 5}
    )
    assert envelope.parse_text_ready(envelope.to_json(ready)) == ready


def test_bool_is_not_accepted_as_a_number() -> None:
    source = envelope.Source("b", "incoming/x.pdf", "e1", None)
    ready = envelope.TextReady(source.doc_id, source, f"text/{source.doc_id}.txt", 3, 0.9)
    body = json.dumps({**ready.to_dict(), "pages": True})
    with pytest.raises(InvalidEnvelopeError, match="'pages' missing or not int"):
        envelope.parse_text_ready(body)
