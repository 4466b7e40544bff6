"""The collector's role: S3 writes only under incoming/ of its bucket, S3 reads only of its
sources. Passing: the real dev and prod stacks with every kind of source. Failing:
hand-built roles, and the real stack's collector role edited."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from policy_helpers import doc, messages, resource
from stack_helpers import run_stack

from contract.sources import parse_sources, sources_json
from policies import resource_types as t
from policies.gate.evaluate import evaluate
from policies.gate.model import GateModel, GateResource, from_stack_run

WRITES = "iam-collector-writes-incoming-only"
READS = "iam-collector-reads-its-sources-only"
ROOT = Path(__file__).resolve().parents[2]
SAMPLE_SOURCES = (ROOT / "samples" / "sources.json").read_text()

BUCKET = "docpipe-docs"
SOURCES = [
    {"name": "news", "kind": "feed", "url": "https://example.org/feed.xml"},
    {
        "name": "partner",
        "kind": "s3",
        "bucket": "partner-exports",
        "prefix": "docs/",
        "account": "210987654321",
    },
    {"name": "archive", "kind": "s3", "bucket": "records-archive"},
]
OWNER = {"StringEquals": {"s3:ResourceAccount": "210987654321"}}


def allow(actions: Any, resources: Any, sid: str = "S", **extra: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources, **extra}


# What components/collection.py and the stage table grant (the real stack's role, below).
LEAST = [
    allow(["s3:PutObject"], [f"arn:aws:s3:::{BUCKET}/incoming/*"], "WriteIncoming"),
    allow(
        ["s3:ListBucket"],
        ["arn:aws:s3:::partner-exports"],
        "ListSourcePartner",
        Condition={"StringLike": {"s3:prefix": ["docs/*"]}, **OWNER},
    ),
    allow(
        ["s3:GetObject"],
        ["arn:aws:s3:::partner-exports/docs/*"],
        "ReadSourcePartner",
        Condition=OWNER,
    ),
    allow(["s3:ListBucket"], ["arn:aws:s3:::records-archive"], "ListSourceArchive"),
    allow(["s3:GetObject"], ["arn:aws:s3:::records-archive/*"], "ReadSourceArchive"),
    allow(["sqs:ReceiveMessage"], ["arn:aws:sqs:us-east-1:1:collect"], "ConsumeQueue"),
    allow(["xray:PutTraceSegments"], ["*"], "Xray"),
]


Extra = Callable[[GateResource], list[GateResource]]


def collector(
    *statements: dict[str, Any],
    sources: Any = None,
    extra: Extra | None = None,
    role_props: dict[str, Any] | None = None,
) -> list[GateResource]:
    """A collect function, its role and the role's inline policy; `extra(role)` adds more."""
    role = resource(t.ROLE, "collect-role", role_props or {"assumeRolePolicy": "{}"})
    policy = resource(
        t.ROLE_POLICY,
        "collect-role-policy",
        {"role": "r", "policy": doc(*statements)},
        {"role": [role]},
    )
    raw = (
        sources
        if isinstance(sources, str)
        else sources_json(parse_sources(json.dumps(SOURCES if sources is None else sources)))
    )
    variables = {"COLLECT_SOURCES": raw, "DOCPIPE_BUCKET": BUCKET, "DOCPIPE_STAGE": "collect"}
    function = resource(
        t.FUNCTION,
        "collect-function",
        {"role": "arn:aws:iam::1:role/collect", "environment": {"variables": variables}},
        {"role": [role]},
    )
    return [role, policy, function, *(extra(role) if extra else [])]


def both(resources: list[GateResource]) -> list[str]:
    return messages(resources, WRITES) + messages(resources, READS)


# -- passing ---------------------------------------------------------------------------------


def test_the_grants_the_components_make_pass() -> None:
    assert both(collector(*LEAST)) == []


def test_narrower_grants_and_other_partitions_pass() -> None:
    narrower = [
        allow("s3:PutObject", f"arn:aws-cn:s3:::{BUCKET}/incoming/news/*"),
        allow("s3:GetObject", "arn:aws:s3:::partner-exports/docs/2026/*", Condition=OWNER),
        allow(
            "s3:ListBucket",
            "arn:aws:s3:::records-archive",
            Condition={"StringLike": {"s3:prefix": "2026/*"}},
        ),
    ]
    assert both(collector(*narrower)) == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_real_stacks_with_every_kind_of_source_pass(stack: str) -> None:
    result = evaluate(from_stack_run(run_stack(stack, {"sources": SAMPLE_SOURCES})))
    assert result.mandatory == []
    assert [f for f in result.findings if f.cannot_check] == []


