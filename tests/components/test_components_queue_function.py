"""QueueFunction: defaults, overrides, options, and every validation error."""

from __future__ import annotations

import json
import re
from typing import Any

import pulumi
import pytest
from component_helpers import build, counts, policy

from components import QueueFunction, QueueFunctionArgs
from mockrun import CapturingMonitor

ARN = "arn:aws:sqs:us-east-1:123456789012"
BUCKET_ARN = "arn:aws:s3:::uploads"
S3 = {"service": "s3.amazonaws.com", "source_arn": BUCKET_ARN}
CONSUME = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
           "sqs:GetQueueAttributes"]  # fmt: skip


def zip_args(**overrides: Any) -> QueueFunctionArgs:
    args: dict[str, Any] = {"code": pulumi.FileArchive("app.zip"), "handler": "app.handler"}
    args.update(overrides)
    return args  # type: ignore[return-value]


def make(monitor: CapturingMonitor, **overrides: Any) -> CapturingMonitor:
    return build(monitor, lambda: QueueFunction("jobs", zip_args(**overrides)))


def state(monitor: CapturingMonitor, name: str, key: str = "arn") -> Any:
    return monitor.named(name).state[key]


def test_defaults(monitor: CapturingMonitor) -> None:
    make(monitor)
    assert counts(monitor) == {
        "docpipe:index:QueueFunction": 1,
        "aws:sqs/queue:Queue": 2,
        "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": 1,
        "aws:sqs/queuePolicy:QueuePolicy": 2,
        "aws:cloudwatch/logGroup:LogGroup": 1,
        "aws:iam/role:Role": 1,
        "aws:iam/rolePolicy:RolePolicy": 1,
        "aws:lambda/function:Function": 1,
        "aws:lambda/eventSourceMapping:EventSourceMapping": 1,
        "aws:cloudwatch/metricAlarm:MetricAlarm": 6,
    }
    component = monitor.named("jobs")
    assert {r.parent for r in monitor.registrations if r.custom} == {component.urn}
    assert monitor.named("jobs-queue").inputs == {
        "visibilityTimeoutSeconds": 180,  # 6 x 30 s + 0 s
        "messageRetentionSeconds": 345600,
        "receiveWaitTimeSeconds": 20,
        "redrivePolicy": json.dumps(
            {"deadLetterTargetArn": state(monitor, "jobs-dlq"), "maxReceiveCount": 5}
        ),
        "sqsManagedSseEnabled": True,
    }
    assert monitor.named("jobs-dlq").inputs == {
        "messageRetentionSeconds": 1209600,
        "sqsManagedSseEnabled": True,
    }
    assert monitor.named("jobs-trigger").inputs == {
        "eventSourceArn": state(monitor, "jobs-queue"),
        "functionName": state(monitor, "jobs-function"),
        "functionResponseTypes": ["ReportBatchItemFailures"],
        "batchSize": 10,
        "maximumBatchingWindowInSeconds": 0,
        "scalingConfig": {"maximumConcurrency": 5},
    }
    function = monitor.named("jobs-function").inputs
    assert function == {
        "role": state(monitor, "jobs-role"),
        "architectures": ["arm64"],
        "memorySize": 256,
        "timeout": 30,
        "ephemeralStorage": {"size": 512},
        "environment": {
            "variables": {
                "POWERTOOLS_SERVICE_NAME": "jobs",
                "POWERTOOLS_METRICS_NAMESPACE": "docpipe",
            }
        },
        "tracingConfig": {"mode": "Active"},
        "loggingConfig": {"logFormat": "JSON", "logGroup": state(monitor, "jobs-logs", "name")},
        "packageType": "Zip",
        "code": function["code"],
        "handler": "app.handler",
        "runtime": "python3.12",
        "layers": [],
    }
    assert monitor.named("jobs-logs").inputs == {"retentionInDays": 14}
    assert policy(monitor.named("jobs-role-policy")) == {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ConsumeQueue", "Effect": "Allow", "Action": CONSUME,
             "Resource": [state(monitor, "jobs-queue")]},
            {"Sid": "WriteLogs", "Effect": "Allow",
             "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": [state(monitor, "jobs-logs") + ":*"]},
            {"Sid": "Xray", "Effect": "Allow",
             "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": ["*"]},
        ],
    }  # fmt: skip


