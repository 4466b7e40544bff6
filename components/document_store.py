"""DocumentStore: the document bucket with AWS Solutions Constructs' secure defaults.

pulumi-aws 7: `s3.Bucket` plus one resource per setting (the bucket's inline sub-configs and
`BucketV2` are deprecated). S3 keeps exactly one notification configuration per bucket, so all
subscriptions go into ONE `BucketNotification` (a second one would overwrite the first).
"""

import re
from collections.abc import Mapping, Sequence
from typing import Any, Required, TypedDict

import pulumi
import pulumi_aws as aws

from components import iam
from components.validation import Problems, check_range, coerce, merge, plain

TYPE = "docpipe:index:DocumentStore"
DEFAULT_EVENTS = ["s3:ObjectCreated:*"]
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class QueueNotificationArgs(TypedDict, total=False):
    """One S3 -> SQS subscription."""

    queue_arn: Required[pulumi.Input[str]]
    """The queue to notify. Pass an Output that depends on the queue's policy (S3 checks it
    can send when the notification is written)."""
    filter_prefix: str
    """Only keys under this prefix (e.g. `incoming/`). Default: every key."""
    filter_suffix: str
    """Only keys with this suffix. Default: none."""
    events: Sequence[str]
    """Event types. Default `["s3:ObjectCreated:*"]`."""


class DocumentStoreArgs(TypedDict, total=False):
    """Arguments of DocumentStore; all optional."""

    bucket_name: pulumi.Input[str]
    """Physical bucket name. Default: auto-named from the component name."""
    force_destroy: pulumi.Input[bool]
    """Let `pulumi destroy` empty the bucket. Default false (dev stacks turn it on)."""
    protect: bool
    """Protect the bucket and every child configuring it (`protect` and `retain_on_delete`).
    Default false (prod: true)."""
    kms_key_arn: pulumi.Input[str]
    """Default encryption with this KMS key (SSE-KMS, bucket key on). Default: SSE-S3."""
    versioning: bool
    """Keep object versions. Default true."""
    noncurrent_version_expiration_days: pulumi.Input[int]
    """Days before a noncurrent version is deleted. Default 30."""
    abort_incomplete_upload_days: pulumi.Input[int]
    """Days before an unfinished multipart upload is aborted. Default 7."""
    queue_notifications: Sequence[QueueNotificationArgs]
    """S3 -> SQS subscriptions, all in the bucket's one notification. Default: none."""
    output_prefixes: Sequence[str]
    """Prefixes code writes to; they must not overlap a notification prefix (a function
    writing under its own trigger prefix loops forever). Default: none."""
    tags: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    """Tags for the bucket. Default: none."""


def _overlap(first: str, second: str) -> bool:
    return first.startswith(second) or second.startswith(first)


def validate(name: str, args: DocumentStoreArgs) -> dict[str, Any]:
    defaults = {
        "force_destroy": False,
        "protect": False,
        "versioning": True,
        "noncurrent_version_expiration_days": 30,
        "abort_incomplete_upload_days": 7,
    }
    s = merge(defaults, dict(args), {})
    problems = Problems("DocumentStore", name)
    bucket_name = plain(s.get("bucket_name"))
    if bucket_name is not None and not BUCKET_NAME.match(bucket_name):
        problems.add("bucket_name", f"{bucket_name!r} is not a valid S3 bucket name")
    check_range(problems, s, "noncurrent_version_expiration_days", 1, 36500)
    check_range(problems, s, "abort_incomplete_upload_days", 1, 36500)
    for notification in s.get("queue_notifications") or []:
        trigger = notification.get("filter_prefix", "")
        for output in s.get("output_prefixes") or []:
            if _overlap(trigger, output):
                problems.add(
                    "output_prefixes",
                    f"{output!r} overlaps the notification prefix {trigger!r}: "
                    "writing there would trigger the pipeline again, forever",
                )
    problems.raise_if_any()
    return s


