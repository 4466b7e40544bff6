"""The stack with `docpipe:orchestration = stepfunctions`: the workflow replaces the mappings
and the chain's queues; the intake queue, the sweep and the rest stay as they are."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest
from stack_helpers import run_stack

from contract import stages
from mockrun import StackRun
from policies import resource_types as t

CHAIN = ["ocr", "summarize", "classify"]


@functools.cache
def workflow_run(stack: str, workflow_type: str = "STANDARD") -> StackRun:
    return run_stack(stack, {"orchestration": "stepfunctions", "workflowType": workflow_type})


def variables(run: StackRun, stage: str) -> dict[str, str]:
    return dict(run.named(f"docpipe-{stage}-function").inputs["environment"]["variables"])


def statements(run: StackRun, name: str) -> dict[str, Any]:
    document = json.loads(run.named(name).inputs["policy"])
    return {s["Sid"]: (s["Action"], s["Resource"]) for s in document["Statement"]}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_only_the_sweep_keeps_an_event_source_mapping(stack: str) -> None:
    run = workflow_run(stack)
    (mapping,) = run.by_type(t.MAPPING)
    assert mapping.name == "docpipe-sweep-trigger"
    queues = sorted(r.name for r in run.by_type(t.QUEUE))
    assert queues == [
        "docpipe-ocr-dlq",
        "docpipe-ocr-queue",
        "docpipe-sweep-dlq",
        "docpipe-sweep-queue",
    ]
    assert sorted(run.outputs["queue_urls"]) == ["ocr", "sweep"]
    assert sorted(run.outputs["dlq_urls"]) == ["ocr", "sweep"]
    assert (
        run.outputs["state_machine_arn"] == run.named("docpipe-workflow-state-machine").state["arn"]
    )


def test_uploads_still_land_in_the_intake_queue_which_the_pipe_reads() -> None:
    run = workflow_run("dev")
    intake = run.named("docpipe-ocr-queue").state["arn"]
    (notification,) = run.by_type(t.BUCKET_NOTIFICATION)
    assert [q["queueArn"] for q in notification.inputs["queues"]] == [intake]
    pipe = run.named("docpipe-workflow-pipe").inputs
    assert (pipe["source"], pipe["target"]) == (
        intake,
        run.named("docpipe-workflow-state-machine").state["arn"],
    )
    # the sweep re-sends stuck uploads to the intake, as it does with queues
    assert (
        variables(run, "sweep")["DOCPIPE_NEXT_QUEUE_URL"]
        == run.named("docpipe-ocr-queue").state["url"]
    )


def test_the_workflow_calls_the_chain_in_order_with_each_stages_settings() -> None:
    run = workflow_run("dev")
    definition = json.loads(run.named("docpipe-workflow-state-machine").inputs["definition"])
    tasks = [name for name, state in definition["States"].items() if state["Type"] == "Task"]
    assert tasks == CHAIN
    for stage in CHAIN:
        task = definition["States"][stage]
        function = run.named(f"docpipe-{stage}-function")
        assert task["Parameters"]["FunctionName"] == function.state["arn"]
        assert task["TimeoutSeconds"] == function.inputs["timeout"] + 60
        assert task["Retry"][2]["MaxAttempts"] == 4  # maxReceiveCount 5: five tries in all
    invoke = statements(run, "docpipe-workflow-role-policy")["InvokeStepFunctions"]
    assert invoke == (
        ["lambda:InvokeFunction"],
        [run.named(f"docpipe-{s}-function").state["arn"] for s in CHAIN],
    )


@pytest.mark.parametrize("stage", CHAIN)
def test_the_chains_functions_are_steps_without_queue_or_next_queue(stage: str) -> None:
    run = workflow_run("dev")
    function = run.named(f"docpipe-{stage}-function").inputs
    assert function["handler"] == f"{stages.TABLE[stage].modules[0]}.step_handler"
    assert "DOCPIPE_NEXT_QUEUE_URL" not in variables(run, stage)
    own = statements(run, f"docpipe-{stage}-role-policy")
    assert not {"ConsumeQueue", "SendNext"} & set(own)
    assert not any(":sqs:" in str(resources) for _, resources in own.values())
    # no mapping bounds it any more: its reserved concurrency does (dev: maxConcurrency 2)
    assert function["reservedConcurrentExecutions"] == 2


def test_an_explicit_reserved_concurrency_wins() -> None:
    # GIVEN prod (maxConcurrency 20, 10, 10) where ocr reserves 30 explicitly
    stages = (
        '{"ocr": {"memory": 3008, "maxConcurrency": 20, "reservedConcurrency": 30},'
        ' "summarize": {"maxConcurrency": 10}, "classify": {"maxConcurrency": 10}}'
    )
    run = run_stack("prod", {"orchestration": "stepfunctions", "stages": stages})
    reserved = {
        stage: run.named(f"docpipe-{stage}-function").inputs["reservedConcurrentExecutions"]
        for stage in CHAIN
    }
    # THEN ocr keeps its reservation; the others reserve their maxConcurrency
    assert reserved == {"ocr": 30, "summarize": 10, "classify": 10}


def test_the_queue_orchestration_is_unchanged_by_default() -> None:
    run = run_stack("dev")
    assert len(run.by_type(t.MAPPING)) == 4
    assert not run.by_type(t.STATE_MACHINE) and not run.by_type(t.PIPE)
    assert "state_machine_arn" not in run.outputs
    assert (
        variables(run, "ocr")["DOCPIPE_NEXT_QUEUE_URL"]
        == run.named("docpipe-summarize-queue").state["url"]
    )


def test_express_is_started_synchronously_and_fits_the_chain_in_five_minutes() -> None:
    run = workflow_run("dev", "EXPRESS")
    machine = run.named("docpipe-workflow-state-machine").inputs
    assert machine["type"] == "EXPRESS"
    assert json.loads(machine["definition"])["TimeoutSeconds"] == 300
    pipe = run.named("docpipe-workflow-pipe").inputs
    assert pipe["targetParameters"]["stepFunctionStateMachineParameters"] == {
        "invocationType": "REQUEST_RESPONSE"
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"orchestration": "lambda"}, "orchestration: must be one of ['queues', 'stepfunctions']"),
        (
            {"orchestration": "stepfunctions", "workflowType": "standard"},
            "workflow_type: must be one of ['STANDARD', 'EXPRESS'], got 'standard'",
        ),
        (
            {
                "orchestration": "stepfunctions",
                "workflowType": "EXPRESS",
                "stages": '{"ocr": {"timeout": 250}}',
                "sweepMinAgeMinutes": "130",
            },
            "EXPRESS executions end after 300 s, but the steps' timeouts add up to 340 s "
            "(ocr 250 + summarize 60 + classify 30)",
        ),
        (
            {
                "orchestration": "stepfunctions",
                "workflowType": "EXPRESS",
                "stages": '{"ocr": {"timeout": 40}}',
            },
            "EXPRESS: the ocr queue's visibility_timeout 240 s must exceed an execution's 300 s",
        ),
    ],
)
def test_bad_orchestration_settings_fail_before_anything_registers(
    overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match="DocumentPipeline 'docpipe' has invalid") as raised:
        run_stack("dev", overrides)
    assert message in str(raised.value)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_policy_gate_passes_the_workflow_stacks(stack: str) -> None:
    from policies.gate.evaluate import evaluate
    from policies.gate.model import from_stack_run

    for workflow_type in ("STANDARD", "EXPRESS"):
        result = evaluate(from_stack_run(workflow_run(stack, workflow_type)))
        assert result.mandatory == [], workflow_type
