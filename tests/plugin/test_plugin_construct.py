"""Every component constructed over the wire, with inputs shaped as another language sends
them: camelCase keys, every number a double, values with dependencies (output values),
unknowns in preview, secrets, archives, and an explicit provider."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mockrun.mocks import physical_name
from plugin.wire import (
    ARCHIVE_SIGNATURE,
    ASSET_SIGNATURE,
    REPOSITORY,
    UNKNOWN_VALUE,
    ConstructError,
    Engine,
    Plugin,
    asset_archive,
    by_name,
    construct,
    file_archive,
    holds_secret,
    is_secret,
    output,
    plain,
    secret,
    string_asset,
    unknown_output,
)

# Resources a consumer program owns, which the components' inputs come from.
QUEUE_URN = "urn:pulumi:dev::consumer::aws:sqs/queue:Queue::jobs"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:jobs"
KEY_URN = "urn:pulumi:dev::consumer::aws:kms/key:Key::data"
TOPIC_URN = "urn:pulumi:dev::consumer::aws:sns/topic:Topic::alarms"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:alarms"
LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:tesseract:7"
INTEGRAL_FLOAT = re.compile(r"^-?\d+\.0$")
PIPELINE_OUTPUTS = {
    "bucketName", "bucketArn", "tableName", "tableArn", "queueUrls", "queueArns", "dlqUrls",
    "dlqArns", "functionNames", "functionArns", "roleArns", "scheduleArn", "alarmTopicArn",
    "dashboardName",
}  # fmt: skip


def kinds(children: list[Any]) -> Counter[str]:
    return Counter(child.type for child in children)


def environment(child: Any) -> dict[str, Any]:
    """A function's environment variables as plain values."""
    return plain(child.inputs["environment"])["variables"]


@pytest.fixture
def explicit_provider(engine: Engine) -> str:
    return engine.monitor.add_provider("eu", "aws", {"region": "eu-west-1"})


# -- QueueFunction --------------------------------------------------------------------------


def queue_function_inputs(**extra: Any) -> dict[str, Any]:
    return {
        "code": asset_archive({"handler.py": string_asset("def handle(event, context): ...")}),
        "dependencyLayer": file_archive("/opt/builds/deps.zip"),
        "handler": "handler.handle",
        "memorySize": 1024.0,
        "timeout": 60.0,
        "batchSize": 5.0,
        "maxConcurrency": 4.0,
        "logRetentionDays": 30.0,
        **extra,
    }