def test_docpipe_check_passes_with_sources(capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    for stack in ("dev", "prod"):
        assert main(["check", "--stack", stack, "--config", f"sources={SAMPLE_SOURCES}"]) == 0
        assert capsys.readouterr().out.endswith("PASSED\n")


def test_docpipe_check_config_names_what_is_wrong(capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    assert main(["check", "--stack", "dev", "--config", "sources"]) == 2
    assert "--config expects KEY=VALUE, got 'sources'" in capsys.readouterr().err
    assert main(["check", "--stack", "dev", "--config", 'sources=[{"name": "X"}]']) == 2
    assert "sources[0] 'X': name:" in capsys.readouterr().err


def test_a_function_without_sources_is_not_judged() -> None:
    resources = collector(allow("s3:*", "*"))
    function = resources[2]
    del function.outputs["environment"]["variables"]["COLLECT_SOURCES"]
    assert both(resources) == []


# -- (a) writes ------------------------------------------------------------------------------

LABEL = "collector collect-function: role policy collect-role-policy statement S"


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        (
            allow("s3:PutObject", "*"),
            f"allows s3:PutObject on *, outside incoming/ of bucket {BUCKET}",
        ),
        (
            allow("s3:PutObject", f"arn:aws:s3:::{BUCKET}/text/*"),
            f"allows s3:PutObject on arn:aws:s3:::{BUCKET}/text/*, outside incoming/",
        ),
        (allow("s3:PutObject", f"arn:aws:s3:::{BUCKET}/incoming*"), "outside incoming/"),
        (allow("s3:PutObject", f"arn:aws:s3:::{BUCKET}-other/incoming/*"), "outside incoming/"),
        (allow("s3:PutObject", f"arn:aws:s3:::{BUCKET}*/incoming/*"), "outside incoming/"),
        (
            {"Sid": "S", "Effect": "Allow", "Action": "s3:PutObject", "NotResource": "arn:x"},
            "allows s3:PutObject on *",
        ),
        (
            allow("s3:DeleteObject", f"arn:aws:s3:::{BUCKET}/incoming/*"),
            "allows S3 writes other than s3:PutObject: s3:DeleteObject",
        ),
        (
            allow("s3:put*", f"arn:aws:s3:::{BUCKET}/incoming/*"),
            "allows S3 writes other than s3:PutObject: s3:PutAccelerateConfiguration, ",
        ),
        (allow("*", f"arn:aws:s3:::{BUCKET}/incoming/*"), "allows S3 writes other than"),
        (
            {"Sid": "S", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
            "allows s3:PutObject on *",
        ),
    ],
)
def test_s3_writes_outside_incoming_fail(statement: dict[str, Any], problem: str) -> None:
    found = messages(collector(statement), WRITES)
    assert found and all(m.startswith(LABEL) for m in found)
    assert any(problem in m for m in found), found


def test_one_bad_statement_among_good_ones_is_named() -> None:
    bad = allow("s3:PutObject", f"arn:aws:s3:::{BUCKET}/*", "Everywhere")
    assert messages(collector(*LEAST, bad), WRITES) == [
        "collector collect-function: role policy collect-role-policy statement Everywhere "
        f"allows s3:PutObject on arn:aws:s3:::{BUCKET}/*, outside incoming/ of bucket {BUCKET}"
    ]


# -- (b) reads -------------------------------------------------------------------------------

SOURCES_ARE = "its s3 sources are partner-exports/docs/, records-archive/"


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        (allow("s3:GetObject", "*"), f"allows s3:GetObject on *; {SOURCES_ARE}"),
        (
            allow("s3:GetObject", "arn:aws:s3:::partner-exports/*", Condition=OWNER),
            "allows s3:GetObject on arn:aws:s3:::partner-exports/*; ",
        ),
        (
            allow("s3:GetObject", "arn:aws:s3:::partner-exports/docs*", Condition=OWNER),
            "partner-exports/docs*; ",
        ),
        (allow("s3:GetObject", f"arn:aws:s3:::{BUCKET}/incoming/*"), f"{BUCKET}/incoming/*; "),
        (allow("s3:GetObject", "arn:aws:s3:::records-archive-old/*"), "records-archive-old/*; "),
        (
            allow("s3:GetObject", "arn:aws:s3:::partner-exports/docs/*"),
            "without s3:ResourceAccount 210987654321 (source partner's account)",
        ),
        (
            allow("s3:ListBucket", "arn:aws:s3:::partner-exports", Condition=OWNER),
            "allows s3:ListBucket on arn:aws:s3:::partner-exports with no s3:prefix condition; "
            "its s3 sources are partner-exports/docs/",
        ),
        (
            allow(
                "s3:ListBucket",
                "arn:aws:s3:::partner-exports",
                Condition={"StringLike": {"s3:prefix": "d*"}, **OWNER},
            ),
            "with s3:prefix d*",
        ),
        (
            allow(
                "s3:ListBucket",
                "arn:aws:s3:::partner-exports",
                Condition={"StringNotLike": {"s3:prefix": "secret/*"}, **OWNER},
            ),
            "with no s3:prefix condition",
        ),
        (allow("s3:ListBucket", "*"), f"allows s3:ListBucket on *; {SOURCES_ARE}"),
        (
            allow("s3:GetObjectVersion", "arn:aws:s3:::records-archive/*"),
            "allows S3 reads other than s3:GetObject and s3:ListBucket: s3:GetObjectVersion",
        ),
        (allow("s3:Get*", "arn:aws:s3:::records-archive/*"), "and 5"),
        (allow("s3:ListAllMyBuckets", "*"), "s3:ListAllMyBuckets"),
    ],
)
def test_s3_reads_beyond_the_sources_fail(statement: dict[str, Any], problem: str) -> None:
    found = messages(collector(statement), READS)
    assert found and all(m.startswith(LABEL) for m in found)
    assert any(problem in m for m in found), found


