"""DynamoDB policies: PITR, encryption, deletion protection on named stacks, capacity."""

from __future__ import annotations

from typing import Any

import pytest
from policy_helpers import UNKNOWN, cannot_check, messages, resource

from policies import resource_types as t


def table(**overrides: Any) -> Any:
    props = {
        "billingMode": "PAY_PER_REQUEST",
        "pointInTimeRecovery": {"enabled": True},
        "serverSideEncryption": {"enabled": True},
        "deletionProtectionEnabled": True,
    }
    props.update(overrides)
    return resource(t.TABLE, "results", {k: v for k, v in props.items() if v is not None})


@pytest.mark.parametrize(
    "policy",
    [
        "dynamodb-pitr",
        "dynamodb-encryption",
        "dynamodb-deletion-protection",
        "dynamodb-capacity-scales",
    ],
)
def test_compliant_table_passes(policy: str) -> None:
    assert messages([table()], policy, stack="prod") == []


@pytest.mark.parametrize("pitr", [{"enabled": False}, None])
def test_pitr_off_or_missing_fails(pitr: Any) -> None:
    assert messages([table(pointInTimeRecovery=pitr)], "dynamodb-pitr") == [
        "pointInTimeRecovery.enabled is not true"
    ]


def test_encryption() -> None:
    assert messages([table(serverSideEncryption=None)], "dynamodb-encryption") == [
        "serverSideEncryption.enabled is not true: the table uses an AWS owned key"
    ]
    config = {"dynamodb-encryption": {"requireCustomerManagedKey": True}}
    assert messages([table()], "dynamodb-encryption", config) == [
        "serverSideEncryption names no customer managed kmsKeyArn"
    ]
    cmk = table(serverSideEncryption={"enabled": True, "kmsKeyArn": "arn:aws:kms:k"})
    assert messages([cmk], "dynamodb-encryption", config) == []


def test_deletion_protection_is_mandatory_only_on_named_stacks() -> None:
    unprotected = table(deletionProtectionEnabled=False)
    assert messages([unprotected], "dynamodb-deletion-protection", stack="dev") == []
    assert messages([unprotected], "dynamodb-deletion-protection", stack="prod") == [
        "deletionProtectionEnabled is not true on stack prod"
    ]
    config = {"dynamodb-deletion-protection": {"requiredOnStacks": ["dev", "prod"]}}
    assert messages([unprotected], "dynamodb-deletion-protection", config, stack="dev") == [
        "deletionProtectionEnabled is not true on stack dev"
    ]


def test_provisioned_table_needs_autoscaling_on_both_dimensions() -> None:
    provisioned = table(billingMode="PROVISIONED")
    assert messages([provisioned], "dynamodb-capacity-scales") == [
        "table results has provisioned capacity without autoscaling on "
        "dynamodb:table:ReadCapacityUnits, dynamodb:table:WriteCapacityUnits"
    ]
    read = resource(
        t.SCALING_TARGET,
        "read",
        {"scalableDimension": "dynamodb:table:ReadCapacityUnits"},
        deps={"resourceId": [provisioned]},
    )
    assert messages([provisioned, read], "dynamodb-capacity-scales") == [
        "table results has provisioned capacity without autoscaling on "
        "dynamodb:table:WriteCapacityUnits"
    ]
    write = resource(
        t.SCALING_TARGET,
        "write",
        {"scalableDimension": "dynamodb:table:WriteCapacityUnits"},
        deps={"resourceId": [provisioned]},
    )
    assert messages([provisioned, read, write], "dynamodb-capacity-scales") == []


def test_unknown_pitr_is_advisory() -> None:
    found = cannot_check([table(pointInTimeRecovery=UNKNOWN)], "dynamodb-pitr")
    assert [f.level for f in found] == ["advisory"]
