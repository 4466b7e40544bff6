"""A stage's environment and IAM grants, derived from its stage table entry.

What a function may touch follows from what the table says it does: the bucket areas it reads,
writes and lists, the stage it feeds, its named grants on the results table. Its environment
follows from the same entry, with values from the pipeline's settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from components import iam
from components.validation import is_known
from contract import orchestration as flow
from contract import settings as env
from contract import stages
from contract.layout import INCOMING, Prefix
from contract.stages import Stage, service_name


@dataclass(frozen=True)
class Resources:
    """What a stage's environment and grants name: the deployed bucket, table and queues."""

    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Output[str]
    table_name: pulumi.Input[str]
    table_arn: pulumi.Input[str]
    queue_url: Callable[[str], pulumi.Input[str]]
    queue_arn: Callable[[str], pulumi.Input[str]]


def encoded(variable: env.Variable, value: Any) -> pulumi.Input[str]:
    """The variable's text, also for a value known only at deploy time."""
    if is_known(value):
        return variable.encode(value)
    return pulumi.Output.from_input(value).apply(variable.encode)


def environment(
    stage: Stage,
    settings: Mapping[str, Any],
    resources: Resources,
    orchestration: str = flow.QUEUES,
) -> dict[str, pulumi.Input[str]]:
    """Every variable the stage's function reads (contract.settings), with its value; under
    a workflow the chain's stages hand documents on without a next queue."""
    values: dict[env.Variable, Any] = {
        env.STAGE: stage.name,
        env.BUCKET: resources.bucket_name,
        env.SERVICE_NAME: service_name(stage.name),
        env.METRICS_NAMESPACE: env.METRICS_NAMESPACE.default,
    }
    if stage.table:
        values[env.TABLE] = resources.table_name
    if flow.sends_to_queue(stage, stages.TABLE, orchestration):
        values[env.NEXT_QUEUE_URL] = resources.queue_url(str(stage.next))
    for variable, argument in stage.settings.items():
        values[variable] = variable.default if argument is None else settings.get(argument)
    variables = flow.variables(stage, stages.TABLE, orchestration)
    return {
        variable.name: encoded(variable, values[variable])
        for variable in variables
        if values[variable] is not None
    }


def _grant(actions: list[str], resources: list[Any]) -> iam.PolicyStatementArgs:
    return {"actions": actions, "resources": resources}


def grants(
    stage: Stage, resources: Resources, orchestration: str = flow.QUEUES
) -> dict[str, iam.PolicyStatementArgs]:
    """The stage's IAM on top of what QueueFunction grants (its queue, logs, X-Ray)."""

    def objects(prefix: Prefix) -> pulumi.Output[str]:
        return pulumi.Output.concat(resources.bucket_arn, "/", prefix.path, "*")

    statements: dict[str, iam.PolicyStatementArgs] = {}
    for prefix in stage.reads:
        # Uploads are read by version: two uploads under one key are two documents.
        actions = ["s3:GetObject", *(["s3:GetObjectVersion"] if prefix.versioned else [])]
        statements[f"read-{prefix.name}"] = _grant(actions, [objects(prefix)])
    for prefix in stage.writes:
        statements[f"write-{prefix.name}"] = _grant(["s3:PutObject"], [objects(prefix)])
    for prefix in stage.lists:
        listing = _grant(["s3:ListBucket"], [resources.bucket_arn])
        listing["conditions"] = [
            {"test": "StringLike", "variable": "s3:prefix", "values": [f"{prefix.path}*"]}
        ]
        statements[f"list-{prefix.name}"] = listing
    if stage.archives:
        # CopyObject keeps the upload's tags: reading and writing them is part of the copy.
        statements["take-uploads"] = _grant(
            ["s3:DeleteObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging"],
            [objects(INCOMING)],
        )
    for prefix in stage.archives:
        statements[f"archive-{prefix.name}"] = _grant(
            ["s3:PutObject", "s3:PutObjectTagging"], [objects(prefix)]
        )
    for name, table_grant in stage.table.items():
        statements[name] = _grant(list(table_grant.actions), [resources.table_arn])
        if table_grant.key_prefix:
            # only the stage's own items: every key it reads or writes starts so
            # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html
            statements[name]["conditions"] = [
                {
                    "test": "ForAllValues:StringLike",
                    "variable": "dynamodb:LeadingKeys",
                    "values": [f"{table_grant.key_prefix}*"],
                }
            ]
    if flow.sends_to_queue(stage, stages.TABLE, orchestration):
        statements["send-next"] = _grant(
            ["sqs:SendMessage"], [resources.queue_arn(str(stage.next))]
        )
    if stage.reads_queue_metrics:
        # GetMetricData supports no resource-level permissions: "*" is its only resource.
        statements["read-queue-metrics"] = _grant(iam.METRICS_READ_ACTIONS, ["*"])
    return statements
