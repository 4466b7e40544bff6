"""S3 policies: each bucket's companions, found through the `bucket` property's dependencies."""

from __future__ import annotations

from typing import Any

import pytest
from policy_helpers import doc, messages, resource

from policies import resource_types as t

FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
TLS_DENY = {
    "Effect": "Deny",
    "Principal": {"AWS": "*"},
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def bucket() -> Any:
    return resource(t.BUCKET, "store", {"bucket": "b"})


def companions(store: Any, **overrides: Any) -> list[Any]:
    """A fully compliant set of companions; `overrides` replaces one companion's props."""
    props: dict[str, dict[str, Any]] = {
        t.PUBLIC_ACCESS_BLOCK: dict.fromkeys(FLAGS, True),
        t.BUCKET_ENCRYPTION: {
            "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
        },
        t.BUCKET_VERSIONING: {"versioningConfiguration": {"status": "Enabled"}},
        t.BUCKET_OWNERSHIP: {"rule": {"objectOwnership": "BucketOwnerEnforced"}},
        t.BUCKET_POLICY: {"policy": doc(TLS_DENY)},
        t.BUCKET_LIFECYCLE: {"rules": [{"id": "abort", "status": "Enabled"}]},
    }
    props.update({getattr(t, k): v for k, v in overrides.items()})
    return [
        resource(type_token, type_token.rsplit(":", 1)[-1], p, deps={"bucket": [store]})
        for type_token, p in props.items()
        if p is not None
    ]


STACK_POLICIES = [
    "s3-bucket-public-access-block",
    "s3-bucket-encryption",
    "s3-bucket-versioning",
    "s3-bucket-ownership-enforced",
    "s3-bucket-tls-only",
    "s3-bucket-lifecycle",
]


@pytest.mark.parametrize("policy", [*STACK_POLICIES, "s3-public-access-block-all-four"])
def test_compliant_bucket_passes(policy: str) -> None:
    store = bucket()
    assert messages([store, *companions(store)], policy) == []


@pytest.mark.parametrize(
    ("missing", "policy", "message"),
    [
        ("PUBLIC_ACCESS_BLOCK", "s3-bucket-public-access-block", "has no public access block"),
        ("BUCKET_ENCRYPTION", "s3-bucket-encryption", "has no default encryption"),
        ("BUCKET_VERSIONING", "s3-bucket-versioning", "has no versioning"),
        ("BUCKET_OWNERSHIP", "s3-bucket-ownership-enforced", "has no ownership controls"),
        ("BUCKET_POLICY", "s3-bucket-tls-only", "has no bucket policy"),
        ("BUCKET_LIFECYCLE", "s3-bucket-lifecycle", "has no lifecycle configuration"),
    ],
)
def test_missing_companion_fails(missing: str, policy: str, message: str) -> None:
    store = bucket()
    resources = [store, *companions(store, **{missing: None})]
    assert messages(resources, policy) == [f"bucket store {message}"]


@pytest.mark.parametrize(
    ("kind", "props", "policy", "message"),
    [
        (
            "BUCKET_ENCRYPTION",
            {"rules": [{"bucketKeyEnabled": True}]},
            "s3-bucket-encryption",
            "bucket store: default encryption names no SSE algorithm",
        ),
        (
            "BUCKET_VERSIONING",
            {"versioningConfiguration": {"status": "Suspended"}},
            "s3-bucket-versioning",
            "bucket store: versioning status is Suspended",
        ),
        (
            "BUCKET_OWNERSHIP",
            {"rule": {"objectOwnership": "ObjectWriter"}},
            "s3-bucket-ownership-enforced",
            "bucket store: object ownership is ObjectWriter, not BucketOwnerEnforced",
        ),
        (
            "BUCKET_POLICY",
            {"policy": doc({**TLS_DENY, "Effect": "Allow"})},
            "s3-bucket-tls-only",
            "bucket store: bucket policy does not deny requests without TLS",
        ),
        (
            "BUCKET_LIFECYCLE",
            {"rules": [{"id": "abort", "status": "Disabled"}]},
            "s3-bucket-lifecycle",
            "bucket store: lifecycle configuration has no enabled rule",
        ),
    ],
)
def test_noncompliant_companion_fails(
    kind: str, props: dict[str, Any], policy: str, message: str
) -> None:
    store = bucket()
    assert messages([store, *companions(store, **{kind: props})], policy) == [message]


def test_companion_of_another_bucket_does_not_count() -> None:
    store, other = bucket(), resource(t.BUCKET, "other", {"bucket": "o"})
    resources = [store, other, *companions(other)]
    assert messages(resources, "s3-bucket-versioning") == ["bucket store has no versioning"]


@pytest.mark.parametrize("flag", FLAGS)
def test_public_access_block_flag_off_fails(flag: str) -> None:
    props = {**dict.fromkeys(FLAGS, True), flag: False}
    block = resource(t.PUBLIC_ACCESS_BLOCK, "pab", props)
    assert messages([block], "s3-public-access-block-all-four") == [
        f"public access block flags not true: {flag}"
    ]


def test_public_access_block_missing_flags_fail() -> None:
    block = resource(t.PUBLIC_ACCESS_BLOCK, "pab", {"blockPublicAcls": True})
    assert messages([block], "s3-public-access-block-all-four") == [
        "public access block flags not true: blockPublicPolicy, ignorePublicAcls, "
        "restrictPublicBuckets"
    ]


# -- notification queues ---------------------------------------------------------------------

S3_SEND: dict[str, Any] = {
    "Effect": "Allow",
    "Principal": {"Service": "s3.amazonaws.com"},
    "Action": "sqs:SendMessage",
    "Resource": "arn:q",
    "Condition": {
        "ArnEquals": {"aws:SourceArn": "arn:aws:s3:::b"},
        "StringEquals": {"aws:SourceAccount": "123456789012"},
    },
}


def notification_setup(statement: dict[str, Any] | None) -> list[Any]:
    store = resource(
        t.BUCKET, "store", {"bucket": "b"}, outputs={"bucket": "b", "arn": "arn:aws:s3:::b"}
    )
    work = resource(t.QUEUE, "ocr-queue", {"sqsManagedSseEnabled": True})
    resources = [store, work]
    if statement is not None:
        policy = resource(
            t.QUEUE_POLICY, "qp", {"policy": doc(statement)}, deps={"queueUrl": [work]}
        )
        resources.append(policy)
    notification = resource(
        t.BUCKET_NOTIFICATION, "notify", {}, deps={"bucket": [store], "queues": [work]}
    )
    return [*resources, notification]


def test_notification_queue_policy_with_both_keys_passes() -> None:
    assert messages(notification_setup(S3_SEND), "s3-notification-queue-policy") == []


@pytest.mark.parametrize(
    ("drop", "missing"),
    [("StringEquals", "aws:SourceAccount"), ("ArnEquals", "aws:SourceArn")],
)
def test_notification_queue_policy_without_a_key_fails(drop: str, missing: str) -> None:
    condition = {k: v for k, v in S3_SEND["Condition"].items() if k != drop}
    statement = {**S3_SEND, "Condition": condition}
    assert messages(notification_setup(statement), "s3-notification-queue-policy") == [
        f"queue ocr-queue lets S3 send without {missing} (fed by notify)"
    ]


def test_notification_queue_without_policy_fails() -> None:
    assert messages(notification_setup(None), "s3-notification-queue-policy") == [
        "queue ocr-queue has no queue policy statement allowing s3.amazonaws.com to send "
        "(fed by notify)"
    ]


@pytest.mark.parametrize(
    ("source_arn", "expected"),
    [
        ("arn:aws:s3:::b", []),
        ("arn:aws:s3:::b*", []),  # ArnLike patterns are matched as IAM does
        (
            "arn:aws:s3:::other",
            [
                "queue ocr-queue lets S3 send from aws:SourceArn arn:aws:s3:::other, not from "
                "bucket store (fed by notify)"
            ],
        ),
    ],
)
def test_notification_queue_policy_source_arn_must_be_the_notifying_bucket(
    source_arn: str, expected: list[str]
) -> None:
    condition = {**S3_SEND["Condition"], "ArnLike": {"aws:SourceArn": source_arn}}
    del condition["ArnEquals"]
    statement = {**S3_SEND, "Condition": condition}
    assert messages(notification_setup(statement), "s3-notification-queue-policy") == expected
