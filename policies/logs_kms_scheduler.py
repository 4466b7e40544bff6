"""CloudWatch Logs retention, KMS key rotation, EventBridge Scheduler retries and DLQ."""

from __future__ import annotations

from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from policies import resource_types as t
from policies._common import MANDATORY, for_type, framework, number, resource_policy

SYMMETRIC = "SYMMETRIC_DEFAULT"  # only symmetric keys can rotate


@for_type(t.LOG_GROUP)
def check_log_retention(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not number(args.props.get("retentionInDays")):  # 0 or unset: never expire
        report("retentionInDays is not set: logs are kept forever", None)


log_retention_set = resource_policy(
    "logs-retention-set",
    "CloudWatch log groups set a retention period.",
    check_log_retention,
    level=MANDATORY,
    severity=Severity.LOW,
    # https://docs.bridgecrew.io/docs/logging_13
    matches=framework("checkov", "CKV_AWS_66", "CloudWatch log group specifies retention days"),
    also_matches=["cfn-nag:W86", "aws-config:cw-loggroup-retention-period-check"],
    remediation="Set `retention_in_days` (e.g. 14 in dev, 90 or more in prod).",
)


@for_type(t.KMS_KEY)
def check_key_rotation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    spec = args.props.get("customerMasterKeySpec") or SYMMETRIC
    if spec == SYMMETRIC and args.props.get("enableKeyRotation") is not True:
        report("enableKeyRotation is not true", None)


key_rotation = resource_policy(
    "kms-key-rotation",
    "Symmetric KMS keys rotate their key material.",
    check_key_rotation,
    level=MANDATORY,
    severity=Severity.MEDIUM,
    # https://docs.bridgecrew.io/docs/logging_8
    matches=framework("checkov", "CKV_AWS_7", "KMS key rotation is enabled"),
    also_matches=["aws-config:cmk-backing-key-rotation-enabled"],
    remediation="Set `enable_key_rotation=True`.",
)


@for_type(t.SCHEDULE)
def check_schedule_target(args: ResourceValidationArgs, report: ReportViolation) -> None:
    target = args.props.get("target") or {}
    if not target.get("retryPolicy"):
        report("target has no retryPolicy", None)
    if not (target.get("deadLetterConfig") or {}).get("arn"):
        report("target has no deadLetterConfig.arn", None)


schedule_retry_and_dlq = resource_policy(
    "scheduler-target-retry-and-dlq",
    "EventBridge Scheduler targets set a retry policy and a dead-letter queue.",
    check_schedule_target,
    level=MANDATORY,
    severity=Severity.MEDIUM,
    # https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html
    matches=framework("aws-docs", "scheduler-dlq", "Scheduler target has retries and a DLQ"),
    remediation="Set `target.retry_policy` and `target.dead_letter_config={'arn': dlq.arn}`.",
)


POLICIES: list[Any] = [log_retention_set, key_rotation, schedule_retry_and_dlq]
