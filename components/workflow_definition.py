"""The document workflow's Amazon States Language definition, built as data from its steps.

One Task per stage of the chain, in order, each invoking the stage's function with the
document message (S3 keys and facts, never the text) and passing on what it returns:

  <stage>            Task: lambda:invoke, output = the function's payload
  after <stage>      Choice: a document message goes to the next stage; anything else (the
                     document was rejected, replayed or ignored) ends at `settled`
  ...
  <last stage>       Task, End
  settled            Succeed
  failed             Fail, with the error and cause of the step that failed for good

The first step's input is what the pipe delivers: a batch (a JSON array, even of one) of
SQS records, whose `body` is the upload message as the intake queue holds it; the step
takes the record (`InputPath` `$[0]`) and passes its body, parsed, to the function.
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-batching-concurrency.html

Retries, first match wins (each retry is a billed state transition in Standard workflows):
  throttled     Lambda.TooManyRequestsException: the function is at its concurrency bound
                (its reserved concurrency: the stage's `max_concurrency`). The execution is
                the buffer now, so it waits long: backoff capped at 30 s, full jitter so a
                burst of executions does not retry in lockstep, 100 attempts (about 25 min).
  service       Lambda's transient 5xx errors, as AWS recommends retrying them:
                https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html
  failed        the function failed (Lambda.Unknown: out of memory, its own timeout; an
                error it raised) or the Task timed out: `attempts` tries in all, the
                stage's `max_receive_count`, as SQS would deliver it before the DLQ.
Then Catch sends the execution to `failed`: the failed execution, with its input, is the
workflow's dead letter (the ExecutionsFailed alarm fires; Standard executions can be
redriven from the failed step). Document errors never get here: the stages settle them
themselves and return `settled` (handlers/steps.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
SETTLED_STATE = "settled"
FAILED_STATE = "failed"
DOCUMENT_KIND = "document"  # contract/messages.py: the kind of a document message

THROTTLED = ("Lambda.TooManyRequestsException",)
SERVICE_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
)
# States.TaskFailed matches every task error but States.Timeout; the retriers above match
# first, so this one sees the function's own failures only.
FUNCTION_FAILED = ("States.TaskFailed", "States.Timeout")
JITTER = "FULL"

THROTTLE_RETRY = {
    "IntervalSeconds": 1,
    "BackoffRate": 2.0,
    "MaxDelaySeconds": 30,
    "MaxAttempts": 100,
}
SERVICE_RETRY = {"IntervalSeconds": 2, "BackoffRate": 2.0, "MaxDelaySeconds": 60, "MaxAttempts": 6}
FAILED_RETRY = {"IntervalSeconds": 5, "BackoffRate": 2.0, "MaxDelaySeconds": 120}
# A Task waits this much longer than its function may run: Lambda ends the function at
# its own timeout; the Task's timeout only catches an answer that never comes back.
TASK_TIMEOUT_MARGIN_SECONDS = 60
# The pipe's batch of one SQS record (InputPath), and in it the upload message, a JSON string.
PIPE_RECORD = "$[0]"
PIPE_BODY = "States.StringToJson($.body)"


@dataclass(frozen=True)
class Step:
    """One stage of the workflow."""

    name: str
    """The stage's name, also its Task state's name."""
    function_arn: Any
    """The function the Task invokes (a string, or an Output in a Pulumi program)."""
    timeout: int
    """The function's timeout, in seconds."""
    attempts: int
    """Tries in all when the function fails (the stage's `max_receive_count`)."""


def choice_name(step: Step) -> str:
    return f"after {step.name}"


def _retry(step: Step) -> list[dict[str, Any]]:
    return [
        {"ErrorEquals": list(THROTTLED), **THROTTLE_RETRY, "JitterStrategy": JITTER},
        {"ErrorEquals": list(SERVICE_ERRORS), **SERVICE_RETRY, "JitterStrategy": JITTER},
        {
            "ErrorEquals": list(FUNCTION_FAILED),
            **FAILED_RETRY,
            "MaxAttempts": step.attempts - 1,
            "JitterStrategy": JITTER,
        },
    ]


def _task(step: Step, first: bool, following: Step | None) -> dict[str, Any]:
    task: dict[str, Any] = {"Type": "Task", "Resource": LAMBDA_INVOKE}
    if first:
        task["InputPath"] = PIPE_RECORD
    task.update(
        {
            "Parameters": {
                "FunctionName": step.function_arn,
                "Payload.$": PIPE_BODY if first else "$",
            },
            "OutputPath": "$.Payload",
            "TimeoutSeconds": step.timeout + TASK_TIMEOUT_MARGIN_SECONDS,
            "Retry": _retry(step),
            # The error replaces the state's data: merging it into the first step's input, a
            # JSON array, would itself fail (States.ResultPathMatchFailure).
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$", "Next": FAILED_STATE}],
        }
    )
    if following is None:
        task["End"] = True
    else:
        task["Next"] = choice_name(step)
    return task


def _choice(following: Step) -> dict[str, Any]:
    return {
        "Type": "Choice",
        "Choices": [{"Variable": "$.kind", "StringEquals": DOCUMENT_KIND, "Next": following.name}],
        "Default": SETTLED_STATE,
    }


def definition(steps: Sequence[Step], timeout_seconds: int, comment: str) -> dict[str, Any]:
    """The state machine, as a dict for `json.dumps` (`Output.json_dumps` with Outputs)."""
    states: dict[str, Any] = {}
    for index, step in enumerate(steps):
        following = steps[index + 1] if index + 1 < len(steps) else None
        states[step.name] = _task(step, index == 0, following)
        if following is not None:
            states[choice_name(step)] = _choice(following)
    states[SETTLED_STATE] = {"Type": "Succeed"}
    states[FAILED_STATE] = {"Type": "Fail", "ErrorPath": "$.Error", "CausePath": "$.Cause"}
    return {
        "Comment": comment,
        "StartAt": steps[0].name,
        "TimeoutSeconds": timeout_seconds,
        "States": states,
    }


def task_states(definition_: dict[str, Any]) -> list[str]:
    """The Task states in the order an execution reaches them (graph, cost)."""
    states, order = definition_["States"], []
    current: str | None = definition_["StartAt"]
    while current is not None and current not in order:
        state = states[current]
        if state["Type"] == "Task":
            order.append(current)
        if state.get("End") or state["Type"] in ("Succeed", "Fail"):
            break
        choice = state["Type"] == "Choice"
        current = state["Choices"][0]["Next"] if choice else state.get("Next")
    return order


def transitions_per_document(definition_: dict[str, Any]) -> int:
    """State transitions of an execution that takes a document through every step with no
    retry: each Task and each Choice it enters (Standard workflows bill each one)."""
    tasks = task_states(definition_)
    return len(tasks) + max(0, len(tasks) - 1)
