"""AWS rules that the components, the policy pack and local mode all apply, defined once."""

from __future__ import annotations

import pytest

from contract.aws import is_aws_managed_sqs_key, is_tls_only_deny

TLS_DENY = {
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (TLS_DENY, True),
        ({**TLS_DENY, "Principal": {"AWS": "*"}}, True),
        ({**TLS_DENY, "Effect": "Allow"}, False),
        ({"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket"}, False),
        # A deny that only mentions the key is not the TLS-only pattern: local mode once
        # took any such deny for it and left it out of the emulator's bucket policy.
        ({**TLS_DENY, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}, False),
        ({**TLS_DENY, "Principal": {"AWS": "arn:aws:iam::1:root"}}, False),
    ],
)
def test_tls_only_deny_is_recognised_exactly(statement: dict[str, object], expected: bool) -> None:
    assert is_tls_only_deny(statement) is expected


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("alias/aws/sqs", True),
        ("arn:aws:kms:us-east-1:123456789012:alias/aws/sqs", True),
        ("arn:aws-us-gov:kms:us-gov-west-1:123456789012:alias/aws/sqs", True),
        ("alias/aws/sqs-not", False),
        ("arn:aws:kms:us-east-1:123456789012:alias/my/aws/sqs", False),
        ("arn:aws:kms:us-east-1:123456789012:key/1234", False),
        (None, False),
    ],
)
def test_the_aws_managed_sqs_key_by_alias_or_alias_arn(key: object, expected: bool) -> None:
    assert is_aws_managed_sqs_key(key) is expected
