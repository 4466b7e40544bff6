"""The IAM the collector needs, as named grants for QueueFunction's `policy_statements`.

Pure data, no Pulumi: ARNs that are Outputs at deploy time come in through the arguments
(`objects(prefix)` returns the ARN of the document bucket's objects under a prefix), so the
stack and the tests build exactly the same statements. Each grant is
`{"actions": [...], "resources": [...], "conditions"?: [{"test", "variable", "values"}]}`
(components/iam.py, PolicyStatementArgs); docs/collection.md shows them as JSON.

Beside what QueueFunction gives every function (its own queue, log group, X-Ray):
- every source: s3:PutObject on `<incoming>/<source>/*` of the document bucket, nothing else
  there (no read, no list, no other prefix); dynamodb:BatchGetItem and dynamodb:PutItem on the
  results table, only on items whose key starts with `source#` (dynamodb:LeadingKeys);
- an s3 source, also: s3:ListBucket on its bucket for its prefix (s3:prefix), s3:GetObject on
  `<bucket>/<prefix>*`, both limited to the owner's account (s3:ResourceAccount) when the
  source names it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from contract.ledger import COLLECTOR_KEY_PREFIX as SEEN_KEY_PREFIX
from contract.sources import Source

Grant = dict[str, Any]


def collector_grants(
    sources: Sequence[Source],
    objects: Callable[[str], Any],
    table_arn: Any,
    incoming_prefix: str = "incoming/",
    partition: str = "aws",
) -> dict[str, Grant]:
    """Every grant the collect function's role needs for `sources`, by statement name."""
    grants: dict[str, Grant] = {
        "store-collected": {
            "actions": ["s3:PutObject"],
            "resources": [objects(f"{incoming_prefix}{s.name}/") for s in sources],
        },
        "collect-state": {
            "actions": ["dynamodb:BatchGetItem", "dynamodb:PutItem"],
            "resources": [table_arn],
            # Only the collector's own items: every key it reads or writes starts `source#`.
            # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html
            "conditions": [
                {
                    "test": "ForAllValues:StringLike",
                    "variable": "dynamodb:LeadingKeys",
                    "values": [f"{SEEN_KEY_PREFIX}*"],
                }
            ],
        },
    }
    for source in sources:
        grants.update(source_grants(source, partition))
    return grants


def source_grants(source: Source, partition: str = "aws") -> dict[str, Grant]:
    """What reading an s3 source adds (exactly its bucket and prefix); nothing for the
    other kinds, which reach the internet and no AWS resource."""
    if source.kind != "s3":
        return {}
    bucket = f"arn:{partition}:s3:::{source.bucket}"
    owner = (
        [{"test": "StringEquals", "variable": "s3:ResourceAccount", "values": [source.account]}]
        if source.account
        else []
    )
    prefix = [{"test": "StringLike", "variable": "s3:prefix", "values": [f"{source.prefix}*"]}]
    return {
        f"list-source-{source.name}": _grant(
            ["s3:ListBucket"], [bucket], (prefix if source.prefix else []) + owner
        ),
        f"read-source-{source.name}": _grant(
            ["s3:GetObject"], [f"{bucket}/{source.prefix}*"], owner
        ),
    }


def _grant(actions: list[str], resources: list[Any], conditions: list[Any]) -> Grant:
    grant: Grant = {"actions": actions, "resources": resources}
    if conditions:
        grant["conditions"] = conditions
    return grant


def bucket_policy_statements(
    source: Source, collector_role_arn: str, partition: str = "aws"
) -> list[dict[str, Any]]:
    """What the owner of an s3 source's bucket in another account adds to its bucket policy
    so that the collector's role may read the source (and nothing more of the bucket)."""
    if source.kind != "s3":
        return []
    bucket = f"arn:{partition}:s3:::{source.bucket}"
    principal = {"AWS": collector_role_arn}
    listing: dict[str, Any] = {
        "Sid": "DocpipeCollectList",
        "Effect": "Allow",
        "Principal": principal,
        "Action": "s3:ListBucket",
        "Resource": bucket,
    }
    if source.prefix:
        listing["Condition"] = {"StringLike": {"s3:prefix": f"{source.prefix}*"}}
    return [
        listing,
        {
            "Sid": "DocpipeCollectRead",
            "Effect": "Allow",
            "Principal": principal,
            "Action": "s3:GetObject",
            "Resource": f"{bucket}/{source.prefix}*",
        },
    ]
