"""The document ledger for operators: list documents by status and time, show one, retry.

Listing queries the ledger's status index (`status`, `updated_at`), never scans the table: its
cost follows the documents asked for. A retry resets the document's ledger item and copies the
upload back under its `incoming/` key from where the first stage kept it (`processed/` or
`rejected/`); the same key and the same bytes give the same `doc_id`, so the document keeps
its identity and its history (`retries`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from contract import ledger
from contract.ledger import Attr
from ops.target import Target

_deserializer = TypeDeserializer()


def plain(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as Python values (numbers as int or float)."""
    values = {key: _deserializer.deserialize(value) for key, value in item.items()}
    return {key: _number(value) for key, value in values.items()}


def _number(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _number(v) for k, v in value.items()}
    return value


def list_documents(
    target: Target,
    status: str | None = None,
    category: str | None = None,
    since: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Documents by status (every status when None), newest first within each status, from
    the status index; `since` is an ISO 8601 time, `category` filters done documents."""
    statuses = [status] if status else ledger.statuses()
    unknown = [s for s in statuses if s not in ledger.statuses()]
    if unknown:
        raise ValueError(f"unknown status {unknown[0]!r}; statuses: {ledger.statuses()}")
    found: list[dict[str, Any]] = []
    for each in statuses:
        for item in _query(target, each, category, since):
            found.append(plain(item))
            if limit is not None and len(found) >= limit:
                return found
    return found


def _query(
    target: Target, status: str, category: str | None, since: str | None
) -> Iterator[dict[str, Any]]:
    names = {"#status": Attr.STATUS}
    values: dict[str, Any] = {":status": {"S": status}}
    condition = "#status = :status"
    if since:
        condition += " AND #updated >= :since"
        names["#updated"] = Attr.UPDATED_AT
        values[":since"] = {"S": _iso(since)}
    request: dict[str, Any] = {
        "TableName": target.outputs["table_name"],
        "IndexName": ledger.STATUS_INDEX,
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,
    }
    if category:
        request["FilterExpression"] = "#category = :category"
        names["#category"] = Attr.CATEGORY
        values[":category"] = {"S": category}
    paginator = target.client("dynamodb").get_paginator("query")
    for page in paginator.paginate(**request):
        yield from page.get("Items", [])


def _iso(when: str) -> str:
    """`2026-12-01`, `2026-12-01T10:00` or with an offset: the ledger's UTC form."""
    try:
        moment = datetime.fromisoformat(when)
    except ValueError:
        raise ValueError(f"--since {when!r} is not an ISO 8601 date or time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def show_document(target: Target, doc_id: str) -> dict[str, Any]:
    response = target.client("dynamodb").get_item(
        TableName=target.outputs["table_name"], Key={ledger.KEY: {"S": doc_id}}
    )
    if "Item" not in response:
        raise ValueError(f"no document {doc_id!r} in the ledger")
    return plain(response["Item"])


@dataclass
class Retried:
    doc_id: str
    key: str
    copied_from: str


def retry(target: Target, doc_id: str) -> Retried:
    """Send a document through the pipeline again, from its kept upload."""
    item = show_document(target, doc_id)
    kept = item.get(Attr.ARCHIVED_KEY)
    if not kept:
        raise ValueError(
            f"document {doc_id} has no kept upload (it was never taken from incoming/): "
            f"send it with `docpipe send --file {item.get(Attr.SOURCE_KEY)}`"
        )
    bucket, key = item[Attr.SOURCE_BUCKET], item[Attr.SOURCE_KEY]
    s3 = target.client("s3")
    head = s3.head_object(Bucket=bucket, Key=kept)
    if str(head["ETag"]).strip('"') != item[Attr.SOURCE_ETAG]:
        raise ValueError(f"{kept} is no longer the upload of {doc_id} (its ETag changed)")
    _reset(target, item)
    # The copy is a new upload under the original key, with the same bytes: the bucket's
    # notification starts the pipeline, and the same key and ETag give the same doc_id.
    s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": kept})
    return Retried(doc_id, key, kept)


def _reset(target: Target, item: dict[str, Any]) -> None:
    """Back to `received`, the error forgotten, the retry counted: the stages then take the
    document again instead of skipping it as a replay."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    target.client("dynamodb").update_item(
        TableName=target.outputs["table_name"],
        Key={ledger.KEY: {"S": item[ledger.KEY]}},
        UpdateExpression=(
            "SET #status = :received, #rank = :zero, #updated = :now, "
            "#retries = if_not_exists(#retries, :zero) + :one "
            "REMOVE #error_stage, #error_type, #error_message"
        ),
        ExpressionAttributeNames={
            "#status": Attr.STATUS,
            "#rank": Attr.RANK,
            "#updated": Attr.UPDATED_AT,
            "#retries": Attr.RETRIES,
            "#error_stage": Attr.ERROR_STAGE,
            "#error_type": Attr.ERROR_TYPE,
            "#error_message": Attr.ERROR_MESSAGE,
        },
        ExpressionAttributeValues={
            ":received": {"S": ledger.RECEIVED},
            ":zero": {"N": "0"},
            ":one": {"N": "1"},
            ":now": {"S": now},
        },
    )
