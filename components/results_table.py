"""ResultsTable: the DynamoDB table holding one item per document version."""

import re
from collections.abc import Mapping, Sequence
from typing import Any, Required, TypedDict

import pulumi
import pulumi_aws as aws

from components.validation import Problems, coerce, merge, plain

TYPE = "docpipe:index:ResultsTable"
ATTRIBUTE = re.compile(r"^[A-Za-z0-9_.-]{1,255}$")


class TableIndexArgs(TypedDict, total=False):
    """A global secondary index (on-demand, like the table)."""

    name: Required[str]
    """Index name."""
    hash_key: Required[str]
    """Partition key of the index (a string attribute)."""
    range_key: str
    """Sort key of the index (a string attribute). Default: none."""
    non_key_attributes: Sequence[str]
    """Attributes the index carries besides the keys. Default: all of them."""


class ResultsTableArgs(TypedDict, total=False):
    """Arguments of ResultsTable; all optional."""

    hash_key: pulumi.Input[str]
    """Partition key (a string attribute). Default `doc_id`."""
    range_key: pulumi.Input[str]
    """Sort key (a string attribute). Default: none."""
    point_in_time_recovery: pulumi.Input[bool]
    """Continuous backups. Default true."""
    deletion_protection: pulumi.Input[bool]
    """DynamoDB deletion protection. Default false (prod: true)."""
    protect: bool
    """Protect the table in Pulumi (`protect` and `retain_on_delete`). Default false."""
    kms_key_arn: pulumi.Input[str]
    """Encrypt with this customer-managed KMS key. Default: the AWS-managed key."""
    ttl_attribute: pulumi.Input[str]
    """Attribute holding an expiry epoch time. Default: no TTL."""
    indexes: Sequence[TableIndexArgs]
    """Global secondary indexes, to query by other keys without a scan. Default: none."""
    tags: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    """Tags for the table. Default: none."""


def validate(name: str, args: ResultsTableArgs) -> dict[str, Any]:
    defaults = {
        "hash_key": "doc_id",
        "point_in_time_recovery": True,
        "deletion_protection": False,
        "protect": False,
    }
    s = merge(defaults, dict(args), {})
    problems = Problems("ResultsTable", name)
    for key in ("hash_key", "range_key", "ttl_attribute"):
        value = plain(s.get(key))
        if value is not None and not ATTRIBUTE.match(value):
            problems.add(key, f"{value!r} is not a valid attribute name")
    if plain(s.get("range_key")) is not None and s.get("range_key") == s.get("hash_key"):
        problems.add("range_key", "must differ from hash_key")
    names = [index.get("name") for index in s.get("indexes") or []]
    for index in s.get("indexes") or []:
        for key in ("name", "hash_key", "range_key"):
            value = index.get(key)
            if value is not None and not ATTRIBUTE.match(value):
                problems.add("indexes", f"{key} {value!r} is not a valid name")
        if names.count(index.get("name")) > 1:
            problems.add("indexes", f"index {index.get('name')!r} is defined twice")
    problems.raise_if_any()
    return s


class ResultsTable(pulumi.ComponentResource):
    """An on-demand DynamoDB table with point-in-time recovery and encryption at rest."""

    table_name: pulumi.Output[str]
    """Name of the table."""
    table_arn: pulumi.Output[str]
    """ARN of the table."""

    def __init__(
        self, name: str, args: ResultsTableArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        s = validate(name, coerce(ResultsTableArgs, args, "ResultsTable", name))
        super().__init__(TYPE, name, None, opts)
        keys: dict[str, Any] = {"hash_key": s["hash_key"]}
        if s.get("range_key") is not None:
            keys["range_key"] = s["range_key"]
        indexes = [_index(index) for index in s.get("indexes") or []]
        key_names = [*keys.values()]
        key_names += [i[k] for i in indexes for k in ("hash_key", "range_key") if k in i]
        # DynamoDB wants each key attribute declared once, and only key attributes.
        attributes: list[Any] = [{"name": n, "type": "S"} for n in dict.fromkeys(key_names)]
        if indexes:
            keys["global_secondary_indexes"] = indexes
        encryption: Any = {"enabled": True}
        if s.get("kms_key_arn") is not None:
            encryption["kms_key_arn"] = s["kms_key_arn"]
        optional: dict[str, Any] = {}
        if s.get("ttl_attribute") is not None:
            optional["ttl"] = {"attribute_name": s["ttl_attribute"], "enabled": True}
        kept: dict[str, Any] = {"protect": True, "retain_on_delete": True} if s["protect"] else {}
        self.table = aws.dynamodb.Table(
            f"{name}-table",
            billing_mode="PAY_PER_REQUEST",
            attributes=attributes,
            point_in_time_recovery={"enabled": s["point_in_time_recovery"]},
            server_side_encryption=encryption,
            deletion_protection_enabled=s["deletion_protection"],
            tags=s.get("tags"),
            opts=pulumi.ResourceOptions(parent=self, **kept),
            **keys,
            **optional,
        )
        self.table_name, self.table_arn = self.table.name, self.table.arn
        self.register_outputs({"table_name": self.table_name, "table_arn": self.table_arn})


def _index(index: Mapping[str, Any]) -> dict[str, Any]:
    gsi: dict[str, Any] = {"name": index["name"], "hash_key": index["hash_key"]}
    if index.get("range_key") is not None:
        gsi["range_key"] = index["range_key"]
    if index.get("non_key_attributes"):
        gsi.update(projection_type="INCLUDE", non_key_attributes=list(index["non_key_attributes"]))
    else:
        gsi["projection_type"] = "ALL"
    return gsi
