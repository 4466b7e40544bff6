"""The pack's contents, importable without starting anything (see `__main__.py`)."""

from __future__ import annotations

from pulumi_policy import Policy

from policies import (
    alarms,
    collector,
    dynamodb,
    iam,
    lambda_,
    logs_kms_scheduler,
    s3,
    sqs,
    stepfunctions,
)

PACK_NAME = "docpipe"
PACK_VERSION = "0.1.0"  # keep equal to PulumiPolicy.yaml's version

POLICIES: list[Policy] = [
    *lambda_.POLICIES,
    *sqs.POLICIES,
    *s3.POLICIES,
    *dynamodb.POLICIES,
    *iam.POLICIES,
    *collector.POLICIES,
    *logs_kms_scheduler.POLICIES,
    *alarms.POLICIES,
    *stepfunctions.POLICIES,
]


def policy_named(name: str) -> Policy:
    for policy in POLICIES:
        if policy.name == name:
            return policy
    raise KeyError(f"no policy named {name!r}")
