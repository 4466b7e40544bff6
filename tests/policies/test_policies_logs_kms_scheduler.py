"""Log retention, KMS key rotation, Scheduler target retries and DLQ."""

from __future__ import annotations

from typing import Any

import pytest
from policy_helpers import messages, resource

from policies import resource_types as t


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"retentionInDays": 14.0}, []),
        ({}, ["retentionInDays is not set: logs are kept forever"]),
        ({"retentionInDays": 0.0}, ["retentionInDays is not set: logs are kept forever"]),
    ],
)
def test_log_retention(props: dict[str, Any], expected: list[str]) -> None:
    assert messages([resource(t.LOG_GROUP, "logs", props)], "logs-retention-set") == expected


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"enableKeyRotation": True}, []),
        ({}, ["enableKeyRotation is not true"]),
        ({"enableKeyRotation": False}, ["enableKeyRotation is not true"]),
        ({"customerMasterKeySpec": "RSA_2048"}, []),  # asymmetric keys cannot rotate
    ],
)
def test_key_rotation(props: dict[str, Any], expected: list[str]) -> None:
    assert messages([resource(t.KMS_KEY, "key", props)], "kms-key-rotation") == expected


RETRY = {"maximumRetryAttempts": 5.0, "maximumEventAgeInSeconds": 3600.0}


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ({"arn": "q", "retryPolicy": RETRY, "deadLetterConfig": {"arn": "dlq"}}, []),
        (
            {"arn": "q", "deadLetterConfig": {"arn": "dlq"}},
            ["target has no retryPolicy"],
        ),
        ({"arn": "q", "retryPolicy": RETRY}, ["target has no deadLetterConfig.arn"]),
        (
            {"arn": "q"},
            ["target has no retryPolicy", "target has no deadLetterConfig.arn"],
        ),
    ],
)
def test_schedule_target(target: dict[str, Any], expected: list[str]) -> None:
    schedule = resource(t.SCHEDULE, "tick", {"target": target})
    assert messages([schedule], "scheduler-target-retry-and-dlq") == expected
