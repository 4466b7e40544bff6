"""Every failure mode of the pipeline has an alarm, on the stack as deployed (mock run).

A failure nobody is told about is the real outage: a broken OCR runtime or an AccessDenied
fails every record while Lambda's `Errors` stays at zero (the batch processor reports record
failures as a partial batch response, it never raises), and only the DLQ depth alarm would
notice, about 90 minutes later.
"""

from __future__ import annotations

from typing import Any

import pytest
from stack_helpers import run_stack, stack_run

from mockrun import StackRun

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
CHAIN = ("ocr", "summarize", "classify")  # the stages a document passes through
STAGES = (*CHAIN, "sweep")
ADDRESS = "oncall@corp.test"  # offline runs take any address; real deployments refuse .test


@pytest.fixture(scope="module", params=["dev", "prod"])
def run(request: pytest.FixtureRequest) -> StackRun:
    """dev as shipped (no topic), prod with an alarm address (alarms go to its topic)."""
    if request.param == "dev":
        return stack_run("dev")
    return run_stack("prod", {"alarmEmail": ADDRESS})


def actions(run: StackRun) -> list[str]:
    topics = run.by_type("aws:sns/topic:Topic")
    return [topic.state["arn"] for topic in topics]


def alarm(run: StackRun, name: str) -> dict[str, Any]:
    inputs = dict(run.named(name).inputs)
    assert inputs.pop("alarmActions") == actions(run) == inputs.pop("okActions"), name
    assert inputs.pop("tags") == {"project": "docpipe", "stack": run.stack}
    return inputs


def simple(description: str, namespace: str, metric: str, dimensions: dict[str, str],
           statistic: str, period: int, threshold: float) -> dict[str, Any]:  # fmt: skip
    return {
        "alarmDescription": description,
        "namespace": namespace,
        "metricName": metric,
        "dimensions": dimensions,
        "statistic": statistic,
        "period": period,
        "evaluationPeriods": 1,
        "threshold": threshold,
        "comparisonOperator": "GreaterThanThreshold",
        "treatMissingData": "notBreaching",
    }


@pytest.mark.parametrize("stage", STAGES)
def test_failed_records_alarm_per_stage(run: StackRun, stage: str) -> None:
    # A transient failure on every record (broken runtime, AccessDenied, throttling): the
    # pipeline's own metric, in the namespace and service the function's environment names.
    variables = run.named(f"docpipe-{stage}-function").inputs["environment"]["variables"]
    assert (variables["POWERTOOLS_METRICS_NAMESPACE"], variables["POWERTOOLS_SERVICE_NAME"]) == (
        "docpipe", f"docpipe-{stage}",
    )  # fmt: skip
    assert alarm(run, f"docpipe-{stage}-failed-records-alarm") == simple(
        f"docpipe-{stage}: records failed and are being retried (throttling, access denied, "
        "a crash); after max_receive_count tries they reach the DLQ",
        "docpipe", "RecordsFailed", {"service": f"docpipe-{stage}"}, "Sum", 300, 0,
    )  # fmt: skip


@pytest.mark.parametrize("stage", STAGES)
def test_dead_letter_alarms_per_stage(run: StackRun, stage: str) -> None:
    dlq = {"QueueName": run.named(f"docpipe-{stage}-dlq").state["name"]}
    # A message that exhausted its retries: at once.
    assert alarm(run, f"docpipe-{stage}-dlq-depth-alarm") == simple(
        f"docpipe-{stage}: messages in the dead-letter queue",
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", dlq, "Maximum", 60, 0,
    )  # fmt: skip
    # Nobody acted on it within a day, well before it can expire (14 - 4 days).
    assert alarm(run, f"docpipe-{stage}-dlq-age-alarm") == simple(
        f"docpipe-{stage}: a dead letter has waited too long: redrive or purge it before it "
        "expires",
        "AWS/SQS", "ApproximateAgeOfOldestMessage", dlq, "Maximum", 300, 86400,
    )  # fmt: skip


