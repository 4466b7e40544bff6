"""SQS policies: encryption, redrive, DLQ pairing, visibility, queue policies, mappings."""

from __future__ import annotations

import json
from typing import Any

import pytest
from policy_helpers import UNKNOWN, cannot_check, doc, messages, resource

from policies import resource_types as t

TLS_DENY = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "sqs:*",
    "Resource": "arn:aws:sqs:us-east-1:123456789012:q",
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def queue(name: str = "work", **props: Any) -> Any:
    return resource(t.QUEUE, name, {"sqsManagedSseEnabled": True, **props})


def redriven(dlq: Any, name: str = "work", count: float = 5.0, **props: Any) -> Any:
    policy = json.dumps({"deadLetterTargetArn": "arn:dlq", "maxReceiveCount": count})
    return resource(
        t.QUEUE,
        name,
        {"sqsManagedSseEnabled": True, "redrivePolicy": policy, **props},
        deps={"redrivePolicy": [dlq]},
    )


# -- encryption ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "props", [{"sqsManagedSseEnabled": True}, {"kmsMasterKeyId": "alias/docpipe"}]
)
def test_encrypted_queue_passes(props: dict[str, Any]) -> None:
    assert messages([resource(t.QUEUE, "q", props)], "sqs-encrypted") == []


@pytest.mark.parametrize("props", [{}, {"sqsManagedSseEnabled": False}])
def test_unencrypted_queue_fails(props: dict[str, Any]) -> None:
    assert messages([resource(t.QUEUE, "q", props)], "sqs-encrypted") == [
        "queue is not encrypted: set sqsManagedSseEnabled or kmsMasterKeyId"
    ]


def test_unknown_key_cannot_be_checked() -> None:
    found = cannot_check([resource(t.QUEUE, "q", {"kmsMasterKeyId": UNKNOWN})], "sqs-encrypted")
    assert [f.level for f in found] == ["advisory"]


# -- maxReceiveCount -------------------------------------------------------------------------


def test_max_receive_count_in_range_passes() -> None:
    assert messages([redriven(queue("dlq"), count=5.0)], "sqs-max-receive-count") == []


@pytest.mark.parametrize(
    ("count", "message"),
    [
        (1.0, "redrive maxReceiveCount 1 is outside 5..20"),
        (50.0, "redrive maxReceiveCount 50 is outside 5..20"),
        (None, "redrive policy has no numeric maxReceiveCount"),
    ],
)
def test_max_receive_count_out_of_range_fails(count: Any, message: str) -> None:
    assert messages([redriven(queue("dlq"), count=count)], "sqs-max-receive-count") == [message]


def test_max_receive_count_bounds_are_configurable_and_apply_to_redrive_resources() -> None:
    policy = resource(t.REDRIVE_POLICY, "rp", {"redrivePolicy": json.dumps({"maxReceiveCount": 3})})
    assert messages([policy], "sqs-max-receive-count") == [
        "redrive maxReceiveCount 3 is outside 5..20"
    ]
    config = {"sqs-max-receive-count": {"minMaxReceiveCount": 3}}
    assert messages([policy], "sqs-max-receive-count", config) == []


# -- work queues, DLQs -----------------------------------------------------------------------


def test_work_queue_with_dlq_passes_and_the_dlq_is_exempt() -> None:
    dlq = queue("dlq", messageRetentionSeconds=1209600.0)
    assert messages([dlq, redriven(dlq)], "sqs-work-queue-has-dlq") == []


def test_dlq_recognised_by_its_redrive_allow_policy() -> None:
    dlq = queue("dlq")
    allow = resource(t.REDRIVE_ALLOW_POLICY, "allow", {}, deps={"queueUrl": [dlq]})
    assert messages([dlq, allow], "sqs-work-queue-has-dlq") == []


def test_work_queue_redriven_by_a_separate_redrive_policy_passes() -> None:
    work, dlq = queue("work"), queue("dlq")
    policy = resource(
        t.REDRIVE_POLICY,
        "rp",
        {"redrivePolicy": json.dumps({"maxReceiveCount": 5})},
        deps={"queueUrl": [work], "redrivePolicy": [dlq]},
    )
    assert messages([work, dlq, policy], "sqs-work-queue-has-dlq") == []


