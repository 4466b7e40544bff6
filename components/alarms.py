"""One CloudWatch alarm the way every docpipe alarm is made."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws


def alarm(
    resource_name: str,
    description: str,
    threshold: pulumi.Input[float],
    topic_arn: pulumi.Input[str] | None,
    tags: Mapping[str, str] | None,
    opts: pulumi.ResourceOptions,
    **metric: Any,
) -> aws.cloudwatch.MetricAlarm:
    """Breaching above `threshold` in one evaluation period, quiet without data, notifying
    the topic (if any) on alarm and on recovery; `metric` says what it watches (a metric and
    its statistic and period, or metric queries)."""
    actions = [topic_arn] if topic_arn is not None else []
    return aws.cloudwatch.MetricAlarm(
        resource_name,
        alarm_description=description,
        evaluation_periods=1,
        threshold=threshold,
        comparison_operator="GreaterThanThreshold",
        treat_missing_data="notBreaching",
        alarm_actions=actions,
        ok_actions=actions,
        tags=tags,
        opts=opts,
        **metric,
    )