@pytest.mark.parametrize("stage", STAGES)
def test_backlog_and_invocation_alarms_per_stage(run: StackRun, stage: str) -> None:
    queue = {"QueueName": run.named(f"docpipe-{stage}-queue").state["name"]}
    function = {"FunctionName": run.named(f"docpipe-{stage}-function").state["name"]}
    assert alarm(run, f"docpipe-{stage}-queue-age-alarm") == simple(
        f"docpipe-{stage}: oldest message waits too long",
        "AWS/SQS", "ApproximateAgeOfOldestMessage", queue, "Maximum", 300, 1800,
    )  # fmt: skip
    # Crashes outside the record loop and timeouts (a sweep that outgrew its timeout).
    assert alarm(run, f"docpipe-{stage}-errors-alarm") == simple(
        f"docpipe-{stage}: function errors", "AWS/Lambda", "Errors", function, "Sum", 300, 0
    )
    assert alarm(run, f"docpipe-{stage}-throttles-alarm") == simple(
        f"docpipe-{stage}: function throttled", "AWS/Lambda", "Throttles", function, "Sum", 300, 0
    )


@pytest.mark.parametrize("stage", CHAIN)
def test_rejected_documents_warning_per_stage_of_the_chain(run: StackRun, stage: str) -> None:
    def hourly_sum(query_id: str, metric: str) -> dict[str, Any]:
        return {
            "id": query_id,
            "returnData": False,
            "metric": {
                "namespace": "docpipe",
                "metricName": metric,
                "dimensions": {"service": f"docpipe-{stage}"},
                "period": 3600,
                "stat": "Sum",
            },
        }

    assert alarm(run, f"docpipe-{stage}-rejected-alarm") == {
        "alarmDescription": f"WARNING: docpipe {stage} rejected more than 10% of the documents "
        "it saw in an hour (at least 20): corrupt, encrypted, empty, unsupported or too large. "
        "Each rejection's reason is on the document's item in the results table",
        "metricQueries": [
            hourly_sum("rejected", "RecordsRejected"),
            hourly_sum("processed", "RecordsProcessed"),
            {
                "id": "seen",
                "expression": "FILL(rejected, 0) + FILL(processed, 0)",
                "label": "documents seen",
                "returnData": False,
            },
            {
                "id": "rate",
                "expression": "IF(seen >= 20, 100 * FILL(rejected, 0) / seen, 0)",
                "label": "rejected %",
                "returnData": True,
            },
        ],
        "evaluationPeriods": 1,
        "threshold": 10,
        "comparisonOperator": "GreaterThanThreshold",
        "treatMissingData": "notBreaching",
    }


def test_the_sweeps_failures_reach_an_alarm(run: StackRun) -> None:
    # A tick the scheduler cannot deliver goes to the sweep's DLQ (its depth alarm); a tick
    # whose run fails is retried from the sweep queue (failed-records alarm) and then lands
    # in the same DLQ; a run past its timeout is a Lambda error (errors alarm).
    target = run.named("docpipe-sweep-schedule-schedule").inputs["target"]
    dlq = run.named("docpipe-sweep-dlq")
    assert target["deadLetterConfig"] == {"arn": dlq.state["arn"]}
    assert target["arn"] == run.named("docpipe-sweep-queue").state["arn"]
    depth = run.named("docpipe-sweep-dlq-depth-alarm").inputs
    assert depth["dimensions"] == {"QueueName": dlq.state["name"]}
    for name in ("failed-records", "errors", "dlq-depth", "dlq-age"):
        assert f"docpipe-sweep-{name}-alarm" in {r.name for r in run.by_type(ALARM)}


def test_every_alarm_is_one_of_these(run: StackRun) -> None:
    per_stage = ("dlq-depth", "dlq-age", "queue-age", "failed-records", "errors", "throttles")
    expected = {f"docpipe-{stage}-{kind}-alarm" for stage in STAGES for kind in per_stage}
    expected |= {f"docpipe-{stage}-rejected-alarm" for stage in CHAIN}
    assert {r.name for r in run.by_type(ALARM)} == expected
