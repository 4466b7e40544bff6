"""S3: every bucket has its companion resources (pulumi-aws 7 splits them out of `s3.Bucket`).

Companions are found through the `bucket` property's dependencies, so a companion that names
the bucket by a literal string is not counted (and neither would the engine order it).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from policies import resource_types as t
from policies._common import (
    MANDATORY,
    allow_statements,
    as_list,
    condition_keys,
    for_type,
    framework,
    is_tls_only_deny,
    json_document,
    of_type,
    referrers,
    resource_policy,
    sources_of,
    stack_policy,
    statements,
)

PUBLIC_ACCESS_FLAGS = (
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
)
ENCRYPTION_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")

# A companion check returns the problem with one companion, or None when it is fine.
CompanionCheck = Callable[[PolicyResource], "str | None"]


def _companion_policy_check(
    companion_type: str, missing: str, check: CompanionCheck
) -> Callable[[StackValidationArgs, ReportViolation], None]:
    """Each bucket needs one companion of `companion_type` for which `check` finds no problem."""

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        resources = list(args.resources)
        for bucket in of_type(resources, t.BUCKET):
            companions = referrers(resources, companion_type, "bucket", bucket)
            if not companions:
                report(f"bucket {bucket.name} has no {missing}", bucket.urn)
                continue
            problems = [p for p in (check(c) for c in companions) if p]
            if len(problems) == len(companions):
                report(f"bucket {bucket.name}: {problems[0]}", bucket.urn)

    return validate


# -- public access block ---------------------------------------------------------------------


@for_type(t.PUBLIC_ACCESS_BLOCK)
def check_public_access_flags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    off = [flag for flag in PUBLIC_ACCESS_FLAGS if args.props.get(flag) is not True]
    if off:
        report(f"public access block flags not true: {', '.join(off)}", None)


public_access_block_all_four = resource_policy(
    "s3-public-access-block-all-four",
    "S3 public access blocks turn on all four flags.",
    check_public_access_flags,
    level=MANDATORY,
    severity=Severity.HIGH,
    # https://docs.bridgecrew.io/docs/bc_aws_s3_19 (CKV_AWS_53..56, one per flag)
    matches=framework("checkov", "CKV_AWS_53", "S3 bucket has block public ACLs enabled"),
    also_matches=["checkov:CKV_AWS_54", "checkov:CKV_AWS_55", "checkov:CKV_AWS_56"],
    remediation="Set block_public_acls, block_public_policy, ignore_public_acls and "
    "restrict_public_buckets to True.",
)


bucket_public_access_block = stack_policy(
    "s3-bucket-public-access-block",
    "Every S3 bucket has its own public access block.",
    _companion_policy_check(t.PUBLIC_ACCESS_BLOCK, "public access block", lambda _: None),
    level=MANDATORY,
    severity=Severity.HIGH,
    # https://docs.bridgecrew.io/docs/s3-bucket-should-have-public-access-blocks-defaults-to-false-if-the-public-access-block-is-not-attached
    matches=framework("checkov", "CKV2_AWS_6", "S3 bucket has a public access block"),
    also_matches=["aws-config:s3-bucket-level-public-access-prohibited"],
    remediation="Add an s3.BucketPublicAccessBlock with `bucket=bucket.id` and all four flags.",
)


# -- encryption, versioning, ownership -------------------------------------------------------


def _encryption_problem(config: PolicyResource) -> str | None:
    for rule in as_list(config.props.get("rules")):
        default = rule.get("applyServerSideEncryptionByDefault") or {}
        if default.get("sseAlgorithm") in ENCRYPTION_ALGORITHMS:
            return None
    return "default encryption names no SSE algorithm"


bucket_encryption = stack_policy(
    "s3-bucket-encryption",
    "Every S3 bucket has default server-side encryption.",
    _companion_policy_check(t.BUCKET_ENCRYPTION, "default encryption", _encryption_problem),
    level=MANDATORY,
    severity=Severity.HIGH,
    # https://docs.bridgecrew.io/docs/s3_14-data-encrypted-at-rest
    matches=framework("checkov", "CKV_AWS_19", "S3 bucket data is encrypted at rest"),
    also_matches=["checkov:CKV_AWS_145", "aws-config:s3-bucket-server-side-encryption-enabled"],
    remediation="Add an s3.BucketServerSideEncryptionConfiguration (AES256 or aws:kms).",
)


def _versioning_problem(versioning: PolicyResource) -> str | None:
    status = (versioning.props.get("versioningConfiguration") or {}).get("status")
    return None if status == "Enabled" else f"versioning status is {status or 'unset'}"


bucket_versioning = stack_policy(
    "s3-bucket-versioning",
    "Every S3 bucket has versioning enabled.",
    _companion_policy_check(t.BUCKET_VERSIONING, "versioning", _versioning_problem),
    level=MANDATORY,
    severity=Severity.MEDIUM,
    # https://docs.bridgecrew.io/docs/s3_16-enable-versioning
    matches=framework("checkov", "CKV_AWS_21", "S3 bucket has versioning enabled"),
    also_matches=["aws-config:s3-bucket-versioning-enabled"],
    remediation="Add an s3.BucketVersioning with status Enabled.",
)


def _ownership_problem(controls: PolicyResource) -> str | None:
    ownership = (controls.props.get("rule") or {}).get("objectOwnership")
    if ownership == "BucketOwnerEnforced":
        return None
    return f"object ownership is {ownership or 'unset'}, not BucketOwnerEnforced"


bucket_ownership = stack_policy(
    "s3-bucket-ownership-enforced",
    "Every S3 bucket enforces bucket-owner object ownership (ACLs disabled).",
    _companion_policy_check(t.BUCKET_OWNERSHIP, "ownership controls", _ownership_problem),
    level=MANDATORY,
    severity=Severity.MEDIUM,
    # https://docs.bridgecrew.io/docs/ensure-aws-s3-bucket-ownership-controls (ACLs disabled)
    matches=framework("checkov", "CKV2_AWS_65", "S3 bucket access control lists are disabled"),
    also_matches=["aws-config:s3-bucket-acl-prohibited"],
    remediation="Add an s3.BucketOwnershipControls with object_ownership BucketOwnerEnforced.",
)


# -- TLS-only bucket policy ------------------------------------------------------------------


def _tls_problem(policy: PolicyResource) -> str | None:
    if any(is_tls_only_deny(s) for s in statements(json_document(policy.props.get("policy")))):
        return None
    return "bucket policy does not deny requests without TLS"


bucket_tls_only = stack_policy(
    "s3-bucket-tls-only",
    "Every S3 bucket has a policy that denies requests without TLS.",
    _companion_policy_check(t.BUCKET_POLICY, "bucket policy", _tls_problem),
    level=MANDATORY,
    severity=Severity.MEDIUM,
    # https://docs.aws.amazon.com/config/latest/developerguide/s3-bucket-ssl-requests-only.html
    matches=framework("aws-config", "s3-bucket-ssl-requests-only", "S3 requests use TLS"),
    also_matches=["securityhub:S3.5"],
    remediation="Add a Deny for every principal on the bucket and its objects when "
    "`aws:SecureTransport` is false.",
)


# -- lifecycle -------------------------------------------------------------------------------


def _lifecycle_problem(lifecycle: PolicyResource) -> str | None:
    for rule in as_list(lifecycle.props.get("rules")):
        if rule.get("status") == "Enabled":
            return None
    return "lifecycle configuration has no enabled rule"


bucket_lifecycle = stack_policy(
    "s3-bucket-lifecycle",
    "Every S3 bucket has a lifecycle configuration with an enabled rule.",
    _companion_policy_check(t.BUCKET_LIFECYCLE, "lifecycle configuration", _lifecycle_problem),
    level=MANDATORY,
    severity=Severity.LOW,
    # https://docs.bridgecrew.io/docs/bc_aws_s3_41 and CKV_AWS_300 (abort incomplete uploads)
    matches=framework("checkov", "CKV2_AWS_61", "S3 bucket has a lifecycle configuration"),
    also_matches=["checkov:CKV_AWS_300"],
    remediation="Add an s3.BucketLifecycleConfiguration (abort incomplete uploads, expire "
    "noncurrent versions).",
)


# -- queues fed by bucket notifications (stack) ----------------------------------------------


def _s3_send_statement(statement: Any) -> bool:
    principal = statement.get("Principal")
    services = as_list(principal.get("Service")) if hasattr(principal, "get") else []
    actions = [str(a) for a in as_list(statement.get("Action"))]
    return "s3.amazonaws.com" in services and bool({"sqs:SendMessage", "sqs:*"} & set(actions))


def _scoping_problem(statement: Any, bucket: PolicyResource | None) -> str:
    """What keeps this S3 statement from being scoped to the notifying bucket, or ""."""
    keys = condition_keys(statement)
    missing = [key for key in ("aws:SourceArn", "aws:SourceAccount") if key.lower() not in keys]
    if missing:
        return f"lets S3 send without {' and '.join(missing)}"
    bucket_arn = bucket.props.get("arn") if bucket else None
    source_arns = keys["aws:sourcearn"]
    if bucket_arn and not any(fnmatch.fnmatchcase(str(bucket_arn), v) for v in source_arns):
        return (
            f"lets S3 send from aws:SourceArn {', '.join(source_arns)}, not from bucket "
            f"{bucket.name if bucket else ''}"
        )
    return ""


def _notification_queue_problem(
    queue: PolicyResource, bucket: PolicyResource | None, resources: list[PolicyResource]
) -> str:
    problems = []
    for policy in referrers(resources, t.QUEUE_POLICY, "queueUrl", queue):
        for statement in allow_statements(json_document(policy.props.get("policy"))):
            if _s3_send_statement(statement):
                problem = _scoping_problem(statement, bucket)
                if not problem:
                    return ""
                problems.append(problem)
    if problems:
        return f"queue {queue.name} {problems[0]}"
    return f"queue {queue.name} has no queue policy statement allowing s3.amazonaws.com to send"


def check_notification_queue_policies(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    for notification in of_type(resources, t.BUCKET_NOTIFICATION):
        buckets = sources_of(notification, "bucket", t.BUCKET)
        bucket = buckets[0] if buckets else None
        for queue in sources_of(notification, "queues", t.QUEUE):
            problem = _notification_queue_problem(queue, bucket, resources)
            if problem:
                report(f"{problem} (fed by {notification.name})", queue.urn)


notification_queue_policy = stack_policy(
    "s3-notification-queue-policy",
    "Queues fed by S3 notifications allow S3 only with aws:SourceArn (the bucket) and "
    "aws:SourceAccount.",
    check_notification_queue_policies,
    level=MANDATORY,
    severity=Severity.HIGH,
    # Bucket ARNs carry no account, so SourceArn alone is a confused deputy:
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html
    matches=framework("checkov", "CKV_AWS_168", "SQS queue policy limits who may send"),
    also_matches=["aws-docs:confused-deputy"],
    remediation="Allow s3.amazonaws.com sqs:SendMessage with ArnEquals aws:SourceArn (bucket ARN) "
    "and StringEquals aws:SourceAccount (your account).",
)


POLICIES: list[Any] = [
    public_access_block_all_four,
    bucket_public_access_block,
    bucket_encryption,
    bucket_versioning,
    bucket_ownership,
    bucket_tls_only,
    bucket_lifecycle,
    notification_queue_policy,
]