def test_work_queue_without_redrive_fails() -> None:
    assert messages([queue("work")], "sqs-work-queue-has-dlq") == [
        "queue work has no redrive policy: failing messages are retried until they expire"
    ]


def test_dlq_retention_must_exceed_source() -> None:
    dlq = queue("dlq", messageRetentionSeconds=1209600.0)
    source = redriven(dlq, messageRetentionSeconds=345600.0)
    assert messages([dlq, source], "sqs-dlq-retention-longer") == []
    short = queue("dlq", messageRetentionSeconds=345600.0)
    assert messages([short, redriven(short)], "sqs-dlq-retention-longer") == [
        "dead-letter queue dlq keeps messages 345600s, not longer than its source work (345600s)"
    ]


def test_dlq_fifo_must_match_source() -> None:
    fifo_dlq = queue("dlq", fifoQueue=True)
    assert messages([fifo_dlq, redriven(fifo_dlq, fifoQueue=True)], "sqs-dlq-same-type") == []
    assert messages([fifo_dlq, redriven(fifo_dlq)], "sqs-dlq-same-type") == [
        "dead-letter queue dlq is FIFO but its source work is standard"
    ]


# -- visibility vs consumer ------------------------------------------------------------------


def consumer(visibility: float, timeout: float, window: float = 0.0) -> list[Any]:
    work = queue("work", visibilityTimeoutSeconds=visibility)
    function = resource(t.FUNCTION, "fn", {"timeout": timeout})
    mapping = resource(
        t.MAPPING,
        "mapping",
        {"maximumBatchingWindowInSeconds": window},
        deps={"eventSourceArn": [work], "functionName": [function]},
    )
    return [work, function, mapping]


def test_visibility_covering_six_timeouts_and_window_passes() -> None:
    assert messages(consumer(365.0, 60.0, 5.0), "sqs-visibility-covers-function-timeout") == []


def test_visibility_too_low_fails() -> None:
    assert messages(consumer(300.0, 60.0, 5.0), "sqs-visibility-covers-function-timeout") == [
        "queue work visibility timeout 300s is below 6 x function fn timeout 60s + batching "
        "window 5s = 365s"
    ]


def test_visibility_factor_is_configurable() -> None:
    config = {"sqs-visibility-covers-function-timeout": {"factor": 5}}
    resources = consumer(300.0, 60.0)
    assert messages(resources, "sqs-visibility-covers-function-timeout", config) == []


def test_visibility_defaults_when_properties_are_missing() -> None:
    work = resource(t.QUEUE, "work", {})
    function = resource(t.FUNCTION, "fn", {})
    mapping = resource(
        t.MAPPING, "m", {}, deps={"eventSourceArn": [work], "functionName": [function]}
    )
    # SQS default 30 s visibility >= 6 x Lambda default 3 s timeout.
    assert messages([work, function, mapping], "sqs-visibility-covers-function-timeout") == []


# -- queue policies --------------------------------------------------------------------------


def queue_policy(*statements: dict[str, Any], target: Any = None) -> Any:
    deps = {"queueUrl": [target]} if target is not None else None
    return resource(t.QUEUE_POLICY, "qp", {"policy": doc(*statements)}, deps=deps)


S3_SEND = {
    "Sid": "AllowS3",
    "Effect": "Allow",
    "Principal": {"Service": "s3.amazonaws.com"},
    "Action": "sqs:SendMessage",
    "Resource": "arn:q",
    "Condition": {
        "ArnEquals": {"aws:SourceArn": "arn:aws:s3:::b"},
        "StringEquals": {"aws:SourceAccount": "123456789012"},
    },
}


def test_scoped_queue_policy_passes_and_the_tls_deny_is_not_a_wildcard() -> None:
    assert messages([queue_policy(TLS_DENY, S3_SEND)], "sqs-queue-policy-no-wildcards") == []


