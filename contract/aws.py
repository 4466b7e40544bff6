"""AWS rules that the components enforce, the policy pack checks and local mode works around.

Each is defined here once, so a component's preview-time check and the gate's policy cannot
disagree about what they look for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

AWS_MANAGED_SQS_KEY = "alias/aws/sqs"

FULL_VCPU_MB = 1769
"""Lambda gives a function one full vCPU at 1,769 MB of memory and a proportional share below
it: https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html"""

DEFAULT_ACCOUNT_CONCURRENCY = 1000
"""Lambda's default concurrent-executions quota per account and region (new accounts may get
as little as 10 until it is raised through Service Quotas)."""
UNRESERVED_CONCURRENCY_MINIMUM = 100
"""Reserved concurrency must leave at least this many executions unreserved in the account:
https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html"""


def is_aws_managed_sqs_key(key: Any) -> bool:
    """The AWS-managed SQS key, by alias or alias ARN (`arn:aws:kms:REGION:ACCOUNT:alias/aws/sqs`).

    S3 and EventBridge cannot publish to a queue it encrypts: their service principals may
    not use it. https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html
    """
    return isinstance(key, str) and (
        key == AWS_MANAGED_SQS_KEY or key.endswith(f":{AWS_MANAGED_SQS_KEY}")
    )


def is_mapping(value: Any) -> TypeGuard[Mapping[str, Any]]:
    return isinstance(value, Mapping)


def as_list(value: Any) -> list[Any]:
    """IAM fields hold one value or a list of them."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [value]
    return list(value)


def principal_values(statement: Mapping[str, Any]) -> dict[str, list[str]]:
    """`Principal: "*"` and `{"AWS": "*"}` both mean everyone."""
    principal = statement.get("Principal")
    if principal is None:
        return {}
    if isinstance(principal, str):
        return {"*": [principal]}
    return {str(kind): [str(v) for v in as_list(values)] for kind, values in principal.items()}


def is_public_principal(statement: Mapping[str, Any]) -> bool:
    principals = principal_values(statement)
    return any(value == "*" for values in principals.values() for value in values)


def is_tls_only_deny(statement: Mapping[str, Any]) -> bool:
    """Deny to everyone when `aws:SecureTransport` is false (AWS's TLS-only pattern).

    https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html
    """
    if statement.get("Effect") != "Deny" or not is_public_principal(statement):
        return False
    condition = statement.get("Condition")
    operands = condition.get("Bool") if is_mapping(condition) else None
    if not is_mapping(operands):
        return False
    secure = {str(k).lower(): [str(v).lower() for v in as_list(vs)] for k, vs in operands.items()}
    return secure.get("aws:securetransport") == ["false"]
