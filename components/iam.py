"""IAM and resource-policy documents, built as data (never as strings).

Every document goes through `pulumi.Output.json_dumps`, which resolves nested Outputs (ARNs)
and keeps their dependencies, so a policy depends on the resources it names.
"""

import re
from collections.abc import Mapping, Sequence
from typing import Any, Required, TypedDict

import pulumi

VERSION = "2012-10-17"

XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
# What a function in a VPC needs to manage its network interfaces.
VPC_ACTIONS = [
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
]
# Reading metrics (the sweep's backlog guard) is not scoped to a resource either.
METRICS_READ_ACTIONS = ["cloudwatch:GetMetricData"]
# Actions that do not support resource-level permissions: "*" is their only valid resource.
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html
UNSCOPED_ACTIONS = frozenset(XRAY_ACTIONS + VPC_ACTIONS + METRICS_READ_ACTIONS)


class PolicyConditionArgs(TypedDict):
    """One IAM condition: `{"test": "StringLike", "variable": "s3:prefix", "values": [...]}`."""

    test: str
    """The condition operator (`StringEquals`, `StringLike`, `ArnEquals`, `Bool`, ...)."""
    variable: str
    """The condition key (`aws:SourceArn`, `s3:prefix`, ...)."""
    values: Sequence[pulumi.Input[str]]
    """The values the key is compared with."""


class PolicyStatementArgs(TypedDict, total=False):
    """An extra grant for a function's role, passed by name (the name becomes the `Sid`)."""

    actions: Required[Sequence[str]]
    """IAM actions (`s3:GetObject`); never `*` or `service:*`."""
    resources: Required[Sequence[pulumi.Input[str]]]
    """Resource ARNs; `*` only for actions that support no resource scoping."""
    effect: str
    """`Allow` (default) or `Deny`."""
    conditions: Sequence[PolicyConditionArgs]
    """Conditions that all must hold. Default: none."""


def document(statements: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": list(statements)}


def to_json(statements: Sequence[Mapping[str, Any]]) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps(document(statements))


def sid(name: str) -> str:
    """IAM `Sid`s allow only [A-Za-z0-9]: `send-next_queue` becomes `SendNextQueue`."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name))


def statement(
    name: str,
    actions: Sequence[str],
    resources: Sequence[Any],
    conditions: Mapping[str, Mapping[str, Any]] | None = None,
    effect: str = "Allow",
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "Sid": sid(name),
        "Effect": effect,
        "Action": list(actions),
        "Resource": list(resources),
    }
    if conditions:
        result["Condition"] = {test: dict(keys) for test, keys in conditions.items()}
    return result


def from_args(name: str, args: PolicyStatementArgs) -> dict[str, Any]:
    """A caller's named statement, in IAM's shape."""
    conditions: dict[str, dict[str, Any]] = {}
    for condition in args.get("conditions") or []:
        conditions.setdefault(condition["test"], {})[condition["variable"]] = list(
            condition["values"]
        )
    return statement(
        name, args["actions"], args["resources"], conditions, args.get("effect", "Allow")
    )


def statement_problems(name: str, args: Mapping[str, Any]) -> list[str]:
    """Why a caller's statement is unsafe or malformed (empty when it is fine)."""
    problems = []
    actions = list(args.get("actions") or [])
    resources = [r for r in args.get("resources") or [] if isinstance(r, str)]
    if not actions:
        problems.append(f"statement {name!r} has no actions")
    if not args.get("resources"):
        problems.append(f"statement {name!r} has no resources")
    wildcards = [a for a in actions if a == "*" or a.endswith(":*")]
    if wildcards:
        problems.append(f"statement {name!r} uses wildcard actions {wildcards}")
    scoped = [a for a in actions if a not in UNSCOPED_ACTIONS]
    if "*" in resources and scoped:
        problems.append(f"statement {name!r} grants {scoped} on resource '*': scope them to ARNs")
    if args.get("effect", "Allow") not in ("Allow", "Deny"):
        problems.append(f"statement {name!r} has effect {args.get('effect')!r}")
    if not sid(name):
        problems.append(f"statement name {name!r} has no letters or digits")
    return problems


def service_trust(service: str, source_account: Any = None) -> pulumi.Output[str]:
    """A role trust policy for one AWS service principal (optionally bound to an account)."""
    trust: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account is not None:
        trust["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return to_json([trust])


def tls_only(resources: Sequence[Any], action: str) -> dict[str, Any]:
    """Deny any request not made over TLS (AWS Foundational Security Best Practices S3.5/SQS)."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": list(resources),
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def service_producer(
    name: str,
    service: str,
    action: Sequence[str] | str,
    resource: Any,
    source_arn: Any,
    source_account: Any,
) -> dict[str, Any]:
    """Allow one AWS service to act for one source resource of one account only.

    Both conditions are needed: S3 bucket ARNs carry no account id, so `aws:SourceArn` alone
    leaves a confused-deputy gap when the bucket is deleted and re-created elsewhere.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html
    """
    return {
        "Sid": sid(name),
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": action,
        "Resource": resource,
        "Condition": {
            "ArnEquals": {"aws:SourceArn": source_arn},
            "StringEquals": {"aws:SourceAccount": source_account},
        },
    }
