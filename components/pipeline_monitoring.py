"""DocumentPipeline's monitoring beyond each QueueFunction's own alarms: a warning on the
share of rejected documents per stage, and one CloudWatch dashboard per stack.

Both are derived from the stage table and name the pipeline's metrics from
`contract.metrics`, in the namespace and `service` dimension each function's environment
gives (QueueFunction's `metrics_namespace` / `metrics_service`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.alarms import alarm
from components.queue_function import QueueFunction
from contract import metrics
from contract.stages import Stage

RATE_PERIOD_SECONDS = 3600
DASHBOARD_PERIOD_SECONDS = 300


def rejected_rate_queries(
    namespace: pulumi.Input[str], service: pulumi.Input[str], min_documents: int
) -> list[Any]:
    """Metric math: the percentage of the documents a stage saw in an hour that it rejected.

    FILL(..., 0) turns an hour with no rejections (or none processed) into 0 instead of a
    missing point; IF(...) gives 0 unless the stage saw `min_documents`, so a quiet hour (one
    bad upload out of two) never alarms. Each record is counted once, as processed or
    rejected. https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html
    """

    def metric(query_id: str, name: str) -> dict[str, Any]:
        return {
            "id": query_id,
            "return_data": False,
            "metric": {
                "namespace": namespace,
                "metric_name": name,
                "dimensions": {metrics.SERVICE_DIMENSION: service},
                "period": RATE_PERIOD_SECONDS,
                "stat": "Sum",
            },
        }

    return [
        metric("rejected", metrics.RECORDS_REJECTED),
        metric("processed", metrics.RECORDS_PROCESSED),
        {
            "id": "seen",
            "expression": "FILL(rejected, 0) + FILL(processed, 0)",
            "label": "documents seen",
            "return_data": False,
        },
        {
            "id": "rate",
            "expression": f"IF(seen >= {min_documents}, 100 * FILL(rejected, 0) / seen, 0)",
            "label": "rejected %",
            "return_data": True,
        },
    ]


def create_rejected_alarm(
    name: str,
    stage: str,
    function: QueueFunction,
    settings: Mapping[str, Any],
    topic: aws.sns.Topic | None,
    opts: pulumi.ResourceOptions,
) -> aws.cloudwatch.MetricAlarm:
    """A WARNING: documents are refused at a higher rate than usual (a broken uploader, a new
    file type). Each is settled with its reason; nothing is retried, nothing is lost."""
    percent, least = settings["rejected_alarm_percent"], settings["rejected_alarm_min_documents"]
    return alarm(
        f"{name}-{stage}-rejected-alarm",
        f"WARNING: {name} {stage} rejected more than {percent}% of the documents it saw in "
        f"an hour (at least {least}): corrupt, encrypted, empty, unsupported or too large. "
        "Each rejection's reason is on the document's item in the results table",
        percent,
        topic.arn if topic is not None else None,
        settings.get("tags"),
        opts,
        metric_queries=rejected_rate_queries(
            function.metrics_namespace, function.metrics_service, least
        ),
    )


# -- dashboard ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageNames:
    """What a stage's widgets name, resolved: its queues, function and metric identity."""

    stage: str
    work: str
    queue: str
    dlq: str
    function: str
    namespace: str
    service: str


def _metric(namespace: str, name: str, dimensions: Mapping[str, str], **options: Any) -> list[Any]:
    row: list[Any] = [namespace, name]
    for key, value in dimensions.items():
        row += [key, value]
    return [*row, options] if options else row


def _graph(
    title: str, region: str, rows: Sequence[list[Any]], stat: str = "Sum", **extra: Any
) -> dict[str, Any]:
    return {
        "type": "metric",
        "width": 6,
        "height": 6,
        "properties": {
            "title": title,
            "region": region,
            "view": "timeSeries",
            "stat": stat,
            "period": DASHBOARD_PERIOD_SECONDS,
            "metrics": list(rows),
            **extra,
        },
    }


