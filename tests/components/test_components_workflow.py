"""DocumentWorkflow under Pulumi mocks: the exact definition, IAM, ordering, validation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from component_helpers import build, counts, policy

from components.document_workflow import DocumentWorkflow
from mockrun import CapturingMonitor

QUEUE = "arn:aws:sqs:us-east-1:123456789012:intake"
OCR = "arn:aws:lambda:us-east-1:123456789012:function:ocr"
CLASSIFY = "arn:aws:lambda:us-east-1:123456789012:function:classify"
STATE_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:flow-state-machine-"
STEPS = [
    {"name": "ocr", "function_arn": OCR, "timeout": 180, "attempts": 5},
    {"name": "classify", "function_arn": CLASSIFY, "timeout": 30, "attempts": 3},
]
THROTTLED = {
    "ErrorEquals": ["Lambda.TooManyRequestsException"],
    "IntervalSeconds": 1,
    "BackoffRate": 2.0,
    "MaxDelaySeconds": 30,
    "MaxAttempts": 100,
    "JitterStrategy": "FULL",
}
SERVICE = {
    "ErrorEquals": [
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.ClientExecutionTimeoutException",
    ],
    "IntervalSeconds": 2,
    "BackoffRate": 2.0,
    "MaxDelaySeconds": 60,
    "MaxAttempts": 6,
    "JitterStrategy": "FULL",
}
CATCH = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$", "Next": "failed"}]


def failed(max_attempts: int) -> dict[str, Any]:
    return {
        "ErrorEquals": ["States.TaskFailed", "States.Timeout"],
        "IntervalSeconds": 5,
        "BackoffRate": 2.0,
        "MaxDelaySeconds": 120,
        "MaxAttempts": max_attempts,
        "JitterStrategy": "FULL",
    }


def workflow(monitor: CapturingMonitor, **extra: Any) -> CapturingMonitor:
    args: dict[str, Any] = {"steps": STEPS, "source_queue_arn": QUEUE, **extra}
    return build(monitor, lambda: DocumentWorkflow("flow", args))  # type: ignore[arg-type]


def errors(raised: pytest.ExceptionInfo[ValueError]) -> list[str]:
    return str(raised.value).splitlines()[1:]


def test_the_definition_calls_the_steps_in_order_with_retries_and_a_catch(
    monitor: CapturingMonitor,
) -> None:
    workflow(monitor)
    machine = monitor.named("flow-state-machine")
    assert json.loads(machine.inputs["definition"]) == {
        "Comment": "flow: one document through ocr -> classify",
        "StartAt": "ocr",
        "TimeoutSeconds": 86400,
        "States": {
            "ocr": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                # the pipe delivers a batch of one SQS record: its body is the upload message
                "InputPath": "$[0]",
                "Parameters": {"FunctionName": OCR, "Payload.$": "States.StringToJson($.body)"},
                "OutputPath": "$.Payload",
                "TimeoutSeconds": 240,
                "Retry": [THROTTLED, SERVICE, failed(4)],
                "Catch": CATCH,
                "Next": "after ocr",
            },
            "after ocr": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.kind", "StringEquals": "document", "Next": "classify"}],
                "Default": "settled",
            },
            "classify": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": CLASSIFY, "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "TimeoutSeconds": 90,
                "Retry": [THROTTLED, SERVICE, failed(2)],
                "Catch": CATCH,
                "End": True,
            },
            "settled": {"Type": "Succeed"},
            "failed": {"Type": "Fail", "ErrorPath": "$.Error", "CausePath": "$.Cause"},
        },
    }
    assert machine.inputs["type"] == "STANDARD"


def test_children_logging_tracing_and_alarms(monitor: CapturingMonitor) -> None:
    workflow(monitor, alarm_topic_arn="arn:aws:sns:us-east-1:123456789012:alarms", tags={"a": "b"})
    assert counts(monitor) == {
        "docpipe:index:DocumentWorkflow": 1,
        "aws:cloudwatch/logGroup:LogGroup": 1,
        "aws:iam/role:Role": 2,
        "aws:iam/rolePolicy:RolePolicy": 2,
        "aws:sfn/stateMachine:StateMachine": 1,
        "aws:pipes/pipe:Pipe": 1,
        "aws:cloudwatch/metricAlarm:MetricAlarm": 2,
    }
    component = monitor.named("flow")
    assert all(r.parent == component.urn for r in monitor.registrations if r is not component)
    logs = monitor.named("flow-logs").inputs
    assert logs == {
        "namePrefix": "/aws/vendedlogs/states/flow-",
        "retentionInDays": 14,
        "tags": {"a": "b"},
    }
    machine = monitor.named("flow-state-machine")
    log_arn = monitor.named("flow-logs").state["arn"]
    assert machine.inputs["loggingConfiguration"] == {
        "level": "ERROR",
        "includeExecutionData": False,
        "logDestination": f"{log_arn}:*",
    }
    assert machine.inputs["tracingConfiguration"] == {"enabled": True}
    alarms = {
        r.name: (r.inputs["namespace"], r.inputs["metricName"], r.inputs["dimensions"])
        for r in monitor.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    }
    dimensions = {"StateMachineArn": machine.state["arn"]}
    assert alarms == {
        "flow-failed-alarm": ("AWS/States", "ExecutionsFailed", dimensions),
        "flow-timed-out-alarm": ("AWS/States", "ExecutionsTimedOut", dimensions),
    }
    for alarm in monitor.by_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
        assert alarm.inputs["alarmActions"] == ["arn:aws:sns:us-east-1:123456789012:alarms"]
        assert (alarm.inputs["threshold"], alarm.inputs["statistic"]) == (0, "Sum")


def test_the_state_machine_role_invokes_exactly_the_steps_functions(
    monitor: CapturingMonitor,
) -> None:
    workflow(monitor)
    trust = policy(monitor.named("flow-role"), "assumeRolePolicy")
    assert trust["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
        }
    ]
    statements = policy(monitor.named("flow-role-policy"))["Statement"]
    assert statements == [
        {
            "Sid": "InvokeStepFunctions",
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction"],
            "Resource": [OCR, CLASSIFY],
        },
        {
            "Sid": "DeliverLogs",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups",
            ],
            "Resource": ["*"],
        },
        {
            "Sid": "Xray",
            "Effect": "Allow",
            "Action": [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
            ],
            "Resource": ["*"],
        },
    ]


def test_the_pipe_reads_one_message_per_execution_with_a_role_for_its_queue_and_machine(
    monitor: CapturingMonitor,
) -> None:
    workflow(monitor)
    machine_arn = monitor.named("flow-state-machine").state["arn"]
    pipe = monitor.named("flow-pipe")
    assert pipe.inputs["source"] == QUEUE
    assert pipe.inputs["target"] == machine_arn
    assert pipe.inputs["sourceParameters"] == {"sqsQueueParameters": {"batchSize": 1}}
    assert pipe.inputs["targetParameters"] == {
        "stepFunctionStateMachineParameters": {"invocationType": "FIRE_AND_FORGET"}
    }
    assert pipe.inputs["roleArn"] == monitor.named("flow-pipe-role").state["arn"]
    trust = policy(monitor.named("flow-pipe-role"), "assumeRolePolicy")["Statement"][0]
    assert trust["Principal"] == {"Service": "pipes.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert policy(monitor.named("flow-pipe-role-policy"))["Statement"] == [
        {
            "Sid": "ConsumeSourceQueue",
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            "Resource": [QUEUE],
        },
        {
            "Sid": "StartWorkflow",
            "Effect": "Allow",
            "Action": ["states:StartExecution"],
            "Resource": [machine_arn],
        },
    ]


def test_ordering_roles_work_before_the_machine_and_the_pipe_exist(
    monitor: CapturingMonitor,
) -> None:
    workflow(monitor)
    order = [r.name for r in monitor.registrations]
    machine, pipe = monitor.named("flow-state-machine"), monitor.named("flow-pipe")
    assert monitor.named("flow-role-policy").urn in machine.dependencies
    assert monitor.named("flow-pipe-role-policy").urn in pipe.dependencies
    assert order.index("flow-logs") < order.index("flow-state-machine") < order.index("flow-pipe")


def test_express_waits_for_each_execution_and_may_only_start_it_synchronously(
    monitor: CapturingMonitor,
) -> None:
    workflow(monitor, workflow_type="EXPRESS", source_queue_kms_key_arn="arn:aws:kms:k")
    machine = monitor.named("flow-state-machine")
    assert machine.inputs["type"] == "EXPRESS"
    assert json.loads(machine.inputs["definition"])["TimeoutSeconds"] == 300
    pipe = monitor.named("flow-pipe")
    assert pipe.inputs["targetParameters"] == {
        "stepFunctionStateMachineParameters": {"invocationType": "REQUEST_RESPONSE"}
    }
    statements = policy(monitor.named("flow-pipe-role-policy"))["Statement"]
    assert [(s["Sid"], s["Action"]) for s in statements] == [
        (
            "ConsumeSourceQueue",
            ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
        ),
        ("StartWorkflow", ["states:StartSyncExecution"]),
        ("DecryptSourceQueue", ["kms:Decrypt"]),
    ]


def test_options_execution_data_level_tracing_and_no_alarms(monitor: CapturingMonitor) -> None:
    workflow(
        monitor,
        include_execution_data=True,
        log_level="ALL",
        tracing_enabled=False,
        create_alarms=False,
        timeout_seconds=3600,
    )
    machine = monitor.named("flow-state-machine")
    assert machine.inputs["loggingConfiguration"]["level"] == "ALL"
    assert machine.inputs["loggingConfiguration"]["includeExecutionData"] is True
    assert machine.inputs["tracingConfiguration"] == {"enabled": False}
    assert json.loads(machine.inputs["definition"])["TimeoutSeconds"] == 3600
    assert "aws:cloudwatch/metricAlarm:MetricAlarm" not in counts(monitor)
    sids = [s["Sid"] for s in policy(monitor.named("flow-role-policy"))["Statement"]]
    assert sids == ["InvokeStepFunctions", "DeliverLogs"]


def test_every_problem_is_reported_at_once_before_anything_registers(
    monitor: CapturingMonitor,
) -> None:
    steps = [
        {"name": "ocr", "function_arn": OCR, "timeout": 0, "attempts": 5},
        {"name": "ocr", "function_arn": OCR, "timeout": 30, "attempts": 101},
        {"name": "settled", "timeout": 30, "attempts": 1},
        {"name": "two words", "function_arn": OCR, "timeout": 400, "attempts": 1},
    ]
    with pytest.raises(ValueError) as raised:
        workflow(
            monitor,
            steps=steps,
            source_queue_arn=None,
            workflow_type="EXPRESS",
            timeout_seconds=301,
            log_level="DEBUG",
            log_retention_days=10,
        )
    assert errors(raised) == [
        "  - source_queue_arn: is required",
        "  - timeout_seconds: must be between 1 and 300, got 301",
        "  - log_level: must be one of ['ALL', 'ERROR', 'FATAL'], got 'DEBUG'",
        "  - log_retention_days: must be one of [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, "
        "365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]",
        "  - steps[0].timeout: must be between 1 and 900, got 0",
        "  - steps[1].name: 'ocr' is used by more than one step",
        "  - steps[1].attempts: must be between 1 and 100, got 101",
        "  - steps[2].name: 'settled' is not a stage name (1-64 of A-Z a-z 0-9 _ -)",
        "  - steps[2].function_arn: is required",
        "  - steps[3].name: 'two words' is not a stage name (1-64 of A-Z a-z 0-9 _ -)",
        "  - steps[3].timeout: 400 s leaves no time in an execution of timeout_seconds 301",
    ]
    assert monitor.registrations == []


def test_no_steps_and_an_unknown_workflow_type(monitor: CapturingMonitor) -> None:
    with pytest.raises(ValueError) as raised:
        workflow(monitor, steps=[], workflow_type="FAST")
    assert errors(raised) == [
        "  - workflow_type: must be one of ['STANDARD', 'EXPRESS'], got 'FAST'",
        "  - steps: needs at least one step",
    ]


def test_step_arguments_arrive_as_other_languages_send_them(monitor: CapturingMonitor) -> None:
    # numbers travel as doubles from the component host
    steps = [{"name": "ocr", "function_arn": OCR, "timeout": 180.0, "attempts": 5.0}]
    workflow(monitor, steps=steps, timeout_seconds=600.0)
    definition = json.loads(monitor.named("flow-state-machine").inputs["definition"])
    assert definition["TimeoutSeconds"] == 600
    assert definition["States"]["ocr"]["TimeoutSeconds"] == 240
    assert definition["States"]["ocr"]["Retry"][2]["MaxAttempts"] == 4
