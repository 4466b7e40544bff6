"""ScheduledTrigger: an EventBridge Scheduler schedule that sends a fixed message to a queue.

Targeting the queue (not the function) gives each tick the queue's retries and DLQ. Scheduler
sends with the role in `target.role_arn` (no queue-policy statement or Lambda permission needed).
"""

import json
import re
from collections.abc import Mapping
from typing import Any, Required, TypedDict

import pulumi
import pulumi_aws as aws

from components import iam
from components.validation import Problems, check_range, coerce, merge, plain

TYPE = "docpipe:index:ScheduledTrigger"
EXPRESSION = re.compile(r"^(rate|cron|at)\(.+\)$")


class ScheduledTriggerArgs(TypedDict, total=False):
    """Arguments of ScheduledTrigger."""

    queue_arn: Required[pulumi.Input[str]]
    """The queue that receives the message."""
    schedule_expression: Required[pulumi.Input[str]]
    """`rate(15 minutes)`, `cron(...)` or `at(...)`."""
    message: pulumi.Input[str]
    """The message body, a JSON document. Default `{}`."""
    timezone: pulumi.Input[str]
    """Time zone of cron expressions. Default `UTC`."""
    enabled: pulumi.Input[bool]
    """Default true."""
    description: pulumi.Input[str]
    """Default: none."""
    flexible_window_minutes: pulumi.Input[int]
    """Spread each tick over this many minutes. Default: off (exact time)."""
    maximum_retry_attempts: pulumi.Input[int]
    """Delivery retries, 0 to 185. Default 5."""
    maximum_event_age_seconds: pulumi.Input[int]
    """Give up delivering a tick after this age, 60 to 86400. Default 3600."""
    dead_letter_queue_arn: pulumi.Input[str]
    """Queue that receives ticks Scheduler could not deliver after its retries (sent with the
    schedule's role). Default: none, a failed tick is dropped."""
    kms_key_arn: pulumi.Input[str]
    """The queue's customer-managed KMS key, if any: the role may then encrypt with it."""
    tags: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    """Tags for the role. Default: none."""


def validate(name: str, args: ScheduledTriggerArgs) -> dict[str, Any]:
    defaults = {
        "message": "{}",
        "timezone": "UTC",
        "enabled": True,
        "maximum_retry_attempts": 5,
        "maximum_event_age_seconds": 3600,
    }
    s = merge(defaults, dict(args), {})
    problems = Problems("ScheduledTrigger", name)
    if s.get("queue_arn") is None:
        problems.add("queue_arn", "is required")
    expression = plain(s.get("schedule_expression"))
    if s.get("schedule_expression") is None:
        problems.add("schedule_expression", "is required")
    elif expression is not None and not EXPRESSION.match(expression):
        problems.add(
            "schedule_expression", f"{expression!r} is not rate(...), cron(...) or at(...)"
        )
    message = plain(s["message"])
    if message is not None:
        try:
            json.loads(message)
        except ValueError:
            problems.add("message", f"is not JSON: {message!r}")
    check_range(problems, s, "flexible_window_minutes", 1, 1440)
    check_range(problems, s, "maximum_retry_attempts", 0, 185)
    check_range(problems, s, "maximum_event_age_seconds", 60, 86400)
    problems.raise_if_any()
    return s


class ScheduledTrigger(pulumi.ComponentResource):
    """A schedule sending one message to one queue, with a role scoped to that queue."""

    schedule_arn: pulumi.Output[str]
    """ARN of the schedule."""
    schedule_name: pulumi.Output[str]
    """Name of the schedule."""
    role_arn: pulumi.Output[str]
    """ARN of the role the schedule sends with."""

    def __init__(
        self, name: str, args: ScheduledTriggerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        s = validate(name, coerce(ScheduledTriggerArgs, args, "ScheduledTrigger", name))
        super().__init__(TYPE, name, None, opts)
        account = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).account_id
        self.role = aws.iam.Role(
            f"{name}-role",
            # Only schedules of this account may assume it (confused deputy).
            assume_role_policy=iam.service_trust("scheduler.amazonaws.com", account),
            tags=s.get("tags"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=self.role.id,
            policy=iam.to_json(self.policy_statements(s)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.schedule = aws.scheduler.Schedule(
            f"{name}-schedule",
            schedule_expression=s["schedule_expression"],
            schedule_expression_timezone=s["timezone"],
            state="ENABLED" if s["enabled"] else "DISABLED",
            flexible_time_window=self._window(s),
            target=self._target(s),
            # The first tick fails if the role cannot send yet.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role_policy]),
            **self._optional(s),
        )
        self.schedule_arn, self.schedule_name = self.schedule.arn, self.schedule.name
        self.role_arn = self.role.arn
        self.register_outputs(
            {
                "schedule_arn": self.schedule_arn,
                "schedule_name": self.schedule_name,
                "role_arn": self.role_arn,
            }
        )

    @staticmethod
    def policy_statements(s: Mapping[str, Any]) -> list[Any]:
        statements = [iam.statement("send-to-queue", ["sqs:SendMessage"], [s["queue_arn"]])]
        if s.get("dead_letter_queue_arn") is not None:
            # Scheduler writes undeliverable ticks to the DLQ with the schedule's role.
            # https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html
            statements.append(
                iam.statement(
                    "send-to-dead-letter-queue", ["sqs:SendMessage"], [s["dead_letter_queue_arn"]]
                )
            )
        if s.get("kms_key_arn") is not None:
            statements.append(
                iam.statement(
                    "encrypt-for-queue", ["kms:GenerateDataKey", "kms:Decrypt"], [s["kms_key_arn"]]
                )
            )
        return statements

    def _target(self, s: Mapping[str, Any]) -> Any:
        target: dict[str, Any] = {
            "arn": s["queue_arn"],
            "role_arn": self.role.arn,
            "input": s["message"],
            "retry_policy": {
                "maximum_retry_attempts": s["maximum_retry_attempts"],
                "maximum_event_age_in_seconds": s["maximum_event_age_seconds"],
            },
        }
        if s.get("dead_letter_queue_arn") is not None:
            target["dead_letter_config"] = {"arn": s["dead_letter_queue_arn"]}
        return target

    @staticmethod
    def _optional(s: Mapping[str, Any]) -> dict[str, Any]:
        return {"description": s["description"]} if s.get("description") is not None else {}

    @staticmethod
    def _window(s: Mapping[str, Any]) -> Any:
        if s.get("flexible_window_minutes") is None:
            return {"mode": "OFF"}
        return {"mode": "FLEXIBLE", "maximum_window_in_minutes": s["flexible_window_minutes"]}
