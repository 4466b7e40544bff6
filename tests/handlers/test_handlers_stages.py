"""Summarize, classify and sweep handlers against moto."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from handler_fixtures import (  # noqa: F401  (fixtures, registered by name)
    Aws,
    aws_fixture,
    env_fixture,
    load_event,
    nltk_data_fixture,
    record,
    sqs_event,
    stage_env_fixture,
)

from contract import messages as envelope
from contract.errors import InvalidEncodingError, InvalidEnvelopeError
from handlers import classify, ledger, summarize, sweep

LETTER = (
    "Dear Ms. Jensen,\n\nThank you for your visit last week. It was a pleasure to meet you and "
    "your team. We look forward to working together next year.\n\nKind regards,\nOle Hansen"
)


def text_ready(aws: Aws, name: str, text: bytes) -> str:
    """Put an upload and its text as the OCR stage would; return its document message."""
    key = f"incoming/{name}"
    etag = aws.put(key, b"%PDF-1.4 stand-in")
    source = envelope.Source(aws.bucket, key, etag, None)
    aws.put(f"text/{source.doc_id}.txt", text)
    document = envelope.Document(
        doc_id=source.doc_id,
        source=source,
        stage="ocr",
        keys={"text": f"text/{source.doc_id}.txt"},
        pages=1,
        ocr_confidence=0.93,
        media_type="pdf",
        method="text-layer",
        timings_ms={"ocr": 1200},
    )
    return document.to_json()


@pytest.fixture
def summarize_env(stage_env: Callable[[str], Aws], env: pytest.MonkeyPatch) -> Aws:
    aws = stage_env("summarize")
    env.setenv("SUMMARY_MAX_SENTENCES", "2")
    env.setenv("SUMMARY_MAX_CHARS", "300")
    return aws


@pytest.fixture
def classify_env(stage_env: Callable[[str], Aws]) -> Aws:
    return stage_env("classify")


# --- summarize ---------------------------------------------------------------------------


def test_summarize_writes_summary_and_passes_the_document_on(summarize_env: Aws) -> None:
    # GIVEN the document message of a letter
    body = text_ready(summarize_env, "letter.pdf", LETTER.encode())

    # WHEN summarize handles it
    response = summarize.lambda_handler(sqs_event(body, queue="docpipe-summarize"), None)

    # THEN the bounded summary is stored and classify is told where it is
    assert response == {"batchItemFailures": []}
    (message,) = summarize_env.messages("classify")
    ready = envelope.parse_document(json.dumps(message))
    summary = summarize_env.get_text(ready.key("summary"))
    assert ready.keys == {
        "text": f"text/{ready.doc_id}.txt",
        "summary": f"summaries/{ready.doc_id}.txt",
    }
    assert 0 < len(summary) <= 300
    assert ready.summary_sentences is not None and ready.summary_sentences <= 2
    assert set(ready.timings_ms) == {"ocr", "summarize"}
    assert (ready.stage, ready.media_type, ready.method) == ("summarize", "pdf", "text-layer")
    summarize_env.check_calls("summarize")


def test_summarize_rejects_a_bad_document_and_retries_a_bad_message(summarize_env: Aws) -> None:
    # GIVEN three good messages, one whose text is not UTF-8, one of an unknown version
    good = [text_ready(summarize_env, f"doc{n}.pdf", LETTER.encode()) for n in range(3)]
    latin1 = text_ready(summarize_env, "latin1.pdf", "Grüße aus Köln".encode("latin-1"))
    future = json.dumps({**json.loads(good[0]), "version": 3})
    event = sqs_event(good[0], latin1, good[1], future, good[2], queue="docpipe-summarize")

    # WHEN the batch is handled
    response = summarize.lambda_handler(event, None)

    # THEN the message of an unknown version is retried (a newer deploy may read it); the
    # undecodable text settles its document as rejected at once, with the reason
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][3]["messageId"]}]}
    assert len(summarize_env.messages("classify")) == 3
    (rejected,) = [i for i in summarize_env.items() if i["status"]["S"] == "rejected"]
    assert rejected["doc_id"] == {"S": json.loads(latin1)["doc_id"]}
    assert rejected["error_type"] == {"S": "InvalidEncodingError"}
    assert "not valid UTF-8: byte 0xfc" in rejected["error_message"]["S"]


def test_non_utf8_text_raises_invalid_encoding_naming_the_object(summarize_env: Aws) -> None:
    body = text_ready(summarize_env, "latin1.pdf", "Grüße".encode("latin-1"))
    with pytest.raises(
        InvalidEncodingError, match=r"s3://.*/text/[0-9a-f]{32}\.txt: not valid UTF-8"
    ):
        summarize.handle_record(record(body))


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"version": 3}, "unsupported envelope version 3"),
        ({"kind": "summary.ready"}, "is not 'document'"),
        ({"doc_id": "0" * 32}, "doc_id does not match"),
        ({"keys": {"text": "incoming/x.txt"}}, "not under 'text/'"),
        ({"keys": {}}, "has no 'text' key"),
        ({"pages": "3"}, "'pages' missing or not int"),
        ({"ocr_confidence": 7}, "within \\[0, 1\\]"),
    ],
)
def test_invalid_envelopes_are_rejected_with_the_reason(
    summarize_env: Aws, change: dict[str, object], problem: str
) -> None:
    body = json.dumps({**json.loads(text_ready(summarize_env, "a.pdf", b"Hi.")), **change})
    with pytest.raises(InvalidEnvelopeError, match=problem):
        summarize.handle_record(record(body))


def test_non_json_message_is_an_invalid_envelope() -> None:
    with pytest.raises(InvalidEnvelopeError, match="not JSON"):
        envelope.parse_document("{not json")


# --- classify ----------------------------------------------------------------------------


def summary_ready(aws: Aws, name: str, text: str, summary: str) -> str:
    ready = envelope.parse_document(text_ready(aws, name, text.encode()))
    summary_key = f"summaries/{ready.doc_id}.txt"
    aws.put(summary_key, summary.encode())
    return ready.advanced(
        "summarize", 40, keys={"summary": summary_key}, summary_sentences=1
    ).to_json()


def test_classify_writes_the_result_item(classify_env: Aws) -> None:
    # GIVEN a summarized letter
    body = summary_ready(classify_env, "letter.pdf", LETTER, "Thank you for your visit last week.")

    # WHEN classify handles it
    response = classify.lambda_handler(sqs_event(body, queue="docpipe-classify"), None)

    # THEN one complete result item records the category and where everything is
    assert response == {"batchItemFailures": []}
    (item,) = classify_env.items()
    message = json.loads(body)
    assert item["doc_id"] == {"S": message["doc_id"]}
    assert item["category"] == {"S": "letter"}
    assert 0.3 <= float(item["confidence"]["N"]) <= 1.0
    assert item["runner_up"]["S"] in {"invoice", "contract", "report"}
    assert item["summary"] == {"S": "Thank you for your visit last week."}
    assert item["source_key"] == {"S": "incoming/letter.pdf"}
    assert item["source_bucket"] == {"S": classify_env.bucket}
    assert item["source_etag"] == {"S": message["source"]["etag"]}
    assert item["text_key"] == {"S": message["keys"]["text"]}
    assert item["summary_key"] == {"S": message["keys"]["summary"]}
    assert (item["media_type"], item["method"]) == ({"S": "pdf"}, {"S": "text-layer"})
    assert item["pages"] == {"N": "1"}
    assert set(item["timings_ms"]["M"]) == {"ocr", "summarize", "classify"}
    assert (item["status"], item["status_rank"], item["stage"]) == (
        {"S": "done"},
        {"N": "100"},
        {"S": "classify"},
    )
    assert datetime.fromisoformat(item["processed_at"]["S"]).tzinfo is not None
    assert item["classify_at"] == item["updated_at"]
    classify_env.check_calls("classify")


def test_replayed_message_leaves_one_unchanged_item(classify_env: Aws) -> None:
    # GIVEN a message already handled once
    body = summary_ready(classify_env, "letter.pdf", LETTER, "Thank you.")
    classify.lambda_handler(sqs_event(body, queue="docpipe-classify"), None)
    (first,) = classify_env.items()

    # WHEN the same message is delivered again
    response = classify.lambda_handler(sqs_event(body, queue="docpipe-classify"), None)

    # THEN it succeeds and the single item is exactly as it was (processed_at included)
    assert response == {"batchItemFailures": []}
    assert classify_env.items() == [first]


def test_conditional_write_refuses_to_regress_a_finished_item(classify_env: Aws) -> None:
    # GIVEN an item already done, and a replay that got past the ledger read
    body = summary_ready(classify_env, "letter.pdf", LETTER, "Thank you.")
    classify.handle_record(record(body))
    (first,) = classify_env.items()
    source = envelope.parse_document(body).source

    # WHEN a write of the same or an earlier state runs THEN it refuses and nothing changes
    assert ledger.advance(source, "classify", "done", category="invoice") is False
    assert ledger.advance(source, "summarize", "summarize-done") is False
    assert classify_env.items() == [first]


def test_an_earlier_state_is_moved_forward(classify_env: Aws) -> None:
    # GIVEN the ledger item the earlier stages left for the document
    body = summary_ready(classify_env, "letter.pdf", LETTER, "Thank you.")
    source = envelope.parse_document(body).source
    ledger.advance(source, "ocr", "received", received_at="2026-01-01T00:00:00+00:00")
    ledger.advance(source, "summarize", "summarize-done")

    # WHEN classify handles the document THEN the item becomes done, keeping what it had
    classify.handle_record(record(body))
    (item,) = classify_env.items()
    assert (item["status"], item["category"]) == ({"S": "done"}, {"S": "letter"})
    assert item["received_at"] == {"S": "2026-01-01T00:00:00+00:00"}
    assert {"summarize_at", "classify_at"} <= set(item)


def test_unrelated_text_is_recorded_as_unclassified(classify_env: Aws) -> None:
    body = summary_ready(classify_env, "cat.png", "The cat sat on the mat.", "The cat sat.")
    classify.handle_record(record(body))
    (item,) = classify_env.items()
    assert (item["category"], item["status"]) == ({"S": "unclassified"}, {"S": "done"})


def test_classify_needs_only_the_text_not_the_stage_before_it(classify_env: Aws) -> None:
    # GIVEN a document straight from the first stage: no summary was made
    body = text_ready(classify_env, "letter.pdf", LETTER.encode())

    # WHEN classify handles it THEN the result item has the category and an empty summary
    assert classify.lambda_handler(sqs_event(body, queue="docpipe-classify"), None) == {
        "batchItemFailures": []
    }
    (item,) = classify_env.items()
    assert (item["category"], item["summary"]) == ({"S": "letter"}, {"S": ""})
    assert "summary_key" not in item


def test_classify_rejects_a_bad_document_and_retries_a_bad_message(classify_env: Aws) -> None:
    good = [summary_ready(classify_env, f"l{n}.pdf", LETTER, "Thanks.") for n in range(3)]
    bad_text = summary_ready(classify_env, "bad.pdf", LETTER, "x")
    classify_env.put(json.loads(bad_text)["keys"]["text"], b"\xff\xfe not utf-8")
    wrong_kind = json.dumps({**json.loads(good[0]), "kind": "text.ready"})
    event = sqs_event(bad_text, good[0], good[1], good[2], wrong_kind, queue="docpipe-classify")

    response = classify.lambda_handler(event, None)

    # THEN the invalid envelope is retried, the undecodable text settles its document
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][4]["messageId"]}]}
    statuses = sorted(i["status"]["S"] for i in classify_env.items())
    assert statuses == ["done", "done", "done", "rejected"]
    (rejected,) = [i for i in classify_env.items() if i["status"]["S"] == "rejected"]
    assert (rejected["error_stage"], rejected["error_type"]) == (
        {"S": "classify"},
        {"S": "InvalidEncodingError"},
    )


# --- sweep -------------------------------------------------------------------------------


@pytest.fixture
def sweep_env(stage_env: Callable[[str], Aws], env: pytest.MonkeyPatch) -> Aws:
    aws = stage_env("sweep")
    env.setenv("SWEEP_MIN_AGE_MINUTES", "10")
    env.setenv("SWEEP_MAX_PER_RUN", "50")
    return aws


def record_result(aws: Aws, key: str, etag: str) -> None:
    doc_id = envelope.doc_id_for(aws.bucket, key, etag)
    aws.client("dynamodb").put_item(
        TableName=aws.table, Item={"doc_id": {"S": doc_id}, "status": {"S": "done"}}
    )


def test_sweep_re_enqueues_only_stale_objects_without_result(sweep_env: Aws) -> None:
    # GIVEN two uploads without a result, one with a result, and one outside incoming/
    etags = {
        k: sweep_env.put(k, b"%PDF-")
        for k in ("incoming/a.pdf", "incoming/b c.pdf", "incoming/done.pdf")
    }
    sweep_env.put("text/other.txt", b"text")
    record_result(sweep_env, "incoming/done.pdf", etags["incoming/done.pdf"])
    later = datetime.now(UTC) + timedelta(minutes=11)

    # WHEN the sweep runs 11 minutes later
    sent = sweep.sweep(later)

    # THEN exactly the two stalled uploads are re-enqueued as ocr.request envelopes
    assert sorted(sent) == ["incoming/a.pdf", "incoming/b c.pdf"]
    messages = sweep_env.messages("ocr")
    assert sorted(m["key"] for m in messages) == sorted(sent)
    assert all(m["kind"] == "ocr.request" and m["origin"] == "sweep" for m in messages)
    assert {m["etag"] for m in messages} == {etags["incoming/a.pdf"], etags["incoming/b c.pdf"]}
    sweep_env.check_calls("sweep")


def test_sweep_skips_folder_markers_but_not_objects_whose_key_ends_in_a_slash(
    sweep_env: Aws,
) -> None:
    # GIVEN a console "folder" (zero bytes) and a document stored under a key ending in "/"
    sweep_env.put("incoming/scans/", b"")
    sweep_env.put("incoming/odd name/", b"%PDF-")

    # WHEN the sweep runs 11 minutes later THEN only the document is re-enqueued
    assert sweep.sweep(datetime.now(UTC) + timedelta(minutes=11)) == ["incoming/odd name/"]


def test_sweep_ignores_young_objects(sweep_env: Aws) -> None:
    sweep_env.put("incoming/new.pdf", b"%PDF-")
    assert sweep.sweep(datetime.now(UTC)) == []
    assert sweep_env.messages("ocr") == []


def test_sweep_does_not_look_up_objects_past_the_retry_window(
    sweep_env: Aws, env: pytest.MonkeyPatch
) -> None:
    env.setenv("SWEEP_MAX_AGE_MINUTES", "60")
    sweep_env.put("incoming/poison.pdf", b"%PDF-")
    assert sweep.sweep(datetime.now(UTC) + timedelta(minutes=61)) == []
    assert [op for _, op, _ in sweep_env.calls] == ["GetMetricData", "ListObjectsV2"]


def test_sweep_re_sends_an_upload_once_and_records_it_received(sweep_env: Aws) -> None:
    # GIVEN an upload that never produced a result
    etag = sweep_env.put("incoming/poison.pdf", b"%PDF-")
    doc_id = envelope.doc_id_for(sweep_env.bucket, "incoming/poison.pdf", etag)
    first_tick = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)

    # WHEN the sweep runs on three ticks
    sent = [sweep.sweep(first_tick + timedelta(minutes=15 * n)) for n in range(3)]

    # THEN only the first re-sends it, after recording it received on the ledger
    assert sent == [["incoming/poison.pdf"], [], []]
    assert len(sweep_env.messages("ocr")) == 1
    assert sweep_env.items() == [
        {
            "doc_id": {"S": doc_id},
            "source_bucket": {"S": sweep_env.bucket},
            "source_key": {"S": "incoming/poison.pdf"},
            "source_etag": {"S": etag},
            "status": {"S": "received"},
            "status_rank": {"N": "0"},
            "stage": {"S": "sweep"},
            "origin": {"S": "sweep"},
            "updated_at": {"S": first_tick.isoformat()},
            "received_at": {"S": first_tick.isoformat()},
        }
    ]
    sweep_env.check_calls("sweep")


def test_sweep_skips_an_upload_whose_item_appeared_after_the_lookup(
    sweep_env: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a lookup that missed an item written since (another sweep, or classify)
    etag = sweep_env.put("incoming/raced.pdf", b"%PDF-")
    record_result(sweep_env, "incoming/raced.pdf", etag)
    monkeypatch.setattr(sweep, "_without_result", lambda table, candidates: candidates)

    # WHEN the sweep runs, THEN the conditional put fails and nothing is sent or overwritten
    assert sweep.sweep(datetime.now(UTC) + timedelta(hours=3)) == []
    assert sweep_env.messages("ocr") == []
    (item,) = sweep_env.items()
    assert item["status"] == {"S": "done"}


def test_sweep_is_bounded_per_run(sweep_env: Aws, env: pytest.MonkeyPatch) -> None:
    env.setenv("SWEEP_MAX_PER_RUN", "3")
    for n in range(7):
        sweep_env.put(f"incoming/{n}.pdf", b"%PDF-")
    assert len(sweep.sweep(datetime.now(UTC) + timedelta(hours=1))) == 3
    assert len(sweep_env.messages("ocr")) == 3


def test_sweep_over_more_than_one_batch_get_page(sweep_env: Aws) -> None:
    # BatchGetItem takes 100 keys at most: 120 uploads, 110 with results, need two requests
    etags = {
        f"incoming/{n:03d}.pdf": sweep_env.put(f"incoming/{n:03d}.pdf", b"%PDF-")
        for n in range(120)
    }
    for key in sorted(etags)[:110]:
        record_result(sweep_env, key, etags[key])
    sent = sweep.sweep(datetime.now(UTC) + timedelta(hours=1))
    assert sent == sorted(etags)[110:]


def test_sweep_handler_with_the_scheduler_message(sweep_env: Aws, env: pytest.MonkeyPatch) -> None:
    # GIVEN an old upload and the scheduler's tick
    env.setenv("SWEEP_MIN_AGE_MINUTES", "0")
    sweep_env.put("incoming/old.pdf", b"%PDF-")
    tick = json.dumps(load_event("scheduler_sweep.json"))

    # WHEN the sweep handler runs, twice (schedules are at-least-once too)
    assert sweep.lambda_handler(sqs_event(tick, queue="docpipe-sweep"), None) == {
        "batchItemFailures": []
    }
    assert sweep.lambda_handler(sqs_event(tick, queue="docpipe-sweep"), None) == {
        "batchItemFailures": []
    }

    # THEN only the first run sent a request, which the OCR stage accepts
    (request,) = sweep_env.messages("ocr")
    (ref,) = envelope.parse_upload_message(json.dumps(request), "unused-default")
    assert (ref.bucket, ref.key, ref.origin) == (sweep_env.bucket, "incoming/old.pdf", "sweep")


def test_sweep_rejects_a_misrouted_message(sweep_env: Aws) -> None:
    event = sqs_event(json.dumps({"version": 1, "kind": "text.ready"}), queue="docpipe-sweep")
    response = sweep.lambda_handler(event, None)
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}


def test_a_document_in_another_bucket_is_refused(summarize_env: Aws) -> None:
    # GIVEN a well-formed message about an object in a bucket that is not the pipeline's
    source = envelope.Source("someone-elses-bucket", "incoming/x.pdf", "e1")
    keys = {"text": f"text/{source.doc_id}.txt"}
    body = envelope.Document(source.doc_id, source, "ocr", keys, 1, 0.9).to_json()

    # WHEN summarize receives it THEN it is refused without reading anything
    with pytest.raises(InvalidEnvelopeError, match="names bucket 'someone-elses-bucket'"):
        summarize.handle_record(record(body))
    assert summarize_env.calls == []


def put_queue_age(aws: Aws, queue: str, seconds: float, at: datetime) -> None:
    """The metric SQS publishes each minute: its oldest message's age (in flight included)."""
    aws.client("cloudwatch").put_metric_data(
        Namespace="AWS/SQS",
        MetricData=[
            {
                "MetricName": "ApproximateAgeOfOldestMessage",
                "Dimensions": [{"Name": "QueueName", "Value": queue}],
                "Timestamp": at,
                "Value": seconds,
                "Unit": "Seconds",
            }
        ],
    )


