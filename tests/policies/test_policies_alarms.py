"""Failures of queue-fed functions reach an alarm: failed records and dead letters."""

from __future__ import annotations

from typing import Any

from policy_helpers import messages, resource

from policies import resource_types as t

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:jobs"
FAILED = "lambda-sqs-failed-records-alarm"
DLQ = "sqs-dlq-depth-alarm"


def fed_function(response_types: list[str] | None = None) -> list[Any]:
    function = resource(t.FUNCTION, "jobs-function", {"name": "jobs-function"})
    mapping = resource(
        t.MAPPING,
        "jobs-trigger",
        {
            "eventSourceArn": QUEUE_ARN,
            "functionName": "arn:aws:lambda:us-east-1:123456789012:function:jobs-function",
            "functionResponseTypes": response_types or ["ReportBatchItemFailures"],
        },
        deps={"functionName": [function]},
    )
    return [function, mapping]


def alarm_on(target: Any, metric: str, prop: str = "dimensions") -> Any:
    props: dict[str, Any] = {"metricName": metric, "dimensions": {"service": "jobs"}}
    return resource(t.METRIC_ALARM, f"{target.name}-{metric}", props, deps={prop: [target]})


def test_a_failed_records_alarm_built_from_the_function_passes() -> None:
    function, mapping = fed_function()
    assert messages([function, mapping, alarm_on(function, "RecordsFailed")], FAILED) == []


def test_a_function_without_one_fails() -> None:
    function, mapping = fed_function()
    errors = alarm_on(function, "Errors")  # never counts records reported as failures
    assert messages([function, mapping, errors], FAILED) == [
        "function jobs-function reports failed SQS records as batch item failures but no "
        "alarm watches its RecordsFailed metric: Lambda's Errors never counts those records"
    ]


def test_an_alarm_on_the_metric_of_another_function_does_not_count() -> None:
    function, mapping = fed_function()
    other = resource(t.FUNCTION, "other-function", {"name": "other-function"})
    assert len(messages([function, mapping, other, alarm_on(other, "RecordsFailed")], FAILED)) == 1


def test_a_metric_math_alarm_reading_the_metric_passes() -> None:
    function, mapping = fed_function()
    props = {"metricQueries": [{"id": "f", "metric": {"metricName": "RecordsFailed"}}]}
    math = resource(t.METRIC_ALARM, "rate", props, deps={"metricQueries": [function]})
    assert messages([function, mapping, math], FAILED) == []


def test_the_metric_name_is_configurable() -> None:
    function, mapping = fed_function()
    resources = [function, mapping, alarm_on(function, "FailedMessages")]
    config = {FAILED: {"metricName": "FailedMessages"}}
    assert messages(resources, FAILED, config) == []
    assert len(messages(resources, FAILED)) == 1


def test_functions_that_do_not_report_item_failures_are_out_of_scope() -> None:
    # sqs-mapping-reports-batch-item-failures refuses those mappings; without item failures
    # a failed batch raises and Lambda's Errors sees it
    function, mapping = fed_function(["SomethingElse"])
    assert messages([function, mapping], FAILED) == []


def dlq_pair() -> list[Any]:
    dlq = resource(t.QUEUE, "jobs-dlq", {"name": "jobs-dlq"})
    queue = resource(t.QUEUE, "jobs-queue", {"redrivePolicy": "{}"}, deps={"redrivePolicy": [dlq]})
    return [dlq, queue]


def test_a_dlq_with_a_depth_alarm_passes() -> None:
    dlq, queue = dlq_pair()
    depth = alarm_on(dlq, "ApproximateNumberOfMessagesVisible")
    assert messages([dlq, queue, depth], DLQ) == []


def test_a_dlq_without_one_fails_and_work_queues_need_none() -> None:
    dlq, queue = dlq_pair()
    age = alarm_on(dlq, "ApproximateAgeOfOldestMessage")
    assert messages([dlq, queue, age], DLQ) == [
        "dead-letter queue jobs-dlq has no alarm on ApproximateNumberOfMessagesVisible: "
        "failed messages wait there unnoticed until they expire"
    ]