def test_wildcard_principal_and_action_fail() -> None:
    wide = {"Sid": "Open", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*"}
    other = {"Effect": "Allow", "Principal": {"AWS": "arn:role"}, "Action": ["sqs:*"]}
    assert messages([queue_policy(wide, other)], "sqs-queue-policy-no-wildcards") == [
        "statement Open allows principal *",
        "statement Open allows action *",
        "statement #1 allows action sqs:*",
    ]


def test_every_queue_needs_a_tls_only_policy() -> None:
    work = queue("work")
    assert messages([work, queue_policy(TLS_DENY, target=work)], "sqs-queue-tls-only") == []
    assert messages([work, queue_policy(S3_SEND, target=work)], "sqs-queue-tls-only") == [
        "queue work has no queue policy denying non-TLS access"
    ]
    assert messages([work], "sqs-queue-tls-only") == [
        "queue work has no queue policy denying non-TLS access"
    ]


def test_tls_deny_must_deny_insecure_transport_not_secure() -> None:
    work = queue("work")
    wrong = {**TLS_DENY, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    assert messages([work, queue_policy(wrong, target=work)], "sqs-queue-tls-only") == [
        "queue work has no queue policy denying non-TLS access"
    ]


# -- queues fed by S3 ------------------------------------------------------------------------


def notified(work: Any) -> Any:
    return resource(t.BUCKET_NOTIFICATION, "notification", {}, deps={"queues": [work]})


def test_s3_fed_queue_with_sse_sqs_passes() -> None:
    work = queue("work")
    assert messages([work, notified(work)], "sqs-s3-fed-queue-usable") == []


def test_s3_fed_queue_with_aws_managed_key_or_fifo_fails() -> None:
    work = resource(t.QUEUE, "work", {"kmsMasterKeyId": "alias/aws/sqs", "fifoQueue": True})
    assert messages([work, notified(work)], "sqs-s3-fed-queue-usable") == [
        "queue work is fed by S3 notification notification but encrypted with alias/aws/sqs, "
        "the AWS-managed key, which S3 cannot use",
        "queue work is fed by S3 notification notification but is FIFO, which S3 cannot notify",
    ]


def test_the_aws_managed_key_by_its_alias_arn_fails_too() -> None:
    # The component refused this form while the gate let it pass: one rule now serves both.
    key = "arn:aws:kms:us-east-1:123456789012:alias/aws/sqs"
    work = resource(t.QUEUE, "work", {"kmsMasterKeyId": key})
    assert messages([work, notified(work)], "sqs-s3-fed-queue-usable") == [
        f"queue work is fed by S3 notification notification but encrypted with {key}, "
        "the AWS-managed key, which S3 cannot use",
    ]


def test_aws_managed_key_is_fine_on_a_queue_s3_does_not_feed() -> None:
    work = resource(t.QUEUE, "work", {"kmsMasterKeyId": "alias/aws/sqs"})
    assert messages([work], "sqs-s3-fed-queue-usable") == []


# -- mappings --------------------------------------------------------------------------------


def test_sqs_mapping_reports_batch_item_failures() -> None:
    arn = "arn:aws:sqs:us-east-1:123456789012:work"
    good = {"eventSourceArn": arn, "functionResponseTypes": ["ReportBatchItemFailures"]}
    bad = {"eventSourceArn": arn}
    policy = "sqs-mapping-reports-batch-item-failures"
    assert messages([resource(t.MAPPING, "m", good)], policy) == []
    assert messages([resource(t.MAPPING, "m", bad)], policy) == [
        "functionResponseTypes does not include ReportBatchItemFailures"
    ]
    kinesis = {"eventSourceArn": "arn:aws:kinesis:us-east-1:1:stream/s"}
    assert messages([resource(t.MAPPING, "m", kinesis)], policy) == []
    found = cannot_check([resource(t.MAPPING, "m", {"eventSourceArn": UNKNOWN})], policy)
    assert [f.level for f in found] == ["advisory"]
