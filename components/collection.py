"""What collecting from an `s3` source adds to the collect function's role, and what the owner
of a bucket in another account adds to its bucket policy.

The collect stage's own grants come from its stage table entry like every stage's (put under
`incoming/`, its own `source#` items in the table: components/stage_wiring.py); an `s3`
source also needs to list and read exactly its bucket and prefix, limited to the owner's
account (s3:ResourceAccount) when the source names it. Web sources reach no AWS resource.
"""

from __future__ import annotations

from typing import Any

import pulumi

from contract.sources import Source

Grant = dict[str, Any]


def source_grants(source: Source, partition: Any = "aws") -> dict[str, Grant]:
    """What reading an s3 source adds (exactly its bucket and prefix); nothing for the
    other kinds, which reach the internet and no AWS resource. `partition` may be an Output
    (the stack's partition, known at deploy time)."""
    if source.kind != "s3":
        return {}
    bucket = _join("arn:", partition, ":s3:::", source.bucket or "")
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
            ["s3:GetObject"], [_join(bucket, "/", source.prefix, "*")], owner
        ),
    }


def _join(*parts: Any) -> Any:
    """The parts as one string; an Output when one of them is (the stack's partition)."""
    if any(isinstance(part, pulumi.Output) for part in parts):
        return pulumi.Output.concat(*parts)
    return "".join(parts)


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
