"""The components stay hostable: the SDK's schema analyzer accepts every one of them."""

from __future__ import annotations

from typing import Any, get_type_hints

import pytest
from component_helpers import build
from pulumi.errors import InputPropertyError
from pulumi.provider.experimental.analyzer import Analyzer

from components import COMPONENTS
from components.host import DocpipeProvider
from mockrun import CapturingMonitor


@pytest.fixture(scope="module")
def schema() -> Any:
    return Analyzer("docpipe").analyze(COMPONENTS)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def test_every_component_is_analyzed(schema: Any) -> None:
    assert sorted(schema["component_definitions"]) == [
        "DocumentPipeline",
        "DocumentStore",
        "DocumentWorkflow",
        "QueueFunction",
        "ResultsTable",
        "ScheduledTrigger",
    ]
    assert sorted(schema["type_definitions"]) == [
        "CategoryArgs",
        "PolicyConditionArgs",
        "PolicyStatementArgs",
        "QueueNotificationArgs",
        "QueueProducerArgs",
        "SourceArgs",
        "StageArgs",
        "TableIndexArgs",
        "WorkflowStepArgs",
    ]


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_type_token_matches_what_the_host_serves(component: type) -> None:
    # The host registers `<package>:index:<ClassName>`; the component must use the same token.
    module = __import__(component.__module__, fromlist=["TYPE"])
    assert f"docpipe:index:{component.__name__}" == module.TYPE


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_every_argument_is_in_the_schema_with_a_description(schema: Any, component: type) -> None:
    args_type = get_type_hints(component.__init__)["args"]  # type: ignore[misc]
    definition = schema["component_definitions"][component.__name__]
    assert sorted(definition.inputs) == sorted(camel(k) for k in args_type.__annotations__)
    undocumented = [k for k, v in definition.inputs.items() if not v.description]
    undocumented += [k for k, v in definition.outputs.items() if not v.description]
    assert undocumented == []


def test_required_and_optional_inputs(schema: Any) -> None:
    required = {
        name: sorted(k for k, v in definition.inputs.items() if not v.optional)
        for name, definition in schema["component_definitions"].items()
    }
    assert required == {
        "QueueFunction": [],
        "DocumentStore": [],
        "ResultsTable": [],
        "ScheduledTrigger": ["queueArn", "scheduleExpression"],
        "DocumentWorkflow": ["sourceQueueArn", "steps"],
        "DocumentPipeline": [],
    }


def test_outputs_are_named_by_resource(schema: Any) -> None:
    outputs = {
        name: sorted(definition.outputs)
        for name, definition in schema["component_definitions"].items()
    }
    assert outputs["QueueFunction"] == sorted(
        ["functionArn", "functionName", "roleArn", "roleName", "queueArn", "queueUrl",
         "queueName", "dlqArn", "dlqUrl", "dlqName", "logGroupName", "logGroupArn",
         "eventSourceMappingUuid", "layerArn", "kmsKeyArn", "metricsNamespace",
         "metricsService"]
    )  # fmt: skip
    assert outputs["DocumentStore"] == ["bucketArn", "bucketName", "bucketRegionalDomainName"]
    assert outputs["ResultsTable"] == ["tableArn", "tableName"]
    assert outputs["ScheduledTrigger"] == ["roleArn", "scheduleArn", "scheduleName"]
    assert outputs["DocumentPipeline"] == sorted(
        ["bucketName", "bucketArn", "tableName", "tableArn", "queueUrls", "queueArns",
         "dlqUrls", "dlqArns", "functionNames", "functionArns", "roleArns", "scheduleArn",
         "alarmTopicArn", "dashboardName", "stateMachineArn"]
    )  # fmt: skip
    assert outputs["DocumentWorkflow"] == sorted(
        ["stateMachineArn", "stateMachineName", "roleArn", "pipeArn", "pipeName", "pipeRoleArn",
         "logGroupName"]
    )  # fmt: skip


def test_code_archives_are_pulumi_archives(schema: Any) -> None:
    inputs = schema["component_definitions"]["QueueFunction"].inputs
    assert inputs["code"].ref == "pulumi.json#/Archive"
    assert inputs["dependencyLayer"].ref == "pulumi.json#/Archive"


def test_the_host_constructs_a_component_from_schema_inputs(monitor: CapturingMonitor) -> None:
    """What `pulumi package add` users get: camelCase inputs mapped to the TypedDict args
    (tests/plugin drives the same host over the wire, as a plugin process)."""
    provider = DocpipeProvider()
    result: dict[str, Any] = {}

    def construct() -> None:
        result.update(
            provider.construct(
                "tick",
                "docpipe:index:ScheduledTrigger",
                {
                    "queueArn": "arn:aws:sqs:us-east-1:123456789012:jobs",
                    "scheduleExpression": "rate(5 minutes)",
                    "message": '{"kind": "tick"}',
                },
            ).state
        )

    build(monitor, construct)
    schedule = monitor.named("tick-schedule").inputs
    assert schedule["scheduleExpression"] == "rate(5 minutes)"
    assert schedule["target"]["input"] == '{"kind": "tick"}'
    assert sorted(result) == ["roleArn", "scheduleArn", "scheduleName"]


def test_the_host_reports_missing_required_inputs() -> None:
    provider = DocpipeProvider()
    with pytest.raises(InputPropertyError, match="Missing required input 'queueArn'"):
        provider.construct("tick", "docpipe:index:ScheduledTrigger", {})
