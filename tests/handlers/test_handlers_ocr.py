"""The OCR Lambda handler against moto: events, batches, bad input, the manual event."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache

import pytest
import render
from handler_fixtures import (  # noqa: F401  (fixtures, registered by name)
    Aws,
    aws_fixture,
    env_fixture,
    load_event,
    nltk_data_fixture,
    sqs_event,
    stage_env_fixture,
)

from contract import messages as envelope
from contract.errors import (
    CorruptImageError,
    DocumentError,
    DocumentTooLargeError,
    EmptyDocumentError,
    EncryptedPdfError,
    InvalidEnvelopeError,
    ObjectNotFoundError,
    UnsupportedTypeError,
)
from handlers import ocr, runtime

TEXT = "Invoice 4711. The total amount due is 1250 EUR including VAT."


@cache
def small_png(text: str = TEXT) -> bytes:
    """A strip of a 300 DPI page: real OCR, a fraction of a full page's time."""
    return render.to_bytes(render.render_page(text).crop((0, 0, 2550, 700)), "PNG")


def s3_event(aws: Aws, key_in_event: str, etag: str) -> str:
    event = load_event("s3_object_created_spaces.json")
    record = event["Records"][0]["s3"]
    record["bucket"]["name"] = aws.bucket
    record["bucket"]["arn"] = f"arn:aws:s3:::{aws.bucket}"
    record["object"]["key"] = key_in_event
    record["object"]["eTag"] = etag
    return json.dumps(event)


@pytest.fixture
def ocr_env(stage_env: Callable[[str], Aws]) -> Aws:
    return stage_env("ocr")


def test_s3_event_with_url_encoded_key_writes_text_and_sends_envelope(ocr_env: Aws) -> None:
    # GIVEN an upload whose key has spaces and parentheses, announced URL-encoded by S3
    key = "incoming/scanned invoice (42).png"
    etag = ocr_env.put(key, small_png())
    event = sqs_event(s3_event(ocr_env, "incoming/scanned+invoice+%2842%29.png", etag))

    # WHEN the OCR handler receives the batch
    response = ocr.lambda_handler(event, None)

    # THEN nothing failed, the text sits at the deterministic key, and summarize is told
    assert response == {"batchItemFailures": []}
    doc_id = envelope.doc_id_for(ocr_env.bucket, key, etag)
    assert "total amount due" in ocr_env.get_text(f"text/{doc_id}.txt").lower()
    (message,) = ocr_env.messages("summarize")
    parsed = envelope.parse_document(json.dumps(message))
    assert parsed.doc_id == doc_id
    assert parsed.keys == {"text": f"text/{doc_id}.txt"}
    assert (parsed.stage, parsed.media_type, parsed.method) == ("ocr", "image/png", "ocr")
    assert parsed.source.key == key
    assert parsed.pages == 1
    assert 0.5 < parsed.ocr_confidence <= 1.0
    assert set(parsed.timings_ms) == {"ocr"}
    # the ledger has the document, and the upload moved out of incoming/, kept in processed/
    (item,) = ocr_env.items()
    assert item["status"] == {"S": "ocr-done"}
    assert item["source_key"] == {"S": key}
    assert item["archived_key"] == {"S": "processed/scanned invoice (42).png"}
    assert {"received_at", "ocr_at", "updated_at"} <= set(item)
    assert ocr_env.keys("incoming/") == []
    assert ocr_env.keys("processed/") == ["processed/scanned invoice (42).png"]
    ocr_env.check_calls("ocr")


def test_notifications_as_s3_sends_them(ocr_env: Aws) -> None:
    # GIVEN the bucket notifying the ocr queue, as the stack configures it (moto sends the
    # s3:TestEvent on configuration and URL-encodes keys, like S3)
    sqs = ocr_env.client("sqs")
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=ocr_env.queues["ocr"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    ocr_env.client("s3").put_bucket_notification_configuration(
        Bucket=ocr_env.bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "incoming/"}]}},
                }
            ]
        },
    )
    etag = ocr_env.put("incoming/my scan (1).png", small_png())
    bodies = [json.dumps(body) for body in ocr_env.messages("ocr")]

    # WHEN the queue's messages reach the handler as one batch
    response = ocr.lambda_handler(sqs_event(*bodies), None)

    # THEN the test event was ignored and the upload processed under its decoded key
    assert len(bodies) == 2
    assert '"s3:TestEvent"' in bodies[0]
    assert "my+scan+%281%29.png" in bodies[1]  # URL-encoded (moto also encodes the slash)
    assert response == {"batchItemFailures": []}
    (message,) = ocr_env.messages("summarize")
    assert message["source"]["key"] == "incoming/my scan (1).png"
    assert message["doc_id"] == envelope.doc_id_for(
        ocr_env.bucket, "incoming/my scan (1).png", etag
    )


