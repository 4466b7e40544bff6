"""The collect stage: deployed only with sources, one schedule per source, IAM for exactly
what it stores and reads."""

from __future__ import annotations

import json
from typing import Any

import pytest
from stack_helpers import run_stack, stack_run

from mockrun import StackRun

SOURCES: list[dict[str, Any]] = [
    {"name": "reports", "kind": "http", "urls": ["https://example.org/a.pdf"]},
    {"name": "news", "kind": "feed", "url": "https://example.org/feed.xml",
     "schedule": "rate(6 hours)"},
    {"name": "partner", "kind": "s3", "bucket": "partner-exports", "prefix": "docs/",
     "account": "210987654321"},
]  # fmt: skip
BUCKET = "arn:aws:s3:::docpipe-dev-123456789012-us-east-1"


@pytest.fixture(scope="module")
def run() -> StackRun:
    return run_stack("dev", {"sources": json.dumps(SOURCES), "collectContact": "mailto:ops@x.org"})


def test_no_sources_no_collect_stage() -> None:
    names = {r.name for r in stack_run("dev").registrations}
    assert not [n for n in names if "collect" in n]


def test_one_schedule_per_source_sends_its_collect_message(run: StackRun) -> None:
    queue = run.named("docpipe-collect-queue").state["arn"]
    schedules = {
        r.name: r.inputs
        for r in run.by_type("aws:scheduler/schedule:Schedule")
        if "collect" in r.name
    }
    assert sorted(schedules) == [
        f"docpipe-collect-{name}-schedule-schedule" for name in ("news", "partner", "reports")
    ]
    for source in SOURCES:
        schedule = schedules[f"docpipe-collect-{source['name']}-schedule-schedule"]
        assert schedule["scheduleExpression"] == source.get("schedule", "rate(1 day)")
        assert schedule["target"]["arn"] == queue
        assert json.loads(schedule["target"]["input"]) == {
            "version": 1,
            "kind": "collect",
            "source": source["name"],
        }


def test_the_stack_exports_its_sources_for_the_operator_commands(run: StackRun) -> None:
    from contract.sources import parse_sources

    assert run.outputs["sources"] == [s.to_dict() for s in parse_sources(json.dumps(SOURCES))]
    assert "sources" not in stack_run("dev").outputs


def test_the_collect_function_gets_the_validated_sources(run: StackRun) -> None:
    function = run.named("docpipe-collect-function").inputs
    variables = function["environment"]["variables"]
    sources = json.loads(variables["COLLECT_SOURCES"])
    assert [s["name"] for s in sources] == ["reports", "news", "partner"]
    assert sources[0]["max_documents"] == 100  # defaults written out
    assert variables["COLLECT_CONTACT"] == "mailto:ops@x.org"
    assert variables["COLLECT_TIME_BUDGET_SECONDS"] == "120"  # 300 s less a fetch's worst case
    assert "COLLECT_ALLOW_LOOPBACK" not in variables  # local mode only
    assert function["handler"] == "handlers.collect.aws.lambda_handler"
    assert function["timeout"] == 300


def own_statements(run: StackRun, stage: str) -> dict[str, Any]:
    policy = json.loads(run.named(f"docpipe-{stage}-role-policy").inputs["policy"])
    common = {"ConsumeQueue", "WriteLogs", "Xray"}
    return {s["Sid"]: s for s in policy["Statement"] if s["Sid"] not in common}


def test_its_role_stores_under_incoming_keeps_its_own_items_and_reads_its_s3_source(
    run: StackRun,
) -> None:
    table = run.named("docpipe-results-table").state["arn"]
    owner = {"StringEquals": {"s3:ResourceAccount": ["210987654321"]}}
    assert own_statements(run, "collect") == {
        "WriteIncoming": {
            "Sid": "WriteIncoming",
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": [f"{BUCKET}/incoming/*"],
        },
        "CollectState": {
            "Sid": "CollectState",
            "Effect": "Allow",
            "Action": ["dynamodb:BatchGetItem", "dynamodb:PutItem"],
            "Resource": [table],
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["source#*"]}},
        },
        "ListSourcePartner": {
            "Sid": "ListSourcePartner",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": ["arn:aws:s3:::partner-exports"],
            "Condition": {"StringLike": {"s3:prefix": ["docs/*"]}, **owner},
        },
        "ReadSourcePartner": {
            "Sid": "ReadSourcePartner",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": ["arn:aws:s3:::partner-exports/docs/*"],
            "Condition": owner,
        },
    }


def test_other_stages_are_unchanged_by_sources(run: StackRun) -> None:
    for stage in ("ocr", "summarize", "classify", "sweep"):
        assert own_statements(run, stage).keys() == own_statements(stack_run("dev"), stage).keys()


def test_the_policy_gate_passes_with_sources(run: StackRun) -> None:
    from policies.gate.evaluate import evaluate
    from policies.gate.model import from_stack_run

    assert evaluate(from_stack_run(run)).mandatory == []


def test_every_bad_source_is_named_at_preview() -> None:
    bad = [
        {"name": "Bad Name", "kind": "http", "urls": ["https://x.org/a.pdf"]},
        {"name": "feed", "kind": "feed"},
        {"name": "plain", "kind": "http", "urls": ["http://x.org/a.pdf"]},
    ]
    with pytest.raises(ValueError) as raised:
        run_stack("dev", {"sources": json.dumps(bad)})
    message = str(raised.value)
    assert "sources:" in message
    assert "sources[0]" in message and "sources[1]" in message and "sources[2]" in message


def test_sources_that_cannot_fit_the_environment_are_refused() -> None:
    many = [
        {"name": f"s{n}", "kind": "http", "urls": [f"https://example.org/{n}/{'x' * 200}.pdf"]}
        for n in range(20)
    ]
    with pytest.raises(ValueError, match="Lambda allows 4 KB"):
        run_stack("dev", {"sources": json.dumps(many)})
