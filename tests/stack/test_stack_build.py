"""dev and prod build under mocks: counts by type token, parents, names, outputs."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from stack_helpers import STAGES, stack_run

from mockrun import PROJECT_DIR, StackRun

COMMON = {
    "docpipe:index:DocumentPipeline": 1,
    "docpipe:index:DocumentStore": 1,
    "docpipe:index:QueueFunction": 4,
    "docpipe:index:ResultsTable": 1,
    "docpipe:index:ScheduledTrigger": 1,
    "aws:s3/bucket:Bucket": 1,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 1,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 1,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 1,
    "aws:s3/bucketVersioning:BucketVersioning": 1,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 1,
    "aws:s3/bucketPolicy:BucketPolicy": 1,
    "aws:s3/bucketNotification:BucketNotification": 1,
    "aws:sqs/queue:Queue": 8,
    "aws:sqs/queuePolicy:QueuePolicy": 8,
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": 4,
    "aws:iam/role:Role": 5,
    "aws:iam/rolePolicy:RolePolicy": 5,
    "aws:cloudwatch/logGroup:LogGroup": 4,
    "aws:cloudwatch/metricAlarm:MetricAlarm": 27,
    "aws:cloudwatch/dashboard:Dashboard": 1,
    "aws:lambda/layerVersion:LayerVersion": 4,
    "aws:lambda/function:Function": 4,
    "aws:lambda/eventSourceMapping:EventSourceMapping": 4,
    "aws:dynamodb/table:Table": 1,
    "aws:scheduler/schedule:Schedule": 1,
}


@pytest.mark.parametrize(("stack", "expected"), [("dev", COMMON), ("prod", COMMON)])
def test_resource_count_per_type(stack: str, expected: dict[str, int]) -> None:
    assert stack_run(stack).count_by_type() == Counter(expected)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_aws_resource_is_parented_under_a_docpipe_component(stack: str) -> None:
    run = stack_run(stack)
    components = {r.urn for r in run.registrations if r.type.startswith("docpipe:index:")}
    orphans = [r.name for r in run.registrations if r.custom and r.parent not in components]
    assert orphans == []
    top = [r.name for r in run.registrations if r.parent not in components]
    assert top == ["docpipe"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_names_are_unique_and_derived_from_the_parent(stack: str) -> None:
    run = stack_run(stack)
    names = [r.name for r in run.registrations]
    assert len(names) == len(set(names))
    by_urn = {r.urn: r for r in run.registrations}
    for registration in run.registrations:
        parent = by_urn.get(registration.parent)
        if parent is not None:
            assert registration.name.startswith(f"{parent.name}-"), registration.name


def _outputs(run: StackRun, key: str) -> dict[str, str]:
    return {stage: run.named(f"docpipe-{stage}-{key}").state["url"] for stage in STAGES}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_outputs_follow_the_runtime_contract(stack: str) -> None:
    run = stack_run(stack)
    expected = {
        "bucket_name": f"docpipe-{stack}-123456789012-us-east-1",
        "table_name": run.named("docpipe-results-table").state["name"],
        "queue_urls": _outputs(run, "queue"),
        "dlq_urls": _outputs(run, "dlq"),
        "function_names": {
            stage: run.named(f"docpipe-{stage}-function").state["name"] for stage in STAGES
        },
    }
    assert run.outputs == expected  # alarm_topic_arn only with an alarm address


def test_documented_resource_counts_match_the_stacks() -> None:
    text = (PROJECT_DIR / "docs" / "components.md").read_text()
    rows = re.findall(r"^\| `([^`]+)` \| (\d+) \| (\d+) \|$", text, re.M)
    documented = {
        stack: Counter({token: int(row[i]) for token, *row in rows if int(row[i])})
        for i, stack in enumerate(("dev", "prod"))
    }
    assert documented == {stack: stack_run(stack).count_by_type() for stack in ("dev", "prod")}
