"""Step Functions and Pipes policies: each passes what the stack builds and fails its mistake."""

from __future__ import annotations

import json
from typing import Any

import pytest
from policy_helpers import UNKNOWN, cannot_check, doc, messages, resource

from components.workflow_definition import Step, definition
from policies import resource_types as t
from policies.gate.model import GateResource

FN = "arn:aws:lambda:us-east-1:123456789012:function:ocr"
OTHER_FN = "arn:aws:lambda:us-east-1:123456789012:function:other"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:intake"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:flow"
LOGGING = {"level": "ERROR", "includeExecutionData": False, "logDestination": "arn:logs:*"}


def built(**changes: Any) -> dict[str, Any]:
    """The definition DocumentWorkflow builds for one step, with top-level changes."""
    result = definition([Step("ocr", FN, 180, 5)], 3600, "flow")
    result.update(changes)
    return result


def machine(props: dict[str, Any] | None = None, **deps: list[GateResource]) -> GateResource:
    defaults = {
        "definition": json.dumps(built()),
        "type": "STANDARD",
        "tracingConfiguration": {"enabled": True},
        "loggingConfiguration": LOGGING,
    }
    outputs = {**defaults, **(props or {}), "arn": MACHINE}
    return resource(t.STATE_MACHINE, "flow", {**defaults, **(props or {})}, deps, outputs)


# -- resource policies on the state machine ----------------------------------------------------


def test_what_the_component_builds_passes_every_state_machine_policy() -> None:
    for name in (
        "stepfunctions-tracing-enabled",
        "stepfunctions-logging-enabled",
        "stepfunctions-lambda-tasks-retry",
        "stepfunctions-execution-timeout",
    ):
        assert messages([machine()], name) == [], name


@pytest.mark.parametrize("tracing", [{}, {"enabled": False}, None])
def test_tracing_off_fails(tracing: Any) -> None:
    props = {"tracingConfiguration": tracing}
    assert messages([machine(props)], "stepfunctions-tracing-enabled") == [
        "tracingConfiguration.enabled is not true: executions are not traced"
    ]


@pytest.mark.parametrize(
    ("logging", "expected"),
    [
        ({"level": "OFF"}, "loggingConfiguration.level is OFF: executions are not logged"),
        (None, "loggingConfiguration.level is OFF: executions are not logged"),
        ({"level": "ALL"}, "loggingConfiguration has no logDestination"),
    ],
)
def test_logging_off_or_nowhere_fails(logging: Any, expected: str) -> None:
    props = {"loggingConfiguration": logging}
    assert messages([machine(props)], "stepfunctions-logging-enabled") == [expected]


def test_a_lambda_task_without_service_exception_retries_fails() -> None:
    throttles_only = built()
    throttles_only["States"]["ocr"]["Retry"] = throttles_only["States"]["ocr"]["Retry"][:1]
    direct_arn = {
        "StartAt": "a",
        "TimeoutSeconds": 60,
        "States": {
            "a": {"Type": "Task", "Resource": FN, "Next": "b"},
            "b": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {
                        "StartAt": "c",
                        "States": {
                            "c": {
                                "Type": "Task",
                                "Resource": FN,
                                "Retry": [{"ErrorEquals": ["States.ALL"]}],
                                "End": True,
                            }
                        },
                    }
                ],
            },
        },
    }
    assert messages(
        [machine({"definition": json.dumps(throttles_only)})], "stepfunctions-lambda-tasks-retry"
    ) == [
        "Lambda task 'ocr' does not retry Lambda.ServiceException, Lambda.AWSLambdaException, "
        "Lambda.SdkClientException"
    ]
    assert messages(
        [machine({"definition": json.dumps(direct_arn)})], "stepfunctions-lambda-tasks-retry"
    ) == [
        "Lambda task 'a' does not retry Lambda.ServiceException, Lambda.AWSLambdaException, "
        "Lambda.SdkClientException"
    ]


def test_an_unbounded_execution_fails_and_task_timeouts_suffice() -> None:
    unbounded = built()
    del unbounded["TimeoutSeconds"]
    del unbounded["States"]["ocr"]["TimeoutSeconds"]
    assert messages(
        [machine({"definition": json.dumps(unbounded)})], "stepfunctions-execution-timeout"
    ) == [
        "neither the state machine nor its tasks 'ocr' set TimeoutSeconds: a stuck execution "
        "waits for a year (Standard) and never raises ExecutionsTimedOut"
    ]
    per_task = built()
    del per_task["TimeoutSeconds"]
    assert (
        messages([machine({"definition": json.dumps(per_task)})], "stepfunctions-execution-timeout")
        == []
    )