def test_outputs_are_named_by_resource(monitor: CapturingMonitor) -> None:
    make(monitor)
    assert monitor.named("jobs").outputs == {
        "function_arn": state(monitor, "jobs-function"),
        "function_name": state(monitor, "jobs-function", "name"),
        "role_arn": state(monitor, "jobs-role"),
        "role_name": state(monitor, "jobs-role", "name"),
        "queue_arn": state(monitor, "jobs-queue"),
        "queue_url": state(monitor, "jobs-queue", "url"),
        "queue_name": state(monitor, "jobs-queue", "name"),
        "dlq_arn": state(monitor, "jobs-dlq"),
        "dlq_url": state(monitor, "jobs-dlq", "url"),
        "dlq_name": state(monitor, "jobs-dlq", "name"),
        "log_group_name": state(monitor, "jobs-logs", "name"),
        "log_group_arn": state(monitor, "jobs-logs"),
        "event_source_mapping_uuid": state(monitor, "jobs-trigger", "uuid"),
        "metrics_namespace": "docpipe",
        "metrics_service": "jobs",
    }  # None outputs (layer_arn, kms_key_arn) are not sent to the engine


def test_overrides_win_over_defaults(monitor: CapturingMonitor) -> None:
    make(
        monitor,
        timeout=60,
        batching_window=5,
        batch_size=50,
        memory_size=1024,
        max_concurrency=20,
        reserved_concurrency=30,
        max_receive_count=8,
        queue_retention_seconds=86400,
        architecture="x86_64",
        log_retention_days=90,
        environment={"POWERTOOLS_SERVICE_NAME": "custom", "EXTRA": "1"},
        tags={"team": "docs"},
    )
    queue = monitor.named("jobs-queue").inputs
    assert queue["visibilityTimeoutSeconds"] == 365  # 6 x 60 + 5
    assert queue["messageRetentionSeconds"] == 86400
    assert json.loads(queue["redrivePolicy"])["maxReceiveCount"] == 8
    trigger = monitor.named("jobs-trigger").inputs
    assert (trigger["batchSize"], trigger["maximumBatchingWindowInSeconds"]) == (50, 5)
    assert trigger["scalingConfig"] == {"maximumConcurrency": 20}
    assert trigger["functionResponseTypes"] == ["ReportBatchItemFailures"]  # always
    function = monitor.named("jobs-function").inputs
    assert function["memorySize"] == 1024
    assert function["reservedConcurrentExecutions"] == 30
    assert function["architectures"] == ["x86_64"]
    assert function["environment"] == {
        "variables": {
            "POWERTOOLS_SERVICE_NAME": "custom",
            "POWERTOOLS_METRICS_NAMESPACE": "docpipe",  # the project's name unless set
            "EXTRA": "1",
        }
    }
    assert monitor.named("jobs-logs").inputs["retentionInDays"] == 90
    taggable = [r for r in monitor.registrations if "tags" in r.inputs]
    assert len(taggable) == 12
    assert {json.dumps(r.inputs["tags"]) for r in taggable} == {'{"team": "docs"}'}


def test_visibility_timeout_above_the_minimum_is_kept(monitor: CapturingMonitor) -> None:
    make(monitor, visibility_timeout=900)
    assert monitor.named("jobs-queue").inputs["visibilityTimeoutSeconds"] == 900


def test_caller_options_apply_to_the_component_and_children_stay_parented(
    monitor: CapturingMonitor,
) -> None:
    parent = pulumi.ComponentResource("test:index:Parent", "outer")
    build(
        monitor,
        lambda: QueueFunction("jobs", zip_args(), pulumi.ResourceOptions(parent=parent)),
    )
    component = monitor.named("jobs")
    assert component.parent.endswith("::outer")
    assert {r.parent for r in monitor.registrations if r.custom} == {component.urn}


def test_trigger_waits_for_the_role_policy_and_replaces_delete_first(
    monitor: CapturingMonitor,
) -> None:
    make(monitor)
    trigger, role_policy = monitor.named("jobs-trigger"), monitor.named("jobs-role-policy")
    assert trigger.delete_before_replace is True
    assert role_policy.urn in trigger.dependencies
    function = monitor.named("jobs-function")
    assert monitor.named("jobs-logs").urn in function.dependencies
    assert role_policy.urn in function.dependencies


