"""DocumentStore, ResultsTable and ScheduledTrigger: options and validation errors."""

from __future__ import annotations

from typing import Any

import pytest
from component_helpers import build, counts, policy

from components import DocumentStore, ResultsTable, ScheduledTrigger
from mockrun import CapturingMonitor

QUEUE = "arn:aws:sqs:us-east-1:123456789012:jobs"


def errors(raised: pytest.ExceptionInfo[ValueError]) -> list[str]:
    return str(raised.value).splitlines()[1:]


# -- DocumentStore -----------------------------------------------------------------------------


def test_store_without_subscriptions_has_no_notification(monitor: CapturingMonitor) -> None:
    build(monitor, lambda: DocumentStore("docs", {}))
    assert counts(monitor) == {
        "docpipe:index:DocumentStore": 1,
        "aws:s3/bucket:Bucket": 1,
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 1,
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 1,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 1,
        "aws:s3/bucketVersioning:BucketVersioning": 1,
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 1,
        "aws:s3/bucketPolicy:BucketPolicy": 1,
    }
    bucket = monitor.named("docs-bucket")
    assert bucket.inputs == {"forceDestroy": False}  # auto-named
    assert not bucket.protect and not bucket.retain_on_delete


@pytest.mark.parametrize("protect", [True, False])
def test_protection_covers_every_child_of_the_store(
    monitor: CapturingMonitor, protect: bool
) -> None:
    # GIVEN a store with a notification, protected or not
    notification: Any = {"queue_arn": QUEUE, "filter_prefix": "incoming/"}
    build(
        monitor,
        lambda: DocumentStore("docs", {"protect": protect, "queue_notifications": [notification]}),
    )

    # THEN the bucket and each resource configuring it are kept alike: unprotecting the
    # bucket must not delete its public access block, policy, versioning or notification
    children = [r for r in monitor.registrations if r.custom]
    assert sorted(r.name for r in children) == [
        "docs-bucket", "docs-encryption", "docs-lifecycle", "docs-notification",
        "docs-ownership", "docs-policy", "docs-public-access-block", "docs-versioning",
    ]  # fmt: skip
    assert {(r.protect, r.retain_on_delete) for r in children} == {(protect, protect)}