def test_sweep_never_re_sends_an_upload_that_may_still_be_queued(sweep_env: Aws) -> None:
    # GIVEN a backlog: the first queue's oldest message is 3 hours old, and two uploads
    now = datetime.now(UTC)
    sweep_env.put("incoming/queued.pdf", b"%PDF-")
    sweep_env.put("incoming/old.pdf", b"%PDF-")
    queue_name = sweep_env.queues["ocr"].rsplit("/", 1)[-1]
    minute = timedelta(minutes=1)

    # WHEN the sweep runs (moto stamps both uploads now: look from 2 and 4 hours later, the
    # latest datapoint a minute old, as CloudWatch has it)
    two_hours, four_hours = now + timedelta(hours=2), now + timedelta(hours=4)
    put_queue_age(sweep_env, queue_name, 3 * 3600, two_hours - minute)
    sent_early = sweep.sweep(two_hours)
    put_queue_age(sweep_env, queue_name, 3 * 3600, four_hours - minute)
    sent_late = sweep.sweep(four_hours)

    # THEN at 2 hours both may still be queued: nothing is re-sent; at 4 hours, older than
    # the backlog plus the metric's delay, they cannot be in the queue: both are re-sent
    assert sent_early == []
    assert sorted(sent_late) == ["incoming/old.pdf", "incoming/queued.pdf"]


def test_sweep_cost_follows_pending_uploads_not_history(sweep_env: Aws) -> None:
    # GIVEN more uploads the pipeline took (moved to processed/) than one LIST page holds
    # (1,000 keys), and 3 still waiting
    s3 = sweep_env.client("s3")
    for n in range(1001):
        s3.put_object(Bucket=sweep_env.bucket, Key=f"processed/{n:04d}.pdf", Body=b"%PDF-")
    for n in range(3):
        sweep_env.put(f"incoming/waiting-{n}.pdf", b"%PDF-")

    # WHEN the sweep runs
    sent = sweep.sweep(datetime.now(UTC) + timedelta(hours=3))

    # THEN it listed one page and looked up three documents: the history costs nothing
    assert len(sent) == 3
    operations = [op for _, op, _ in sweep_env.calls]
    assert operations.count("ListObjectsV2") == 1
    (lookup,) = [p for _, op, p in sweep_env.calls if op == "BatchGetItem"]
    assert len(lookup["RequestItems"][sweep_env.table]["Keys"]) == 3