class DocumentStore(pulumi.ComponentResource):
    """A private, encrypted, versioned S3 bucket: public access blocked, TLS-only policy,
    ACLs disabled, lifecycle clean-up, and one notification holding every subscription."""

    bucket_name: pulumi.Output[str]
    """Name of the bucket."""
    bucket_arn: pulumi.Output[str]
    """ARN of the bucket."""
    bucket_regional_domain_name: pulumi.Output[str]
    """Regional domain name of the bucket."""

    def __init__(
        self, name: str, args: DocumentStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        s = validate(name, coerce(DocumentStoreArgs, args, "DocumentStore", name))
        super().__init__(TYPE, name, None, opts)
        self._name, self._s = name, s
        # Every child, not only the bucket: unprotecting or renaming the component would
        # otherwise delete the retained bucket's public access block, policy, versioning,
        # lifecycle and notification, and leave the data behind them exposed or unprocessed.
        self._kept: dict[str, Any] = (
            {"protect": True, "retain_on_delete": True} if s["protect"] else {}
        )
        bucket_args: dict[str, Any] = {"force_destroy": s["force_destroy"], "tags": s.get("tags")}
        if s.get("bucket_name") is not None:
            bucket_args["bucket"] = s["bucket_name"]
        self.bucket = aws.s3.Bucket(f"{name}-bucket", **bucket_args, opts=self._child())
        self._configure()
        self.notification = self._notify()
        self.bucket_name, self.bucket_arn = self.bucket.bucket, self.bucket.arn
        self.bucket_regional_domain_name = self.bucket.bucket_regional_domain_name
        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "bucket_arn": self.bucket_arn,
                "bucket_regional_domain_name": self.bucket_regional_domain_name,
            }
        )

    def _child(self, **extra: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **self._kept, **extra)

    def _configure(self) -> None:
        name, s, bucket = self._name, self._s, self.bucket
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=self._child(),
        )
        self.ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},  # ACLs disabled
            opts=self._child(),
        )
        self.encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption", bucket=bucket.id, rules=[self._encryption_rule()],
            opts=self._child(),
        )  # fmt: skip
        self.versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled" if s["versioning"] else "Suspended"},
            opts=self._child(),
        )
        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=self._lifecycle_rules(),
            # Noncurrent-version rules act on the versioning state: configure it first.
            opts=self._child(depends_on=[self.versioning]),
        )
        self.policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket.id,
            policy=iam.to_json(
                [iam.tls_only([bucket.arn, pulumi.Output.concat(bucket.arn, "/*")], "s3:*")]
            ),
            # S3 rejects concurrent PutBucketPolicy/PutPublicAccessBlock (OperationAborted).
            opts=self._child(depends_on=[self.public_access_block]),
        )

    def _encryption_rule(self) -> Any:
        key = self._s.get("kms_key_arn")
        if key is None:
            return {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}
        return {
            "apply_server_side_encryption_by_default": {
                "sse_algorithm": "aws:kms",
                "kms_master_key_id": key,
            },
            "bucket_key_enabled": True,  # fewer KMS calls, lower cost
        }

    def _lifecycle_rules(self) -> list[Any]:
        s = self._s
        return [
            {
                "id": "abort-incomplete-uploads",
                "status": "Enabled",
                "filter": {"prefix": ""},
                "abort_incomplete_multipart_upload": {
                    "days_after_initiation": s["abort_incomplete_upload_days"]
                },
            },
            {
                "id": "expire-noncurrent-versions",
                "status": "Enabled",
                "filter": {"prefix": ""},
                "noncurrent_version_expiration": {
                    "noncurrent_days": s["noncurrent_version_expiration_days"]
                },
            },
        ]

    def _notify(self) -> aws.s3.BucketNotification | None:
        notifications = self._s.get("queue_notifications") or []
        if not notifications:
            return None
        queues: list[Any] = []
        for index, notification in enumerate(notifications):
            queue: dict[str, Any] = {
                "id": f"queue-{index}",
                "queue_arn": notification["queue_arn"],
                "events": list(notification.get("events") or DEFAULT_EVENTS),
            }
            for key in ("filter_prefix", "filter_suffix"):
                if notification.get(key):
                    queue[key] = notification[key]
            queues.append(queue)
        return aws.s3.BucketNotification(
            f"{self._name}-notification",
            bucket=self.bucket.id,
            queues=queues,
            opts=self._child(depends_on=[self.policy]),
        )