def test_dependency_layer_and_extra_layers(monitor: CapturingMonitor) -> None:
    tesseract = "arn:aws:lambda:us-east-1:123456789012:layer:tesseract:3"
    make(monitor, dependency_layer=pulumi.FileArchive("deps.zip"), layers=[tesseract])
    layer = monitor.named("jobs-deps")
    assert layer.inputs["layerName"] == "jobs-test-deps"
    assert layer.inputs["compatibleRuntimes"] == ["python3.12"]
    assert layer.inputs["compatibleArchitectures"] == ["arm64"]
    assert monitor.named("jobs-function").inputs["layers"] == [layer.state["arn"], tesseract]


@pytest.mark.parametrize(
    ("stack", "layer_name"),
    [
        ("dev", "jobs-dev-deps"),  # valid names are kept: existing layers are not replaced
        ("prod", "jobs-prod-deps"),
        ("eu.prod", "jobs-eu-prod-deps"),  # Pulumi allows '.' in stack names, Lambda does not
        ("x" * 150, "jobs-" + "x" * 135),  # at most 140 characters
    ],
)
def test_the_layer_name_is_one_lambda_accepts_for_any_stack_name(
    monitor: CapturingMonitor, stack: str, layer_name: str
) -> None:
    pulumi.runtime.set_mocks(
        monitor.mocks, project="docpipe", stack=stack, preview=False, monitor=monitor
    )
    make(monitor, dependency_layer=pulumi.FileArchive("deps.zip"))
    name = monitor.named("jobs-deps").inputs["layerName"]
    assert name == layer_name
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,140}", name)  # PublishLayerVersion's LayerName


def test_image_packaging(monitor: CapturingMonitor) -> None:
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ocr:1"
    build(
        monitor,
        lambda: QueueFunction(
            "jobs", {"image_uri": image, "image_command": ["handlers.ocr.lambda_handler"]}
        ),
    )
    function = monitor.named("jobs-function").inputs
    assert function["packageType"] == "Image"
    assert function["imageUri"] == image
    assert function["imageConfig"] == {"commands": ["handlers.ocr.lambda_handler"]}
    assert "handler" not in function and "runtime" not in function and "layers" not in function


def test_customer_managed_key_with_producer_statements(monitor: CapturingMonitor) -> None:
    make(monitor, create_kms_key=True, queue_producers=[S3])
    key = monitor.named("jobs-key")
    key_arn = key.state["arn"]
    assert key.inputs["enableKeyRotation"] is True
    assert policy(key)["Statement"] == [
        {
            "Sid": "EnableAccountAdministration",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "Producer0Encrypt",
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": "*",
            "Condition": {
                "ArnEquals": {"aws:SourceArn": BUCKET_ARN},
                "StringEquals": {"aws:SourceAccount": "123456789012"},
            },
        },
    ]
    for queue in ("jobs-queue", "jobs-dlq"):
        inputs = monitor.named(queue).inputs
        assert inputs["kmsMasterKeyId"] == key_arn
        assert inputs["kmsDataKeyReusePeriodSeconds"] == 300
        assert "sqsManagedSseEnabled" not in inputs
    statements = policy(monitor.named("jobs-role-policy"))["Statement"]
    assert statements[3] == {
        "Sid": "DecryptQueue",
        "Effect": "Allow",
        "Action": ["kms:Decrypt"],
        "Resource": [key_arn],
    }
    assert monitor.named("jobs").outputs["kms_key_arn"] == key_arn


def test_producers_go_into_the_one_queue_policy(monitor: CapturingMonitor) -> None:
    make(monitor, queue_producers=[S3])
    queue_arn = state(monitor, "jobs-queue")
    assert policy(monitor.named("jobs-queue-policy"))["Statement"] == [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:*",
            "Resource": [queue_arn],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Sid": "Producer0Send",
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {
                "ArnEquals": {"aws:SourceArn": BUCKET_ARN},
                "StringEquals": {"aws:SourceAccount": "123456789012"},
            },
        },
    ]
    assert len(policy(monitor.named("jobs-dlq-policy"))["Statement"]) == 1


