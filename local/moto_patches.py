"""Narrow patches that make moto 5.2.5 behave as AWS does where our stack depends on it.

moto authorises a request against a resource ARN only for services whose response handler
defines `_determine_resource` (S3, SQS, IAM, STS). DynamoDB has none, so moto checks every
DynamoDB call against the resource `*`: a role whose policy names its table ARN (as ours do,
least privilege) is denied everything. The patch gives DynamoDB's handler that method, naming
the table the request addresses, so policies scoped to a table behave as on AWS.

moto also checks SQS batch calls as actions of their own (`sqs:SendMessageBatch`,
`sqs:DeleteMessageBatch`, `sqs:ChangeMessageVisibilityBatch`). IAM has no such actions: AWS
authorises a batch as its single-message action, so a role allowed `sqs:DeleteMessage` may
call DeleteMessageBatch. The second patch maps the batch actions to those.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html

A third patch is for speed only, with the same answers: moto rebuilds every queue attribute,
counting all messages three times, whenever code reads one (`queue.attributes.get(...)`),
and it does so for every message it sends and for every message a receive looks at. With
2,000 messages waiting, one ReceiveMessage took 0.5 s. The patch returns a read-only mapping
that computes an attribute when it is read.

S3 event notifications lack the object's `versionId`, which AWS sends for a versioned
bucket. Without it the first stage reads the latest version: of two uploads under one key in
quick succession, the first is never processed and the second is processed twice. The fourth
patch adds it to every event record of a versioned object (the size is there already).
https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html

With IAM authentication on, a request without an `Authorization` header crashes moto's
signature check (a KeyError: HTTP 500). AWS refuses it with 403: `AccessDenied` from S3,
`MissingAuthenticationToken` from the other services. The fifth patch answers that.

Pinned: pyproject.toml requires moto[server]==5.2.5; `apply_patches` refuses another version
rather than patch code it was not tested against.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

PATCHED_MOTO_VERSION = "5.2.5"


class UnsupportedMotoVersion(RuntimeError):
    """The patches were written and tested against one moto version."""


def _single_table_name(body: dict[str, Any]) -> str | None:
    """The table a DynamoDB request addresses, when it addresses exactly one."""
    if isinstance(body.get("TableName"), str):
        return str(body["TableName"])
    # BatchGetItem / BatchWriteItem name their tables as keys of RequestItems. AWS checks each
    # table; moto checks one resource per request, so only a one-table batch is scoped.
    items = body.get("RequestItems")
    if isinstance(items, dict) and len(items) == 1:
        return str(next(iter(items)))
    return None


def dynamodb_table_arn(handler: Any) -> str:
    """`_determine_resource` for moto's DynamoHandler: the table's ARN, else `*`."""
    try:
        body = json.loads(handler.raw_body or b"{}")
    except (TypeError, ValueError):
        return "*"
    name = _single_table_name(body) if isinstance(body, dict) else None
    if name is None:
        return "*"
    if name.startswith("arn:"):  # DynamoDB accepts a table ARN wherever it takes a name
        return name
    return f"arn:aws:dynamodb:{handler.region}:{handler.current_account}:table/{name}"


# IAM authorises each SQS batch call as the action for one message.
SQS_BATCH_ACTIONS = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}
_applied = False


class QueueAttributes(Mapping[str, Any]):
    """moto's `Queue.attributes`, computed on access instead of all at once."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue
        names = list(queue.BASE_ATTRIBUTES)
        if queue.fifo_queue:
            names += queue.FIFO_ATTRIBUTES
        if queue.kms_master_key_id:
            names += queue.KMS_ATTRIBUTES
        if queue.policy:
            names.append("Policy")
        if queue.redrive_policy:
            names.append("RedrivePolicy")
        self._names = list(dict.fromkeys(names))  # moto's dict keeps one entry per name

    def __getitem__(self, name: str) -> Any:
        from moto.core.utils import camelcase_to_underscores

        if name not in self._names:
            raise KeyError(name)
        # moto overrides these two only when set (they are base attributes too).
        if name == "Policy" and self._queue.policy:
            return self._queue.policy
        if name == "RedrivePolicy" and self._queue.redrive_policy:
            return json.dumps(self._queue.redrive_policy)
        value = getattr(self._queue, camelcase_to_underscores(name))
        return str(value).lower() if isinstance(value, bool) else value  # as moto renders it

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


# moto's own property, kept so a test can compare both answers on the same queue.
original_queue_attributes: Any = None


def _patch_queue_attributes() -> None:
    global original_queue_attributes
    from moto.sqs.models import Queue

    original_queue_attributes = Queue.attributes
    Queue.attributes = property(QueueAttributes)  # type: ignore[assignment,method-assign]


def iam_action(action: str) -> str:
    """The IAM action a request is authorised as."""
    return SQS_BATCH_ACTIONS.get(action, action)


def _patch_batch_actions() -> None:
    from moto.iam.access_control import IAMRequestBase

    original_init = IAMRequestBase.__init__

    def init_with_iam_action(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self._action = iam_action(self._action)

    IAMRequestBase.__init__ = init_with_iam_action  # type: ignore[method-assign]


def with_version_id(event: dict[str, Any], key: Any) -> dict[str, Any]:
    """An S3 event as moto built it, with the object's version id as AWS sends it."""
    if getattr(key, "_version_id", None) not in (None, "null"):
        for record in event.get("Records", []):
            record["s3"]["object"]["versionId"] = key.version_id
    return event


def _patch_event_version_ids() -> None:
    from moto.s3 import notifications

    build_event = notifications._get_s3_event

    def s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> Any:
        return with_version_id(build_event(event_name, bucket, key, notification_id), key)

    notifications._get_s3_event = s3_event


def missing_authentication(iam_request_class: type) -> Exception:
    """What AWS answers a request that carries no signature at all (HTTP 403)."""
    from moto.core.exceptions import _RESTError
    from moto.iam.access_control import S3IAMRequest
    from moto.s3.exceptions import S3AccessDeniedError

    if issubclass(iam_request_class, S3IAMRequest):
        return S3AccessDeniedError()

    class MissingAuthenticationToken(_RESTError):
        code = 403

    return MissingAuthenticationToken(
        "MissingAuthenticationToken", "Request is missing Authentication Token"
    )


def _patch_unsigned_requests() -> None:
    from moto.iam.access_control import IAMRequestBase

    init = IAMRequestBase.__init__

    def refuse_unsigned(self: Any, *args: Any, **kwargs: Any) -> None:
        if "Authorization" not in kwargs["headers"]:
            raise missing_authentication(type(self))
        init(self, *args, **kwargs)

    IAMRequestBase.__init__ = refuse_unsigned  # type: ignore[method-assign]


def apply_patches() -> None:
    """Idempotent: the emulator may start several times in one process."""
    global _applied
    import moto
    from moto.dynamodb.responses import DynamoHandler

    if moto.__version__ != PATCHED_MOTO_VERSION:
        raise UnsupportedMotoVersion(
            f"local mode patches moto {PATCHED_MOTO_VERSION}, found {moto.__version__}"
        )
    if _applied:
        return
    DynamoHandler._determine_resource = dynamodb_table_arn  # type: ignore[attr-defined]
    _patch_batch_actions()
    _patch_queue_attributes()
    _patch_event_version_ids()
    _patch_unsigned_requests()
    _applied = True
