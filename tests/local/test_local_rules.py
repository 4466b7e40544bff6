"""Lambda's SQS rules and the emulator patches, each checked on its own (fast)."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest

from local.deploy import _pascal, _queue_attributes
from local.metrics import Stats
from local.moto_patches import _single_table_name, dynamodb_table_arn, iam_action
from local.poller import QueuePoller, failed_message_ids, lambda_record
from local.pool import Invocation
from local.topology import FunctionSpec, MappingSpec, QueueSpec

IDS = ["m1", "m2", "m3"]


# -- partial batch responses (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html)


def test_an_error_fails_the_whole_batch() -> None:
    failed = Invocation(ok=False, error={"type": "ValueError", "message": "boom"})
    assert failed_message_ids(failed, IDS, report_failures=True) == IDS


def test_without_report_batch_item_failures_a_success_deletes_everything() -> None:
    result = {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    assert failed_message_ids(Invocation(ok=True, result=result), IDS, False) == []


def test_named_failures_stay_and_the_others_are_deleted() -> None:
    result = {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    assert failed_message_ids(Invocation(ok=True, result=result), IDS, True) == ["m2"]


@pytest.mark.parametrize("result", [None, {}, {"batchItemFailures": []}, "ok"])
def test_an_empty_or_missing_failure_list_deletes_everything(result: object) -> None:
    assert failed_message_ids(Invocation(ok=True, result=result), IDS, True) == []


@pytest.mark.parametrize(
    "failures",
    [[{"itemIdentifier": "not-in-batch"}], [{"itemIdentifier": ""}], [{}], "m1"],
)
def test_an_invalid_failure_list_fails_the_whole_batch(failures: object) -> None:
    result = {"batchItemFailures": failures}
    assert failed_message_ids(Invocation(ok=True, result=result), IDS, True) == IDS


def test_lambda_record_has_lambdas_shape() -> None:
    message = {
        "MessageId": "m1",
        "ReceiptHandle": "rh",
        "Body": "{}",
        "MD5OfBody": "99914b932bd37a50b983c5e7c90ae93b",
        "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000"},
        "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "x"}},
    }
    record = lambda_record(message, "arn:aws:sqs:us-east-1:123456789012:q")
    assert record == {
        "messageId": "m1",
        "receiptHandle": "rh",
        "body": "{}",
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000"},
        "messageAttributes": {
            "kind": {
                "stringValue": "x",
                "binaryValue": None,
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "String",
            }
        },
        "md5OfBody": "99914b932bd37a50b983c5e7c90ae93b",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
        "awsRegion": "us-east-1",
    }


# -- deploy helpers ---------------------------------------------------------------------------


def test_engine_inputs_become_api_shapes() -> None:
    rules = [
        {"id": "r", "status": "Enabled", "filter": {"prefix": ""}, "expiration": {"days": 7.0}}
    ]
    # An empty prefix drops out, leaving the empty Filter S3 reads as "the whole bucket".
    expected = [{"ID": "r", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 7}}]
    assert _pascal(rules) == expected
    attributes = _queue_attributes(
        {"visibilityTimeoutSeconds": 60.0, "sqsManagedSseEnabled": True, "fifoQueue": False}
    )
    assert attributes == {"VisibilityTimeout": "60", "SqsManagedSseEnabled": "true"}


# -- moto patches -----------------------------------------------------------------------------


def test_sqs_batch_calls_are_authorised_as_their_single_message_action() -> None:
    assert iam_action("sqs:DeleteMessageBatch") == "sqs:DeleteMessage"
    assert iam_action("sqs:SendMessageBatch") == "sqs:SendMessage"
    assert iam_action("sqs:ChangeMessageVisibilityBatch") == "sqs:ChangeMessageVisibility"
    assert iam_action("sqs:ReceiveMessage") == "sqs:ReceiveMessage"
    assert iam_action("dynamodb:BatchWriteItem") == "dynamodb:BatchWriteItem"


def test_dynamodb_requests_name_their_table() -> None:
    handler = SimpleNamespace(region="us-east-1", current_account="123456789012", raw_body=b"")
    handler.raw_body = json.dumps({"TableName": "results"}).encode()
    assert dynamodb_table_arn(handler) == "arn:aws:dynamodb:us-east-1:123456789012:table/results"
    handler.raw_body = b'{"RequestItems": {"a": {}, "b": {}}}'
    assert dynamodb_table_arn(handler) == "*"  # two tables: moto checks one resource only
    assert _single_table_name({"RequestItems": {"a": {}}}) == "a"
    handler.raw_body = b"not json"
    assert dynamodb_table_arn(handler) == "*"


# -- batching: batch size and window ------------------------------------------------------------


class FakeQueue:
    """Answers ReceiveMessage from a list, `per_call` messages at a time."""

    def __init__(self, count: int, per_call: int) -> None:
        self.waiting = [
            {"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": "{}", "MD5OfBody": ""}
            for i in range(count)
        ]
        self.per_call = per_call
        self.calls: list[int] = []

    def receive_message(self, **request: object) -> dict[str, object]:
        requested = int(str(request["MaxNumberOfMessages"]))
        self.calls.append(requested)
        limit = min(requested, self.per_call)
        batch, self.waiting = self.waiting[:limit], self.waiting[limit:]
        return {"Messages": batch} if batch else {}


def poller_for(queue: FakeQueue, batch_size: int, window_s: float) -> QueuePoller:
    spec = FunctionSpec("f", "arn:f", "h.h", 3, 128, "arn:role", {})
    mapping = MappingSpec(
        uuid="u",
        queue=QueueSpec("q", "arn:q", "http://q", 30, None, None),
        function=spec,
        batch_size=batch_size,
        batching_window_s=window_s,
        maximum_concurrency=2,
        report_batch_item_failures=True,
        enabled=True,
    )
    pool = SimpleNamespace(spec=spec)
    return QueuePoller(mapping, pool, queue, 2, Stats())  # type: ignore[arg-type]


def test_without_a_window_one_receive_makes_the_batch() -> None:
    queue = FakeQueue(count=25, per_call=4)
    batch = poller_for(queue, batch_size=10, window_s=0)._collect_batch()
    assert len(batch) == 4 and queue.calls == [10]


def test_a_window_gathers_up_to_the_batch_size() -> None:
    queue = FakeQueue(count=25, per_call=4)
    batch = poller_for(queue, batch_size=10, window_s=5)._collect_batch()
    assert len(batch) == 10 and queue.calls == [10, 6, 2]  # SQS hands out 10 at most per call


def test_a_window_ends_with_a_partial_batch() -> None:
    queue = FakeQueue(count=3, per_call=2)
    started = time.monotonic()
    batch = poller_for(queue, batch_size=100, window_s=0.4)._collect_batch()
    assert len(batch) == 3
    assert 0.35 < time.monotonic() - started < 2
