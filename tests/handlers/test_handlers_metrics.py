"""A fully failed batch moves the metric the stack's failed-records alarm watches.

Powertools' batch processor reports every failed record as a partial batch failure and never
raises (raise_on_entire_batch_failure=False), so the invocation succeeds and Lambda's `Errors`
metric stays at zero however many records fail. The pipeline's own `RecordsFailed`, printed
by Powertools as embedded metric format (EMF) on stdout, is what CloudWatch turns into the
metric the alarm reads: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from handler_fixtures import (  # noqa: F401  (fixtures, registered by name)
    Aws,
    aws_fixture,
    dev_stack,
    env_fixture,
    nltk_data_fixture,
    sqs_event,
    stage_env_fixture,
)
from test_handlers_stages import LETTER, text_ready

from contract import metrics, settings
from handlers import summarize


def emf_sums(stdout: str) -> dict[tuple[str, str, str], float]:
    """(namespace, service, metric) -> sum of the values in the EMF documents printed."""
    sums: dict[tuple[str, str, str], float] = {}
    for line in stdout.splitlines():
        if '"_aws"' not in line:
            continue  # a log line, not a metric document
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            assert [metrics.SERVICE_DIMENSION] in directive["Dimensions"]
            service = document[metrics.SERVICE_DIMENSION]
            for metric in directive["Metrics"]:
                values = document[metric["Name"]]
                total = sum(values) if isinstance(values, list) else values
                key = (directive["Namespace"], service, metric["Name"])
                sums[key] = sums.get(key, 0) + total
    return sums


def watched(alarm: str) -> tuple[str, str, str]:
    """(namespace, service, metric) the dev stack's alarm reads."""
    inputs: dict[str, Any] = dev_stack().named(alarm).inputs
    return (
        inputs["namespace"],
        inputs["dimensions"][metrics.SERVICE_DIMENSION],
        inputs["metricName"],
    )


def test_a_fully_failed_batch_moves_the_failed_records_alarms_metric(
    stage_env: Callable[[str], Aws],
    env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN three good documents and a next queue the function cannot send to (a transient
    # failure: the same for a deleted queue, an AccessDenied or a throttled SendMessage)
    aws = stage_env("summarize")
    bodies = [text_ready(aws, f"letter-{n}.pdf", LETTER.encode()) for n in range(3)]
    env.setenv(settings.NEXT_QUEUE_URL.name, aws.queues["classify"] + "-gone")
    event = sqs_event(*bodies, queue="docpipe-summarize")
    capsys.readouterr()

    # WHEN summarize handles the batch
    response = summarize.lambda_handler(event, None)

    # THEN the invocation succeeds (Lambda's Errors sees nothing) with every record retried
    assert response == {
        "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]
    }
    # AND the metric the stack's failed-records alarm reads counts all three
    sums = emf_sums(capsys.readouterr().out)
    alarm = watched("docpipe-summarize-failed-records-alarm")
    assert alarm == ("docpipe", "docpipe-summarize", metrics.RECORDS_FAILED)
    assert sums[alarm] == 3
    assert ("docpipe", "docpipe-summarize", metrics.RECORDS_PROCESSED) not in sums
