"""Narrow patches that make moto 5.2.5 enforce IAM the way AWS does for our stack.

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

Pinned: pyproject.toml requires moto[server]==5.2.5; `apply_patches` refuses another version
rather than patch code it was not tested against.
"""

from __future__ import annotations

import json
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
    _applied = True
