"""Workflow steps (handlers/steps.py) against moto: each stage's own record handler, its
input from the workflow and its output back to it, never through a queue."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import render
from handler_fixtures import (  # noqa: F401  (fixtures, registered by name)
    Aws,
    aws_fixture,
    env_fixture,
    load_event,
    nltk_data_fixture,
    stage_env_fixture,
)

from contract import messages as envelope
from contract import settings
from contract.errors import InvalidEnvelopeError
from handlers import classify, ledger, ocr, summarize

INVOICE = (
    "Invoice 4711. The total amount due is 1250 EUR including VAT. Payment is due within "
    "thirty days. Thank you for your business."
)


@pytest.fixture
def step_env(stage_env: Callable[[str], Aws], env: pytest.MonkeyPatch) -> Callable[[str], Aws]:
    """A stage's environment under the workflow: no next queue to send to."""

    def configure(stage: str) -> Aws:
        aws = stage_env(stage)
        env.delenv(settings.NEXT_QUEUE_URL.name, raising=False)
        return aws

    return configure


def upload(aws: Aws, name: str, data: bytes) -> dict[str, Any]:
    """Put an upload; return the S3 notification the intake queue would carry for it."""
    key = f"incoming/{name}"
    etag = aws.put(key, data)
    event = load_event("s3_object_created_spaces.json")
    s3 = event["Records"][0]["s3"]
    s3["bucket"]["name"], s3["bucket"]["arn"] = aws.bucket, f"arn:aws:s3:::{aws.bucket}"
    s3["object"]["key"], s3["object"]["eTag"] = key, etag
    s3["object"].pop("versionId", None)
    return dict(event)


def test_the_chain_runs_step_by_step_with_documents_between_steps(
    step_env: Callable[[str], Aws],
) -> None:
    # GIVEN an uploaded invoice with a text layer and the message S3 sent about it
    aws = step_env("ocr")
    event = upload(aws, "invoice.pdf", render.text_pdf([INVOICE]))

    # WHEN the workflow calls each stage in turn with the previous step's output
    after_ocr = ocr.step_handler(event, None)
    step_env("summarize")
    after_summarize = summarize.step_handler(after_ocr, None)
    step_env("classify")
    after_classify = classify.step_handler(after_summarize, None)

    # THEN S3 keys travel between the steps, never the text, and no queue was used
    document = envelope.parse_document(json.dumps(after_ocr))
    assert after_ocr["kind"] == "document"
    assert document.keys == {"text": f"text/{document.doc_id}.txt"}
    assert INVOICE[:20] not in json.dumps(after_ocr) + json.dumps(after_summarize)
    summarized = envelope.parse_document(json.dumps(after_summarize))
    assert summarized.keys["summary"] == f"summaries/{document.doc_id}.txt"
    assert set(summarized.timings_ms) == {"ocr", "summarize"}
    assert after_classify == {
        "version": 1,
        "kind": "settled",
        "status": "done",
        "stage": "classify",
        "doc_id": document.doc_id,
    }
    assert all(aws.messages(stage) == [] for stage in aws.queues)
    (item,) = aws.items()
    assert (item["status"]["S"], item["category"]["S"]) == ("done", "invoice")
    assert aws.keys("incoming/") == [] and aws.keys("processed/") == ["processed/invoice.pdf"]


def test_a_poison_document_ends_the_execution_as_rejected_with_its_reason(
    step_env: Callable[[str], Aws],
) -> None:
    # GIVEN an upload that is not a document at all
    aws = step_env("ocr")
    event = upload(aws, "broken.png", b"\x89PNG\r\n\x1a\n truncated")

    # WHEN the OCR step handles it
    output = ocr.step_handler(event, None)

    # THEN the step succeeds with the rejection (no retry), recorded in the ledger and the
    # upload kept under rejected/
    (item,) = aws.items()
    assert output == {
        "version": 1,
        "kind": "settled",
        "status": "rejected",
        "stage": "ocr",
        "doc_id": item["doc_id"]["S"],
        "reason": f"{item['error_type']['S']}: {item['error_message']['S']}",
    }
    assert item["status"]["S"] == "rejected" and item["error_stage"]["S"] == "ocr"
    assert aws.keys("rejected/") == ["rejected/broken.png"]


def test_s3s_test_event_names_no_document_and_is_ignored(step_env: Callable[[str], Aws]) -> None:
    step_env("ocr")
    output = ocr.step_handler(load_event("s3_test_event.json"), None)
    assert output == {"version": 1, "kind": "settled", "status": "ignored", "stage": "ocr"}


def test_a_duplicate_execution_stops_at_the_first_step_once_the_document_is_settled(
    step_env: Callable[[str], Aws],
) -> None:
    # GIVEN a document taken through the whole chain
    aws = step_env("ocr")
    event = upload(aws, "invoice.pdf", render.text_pdf([INVOICE]))
    first = ocr.step_handler(event, None)
    step_env("summarize")
    second = summarize.step_handler(first, None)
    step_env("classify")
    classify.step_handler(second, None)

    # WHEN a second execution starts for the same upload (S3 and SQS deliver at least once)
    step_env("ocr")
    output = ocr.step_handler(event, None)

    # THEN it ends at once with the document's settled status: no second result
    assert output == {
        "version": 1,
        "kind": "settled",
        "status": "done",
        "stage": "ocr",
        "doc_id": first["doc_id"],
    }
    assert len(aws.items()) == 1


def test_a_retried_step_carries_on_although_the_ledger_already_has_it(
    step_env: Callable[[str], Aws],
) -> None:
    # GIVEN an OCR step and a summarize step that both wrote the ledger, but whose outputs
    # were lost (the function failed after its write): the workflow retries them
    aws = step_env("ocr")
    event = upload(aws, "invoice.pdf", render.text_pdf([INVOICE]))
    first = ocr.step_handler(event, None)
    step_env("summarize")
    summarized = summarize.step_handler(first, None)
    assert ledger.status_of(first["doc_id"]) == "summarize-done"

    # WHEN the retries run
    step_env("ocr")
    ocr_again = ocr.step_handler(event, None)
    step_env("summarize")
    summarized_again = summarize.step_handler(first, None)

    # THEN each passes the same document on (the upload is gone from incoming/: OCR rebuilds
    # it from what the ledger recorded), so the execution is not stuck half way
    assert {k: v for k, v in ocr_again.items() if k != "timings_ms"} == {
        k: v for k, v in first.items() if k != "timings_ms"
    }
    assert summarized_again["keys"] == summarized["keys"]
    assert summarized_again["kind"] == "document"


def test_an_invalid_message_fails_the_step_so_the_workflow_retries_it(
    step_env: Callable[[str], Aws],
) -> None:
    step_env("summarize")
    with pytest.raises(InvalidEnvelopeError, match="unsupported envelope version"):
        summarize.step_handler({"version": 9, "kind": "document"}, None)


def test_a_step_takes_one_document_only(step_env: Callable[[str], Aws]) -> None:
    # GIVEN a notification that announces two uploads (S3 sends one per message)
    aws = step_env("ocr")
    first = upload(aws, "a.pdf", render.text_pdf([INVOICE]))
    second = upload(aws, "b.pdf", render.text_pdf([INVOICE + " Second copy."]))
    event = {"Records": first["Records"] + second["Records"]}

    # WHEN a step gets it THEN it fails rather than drop one of them
    with pytest.raises(InvalidEnvelopeError, match="names 2 documents"):
        ocr.step_handler(event, None)