def test_s3_test_event_is_ignored(ocr_env: Aws) -> None:
    # GIVEN the test event S3 sends when the notification is configured
    body = json.dumps(load_event("s3_test_event.json"))

    # WHEN it arrives in a batch
    response = ocr.lambda_handler(sqs_event(body), None)

    # THEN it succeeds and nothing is read, written or sent
    assert response == {"batchItemFailures": []}
    assert ocr_env.messages("summarize") == []
    assert ocr_env.calls == []


def test_console_test_event_is_processed_directly(ocr_env: Aws) -> None:
    # GIVEN an object and the console test event naming it
    event = load_event("ocr_console_test.json")
    etag = ocr_env.put(event["file"], small_png())

    # WHEN the function is invoked directly with it
    response = ocr.lambda_handler(event, None)

    # THEN the document is processed like an uploaded one
    (done,) = response["processed"]
    assert done["doc_id"] == envelope.doc_id_for(ocr_env.bucket, event["file"], etag)
    assert len(ocr_env.messages("summarize")) == 1
    ocr_env.check_calls("ocr")


def test_manual_event_through_the_queue(ocr_env: Aws) -> None:
    # GIVEN an operator's manual message on the ocr queue
    etag = ocr_env.put("incoming/manual.png", small_png())

    # WHEN it is processed
    response = ocr.lambda_handler(sqs_event(json.dumps({"file": "incoming/manual.png"})), None)

    # THEN the doc_id comes from the object's own ETag
    assert response == {"batchItemFailures": []}
    (message,) = ocr_env.messages("summarize")
    assert message["doc_id"] == envelope.doc_id_for(ocr_env.bucket, "incoming/manual.png", etag)


def test_a_bad_document_is_rejected_at_once_and_a_bad_message_retried(ocr_env: Aws) -> None:
    # GIVEN three good uploads, one truncated PNG and one message that is not an envelope
    bodies = []
    for n in range(3):
        key = f"incoming/good {n}.png"
        etag = ocr_env.put(key, small_png())
        bodies.append(s3_event(ocr_env, key.replace(" ", "+"), etag))
    etag = ocr_env.put("incoming/truncated.png", small_png()[:4000])
    bodies.insert(1, s3_event(ocr_env, "incoming/truncated.png", etag))
    bodies.insert(3, json.dumps({"hello": "world"}))
    event = sqs_event(*bodies)

    # WHEN the batch is processed
    response = ocr.lambda_handler(event, None)

    # THEN only the message that names no document is retried; the truncated PNG is settled
    # as rejected with its reason and kept under rejected/; the three good ones went on
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][3]["messageId"]}]}
    assert len(ocr_env.messages("summarize")) == 3
    doc_id = envelope.doc_id_for(ocr_env.bucket, "incoming/truncated.png", etag)
    (rejected,) = [i for i in ocr_env.items() if i["status"]["S"] == "rejected"]
    assert rejected["doc_id"] == {"S": doc_id}
    assert (rejected["error_stage"], rejected["error_type"]) == (
        {"S": "ocr"},
        {"S": "CorruptImageError"},
    )
    assert "cannot decode PNG image" in rejected["error_message"]["S"]
    assert rejected["archived_key"] == {"S": "rejected/truncated.png"}
    assert ocr_env.keys("incoming/") == []
    assert ocr_env.keys("rejected/") == ["rejected/truncated.png"]
    assert len(ocr_env.keys("processed/")) == 3
    ocr_env.check_calls("ocr")


def test_sweep_request_is_accepted(ocr_env: Aws) -> None:
    # GIVEN the message the sweep sends for a stalled upload
    etag = ocr_env.put("incoming/stalled.png", small_png())
    ref = envelope.ObjectRef(ocr_env.bucket, "incoming/stalled.png", etag, origin="sweep")

    # WHEN the OCR handler receives it
    response = ocr.lambda_handler(sqs_event(envelope.to_json(envelope.ocr_request(ref))), None)

    # THEN it is processed
    assert response == {"batchItemFailures": []}
    assert len(ocr_env.messages("summarize")) == 1


