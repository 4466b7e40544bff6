"""DynamoDB: point-in-time recovery, encryption, deletion protection, capacity that scales."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from policies import resource_types as t
from policies._common import (
    MANDATORY,
    ConfigSchema,
    for_type,
    framework,
    of_type,
    referrers,
    resource_policy,
    setting,
    stack_policy,
)

ON_DEMAND = "PAY_PER_REQUEST"
CAPACITY_DIMENSIONS = ("dynamodb:table:ReadCapacityUnits", "dynamodb:table:WriteCapacityUnits")


@for_type(t.TABLE)
def check_pitr(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if (args.props.get("pointInTimeRecovery") or {}).get("enabled") is not True:
        report("pointInTimeRecovery.enabled is not true", None)


pitr = resource_policy(
    "dynamodb-pitr",
    "DynamoDB tables have point-in-time recovery.",
    check_pitr,
    level=MANDATORY,
    severity=Severity.MEDIUM,
    # https://docs.bridgecrew.io/docs/general_6
    matches=framework("checkov", "CKV_AWS_28", "DynamoDB point-in-time recovery is enabled"),
    also_matches=["aws-config:dynamodb-pitr-enabled"],
    remediation="Set `point_in_time_recovery={'enabled': True}`.",
)


ENCRYPTION_CONFIG: ConfigSchema = {
    "requireCustomerManagedKey": {
        "type": "boolean",
        "default": False,
        "description": "Also require `serverSideEncryption.kmsKeyArn` (a CMK).",
    }
}


@for_type(t.TABLE)
def check_encryption(args: ResourceValidationArgs, report: ReportViolation) -> None:
    sse = args.props.get("serverSideEncryption") or {}
    if sse.get("enabled") is not True:
        report("serverSideEncryption.enabled is not true: the table uses an AWS owned key", None)
    elif setting(args, ENCRYPTION_CONFIG, "requireCustomerManagedKey") and not sse.get("kmsKeyArn"):
        report("serverSideEncryption names no customer managed kmsKeyArn", None)


encryption = resource_policy(
    "dynamodb-encryption",
    "DynamoDB tables are encrypted with a KMS key (AWS managed, or a CMK when configured).",
    check_encryption,
    level=MANDATORY,
    severity=Severity.MEDIUM,
    # https://docs.bridgecrew.io/docs/ensure-that-dynamodb-tables-are-encrypted
    matches=framework("checkov", "CKV_AWS_119", "DynamoDB tables are encrypted with a KMS key"),
    remediation="Set `server_side_encryption={'enabled': True}` (and `kms_key_arn` for a CMK).",
    config=ENCRYPTION_CONFIG,
)


DELETION_CONFIG: ConfigSchema = {
    "requiredOnStacks": {
        "type": "array",
        "items": {"type": "string"},
        "default": ["prod"],
        "description": "Stacks whose tables must have deletion protection.",
    }
}


def _stack_name() -> str:
    # The engine passes PULUMI_STACK to the analyzer, which configures the runtime with it.
    try:
        return pulumi.get_stack()
    except Exception:  # no runtime settings at all: the stack is unknown
        return ""


@for_type(t.TABLE)
def check_deletion_protection(args: ResourceValidationArgs, report: ReportViolation) -> None:
    stack = _stack_name()
    if stack not in [str(s) for s in setting(args, DELETION_CONFIG, "requiredOnStacks")]:
        return
    if args.props.get("deletionProtectionEnabled") is not True:
        report(f"deletionProtectionEnabled is not true on stack {stack}", None)


deletion_protection = resource_policy(
    "dynamodb-deletion-protection",
    "DynamoDB tables on the configured stacks have deletion protection.",
    check_deletion_protection,
    level=MANDATORY,
    severity=Severity.HIGH,
    # https://docs.aws.amazon.com/config/latest/developerguide/dynamodb-table-deletion-protection-enabled.html
    matches=framework(
        "aws-config", "dynamodb-table-deletion-protection-enabled", "deletion protection on"
    ),
    remediation="Set `deletion_protection_enabled=True` (and protect=True on the resource).",
    config=DELETION_CONFIG,
)


def _scaled_dimensions(table: PolicyResource, resources: list[PolicyResource]) -> set[str]:
    targets = referrers(resources, t.SCALING_TARGET, "resourceId", table)
    return {str(target.props.get("scalableDimension")) for target in targets}


def check_capacity(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    for table in of_type(resources, t.TABLE):
        if table.props.get("billingMode") == ON_DEMAND:
            continue
        missing = [d for d in CAPACITY_DIMENSIONS if d not in _scaled_dimensions(table, resources)]
        if missing:
            report(
                f"table {table.name} has provisioned capacity without autoscaling on "
                f"{', '.join(missing)}",
                table.urn,
            )


capacity_scales = stack_policy(
    "dynamodb-capacity-scales",
    "DynamoDB tables are on-demand, or autoscale both read and write capacity.",
    check_capacity,
    level=MANDATORY,
    severity=Severity.MEDIUM,
    # https://docs.aws.amazon.com/config/latest/developerguide/dynamodb-autoscaling-enabled.html
    matches=framework("aws-config", "dynamodb-autoscaling-enabled", "on-demand or autoscaled"),
    remediation="Use `billing_mode='PAY_PER_REQUEST'`, or add appautoscaling targets and policies.",
)


POLICIES: list[Any] = [pitr, encryption, deletion_protection, capacity_scales]
