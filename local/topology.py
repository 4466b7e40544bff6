"""What local mode runs, read from the stack's registrations (never from names or guesses).

Functions, the event source mappings that feed them, queues with their redrive targets,
schedules, state machines and the pipes that start them come from the inputs the program
registered and the state the emulator returned.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from contract import settings as env
from mockrun import StackRun
from policies import resource_types as t

# Lambda's default when a mapping sets no maximum concurrency: the account's limit.
UNBOUNDED_CONCURRENCY = 1000


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    arn: str
    handler: str
    timeout_s: int
    memory_mb: int
    role_arn: str
    environment: dict[str, str]
    reserved_concurrency: int = -1  # -1: unreserved (Lambda's encoding)

    @property
    def stage(self) -> str:
        return self.environment.get(env.STAGE.name, self.name)


@dataclass(frozen=True)
class QueueSpec:
    name: str
    arn: str
    url: str
    visibility_timeout_s: int
    dead_letter_arn: str | None
    max_receive_count: int | None


@dataclass(frozen=True)
class MappingSpec:
    uuid: str
    queue: QueueSpec
    function: FunctionSpec
    batch_size: int
    batching_window_s: float
    maximum_concurrency: int
    report_batch_item_failures: bool
    enabled: bool


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    expression: str
    target_queue: QueueSpec
    role_arn: str
    message: str


@dataclass(frozen=True)
class StateMachineSpec:
    name: str
    arn: str
    role_arn: str
    type: str  # STANDARD or EXPRESS


@dataclass(frozen=True)
class PipeSpec:
    name: str
    source: QueueSpec
    target: StateMachineSpec
    role_arn: str
    batch_size: int
    invocation_type: str  # FIRE_AND_FORGET or REQUEST_RESPONSE


@dataclass
class Topology:
    functions: list[FunctionSpec] = field(default_factory=list)
    queues: list[QueueSpec] = field(default_factory=list)
    mappings: list[MappingSpec] = field(default_factory=list)
    schedules: list[ScheduleSpec] = field(default_factory=list)
    state_machines: list[StateMachineSpec] = field(default_factory=list)
    pipes: list[PipeSpec] = field(default_factory=list)

    def queue_by_arn(self, arn: str) -> QueueSpec:
        for queue in self.queues:
            if queue.arn == arn:
                return queue
        raise KeyError(f"no queue with ARN {arn}")

    def function(self, name_or_arn: str) -> FunctionSpec:
        for function in self.functions:
            if name_or_arn in (function.name, function.arn) or name_or_arn.startswith(
                function.arn + ":"
            ):
                return function
        raise KeyError(f"no function named {name_or_arn}")

    def function_for_stage(self, stage: str) -> FunctionSpec:
        for function in self.functions:
            if function.stage == stage:
                return function
        raise KeyError(f"no function for stage {stage}")

    def dead_letter_queues(self) -> list[QueueSpec]:
        targets = {q.dead_letter_arn for q in self.queues if q.dead_letter_arn}
        return [q for q in self.queues if q.arn in targets]


def _int(value: Any, default: int) -> int:
    return default if value in (None, "") else int(float(value))


def _function(state: dict[str, Any]) -> FunctionSpec:
    variables = (state.get("environment") or {}).get("variables") or {}
    return FunctionSpec(
        name=state["name"],
        arn=state["arn"],
        handler=state.get("handler", ""),
        timeout_s=_int(state.get("timeout"), 3),  # Lambda's default timeout
        memory_mb=_int(state.get("memorySize"), 128),
        role_arn=state["role"],
        environment={key: str(value) for key, value in variables.items()},
        reserved_concurrency=_int(state.get("reservedConcurrentExecutions"), -1),
    )


def _queue(state: dict[str, Any]) -> QueueSpec:
    redrive = json.loads(state["redrivePolicy"]) if state.get("redrivePolicy") else {}
    return QueueSpec(
        name=state["name"],
        arn=state["arn"],
        url=state["url"],
        visibility_timeout_s=_int(state.get("visibilityTimeoutSeconds"), 30),
        dead_letter_arn=redrive.get("deadLetterTargetArn"),
        max_receive_count=_int(redrive.get("maxReceiveCount"), 0) or None,
    )


def _mapping(state: dict[str, Any], topology: Topology) -> MappingSpec:
    scaling = state.get("scalingConfig") or {}
    return MappingSpec(
        uuid=state["uuid"],
        queue=topology.queue_by_arn(state["eventSourceArn"]),
        function=topology.function(state["functionName"]),
        batch_size=_int(state.get("batchSize"), 10),  # Lambda's default for SQS
        batching_window_s=float(state.get("maximumBatchingWindowInSeconds") or 0),
        maximum_concurrency=_int(scaling.get("maximumConcurrency"), UNBOUNDED_CONCURRENCY),
        report_batch_item_failures="ReportBatchItemFailures"
        in (state.get("functionResponseTypes") or []),
        enabled=state.get("enabled") is not False,
    )


def _schedule(state: dict[str, Any], topology: Topology) -> ScheduleSpec:
    target = state["target"]
    return ScheduleSpec(
        name=state["name"],
        expression=state["scheduleExpression"],
        target_queue=topology.queue_by_arn(target["arn"]),
        role_arn=target["roleArn"],
        message=target.get("input") or "{}",
    )


def _state_machine(state: dict[str, Any]) -> StateMachineSpec:
    return StateMachineSpec(
        name=state["name"],
        arn=state["arn"],
        role_arn=state["roleArn"],
        type=state.get("type") or "STANDARD",
    )


def _pipe(state: dict[str, Any], topology: Topology) -> PipeSpec:
    (target,) = [m for m in topology.state_machines if m.arn == state["target"]]
    source = (state.get("sourceParameters") or {}).get("sqsQueueParameters") or {}
    target_parameters = (state.get("targetParameters") or {}).get(
        "stepFunctionStateMachineParameters"
    ) or {}
    return PipeSpec(
        name=state["name"],
        source=topology.queue_by_arn(state["source"]),
        target=target,
        role_arn=state["roleArn"],
        batch_size=_int(source.get("batchSize"), 10),  # Pipes' default for SQS
        # the API's default when the parameters are left out
        invocation_type=target_parameters.get("invocationType") or "REQUEST_RESPONSE",
    )


def read_topology(stack: StackRun) -> Topology:
    """Functions, queues, mappings and schedules from the state the emulator returned."""
    topology = Topology()
    topology.functions = [_function(r.state) for r in stack.by_type(t.FUNCTION)]
    topology.queues = [_queue(r.state) for r in stack.by_type(t.QUEUE)]
    topology.mappings = [_mapping(r.state, topology) for r in stack.by_type(t.MAPPING)]
    topology.schedules = [
        _schedule(r.state, topology)
        for r in stack.by_type(t.SCHEDULE)
        if r.state.get("state", "ENABLED") == "ENABLED"
    ]
    topology.state_machines = [_state_machine(r.state) for r in stack.by_type(t.STATE_MACHINE)]
    topology.pipes = [
        _pipe(r.state, topology)
        for r in stack.by_type(t.PIPE)
        if r.state.get("desiredState", "RUNNING") == "RUNNING"
    ]
    return topology