def test_adopting_an_existing_queue(monitor: CapturingMonitor) -> None:
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/legacy"
    make(monitor, existing_queue_arn=f"{ARN}:legacy", existing_queue_url=url)
    found = counts(monitor)
    assert "aws:sqs/queue:Queue" not in found and "aws:sqs/queuePolicy:QueuePolicy" not in found
    assert found["aws:cloudwatch/metricAlarm:MetricAlarm"] == 4  # no DLQ to watch
    assert monitor.named("jobs-trigger").inputs["eventSourceArn"] == f"{ARN}:legacy"
    assert monitor.named("jobs-queue-age-alarm").inputs["dimensions"] == {"QueueName": "legacy"}
    outputs = monitor.named("jobs").outputs
    assert (outputs["queue_arn"], outputs["queue_url"]) == (f"{ARN}:legacy", url)
    assert "dlq_arn" not in outputs


def test_vpc_environment_key_and_named_statements(monitor: CapturingMonitor) -> None:
    env_key = "arn:aws:kms:us-east-1:123456789012:key/env"
    make(
        monitor,
        vpc_subnet_ids=["subnet-1"],
        vpc_security_group_ids=["sg-1"],
        environment_kms_key_arn=env_key,
        policy_statements={
            "read-config": {
                "actions": ["ssm:GetParameter"],
                "resources": ["arn:aws:ssm:us-east-1:123456789012:parameter/docpipe/*"],
                "conditions": [
                    {
                        "test": "StringEquals",
                        "variable": "aws:RequestedRegion",
                        "values": ["us-east-1"],
                    }
                ],
            }
        },
    )
    function = monitor.named("jobs-function").inputs
    assert function["vpcConfig"] == {"subnetIds": ["subnet-1"], "securityGroupIds": ["sg-1"]}
    assert function["kmsKeyArn"] == env_key
    statements = policy(monitor.named("jobs-role-policy"))["Statement"]
    assert [s["Sid"] for s in statements] == [
        "ConsumeQueue", "WriteLogs", "Xray", "DecryptEnvironment", "VpcNetworkInterfaces",
        "ReadConfig",
    ]  # fmt: skip
    assert statements[-1] == {
        "Sid": "ReadConfig",
        "Effect": "Allow",
        "Action": ["ssm:GetParameter"],
        "Resource": ["arn:aws:ssm:us-east-1:123456789012:parameter/docpipe/*"],
        "Condition": {"StringEquals": {"aws:RequestedRegion": ["us-east-1"]}},
    }
    assert statements[4]["Resource"] == ["*"]  # ENI actions support no resource scoping


