"""The bucket, its one notification, the table, the sweep schedule and prod's protections."""

from __future__ import annotations

import json

import pytest
from stack_helpers import stack_run

ACCOUNT = "123456789012"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_one_notification_on_incoming_after_the_queue_policy(stack: str) -> None:
    run = stack_run(stack)
    [notification] = run.by_type("aws:s3/bucketNotification:BucketNotification")
    bucket = run.named("docpipe-store-bucket")
    ocr_queue = run.named("docpipe-ocr-queue")
    assert notification.inputs == {
        "bucket": bucket.state["bucket"],
        "queues": [
            {
                "id": "queue-0",
                "queueArn": ocr_queue.state["arn"],
                "events": ["s3:ObjectCreated:*"],
                "filterPrefix": "incoming/",
            }
        ],
    }
    queue_policy = run.named("docpipe-ocr-queue-policy")
    assert queue_policy.urn in notification.dependencies
    assert queue_policy.urn in notification.property_dependencies["queues"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_s3_may_send_to_the_ocr_queue_only_for_this_bucket_and_account(stack: str) -> None:
    run = stack_run(stack)
    bucket = run.named("docpipe-store-bucket").state
    queue_arn = run.named("docpipe-ocr-queue").state["arn"]
    policy = json.loads(run.named("docpipe-ocr-queue-policy").inputs["policy"])
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allows == [
        {
            "Sid": "Producer0Send",
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {
                "ArnEquals": {"aws:SourceArn": bucket["arn"]},
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
            },
        }
    ]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_bucket_secure_defaults(stack: str) -> None:
    run = stack_run(stack)
    bucket = run.named("docpipe-store-bucket")
    name = bucket.state["bucket"]
    assert run.named("docpipe-store-public-access-block").inputs == {
        "bucket": name,
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }
    assert run.named("docpipe-store-ownership").inputs == {
        "bucket": name,
        "rule": {"objectOwnership": "BucketOwnerEnforced"},
    }
    assert run.named("docpipe-store-encryption").inputs == {
        "bucket": name,
        "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}],
    }
    assert run.named("docpipe-store-versioning").inputs == {
        "bucket": name,
        "versioningConfiguration": {"status": "Enabled"},
    }
    lifecycle = run.named("docpipe-store-lifecycle")
    assert lifecycle.inputs["rules"] == [
        {
            "id": "abort-incomplete-uploads",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7},
        },
        {
            "id": "expire-noncurrent-versions",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "noncurrentVersionExpiration": {"noncurrentDays": 30},
        },
    ]
    assert run.named("docpipe-store-versioning").urn in lifecycle.dependencies
    policy = run.named("docpipe-store-policy")
    assert json.loads(policy.inputs["policy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket.state["arn"], bucket.state["arn"] + "/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
    assert run.named("docpipe-store-public-access-block").urn in policy.dependencies


def test_dev_is_destroyable() -> None:
    run = stack_run("dev")
    bucket, table = run.named("docpipe-store-bucket"), run.named("docpipe-results-table")
    assert bucket.inputs["forceDestroy"] is True
    assert table.inputs["deletionProtectionEnabled"] is False
    protected = [r.name for r in run.registrations if r.protect or r.retain_on_delete]
    assert protected == []
    assert run.by_type("aws:sns/topic:Topic") == []
    alarms = run.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert {tuple(a.inputs["alarmActions"]) for a in alarms} == {()}


def test_prod_protects_data() -> None:
    # every protected resource: tests/stack/test_stack_prod.py
    run = stack_run("prod")
    bucket, table = run.named("docpipe-store-bucket"), run.named("docpipe-results-table")
    assert bucket.inputs["forceDestroy"] is False
    assert table.inputs["deletionProtectionEnabled"] is True
    assert bucket.protect and bucket.retain_on_delete and table.protect and table.retain_on_delete


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_results_table(stack: str) -> None:
    table = stack_run(stack).named("docpipe-results-table").inputs
    assert table == {
        "billingMode": "PAY_PER_REQUEST",
        "hashKey": "doc_id",
        "attributes": [
            {"name": "doc_id", "type": "S"},
            {"name": "status", "type": "S"},
            {"name": "updated_at", "type": "S"},
        ],
        # the ledger's index: what is received, rejected or done since T, without a scan
        "globalSecondaryIndexes": [
            {
                "name": "by-status",
                "hashKey": "status",
                "rangeKey": "updated_at",
                "projectionType": "INCLUDE",
                "nonKeyAttributes": [
                    "source_key",
                    "stage",
                    "category",
                    "confidence",
                    "error_stage",
                    "error_type",
                    "error_message",
                ],
            }
        ],
        "pointInTimeRecovery": {"enabled": True},
        "serverSideEncryption": {"enabled": True},
        "deletionProtectionEnabled": stack == "prod",
        "tags": {"project": "docpipe", "stack": stack},
    }


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_alarms_per_stage(stack: str) -> None:
    run = stack_run(stack)
    dlq = run.named("docpipe-ocr-dlq").state["name"]
    depth = run.named("docpipe-ocr-dlq-depth-alarm").inputs
    assert {k: depth[k] for k in ("namespace", "metricName", "dimensions", "threshold")} == {
        "namespace": "AWS/SQS",
        "metricName": "ApproximateNumberOfMessagesVisible",
        "dimensions": {"QueueName": dlq},
        "threshold": 0,
    }
    assert depth["comparisonOperator"] == "GreaterThanThreshold"
    # every alarm with its exact inputs: tests/stack/test_stack_alarms.py


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_sweep_schedule_sends_to_the_sweep_queue_with_a_scoped_role(stack: str) -> None:
    run = stack_run(stack)
    schedule = run.named("docpipe-sweep-schedule-schedule")
    role = run.named("docpipe-sweep-schedule-role")
    sweep_queue = run.named("docpipe-sweep-queue").state["arn"]
    sweep_dlq = run.named("docpipe-sweep-dlq").state["arn"]
    assert schedule.inputs["scheduleExpression"] == "rate(15 minutes)"
    assert schedule.inputs["flexibleTimeWindow"] == {"mode": "OFF"}
    assert schedule.inputs["target"] == {
        "arn": sweep_queue,
        "roleArn": role.state["arn"],
        "input": '{"version": 1, "kind": "sweep"}',
        "retryPolicy": {"maximumRetryAttempts": 5, "maximumEventAgeInSeconds": 3600},
        "deadLetterConfig": {"arn": sweep_dlq},
    }
    role_policy = run.named("docpipe-sweep-schedule-role-policy")
    assert role_policy.urn in schedule.dependencies
    assert json.loads(role_policy.inputs["policy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "SendToQueue",
                "Effect": "Allow",
                "Action": ["sqs:SendMessage"],
                "Resource": [sweep_queue],
            },
            {
                "Sid": "SendToDeadLetterQueue",
                "Effect": "Allow",
                "Action": ["sqs:SendMessage"],
                "Resource": [sweep_dlq],
            },
        ],
    }
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }
    ]
