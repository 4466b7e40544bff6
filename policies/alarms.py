"""CloudWatch alarms: the failures of queue-fed functions reach an alarm.

Both rules join an alarm to what it watches through property dependencies (its dimensions or
metric queries are built from the resource), never by matching names.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, Severity, StackValidationArgs

from contract import metrics
from policies import resource_types as t
from policies._common import (
    MANDATORY,
    ConfigSchema,
    as_list,
    depends_through,
    framework,
    is_mapping,
    of_type,
    setting,
    sources_of,
    stack_policy,
)

DLQ_DEPTH_METRIC = "ApproximateNumberOfMessagesVisible"


def _watches(alarm: PolicyResource, target: PolicyResource, metric: str) -> bool:
    """Does `alarm` read `metric` with dimensions (or a metric query) built from `target`?"""
    if alarm.props.get("metricName") == metric:
        return depends_through(alarm, "dimensions", target)
    queries = [q for q in as_list(alarm.props.get("metricQueries")) if is_mapping(q)]
    names = [q["metric"].get("metricName") for q in queries if is_mapping(q.get("metric"))]
    return metric in names and depends_through(alarm, "metricQueries", target)


def _alarmed(target: PolicyResource, resources: list[PolicyResource], metric: str) -> bool:
    return any(_watches(alarm, target, metric) for alarm in of_type(resources, t.METRIC_ALARM))


# -- failed records of SQS-fed functions -----------------------------------------------------

FAILED_RECORDS_CONFIG: ConfigSchema = {
    "metricName": {"type": "string", "default": metrics.RECORDS_FAILED},
}


def _reports_item_failures(mapping: PolicyResource) -> bool:
    return ":sqs:" in str(mapping.props.get("eventSourceArn") or "") and (
        "ReportBatchItemFailures" in as_list(mapping.props.get("functionResponseTypes"))
    )


def check_failed_records_alarm(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    metric = setting(args, FAILED_RECORDS_CONFIG, "metricName")
    for mapping in filter(_reports_item_failures, of_type(resources, t.MAPPING)):
        for function in sources_of(mapping, "functionName", t.FUNCTION):
            if not _alarmed(function, resources, metric):
                report(
                    f"function {function.name} reports failed SQS records as batch item "
                    f"failures but no alarm watches its {metric} metric: Lambda's Errors never "
                    "counts those records",
                    function.urn,
                )


failed_records_alarm = stack_policy(
    "lambda-sqs-failed-records-alarm",
    "Functions that report SQS batch item failures have an alarm on their failed-record metric.",
    check_failed_records_alarm,
    level=MANDATORY,
    severity=Severity.HIGH,
    # A record reported in batchItemFailures is retried, but the invocation succeeds:
    # https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
    matches=framework(
        "aws-docs", "lambda-sqs-error-handling", "failed records are not Lambda errors"
    ),
    remediation=(
        "Emit a failed-record metric from the function (Powertools: `RecordsFailed` in "
        "POWERTOOLS_METRICS_NAMESPACE with the `service` dimension) and alarm on it with "
        "dimensions built from the function, as QueueFunction does."
    ),
    config=FAILED_RECORDS_CONFIG,
)


# -- dead letters ----------------------------------------------------------------------------


def _dead_letter_queues(resources: list[PolicyResource]) -> list[PolicyResource]:
    """The queues some queue redrives to (joined by the redrive policy's dependencies)."""
    found: dict[str, PolicyResource] = {}
    for queue in of_type(resources, t.QUEUE):
        for dlq in sources_of(queue, "redrivePolicy", t.QUEUE):
            found[dlq.urn] = dlq
    for policy in of_type(resources, t.REDRIVE_POLICY):
        for dlq in sources_of(policy, "redrivePolicy", t.QUEUE):
            found[dlq.urn] = dlq
    return list(found.values())


def check_dlq_alarm(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    for dlq in _dead_letter_queues(resources):
        if not _alarmed(dlq, resources, DLQ_DEPTH_METRIC):
            report(
                f"dead-letter queue {dlq.name} has no alarm on {DLQ_DEPTH_METRIC}: failed "
                "messages wait there unnoticed until they expire",
                dlq.urn,
            )


dlq_alarm = stack_policy(
    "sqs-dlq-depth-alarm",
    "Every dead-letter queue has an alarm on its visible messages.",
    check_dlq_alarm,
    level=MANDATORY,
    severity=Severity.HIGH,
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/dead-letter-queues-alarms-cloudwatch.html
    matches=framework("aws-docs", "sqs-dlq-alarm", "an alarm on dead-letter queue depth"),
    remediation=(
        "Add a MetricAlarm on AWS/SQS ApproximateNumberOfMessagesVisible with "
        "`dimensions={'QueueName': dlq.name}` (QueueFunction creates one)."
    ),
)


POLICIES: list[Any] = [failed_records_alarm, dlq_alarm]