def test_queue_function_on_up(engine: Engine, plugin: Plugin, explicit_provider: str) -> None:
    built = construct(
        engine,
        plugin,
        "docpipe:index:QueueFunction",
        "qf-up",
        queue_function_inputs(
            environment={
                "API_KEY": secret("s3cr3t"),
                "KEY_ARN": output(
                    "arn:aws:kms:us-east-1:123456789012:key/1", dependencies=(KEY_URN,)
                ),
                "MODE": "fast",
            },
            alarmTopicArn=output(TOPIC_ARN, dependencies=(TOPIC_URN,)),
        ),
        providers={"aws": explicit_provider},
    )
    children = by_name(built.children)
    assert kinds(built.children) == {
        "aws:sqs/queue:Queue": 2,
        "aws:sqs/queuePolicy:QueuePolicy": 2,
        "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": 1,
        "aws:cloudwatch/logGroup:LogGroup": 1,
        "aws:iam/role:Role": 1,
        "aws:iam/rolePolicy:RolePolicy": 1,
        "aws:lambda/layerVersion:LayerVersion": 1,
        "aws:lambda/function:Function": 1,
        "aws:lambda/eventSourceMapping:EventSourceMapping": 1,
        "aws:cloudwatch/metricAlarm:MetricAlarm": 6,
    }
    assert engine.monitor.duplicates == []
    # The explicit provider reaches every AWS child (through the component's parent chain).
    assert {child.provider for child in built.children} == {explicit_provider}

    function = children["qf-up-function"].inputs
    assert (function["memorySize"], function["timeout"]) == (1024, 60)
    assert plain(function["code"]) == {
        "assets": {
            "handler.py": {"text": "def handle(event, context): ...", "signature": ASSET_SIGNATURE}
        },
        "signature": ARCHIVE_SIGNATURE,
    }
    layer = children["qf-up-deps"].inputs
    assert plain(layer["code"])["path"] == "/opt/builds/deps.zip"
    assert environment(children["qf-up-function"]) == {
        "POWERTOOLS_SERVICE_NAME": "qf-up",
        "POWERTOOLS_METRICS_NAMESPACE": "consumer",  # the consuming project's name
        "API_KEY": "s3cr3t",
        "KEY_ARN": "arn:aws:kms:us-east-1:123456789012:key/1",
        "MODE": "fast",
    }
    assert holds_secret(function["environment"])
    assert KEY_URN in children["qf-up-function"].property_dependencies["environment"]
    assert TOPIC_URN in children["qf-up-dlq-depth-alarm"].property_dependencies["alarmActions"]
    # the failed-records alarm reads the metric the environment names, in plain text although
    # the environment holds a secret
    failed = children["qf-up-failed-records-alarm"].inputs
    assert (failed["namespace"], failed["dimensions"]) == ("consumer", {"service": "qf-up"})

    queue = children["qf-up-queue"].inputs
    assert queue["visibilityTimeoutSeconds"] == 360
    assert json.loads(plain(queue["redrivePolicy"]))["maxReceiveCount"] == 5
    trigger = children["qf-up-trigger"].inputs
    assert (trigger["batchSize"], plain(trigger["scalingConfig"])) == (5, {"maximumConcurrency": 4})

    state = plain(built.state)
    assert state["functionArn"] == (
        f"arn:aws:lambda:us-east-1:123456789012:function:{state['functionName']}"
    )
    assert state["queueUrl"].endswith(f"/{state['queueName']}")
    assert state["dlqArn"].startswith("arn:aws:sqs:")


def test_queue_function_in_preview_with_unknown_and_dependent_integers(
    engine: Engine, plugin: Plugin
) -> None:
    """Integers from other resources: an unknown in preview, a value with dependencies, a
    secret. The SDK's host fails on these before the component runs (FACTS)."""
    built = construct(
        engine,
        plugin,
        "docpipe:index:QueueFunction",
        "qf-preview",
        queue_function_inputs(
            timeout=unknown_output(QUEUE_URN),
            memorySize=output(2048.0, dependencies=(KEY_URN,)),
            reservedConcurrency=secret(10.0),
        ),
        preview=True,
    )
    children = by_name(built.children)
    function = children["qf-preview-function"]
    assert plain(function.inputs["memorySize"]) == 2048
    assert KEY_URN in function.property_dependencies["memorySize"]
    assert plain(function.inputs["timeout"]) is UNKNOWN_VALUE
    assert is_secret(function.inputs["reservedConcurrentExecutions"])
    assert plain(function.inputs["reservedConcurrentExecutions"]) == 10
    # visibility = 6 x timeout + window: unknown until the timeout is.
    assert plain(children["qf-preview-queue"].inputs["visibilityTimeoutSeconds"]) is UNKNOWN_VALUE
    assert plain(built.state)["functionArn"] is UNKNOWN_VALUE


def test_queue_function_environment_as_one_output(engine: Engine, plugin: Plugin) -> None:
    """An `Input[Mapping]` may be one Output for the whole map (generated SDKs allow it)."""
    built = construct(
        engine,
        plugin,
        "docpipe:index:QueueFunction",
        "qf-env",
        queue_function_inputs(
            environment=output({"BUCKET": "b-1", "LIMIT": "3"}, dependencies=(QUEUE_URN,))
        ),
    )
    function = by_name(built.children)["qf-env-function"]
    assert environment(function) == {
        "POWERTOOLS_SERVICE_NAME": "qf-env",
        "POWERTOOLS_METRICS_NAMESPACE": "consumer",
        "BUCKET": "b-1",
        "LIMIT": "3",
    }
    assert QUEUE_URN in function.property_dependencies["environment"]