def test_an_unknown_definition_cannot_be_checked_and_does_not_fail() -> None:
    unknown = machine({"definition": UNKNOWN})
    assert messages([unknown], "stepfunctions-lambda-tasks-retry") == []
    assert cannot_check([unknown], "stepfunctions-lambda-tasks-retry")


# -- stack policies ----------------------------------------------------------------------------


def role_with(policy_document: str, owner_name: str) -> tuple[GateResource, GateResource]:
    role = resource(t.ROLE, f"{owner_name}-role", {}, outputs={"arn": f"arn:role/{owner_name}"})
    role_policy = resource(
        t.ROLE_POLICY, f"{owner_name}-policy", {"policy": policy_document}, {"role": [role]}
    )
    return role, role_policy


def invoke(*functions: str) -> str:
    return doc(
        {"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": list(functions)}
    )


def test_the_state_machine_role_may_invoke_its_tasks_functions_only() -> None:
    role, exact = role_with(invoke(FN), "flow")
    assert (
        messages(
            [role, exact, machine(roleArn=[role])], "stepfunctions-role-invokes-its-tasks-only"
        )
        == []
    )

    role, wider = role_with(invoke(FN, OTHER_FN, "*"), "flow")
    assert messages(
        [role, wider, machine(roleArn=[role])], "stepfunctions-role-invokes-its-tasks-only"
    ) == [f"state machine flow's role may invoke ['*', '{OTHER_FN}'], which no task calls"]


def pipe(invocation: str | None, role: GateResource, target: GateResource) -> GateResource:
    parameters = {} if invocation is None else {"invocationType": invocation}
    props = {
        "source": QUEUE,
        "target": MACHINE,
        "sourceParameters": {"sqsQueueParameters": {"batchSize": 1}},
        "targetParameters": {"stepFunctionStateMachineParameters": parameters},
    }
    return resource(t.PIPE, "flow-pipe", props, {"roleArn": [role], "target": [target]})


PIPE_POLICY = doc(
    {"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"], "Resource": [QUEUE]},
    {"Effect": "Allow", "Action": ["states:StartExecution"], "Resource": [MACHINE]},
    {
        "Effect": "Allow",
        "Action": ["kms:Decrypt"],
        "Resource": ["arn:aws:kms:us-east-1:123456789012:key/k"],
    },
)


def test_a_pipe_role_reaches_its_source_and_target_only() -> None:
    role, scoped = role_with(PIPE_POLICY, "pipe")
    target = machine()
    assert (
        messages(
            [role, scoped, target, pipe("FIRE_AND_FORGET", role, target)],
            "pipes-role-scoped-to-source-and-target",
        )
        == []
    )

    wide = doc({"Effect": "Allow", "Action": ["states:StartExecution"], "Resource": [MACHINE, "*"]})
    role, broad = role_with(wide, "pipe")
    assert messages(
        [role, broad, target, pipe("FIRE_AND_FORGET", role, target)],
        "pipes-role-scoped-to-source-and-target",
    ) == [
        "pipe flow-pipe's role allows ['states:StartExecution'] on ['*'], "
        "beyond its source and target"
    ]


@pytest.mark.parametrize(
    ("invocation", "kind", "expected"),
    [
        ("FIRE_AND_FORGET", "STANDARD", []),
        ("REQUEST_RESPONSE", "EXPRESS", []),
        (
            "REQUEST_RESPONSE",
            "STANDARD",
            [
                "pipe flow-pipe starts STANDARD state machine flow with REQUEST_RESPONSE: Pipes "
                "support only FIRE_AND_FORGET for Standard workflows"
            ],
        ),
        (
            None,  # the API's default is REQUEST_RESPONSE
            "STANDARD",
            [
                "pipe flow-pipe starts STANDARD state machine flow with REQUEST_RESPONSE: Pipes "
                "support only FIRE_AND_FORGET for Standard workflows"
            ],
        ),
    ],
)
def test_a_standard_workflow_is_started_fire_and_forget(
    invocation: str | None, kind: str, expected: list[str]
) -> None:
    role, scoped = role_with(PIPE_POLICY, "pipe")
    target = machine({"type": kind})
    assert (
        messages(
            [role, scoped, target, pipe(invocation, role, target)],
            "pipes-standard-workflow-fire-and-forget",
        )
        == expected
    )