def test_store_merges_every_subscription_into_one_notification(
    monitor: CapturingMonitor,
) -> None:
    build(
        monitor,
        lambda: DocumentStore(
            "docs",
            {
                "bucket_name": "my-docs",
                "protect": True,
                "kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/k",
                "queue_notifications": [
                    {"queue_arn": QUEUE, "filter_prefix": "incoming/"},
                    {
                        "queue_arn": QUEUE + "2",
                        "filter_suffix": ".pdf",
                        "events": ["s3:ObjectRemoved:*"],
                    },
                ],
            },
        ),
    )
    [notification] = monitor.by_type("aws:s3/bucketNotification:BucketNotification")
    assert notification.inputs["queues"] == [
        {"id": "queue-0", "queueArn": QUEUE, "events": ["s3:ObjectCreated:*"],
         "filterPrefix": "incoming/"},
        {"id": "queue-1", "queueArn": QUEUE + "2", "events": ["s3:ObjectRemoved:*"],
         "filterSuffix": ".pdf"},
    ]  # fmt: skip
    bucket = monitor.named("docs-bucket")
    assert bucket.inputs["bucket"] == "my-docs"
    assert bucket.protect and bucket.retain_on_delete
    assert monitor.named("docs-encryption").inputs["rules"] == [
        {
            "applyServerSideEncryptionByDefault": {
                "sseAlgorithm": "aws:kms",
                "kmsMasterKeyId": "arn:aws:kms:us-east-1:123456789012:key/k",
            },
            "bucketKeyEnabled": True,
        }
    ]
    assert monitor.named("docs").outputs == {
        "bucket_name": "my-docs",
        "bucket_arn": "arn:aws:s3:::my-docs",
        "bucket_regional_domain_name": "my-docs.s3.us-east-1.amazonaws.com",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"queue_notifications": [{"queue_arn": QUEUE, "filter_prefix": "incoming/"}],
             "output_prefixes": ["incoming/text/"]},
            "output_prefixes: 'incoming/text/' overlaps the notification prefix 'incoming/': "
            "writing there would trigger the pipeline again, forever",
        ),
        (
            {"queue_notifications": [{"queue_arn": QUEUE}], "output_prefixes": ["text/"]},
            "output_prefixes: 'text/' overlaps the notification prefix '': "
            "writing there would trigger the pipeline again, forever",
        ),
        ({"bucket_name": "My_Bucket"}, "bucket_name: 'My_Bucket' is not a valid S3 bucket name"),
        (
            {"noncurrent_version_expiration_days": 0},
            "noncurrent_version_expiration_days: must be between 1 and 36500, got 0",
        ),
    ],
)  # fmt: skip
def test_store_validation(monitor: CapturingMonitor, args: Any, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        build(monitor, lambda: DocumentStore("docs", args))
    assert errors(raised) == [f"  - {message}"]
    assert monitor.registrations == []


# -- ResultsTable ------------------------------------------------------------------------------


def test_table_options(monitor: CapturingMonitor) -> None:
    build(
        monitor,
        lambda: ResultsTable(
            "results",
            {"range_key": "version", "ttl_attribute": "expires", "deletion_protection": True,
             "point_in_time_recovery": False, "kms_key_arn": "arn:aws:kms:us-east-1:1:key/k"},
        ),
    )  # fmt: skip
    assert monitor.named("results-table").inputs == {
        "billingMode": "PAY_PER_REQUEST",
        "hashKey": "doc_id",
        "rangeKey": "version",
        "attributes": [{"name": "doc_id", "type": "S"}, {"name": "version", "type": "S"}],
        "pointInTimeRecovery": {"enabled": False},
        "serverSideEncryption": {"enabled": True, "kmsKeyArn": "arn:aws:kms:us-east-1:1:key/k"},
        "deletionProtectionEnabled": True,
        "ttl": {"attributeName": "expires", "enabled": True},
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"hash_key": "doc id"}, "hash_key: 'doc id' is not a valid attribute name"),
        ({"range_key": "doc_id"}, "range_key: must differ from hash_key"),
    ],
)
def test_table_validation(monitor: CapturingMonitor, args: Any, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        build(monitor, lambda: ResultsTable("results", args))
    assert errors(raised) == [f"  - {message}"]
    assert monitor.registrations == []


# -- ScheduledTrigger --------------------------------------------------------------------------


def test_schedule_with_window_and_customer_managed_key(monitor: CapturingMonitor) -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/k"
    build(
        monitor,
        lambda: ScheduledTrigger(
            "tick",
            {"queue_arn": QUEUE, "schedule_expression": "cron(0 * * * ? *)",
             "flexible_window_minutes": 5, "enabled": False, "kms_key_arn": key,
             "timezone": "Europe/Paris"},
        ),
    )  # fmt: skip
    schedule = monitor.named("tick-schedule").inputs
    assert schedule["flexibleTimeWindow"] == {"mode": "FLEXIBLE", "maximumWindowInMinutes": 5}
    assert schedule["state"] == "DISABLED"
    assert schedule["scheduleExpressionTimezone"] == "Europe/Paris"
    assert schedule["target"]["input"] == "{}"
    assert policy(monitor.named("tick-role-policy"))["Statement"] == [
        {"Sid": "SendToQueue", "Effect": "Allow", "Action": ["sqs:SendMessage"],
         "Resource": [QUEUE]},
        {"Sid": "EncryptForQueue", "Effect": "Allow",
         "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": [key]},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"queue_arn": QUEUE, "schedule_expression": "every 5 minutes"},
         "schedule_expression: 'every 5 minutes' is not rate(...), cron(...) or at(...)"),
        ({"queue_arn": QUEUE, "schedule_expression": "rate(1 hour)", "message": "{oops"},
         "message: is not JSON: '{oops'"),
        ({"schedule_expression": "rate(1 hour)"}, "queue_arn: is required"),
        ({"queue_arn": QUEUE, "schedule_expression": "rate(1 hour)",
          "maximum_retry_attempts": 200},
         "maximum_retry_attempts: must be between 0 and 185, got 200"),
    ],
)  # fmt: skip
def test_schedule_validation(monitor: CapturingMonitor, args: Any, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        build(monitor, lambda: ScheduledTrigger("tick", args))
    assert errors(raised) == [f"  - {message}"]
    assert monitor.registrations == []
