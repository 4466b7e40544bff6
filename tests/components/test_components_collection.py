"""The collector's IAM: exactly these grants, each action and condition key one AWS knows."""

from __future__ import annotations

import json

import pytest

from components.collection import bucket_policy_statements, collector_grants, source_grants
from contract.sources import Source, parse_sources

TABLE = "arn:aws:dynamodb:eu-west-1:111122223333:table/docpipe-results"
SOURCES = parse_sources(
    json.dumps(
        [
            {"name": "reports", "kind": "http", "urls": ["https://a.example/r.pdf"]},
            {"name": "news", "kind": "feed", "url": "https://a.example/feed.xml"},
            {
                "name": "partner",
                "kind": "s3",
                "bucket": "partner-exports",
                "prefix": "docpipe/",
                "account": "444455556666",
            },
            {"name": "shared", "kind": "s3", "bucket": "shared-docs"},
        ]
    )
)


def objects(prefix: str) -> str:
    return f"arn:aws:s3:::docpipe-docs/{prefix}*"


def test_the_collectors_grants() -> None:
    assert collector_grants(SOURCES, objects, TABLE) == {
        "store-collected": {
            "actions": ["s3:PutObject"],
            "resources": [
                "arn:aws:s3:::docpipe-docs/incoming/reports/*",
                "arn:aws:s3:::docpipe-docs/incoming/news/*",
                "arn:aws:s3:::docpipe-docs/incoming/partner/*",
                "arn:aws:s3:::docpipe-docs/incoming/shared/*",
            ],
        },
        "collect-state": {
            "actions": ["dynamodb:BatchGetItem", "dynamodb:PutItem"],
            "resources": [TABLE],
            "conditions": [
                {
                    "test": "ForAllValues:StringLike",
                    "variable": "dynamodb:LeadingKeys",
                    "values": ["source#*"],
                }
            ],
        },
        "list-source-partner": {
            "actions": ["s3:ListBucket"],
            "resources": ["arn:aws:s3:::partner-exports"],
            "conditions": [
                {"test": "StringLike", "variable": "s3:prefix", "values": ["docpipe/*"]},
                {
                    "test": "StringEquals",
                    "variable": "s3:ResourceAccount",
                    "values": ["444455556666"],
                },
            ],
        },
        "read-source-partner": {
            "actions": ["s3:GetObject"],
            "resources": ["arn:aws:s3:::partner-exports/docpipe/*"],
            "conditions": [
                {
                    "test": "StringEquals",
                    "variable": "s3:ResourceAccount",
                    "values": ["444455556666"],
                }
            ],
        },
        "list-source-shared": {
            "actions": ["s3:ListBucket"],
            "resources": ["arn:aws:s3:::shared-docs"],
        },
        "read-source-shared": {
            "actions": ["s3:GetObject"],
            "resources": ["arn:aws:s3:::shared-docs/*"],
        },
    }


@pytest.mark.parametrize("kind", ["http", "feed", "sitemap"])
def test_web_sources_add_no_aws_access(kind: str) -> None:
    assert source_grants(Source(name="w", kind=kind)) == {}


def test_other_partitions() -> None:
    (source,) = parse_sources('[{"name": "cn", "kind": "s3", "bucket": "docs-cn"}]')
    grants = source_grants(source, partition="aws-cn")
    assert grants["read-source-cn"]["resources"] == ["arn:aws-cn:s3:::docs-cn/*"]


def test_every_action_and_condition_key_is_one_aws_defines() -> None:
    from policy_sentry.querying.actions import get_action_data

    for name, grant in collector_grants(SOURCES, objects, TABLE).items():
        for action in grant["actions"]:
            service, operation = action.split(":")
            data = get_action_data(service, operation)[service]
            keys = {k for entry in data for k in entry["condition_keys"]}
            assert data, action
            for condition in grant.get("conditions", []):
                assert condition["variable"] in keys, (name, action, condition["variable"])


def test_the_bucket_policy_a_partner_adds() -> None:
    role = "arn:aws:iam::111122223333:role/docpipe-collect-role"
    partner = next(s for s in SOURCES if s.name == "partner")
    assert bucket_policy_statements(partner, role) == [
        {
            "Sid": "DocpipeCollectList",
            "Effect": "Allow",
            "Principal": {"AWS": role},
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::partner-exports",
            "Condition": {"StringLike": {"s3:prefix": "docpipe/*"}},
        },
        {
            "Sid": "DocpipeCollectRead",
            "Effect": "Allow",
            "Principal": {"AWS": role},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::partner-exports/docpipe/*",
        },
    ]
    assert bucket_policy_statements(SOURCES[0], role) == []