def test_alarms_notify_the_topic(monitor: CapturingMonitor) -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:alarms"
    make(monitor, alarm_topic_arn=topic, queue_age_alarm_seconds=600)
    alarms = {r.name: r.inputs for r in monitor.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert sorted(alarms) == [
        "jobs-dlq-age-alarm", "jobs-dlq-depth-alarm", "jobs-errors-alarm",
        "jobs-failed-records-alarm", "jobs-queue-age-alarm", "jobs-throttles-alarm",
    ]  # fmt: skip
    for alarm in alarms.values():
        assert alarm["alarmActions"] == [topic] == alarm["okActions"]
    age = alarms["jobs-queue-age-alarm"]
    assert (age["metricName"], age["threshold"], age["statistic"]) == (
        "ApproximateAgeOfOldestMessage", 600, "Maximum",
    )  # fmt: skip
    assert alarms["jobs-errors-alarm"]["dimensions"] == {
        "FunctionName": state(monitor, "jobs-function", "name")
    }


def test_failed_records_alarm_watches_the_metric_the_function_is_configured_to_emit(
    monitor: CapturingMonitor,
) -> None:
    # GIVEN a function whose environment names its Powertools service and namespace
    environment = {
        "POWERTOOLS_SERVICE_NAME": "billing-jobs",
        "POWERTOOLS_METRICS_NAMESPACE": "acme",
    }
    make(monitor, environment=environment)

    # THEN its failed-records alarm watches RecordsFailed there: with partial batch
    # responses a failed record never fails the invocation, so Lambda's Errors never sees it
    alarm = monitor.named("jobs-failed-records-alarm")
    assert alarm.inputs == {
        "alarmDescription": "jobs: records failed and are being retried (throttling, access "
        "denied, a crash); after max_receive_count tries they reach the DLQ",
        "namespace": "acme",
        "metricName": "RecordsFailed",
        "dimensions": {"service": "billing-jobs"},
        "statistic": "Sum",
        "period": 300,
        "evaluationPeriods": 1,
        "threshold": 0,
        "comparisonOperator": "GreaterThanThreshold",
        "treatMissingData": "notBreaching",
        "alarmActions": [],
        "okActions": [],
    }
    # derived from the function itself: the alarm follows its environment, and a policy can
    # join the two through property dependencies
    function = monitor.named("jobs-function").urn
    assert function in alarm.property_dependencies["namespace"]
    assert function in alarm.property_dependencies["dimensions"]
    outputs = monitor.named("jobs").outputs
    assert (outputs["metrics_namespace"], outputs["metrics_service"]) == ("acme", "billing-jobs")


def test_dlq_age_alarm_fires_before_a_dead_letter_can_expire(monitor: CapturingMonitor) -> None:
    make(monitor, dlq_age_alarm_seconds=7200)
    alarm = monitor.named("jobs-dlq-age-alarm").inputs
    assert {k: v for k, v in alarm.items() if k not in ("alarmActions", "okActions")} == {
        "alarmDescription": "jobs: a dead letter has waited too long: redrive or purge it "
        "before it expires",
        "namespace": "AWS/SQS",
        "metricName": "ApproximateAgeOfOldestMessage",
        "dimensions": {"QueueName": state(monitor, "jobs-dlq", "name")},
        "statistic": "Maximum",
        "period": 300,
        "evaluationPeriods": 1,
        "threshold": 7200,
        "comparisonOperator": "GreaterThanThreshold",
        "treatMissingData": "notBreaching",
    }


def test_no_alarms_when_turned_off(monitor: CapturingMonitor) -> None:
    make(monitor, create_alarms=False)
    assert monitor.by_type("aws:cloudwatch/metricAlarm:MetricAlarm") == []


S3_PRODUCER = {"queue_producers": [S3]}
LEGACY_FIFO = {
    "existing_queue_arn": f"{ARN}:jobs.fifo",
    "existing_queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/jobs.fifo",
}
VALIDATION_ERRORS = [
    (
        {"timeout": 60, "visibility_timeout": 300},
        "visibility_timeout: 300 is below 6 x timeout + batching_window = 360",
    ),
    (
        {"timeout": 60, "batching_window": 10, "batch_size": 20, "visibility_timeout": 360},
        "visibility_timeout: 360 is below 6 x timeout + batching_window = 370",
    ),
    ({"batch_size": 11}, "batch_size: 11 above 10 needs batching_window of at least 1 s"),
    ({"max_concurrency": 1}, "max_concurrency: must be between 2 and 1000, got 1"),
    ({"max_concurrency": 1001}, "max_concurrency: must be between 2 and 1000, got 1001"),
    (
        {"max_concurrency": 10, "reserved_concurrency": 5},
        "max_concurrency: 10 is above reserved_concurrency 5: the mapping would be throttled",
    ),
    (
        {"queue_retention_seconds": 1209600},
        "dlq_retention_seconds: 1209600 must be above queue_retention_seconds 1209600: DLQ "
        "messages keep their original enqueue time and would expire early",
    ),
    (
        {"dlq_retention_seconds": 3600},
        "dlq_retention_seconds: 3600 must be above queue_retention_seconds 345600: DLQ "
        "messages keep their original enqueue time and would expire early",
    ),
    (
        LEGACY_FIFO,
        f"fifo_queue: is False but the adopted queue {ARN}:jobs.fifo is FIFO",
    ),
    (
        {"fifo_queue": True, "existing_queue_arn": f"{ARN}:jobs", "existing_queue_url": "u"},
        f"fifo_queue: is True but the adopted queue {ARN}:jobs is not FIFO",
    ),
    (
        {"fifo_queue": True, "batching_window": 5},
        "batching_window: is not supported on FIFO queues: leave it 0",
    ),
    (
        {"fifo_queue": True, **S3_PRODUCER},
        "fifo_queue: S3 event notifications cannot target FIFO queues",
    ),
    (
        {"kms_key_arn": "alias/aws/sqs", **S3_PRODUCER},
        "kms_key_arn: ['s3.amazonaws.com'] cannot send to a queue encrypted with the "
        "AWS-managed alias/aws/sqs: use SSE-SQS (default) or a customer-managed key",
    ),
    (
        # a dead letter that waited 4 days in the source queue has 10 days left in the DLQ
        {"dlq_age_alarm_seconds": 864000},
        "dlq_age_alarm_seconds: 864000 must be below dlq_retention_seconds - "
        "queue_retention_seconds = 864000: a dead letter may expire before the alarm fires",
    ),
    (
        {"dlq_age_alarm_seconds": 30},
        "dlq_age_alarm_seconds: must be between 60 and 1209600, got 30",
    ),
    ({"max_receive_count": 0}, "max_receive_count: must be between 1 and 1000, got 0"),
    ({"max_receive_count": 2.5}, "max_receive_count: must be an integer, got 2.5"),
    ({"timeout": 901}, "timeout: must be between 1 and 900, got 901"),
    ({"memory_size": 64}, "memory_size: must be between 128 and 10240, got 64"),
    ({"reserved_concurrency": 0}, "reserved_concurrency: must be between 1 and 1000000, got 0"),
    (
        {"runtime": "python3.9"},
        "runtime: must be one of ['python3.12', 'python3.13', 'python3.14'], got 'python3.9'",
    ),
    ({"architecture": "arm"}, "architecture: must be arm64 or x86_64, got 'arm'"),
    (
        {"log_retention_days": 10},
        "log_retention_days: must be one of [1, 3, 5, 7, 14, 30, "
        "60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]",
    ),
    (
        {"environment": {"AWS_REGION": "x"}},
        "environment: sets keys reserved by Lambda: ['AWS_REGION']",
    ),
    (
        {"vpc_subnet_ids": ["s"]},
        "vpc_subnet_ids: vpc_subnet_ids and vpc_security_group_ids go together",
    ),
    ({"layers": ["a", "b", "c", "d", "e", "f"]}, "layers: Lambda allows at most 5 layers, got 6"),
    ({"handler": None}, "handler: is required with code (zip packaging)"),
    ({"image_uri": "img"}, "code: exactly one of code (zip) and image_uri (container) is required"),
    (
        {"kms_key_arn": "arn:aws:kms:us-east-1:1:key/k", "create_kms_key": True},
        "kms_key_arn: kms_key_arn and create_kms_key exclude each other",
    ),
    (
        {"existing_queue_arn": f"{ARN}:q"},
        "existing_queue_arn: existing_queue_arn and existing_queue_url go together",
    ),
    (
        {**LEGACY_FIFO, "fifo_queue": True, **S3_PRODUCER},
        "queue_producers: need a queue policy, which is not managed on an adopted queue",
    ),
    (
        {"policy_statements": {"all": {"actions": ["s3:*"], "resources": ["*"]}}},
        "policy_statements: statement 'all' uses wildcard actions ['s3:*']",
    ),
    (
        {"policy_statements": {"wide": {"actions": ["s3:GetObject"], "resources": ["*"]}}},
        "policy_statements: statement 'wide' grants ['s3:GetObject'] on resource '*': "
        "scope them to ARNs",
    ),
]


@pytest.mark.parametrize(("overrides", "message"), VALIDATION_ERRORS)
def test_validation_error_names_the_argument_before_anything_registers(
    monitor: CapturingMonitor, overrides: dict[str, Any], message: str
) -> None:
    args = zip_args(**overrides)
    if args.get("handler") is None:
        args.pop("handler", None)
    with pytest.raises(ValueError) as raised:
        build(monitor, lambda: QueueFunction("jobs", args))
    lines = str(raised.value).splitlines()
    assert lines[0] == "QueueFunction 'jobs' has invalid arguments:"
    assert f"  - {message}" in lines
    assert monitor.registrations == []


def test_every_problem_is_reported_at_once(monitor: CapturingMonitor) -> None:
    with pytest.raises(ValueError) as raised:
        build(
            monitor,
            lambda: QueueFunction("jobs", zip_args(batch_size=11, max_concurrency=1, timeout=0)),
        )
    assert str(raised.value).splitlines() == [
        "QueueFunction 'jobs' has invalid arguments:",
        "  - timeout: must be between 1 and 900, got 0",
        "  - max_concurrency: must be between 2 and 1000, got 1",
        "  - batch_size: 11 above 10 needs batching_window of at least 1 s",
    ]
    assert monitor.registrations == []


def test_unknown_values_are_not_validated(monitor: CapturingMonitor) -> None:
    """Outputs are only known at deploy time: validation skips them rather than guessing."""
    make(monitor, batch_size=pulumi.Output.from_input(10), timeout=pulumi.Output.from_input(70))
    assert monitor.named("jobs-trigger").inputs["batchSize"] == 10
    assert monitor.named("jobs-queue").inputs["visibilityTimeoutSeconds"] == 420