def test_queue_function_refuses_bad_input_with_every_problem(
    engine: Engine, plugin: Plugin
) -> None:
    with pytest.raises(
        Exception, match="memory_size: must be between 128 and 10240, got 64"
    ) as raised:
        construct(
            engine,
            plugin,
            "docpipe:index:QueueFunction",
            "qf-bad",
            queue_function_inputs(memorySize=64.0, batchSize=20.5),
        )
    assert "batch_size: must be an integer, got 20.5" in str(raised.value)
    assert (
        engine.monitor.descendants("urn:pulumi:dev::consumer::docpipe:index:QueueFunction::qf-bad")
        == []
    )


# -- DocumentStore, ResultsTable, ScheduledTrigger -----------------------------------------


def test_document_store(engine: Engine, plugin: Plugin, explicit_provider: str) -> None:
    built = construct(
        engine,
        plugin,
        "docpipe:index:DocumentStore",
        "store",
        {
            "bucketName": "consumer-docs-1",
            "noncurrentVersionExpirationDays": 60.0,
            "abortIncompleteUploadDays": 3.0,
            "queueNotifications": [
                {"queueArn": output(QUEUE_ARN, dependencies=(QUEUE_URN,)), "filterPrefix": "in/"}
            ],
            "outputPrefixes": ["out/"],
            "tags": {"team": secret("docs")},
        },
        providers={"aws": explicit_provider},
    )
    children = by_name(built.children)
    assert kinds(built.children)["aws:s3/bucket:Bucket"] == 1
    assert len(built.children) == 8
    assert {child.provider for child in built.children} == {explicit_provider}
    notification = children["store-notification"]
    assert plain(notification.inputs["queues"]) == [
        {
            "id": "queue-0",
            "queueArn": QUEUE_ARN,
            "events": ["s3:ObjectCreated:*"],
            "filterPrefix": "in/",
        }
    ]
    assert QUEUE_URN in notification.property_dependencies["queues"]
    lifecycle = plain(children["store-lifecycle"].inputs["rules"])
    assert lifecycle[0]["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 3}
    assert lifecycle[1]["noncurrentVersionExpiration"] == {"noncurrentDays": 60}
    assert is_secret(children["store-bucket"].inputs["tags"])
    assert plain(built.state)["bucketName"] == "consumer-docs-1"


def test_results_table(engine: Engine, plugin: Plugin) -> None:
    built = construct(
        engine,
        plugin,
        "docpipe:index:ResultsTable",
        "results",
        {"rangeKey": "version", "ttlAttribute": "expires", "protect": True},
    )
    (table,) = built.children
    assert table.protect
    assert plain(table.inputs["ttl"]) == {"attributeName": "expires", "enabled": True}
    assert plain(table.inputs["attributes"]) == [
        {"name": "doc_id", "type": "S"},
        {"name": "version", "type": "S"},
    ]
    name = physical_name("results-table")
    assert plain(built.state) == {
        "tableName": name,
        "tableArn": f"arn:aws:dynamodb:us-east-1:123456789012:table/{name}",
    }


def test_scheduled_trigger(engine: Engine, plugin: Plugin) -> None:
    built = construct(
        engine,
        plugin,
        "docpipe:index:ScheduledTrigger",
        "tick",
        {
            "queueArn": output(QUEUE_ARN, dependencies=(QUEUE_URN,)),
            "scheduleExpression": "rate(5 minutes)",
            "maximumRetryAttempts": 3.0,
            "flexibleWindowMinutes": 10.0,
        },
    )
    children = by_name(built.children)
    schedule = children["tick-schedule"].inputs
    assert plain(schedule["target"])["retryPolicy"] == {
        "maximumRetryAttempts": 3,
        "maximumEventAgeInSeconds": 3600,
    }
    assert plain(schedule["flexibleTimeWindow"]) == {
        "mode": "FLEXIBLE",
        "maximumWindowInMinutes": 10,
    }
    assert QUEUE_URN in children["tick-role-policy"].property_dependencies["policy"]
    policy = json.loads(plain(children["tick-role-policy"].inputs["policy"]))
    assert policy["Statement"][0]["Resource"] == [QUEUE_ARN]


# -- DocumentPipeline -----------------------------------------------------------------------


def pipeline_inputs(build_dir: Path, **extra: Any) -> dict[str, Any]:
    return {
        "buildDir": str(build_dir),
        "ocrLayerArn": LAYER,
        "logRetentionDays": 30.0,
        "sweepMinAgeMinutes": 150.0,
        "sweepMaxPerRun": 50.0,
        "sweepMaxAgeMinutes": 2000.0,
        "ocrMaxPages": 40.0,
        **extra,
    }


def test_pipeline_on_up(
    engine: Engine, plugin: Plugin, build_dir: Path, explicit_provider: str
) -> None:
    built = construct(
        engine,
        plugin,
        "docpipe:index:DocumentPipeline",
        "dp",
        pipeline_inputs(
            build_dir,
            stages={
                "ocr": {"memorySize": 3008.0, "maxReceiveCount": 6.0},
                "classify": {"environment": {"LOG_LEVEL": "DEBUG"}},
            },
            categories=[{"name": "invoice", "keywords": ["invoice", "total"]}],
            classifyThreshold=0.25,
            alarmEmail=secret("ops@example.com"),
        ),
        providers={"aws": explicit_provider},
    )
    children = by_name(built.children)
    assert kinds(built.children)["docpipe:index:QueueFunction"] == 4
    assert kinds(built.children)["aws:lambda/function:Function"] == 4
    assert engine.monitor.duplicates == []
    assert {c.provider for c in built.children if c.custom} == {explicit_provider}

    sweep = environment(children["dp-sweep-function"])
    assert (sweep["SWEEP_MIN_AGE_MINUTES"], sweep["SWEEP_MAX_PER_RUN"]) == ("150", "50")
    assert sweep["SWEEP_MAX_AGE_MINUTES"] == "2000"
    ocr = environment(children["dp-ocr-function"])
    assert ocr["OCR_MAX_PAGES"] == "40"
    every_value = [
        value
        for child in built.children
        if child.type == "aws:lambda/function:Function"
        for value in environment(child).values()
    ]
    assert [v for v in every_value if INTEGRAL_FLOAT.match(v)] == []
    assert children["dp-ocr-function"].inputs["memorySize"] == 3008
    redrive = json.loads(plain(children["dp-ocr-queue"].inputs["redrivePolicy"]))
    assert redrive["maxReceiveCount"] == 6
    classify = environment(children["dp-classify-function"])
    assert classify["LOG_LEVEL"] == "DEBUG"
    assert json.loads(classify["CLASSIFY_CATEGORIES"]) == [
        {"name": "invoice", "keywords": ["invoice", "total"]}
    ]
    assert classify["CLASSIFY_THRESHOLD"] == "0.25"
    assert is_secret(children["dp-alarm-email"].inputs["endpoint"])
    code = plain(children["dp-ocr-function"].inputs["code"])
    assert code["path"] == str(build_dir / "functions" / "ocr.zip")

    state = plain(built.state)
    assert sorted(state["queueUrls"]) == ["classify", "ocr", "summarize", "sweep"]
    assert state["functionNames"]["ocr"] == physical_name("dp-ocr-function")
    assert state["alarmTopicArn"].startswith("arn:aws:sns:")


def test_pipeline_in_preview_with_outputs_in_stage_environment(
    engine: Engine, plugin: Plugin, build_dir: Path
) -> None:
    built = construct(
        engine,
        plugin,
        "docpipe:index:DocumentPipeline",
        "dpp",
        pipeline_inputs(
            build_dir,
            stages={
                # a per-value output, a whole-map output, and integers from other resources
                "ocr": {"environment": {"QUEUE": unknown_output(QUEUE_URN)}},
                "summarize": {
                    "environment": output({"TOPIC": TOPIC_ARN}, dependencies=(TOPIC_URN,)),
                    "memorySize": unknown_output(KEY_URN),
                },
                "classify": {"timeout": output(45.0, dependencies=(KEY_URN,))},
            },
        ),
        preview=True,
    )
    children = by_name(built.children)
    ocr = environment(children["dpp-ocr-function"])
    assert ocr["DOCPIPE_STAGE"] == "ocr"
    assert ocr["QUEUE"] is UNKNOWN_VALUE
    summarize = children["dpp-summarize-function"]
    assert TOPIC_URN in summarize.property_dependencies["environment"]
    assert plain(summarize.inputs["memorySize"]) is UNKNOWN_VALUE
    classify = children["dpp-classify-function"]
    assert plain(classify.inputs["timeout"]) == 45
    assert KEY_URN in classify.property_dependencies["timeout"]
    state = plain(built.state)
    assert state["bucketName"] == "dpp-dev-123456789012-us-east-1"  # from invokes: known
    assert state["functionArns"] is UNKNOWN_VALUE  # computed by AWS on create


def test_pipeline_default_build_is_the_checkouts(engine: Engine, plugin: Plugin) -> None:
    """The plugin runs in the consumer's directory: the default build is docpipe's own."""
    built = construct(
        engine,
        plugin,
        "docpipe:index:DocumentPipeline",
        "dpb",
        {"requireArtifacts": False, "requireOcrRuntime": False},
    )
    code = plain(by_name(built.children)["dpb-summarize-function"].inputs["code"])
    assert code["path"] == str(REPOSITORY / "dist" / "functions" / "summarize.zip")


def test_pipeline_missing_build_names_absolute_paths(engine: Engine, plugin: Plugin) -> None:
    with pytest.raises(Exception, match="build_dir: missing") as raised:
        construct(
            engine,
            plugin,
            "docpipe:index:DocumentPipeline",
            "dpm",
            {"requireOcrRuntime": False, "buildDir": "/nonexistent/docpipe-build"},
        )
    assert "/nonexistent/docpipe-build/functions/ocr.zip" in str(raised.value)


def test_every_output_is_known_after_up(engine: Engine, plugin: Plugin, build_dir: Path) -> None:
    built = construct(
        engine, plugin, "docpipe:index:DocumentPipeline", "dpo", pipeline_inputs(build_dir)
    )
    state = plain(built.state)
    assert sorted(state) == sorted(PIPELINE_OUTPUTS - {"alarmTopicArn"})  # no e-mail, no topic
    assert [key for key, value in state.items() if value in (None, UNKNOWN_VALUE)] == []


def test_pipeline_names_a_plain_argument_that_arrived_as_an_output(
    engine: Engine, plugin: Plugin, build_dir: Path
) -> None:
    """Plain arguments shape the pipeline itself; a secret inside `stages` makes the whole
    map one secret output on the wire (the SDK pushes secrecy up to the top-level input)."""
    with pytest.raises(ConstructError) as raised:
        construct(
            engine,
            plugin,
            "docpipe:index:DocumentPipeline",
            "dps",
            pipeline_inputs(
                build_dir,
                sweepMaxPerRun=secret(50.0),
                stages={"ocr": {"environment": {"TOKEN": secret("t")}}},
            ),
        )
    message = str(raised.value)
    assert "DocumentPipeline 'dps' has invalid arguments:" in message
    assert (
        "  - sweep_max_per_run: must be a plain value, known when the component is built" in message
    )
    assert "  - stages: must be a plain value" in message
    assert engine.monitor.registrations == []