def test_a_replayed_s3_event_is_recognised_from_the_ledger(ocr_env: Aws) -> None:
    # GIVEN an S3 event delivered twice (SQS and S3 are at-least-once)
    etag = ocr_env.put("incoming/twice.png", small_png())
    body = s3_event(ocr_env, "incoming/twice.png", etag)

    # WHEN both deliveries are processed
    ocr.lambda_handler(sqs_event(body), None)
    ocr.lambda_handler(sqs_event(body), None)

    # THEN the second is a replay: one text object, one message on, one ledger item
    listing = ocr_env.client("s3").list_objects_v2(Bucket=ocr_env.bucket, Prefix="text/")
    assert listing["KeyCount"] == 1
    (message,) = ocr_env.messages("summarize")
    (item,) = ocr_env.items()
    assert (item["status"], item["doc_id"]) == ({"S": "ocr-done"}, {"S": message["doc_id"]})
    assert ocr_env.keys("processed/") == ["processed/twice.png"]


def test_key_outside_incoming_is_rejected(ocr_env: Aws) -> None:
    with pytest.raises(InvalidEnvelopeError, match="not under 'incoming/'"):
        ocr.process_object(envelope.ObjectRef(ocr_env.bucket, "text/abc.txt"))


BAD_INPUTS = [
    ("truncated.png", lambda: small_png()[:3000], CorruptImageError, "truncated"),
    ("empty.png", lambda: b"", EmptyDocumentError, "zero-byte"),
    ("locked.pdf", lambda: render.encrypted_pdf("secret terms"), EncryptedPdfError, "password"),
    ("nopages.pdf", render.pdf_without_pages, EmptyDocumentError, "no pages"),
    (
        "notes.docx",
        lambda: b"PK\x03\x04 a word file",
        UnsupportedTypeError,
        "archive expansion is off",
    ),
]


@pytest.mark.parametrize(("name", "make", "error", "words"), BAD_INPUTS)
def test_bad_input_raises_a_typed_error_naming_the_object(
    ocr_env: Aws, name: str, make: Callable[[], bytes], error: type[DocumentError], words: str
) -> None:
    # GIVEN a bad upload
    key = f"incoming/{name}"
    ocr_env.put(key, make())

    # WHEN it is processed THEN a typed error names the object and the problem
    with pytest.raises(error, match=words) as raised:
        ocr.process_object(envelope.ObjectRef(ocr_env.bucket, key))
    assert f"s3://{ocr_env.bucket}/{key}" in str(raised.value)
    assert ocr_env.messages("summarize") == []


def test_missing_object_is_a_typed_error(ocr_env: Aws) -> None:
    # GIVEN a manual event naming an object that does not exist
    # WHEN it is processed THEN the error names the object instead of a raw ClientError
    with pytest.raises(ObjectNotFoundError, match=r"incoming/gone\.png: object not found"):
        ocr.process_object(envelope.ObjectRef(ocr_env.bucket, "incoming/gone.png"))


def test_access_denied_on_get_object_is_the_typed_not_found_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN S3 answering 403 AccessDenied, as it does for a missing key without s3:ListBucket
    from botocore.exceptions import ClientError

    class DeniedS3:
        def get_object(self, **_: object) -> None:
            raise ClientError({"Error": {"Code": "AccessDenied"}}, "GetObject")

    monkeypatch.setattr(runtime, "client", lambda service: DeniedS3())

    # WHEN the object is read THEN the typed error says it is missing or unreadable
    with pytest.raises(ObjectNotFoundError) as raised:
        runtime.get_object("b", "incoming/gone.png")
    assert str(raised.value) == (
        "s3://b/incoming/gone.png: object missing or not readable by this function (AccessDenied)"
    )


def test_oversize_object_is_refused_before_reading_it(
    ocr_env: Aws, env: pytest.MonkeyPatch
) -> None:
    # GIVEN a byte limit below the object's size
    env.setenv("OCR_MAX_BYTES", "1000")
    ocr_env.put("incoming/big.png", small_png())

    # WHEN it is processed THEN the size is refused with both numbers in the message
    with pytest.raises(DocumentTooLargeError, match=r"\d+ bytes exceeds the 1000 limit"):
        ocr.process_object(envelope.ObjectRef(ocr_env.bucket, "incoming/big.png"))


def test_too_many_pages_is_refused(ocr_env: Aws, env: pytest.MonkeyPatch) -> None:
    env.setenv("OCR_MAX_PAGES", "2")
    ocr_env.put("incoming/long.pdf", render.text_pdf(["one page"] * 3))
    with pytest.raises(DocumentTooLargeError, match="3 pages exceeds the 2 page limit"):
        ocr.process_object(envelope.ObjectRef(ocr_env.bucket, "incoming/long.pdf"))