def _stage_row(names: StageNames, region: str) -> list[dict[str, Any]]:
    queue, dlq = {"QueueName": names.queue}, {"QueueName": names.dlq}
    own = {metrics.SERVICE_DIMENSION: names.service}
    function = {"FunctionName": names.function}
    age = {"stat": "Maximum", "yAxis": "right", "label": "oldest (s)"}
    return [
        _graph(
            f"{names.stage}: queue",
            region,
            [
                _metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", queue, label="waiting"),
                _metric(
                    "AWS/SQS", "ApproximateNumberOfMessagesNotVisible", queue, label="in flight"
                ),
                _metric("AWS/SQS", "ApproximateAgeOfOldestMessage", queue, **age),
            ],
            stat="Maximum",
        ),
        _graph(
            f"{names.stage}: dead letters",
            region,
            [
                _metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", dlq, label="dead letters"),
                _metric("AWS/SQS", "ApproximateAgeOfOldestMessage", dlq, **age),
            ],
            stat="Maximum",
        ),
        _graph(
            f"{names.stage}: records",
            region,
            [
                _metric(names.namespace, metrics.RECORDS_PROCESSED, own, label="processed"),
                _metric(names.namespace, metrics.RECORDS_FAILED, own, label="failed (retried)"),
                _metric(names.namespace, metrics.RECORDS_REJECTED, own, label="rejected"),
            ],
        ),
        _graph(
            f"{names.stage}: duration (ms)",
            region,
            [
                _metric("AWS/Lambda", "Duration", function, stat="p50", label="p50"),
                _metric("AWS/Lambda", "Duration", function, stat="p99", label="p99"),
                _metric("AWS/Lambda", "Duration", function, stat="Maximum", label="max"),
            ],
        ),
    ]


def _cost_row(stages: Sequence[StageNames], region: str) -> list[dict[str, Any]]:
    """What the bill follows: invocations and concurrency per function, pages OCR'd."""
    functions = [({"FunctionName": s.function}, s.stage) for s in stages]
    paged = [s for s in stages if s.work == "page"]
    return [
        _graph(
            "invocations",
            region,
            [_metric("AWS/Lambda", "Invocations", d, label=stage) for d, stage in functions],
        ),
        _graph(
            "concurrent executions",
            region,
            [
                _metric("AWS/Lambda", "ConcurrentExecutions", d, label=stage)
                for d, stage in functions
            ],
            stat="Maximum",
        ),
        _graph(
            "pages",
            region,
            [
                _metric(s.namespace, name, {metrics.SERVICE_DIMENSION: s.service}, label=label)
                for s in paged
                for name, label in (
                    (metrics.PAGES, f"{s.stage} pages"),
                    (metrics.OCR_PAGES, f"{s.stage} pages through OCR"),
                )
            ],
        ),
        _graph(
            "errors and throttles",
            region,
            [
                _metric("AWS/Lambda", metric, d, label=f"{stage} {metric.lower()}")
                for d, stage in functions
                for metric in ("Errors", "Throttles")
            ],
        ),
    ]


def dashboard_body(
    title: str, region: str, stages: Sequence[StageNames], alarm_arns: Sequence[str]
) -> dict[str, Any]:
    """The dashboard: a note, every alarm's state, a row per stage, then the cost drivers.
    Widgets flow left to right in rows of four (24 columns of 6).
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html
    """
    widgets: list[dict[str, Any]] = [
        {
            "type": "text",
            "width": 24,
            "height": 2,
            "properties": {
                "markdown": f"## {title}\n"
                "Managed by Pulumi (docpipe, components/pipeline_monitoring.py): changes "
                "made here are overwritten by the next `pulumi up`."
            },
        },
        {
            "type": "alarm",
            "width": 24,
            "height": 4,
            "properties": {"title": "alarms", "alarms": sorted(alarm_arns)},
        },
    ]
    for names in stages:
        widgets += _stage_row(names, region)
    widgets += _cost_row(stages, region)
    return {"widgets": _placed(widgets)}


def _placed(widgets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give each widget x and y, filling rows of 24 columns."""
    x = y = row_height = 0
    placed = []
    for widget in widgets:
        if x + widget["width"] > 24:
            x, y, row_height = 0, y + row_height, 0
        placed.append({**widget, "x": x, "y": y})
        x += widget["width"]
        row_height = max(row_height, widget["height"])
    return placed


def _stage_names(stage: Stage, function: QueueFunction) -> pulumi.Output[StageNames]:
    def resolved(values: list[Any]) -> StageNames:
        return StageNames(stage.name, stage.work, *values)

    return pulumi.Output.all(
        function.queue_name,
        function.dlq_name,
        function.function_name,
        function.metrics_namespace,
        function.metrics_service,
    ).apply(resolved)


def create_dashboard(
    name: str,
    dashboard_name: pulumi.Input[str],
    region: pulumi.Input[str],
    stages: Sequence[Stage],
    functions: Mapping[str, QueueFunction],
    alarm_arns: Sequence[pulumi.Input[str]],
    opts: pulumi.ResourceOptions,
) -> aws.cloudwatch.Dashboard:
    """The stack's dashboard; its body resolves once the names it shows are known."""
    names = [_stage_names(stage, functions[stage.name]) for stage in stages]
    body = pulumi.Output.all(
        dashboard_name, region, pulumi.Output.all(*names), pulumi.Output.all(*alarm_arns)
    ).apply(lambda v: json.dumps(dashboard_body(v[0], v[1], v[2], v[3]), sort_keys=True))
    return aws.cloudwatch.Dashboard(
        f"{name}-dashboard", dashboard_name=dashboard_name, dashboard_body=body, opts=opts
    )