def test_a_collector_without_s3_sources_reads_nothing() -> None:
    web_only = [SOURCES[0]]
    read = allow("s3:GetObject", "arn:aws:s3:::partner-exports/docs/*")
    assert messages(collector(read, sources=web_only), READS) == [
        f"{LABEL} allows s3:GetObject on arn:aws:s3:::partner-exports/docs/*; it has no s3 source"
    ]


# -- where the grants come from --------------------------------------------------------------


def test_an_attached_policy_resource_is_read_through_its_arn() -> None:
    managed = resource(t.POLICY, "wide", {"policy": doc(allow("s3:GetObject", "*"))})

    def attached(role: GateResource) -> list[GateResource]:
        return [
            managed,
            resource(
                t.ROLE_POLICY_ATTACHMENT,
                "attach",
                {"role": "r", "policyArn": "arn:p"},
                {"role": [role], "policyArn": [managed]},
            ),
        ]

    found = messages(collector(*LEAST, extra=attached), READS)
    assert found == [
        f"collector collect-function: policy wide statement S allows s3:GetObject on *; "
        f"{SOURCES_ARE}"
    ]


def test_a_managed_policy_the_stack_does_not_define_cannot_be_trusted() -> None:
    def attached(role: GateResource) -> list[GateResource]:
        arn = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
        return [
            resource(
                t.ROLE_POLICY_ATTACHMENT,
                "attach",
                {"role": "r", "policyArn": arn},
                {"role": [role]},
            )
        ]

    expected = (
        "collector collect-function: its role has managed policy "
        "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess, whose grants the pack cannot read"
    )
    resources = collector(*LEAST, extra=attached)
    assert messages(resources, READS) == messages(resources, WRITES) == [expected]


def test_the_role_own_inline_policies_are_read() -> None:
    inline = {"inlinePolicies": [{"name": "old", "policy": doc(allow("s3:*", "*", "Old"))}]}
    found = messages(collector(*LEAST, role_props=inline), WRITES)
    assert found[0].startswith(
        "collector collect-function: role collect-role inline policy statement Old allows S3 "
        "writes other than s3:PutObject:"
    )


def test_unreadable_sources_are_a_violation() -> None:
    assert messages(collector(*LEAST, sources="[{]"), WRITES) == [
        "function collect-function: COLLECT_SOURCES: docpipe:sources is not JSON: Expecting "
        "property name enclosed in double quotes: line 1 column 3 (char 2)"
    ]


# -- the real stack's collector role, edited ---------------------------------------------------


def edited_stack(edit: Any) -> GateModel:
    model = copy.deepcopy(from_stack_run(run_stack("dev", {"sources": json.dumps(SOURCES)})))
    (policy,) = [r for r in model.resources if r.name == "docpipe-collect-role-policy"]
    document = json.loads(policy.outputs["policy"])
    edit({s["Sid"]: s for s in document["Statement"]})
    policy.outputs["policy"] = policy.inputs["policy"] = json.dumps(document)
    return model


def mandatory(model: GateModel) -> list[tuple[str, str]]:
    return [(f.policy, f.message) for f in evaluate(model).mandatory]


def test_the_real_role_writing_everywhere_fails() -> None:
    def everywhere(statements: dict[str, Any]) -> None:
        statements["WriteIncoming"]["Resource"] = ["*"]

    assert mandatory(edited_stack(everywhere)) == [
        (
            "iam-no-wildcard-resources",
            "statement WriteIncoming allows s3:PutObject on resource * although they support "
            "resource-level scoping",
        ),
        (
            WRITES,
            "collector docpipe-collect-function: role policy docpipe-collect-role-policy "
            "statement WriteIncoming allows s3:PutObject on *, outside incoming/ of bucket "
            "docpipe-dev-123456789012-us-east-1",
        ),
    ]


def test_the_real_role_writing_another_prefix_fails_only_here() -> None:
    def text_too(statements: dict[str, Any]) -> None:
        (incoming,) = statements["WriteIncoming"]["Resource"]
        statements["WriteIncoming"]["Resource"].append(incoming.replace("/incoming/", "/text/"))

    assert [policy for policy, _ in mandatory(edited_stack(text_too))] == [WRITES]


def test_the_real_role_reading_a_whole_source_bucket_fails() -> None:
    def whole_bucket(statements: dict[str, Any]) -> None:
        statements["ReadSourcePartner"]["Resource"] = ["arn:aws:s3:::partner-exports/*"]
        del statements["ListSourcePartner"]["Condition"]["StringLike"]

    assert [policy for policy, _ in mandatory(edited_stack(whole_bucket))] == [READS, READS]
