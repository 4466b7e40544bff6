"""The document ledger in DynamoDB (contract/ledger.py): read a document's status, move it
forward, settle it.

Every write is one conditional UpdateItem: the item is created if missing, and only moves
forward (`status_rank` grows), so a replayed message or a slow duplicate never regresses a
document and never overwrites a settled one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from contract import ledger
from contract import settings as env
from contract.errors import DocumentError
from contract.ledger import Attr
from contract.messages import Source
from handlers import runtime

MAX_REASON_CHARS = 1000


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def status_of(doc_id: str) -> str | None:
    """The document's status, or None when the ledger has no item for it."""
    response = runtime.client("dynamodb").get_item(
        TableName=env.TABLE.read(),
        Key={ledger.KEY: {"S": doc_id}},
        ProjectionExpression="#status",
        ExpressionAttributeNames={"#status": Attr.STATUS},
        ConsistentRead=True,
    )
    value = response.get("Item", {}).get(Attr.STATUS, {}).get("S")
    return str(value) if value is not None else None


def read(doc_id: str) -> dict[str, Any] | None:
    """The document's item as plain values (numbers as Decimal), or None when it has none."""
    from boto3.dynamodb.types import TypeDeserializer

    response = runtime.client("dynamodb").get_item(
        TableName=env.TABLE.read(), Key={ledger.KEY: {"S": doc_id}}, ConsistentRead=True
    )
    item = response.get("Item")
    if item is None:
        return None
    deserializer = TypeDeserializer()
    return {name: deserializer.deserialize(value) for name, value in item.items()}


def passed(doc_id: str, stage: str) -> str | None:
    """The document's status when it has already gone past `stage` (or been settled): a
    message about it is then a replay, the stage's work and hand-off happened. Else None."""
    status = status_of(doc_id)
    if status is not None and ledger.rank(status) >= ledger.rank(ledger.stage_done(stage)):
        return status
    return None


def advance(source: Source, stage: str, status: str, **attributes: Any) -> bool:
    """Move the document to `status`; False when it is already there or further."""
    stamp = now()
    values = {
        Attr.STATUS: status,
        Attr.RANK: ledger.rank(status),
        Attr.STAGE: stage,
        Attr.UPDATED_AT: stamp,
        Attr.stage_time(stage): stamp,
        Attr.SOURCE_BUCKET: source.bucket,
        Attr.SOURCE_KEY: source.key,
        Attr.SOURCE_ETAG: source.etag,
        Attr.SOURCE_VERSION: source.version_id,
        **attributes,
    }
    return _update(source.doc_id, {k: v for k, v in values.items() if v is not None})


def reject(source: Source, stage: str, error: DocumentError, **attributes: Any) -> bool:
    """Settle the document as rejected, with the stage, the error type and a human reason."""
    return advance(
        source,
        stage,
        ledger.REJECTED,
        **{
            Attr.ERROR_STAGE: stage,
            Attr.ERROR_TYPE: type(error).__name__,
            Attr.ERROR_MESSAGE: error.problem[:MAX_REASON_CHARS],
            **attributes,
        },
    )


def _update(doc_id: str, values: dict[str, Any]) -> bool:
    names = {f"#a{i}": name for i, name in enumerate(values)}
    placeholders = {name: f":v{i}" for i, name in enumerate(values)}
    dynamodb = runtime.client("dynamodb")
    try:
        dynamodb.update_item(
            TableName=env.TABLE.read(),
            Key={ledger.KEY: {"S": doc_id}},
            UpdateExpression="SET "
            + ", ".join(f"{n} = {placeholders[a]}" for n, a in names.items()),
            ConditionExpression="attribute_not_exists(#key) OR #rank < :rank",
            ExpressionAttributeNames={**names, "#key": ledger.KEY, "#rank": Attr.RANK},
            ExpressionAttributeValues={
                **{placeholders[name]: attribute_value(v) for name, v in values.items()},
                ":rank": attribute_value(values[Attr.RANK]),
            },
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return False
    return True


def attribute_value(value: Any) -> dict[str, Any]:
    """A Python value in DynamoDB's attribute-value format (numbers exact, as strings)."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float | Decimal):
        return {
            "N": format(Decimal(str(round(value, 6) if isinstance(value, float) else value)), "f")
        }
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, dict):
        return {"M": {str(k): attribute_value(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [attribute_value(v) for v in value]}
    raise TypeError(f"no DynamoDB type for {type(value).__name__}")


def count_children(root_doc_id: str, parent_doc_id: str, count: int, limit: int) -> bool:
    """Add a document's `count` children to its tree's total on the upload's item, once per
    parent (a retried parent finds itself counted already). False when the total would pass
    `limit`: the parent is then refused, and nothing of its children stored."""
    from botocore.exceptions import ClientError

    if count > limit:
        return False  # never counted: nothing to find on a retry
    try:
        runtime.client("dynamodb").update_item(
            TableName=env.TABLE.read(),
            Key={ledger.KEY: {"S": root_doc_id}},
            UpdateExpression="ADD #total :count, #counted :parent",
            ConditionExpression="attribute_exists(#key) AND NOT contains(#counted, :parent_id)"
            " AND (attribute_not_exists(#total) OR #total <= :room)",
            ExpressionAttributeNames={
                "#key": ledger.KEY,
                "#total": Attr.DESCENDANTS,
                "#counted": Attr.COUNTED_PARENTS,
            },
            ExpressionAttributeValues={
                ":count": attribute_value(count),
                ":parent": {"SS": [parent_doc_id]},
                ":parent_id": {"S": parent_doc_id},
                ":room": attribute_value(limit - count),
            },
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        return _counted_already(root_doc_id, parent_doc_id)
    return True


def _counted_already(root_doc_id: str, parent_doc_id: str) -> bool:
    response = runtime.client("dynamodb").get_item(
        TableName=env.TABLE.read(), Key={ledger.KEY: {"S": root_doc_id}}, ConsistentRead=True
    )
    if "Item" not in response:  # the upload's item comes first: a transient state, retried
        raise RuntimeError(f"no ledger item for the upload {root_doc_id} to count children on")
    return parent_doc_id in response["Item"].get(Attr.COUNTED_PARENTS, {}).get("SS", [])
