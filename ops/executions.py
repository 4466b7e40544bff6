"""The workflow's side of `docpipe status`: its executions by status, and its steps' functions.

Under the Step Functions orchestration the chain's stages have no queue to show: a document in
flight is a running execution, a dead letter a failed or timed-out one (its input kept in the
execution history, redrivable from the failed step). ListExecutions answers for a deployed
stack and for local mode alike; counts of ended executions cover the last hour, as the
stage rows' metrics do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from contract import orchestration, stages
from ops.operate import _metric
from ops.target import Target

WINDOW = timedelta(hours=1)
# Executions read per status at most: a status line, not an audit.
MAX_LISTED = 1000
ENDED = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


@dataclass(frozen=True)
class StepStatus:
    stage: str
    errors_1h: float | None
    throttles_1h: float | None


@dataclass(frozen=True)
class WorkflowStatus:
    state_machine_arn: str
    running: int
    ended_1h: dict[str, int]
    """SUCCEEDED, FAILED, TIMED_OUT and ABORTED executions that started in the last hour."""
    steps: list[StepStatus] = field(default_factory=list)
    capped: bool = False
    """Some status had more than MAX_LISTED executions: its count is a lower bound."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def executions(sfn: Any, state_machine_arn: str, status: str) -> Iterator[dict[str, Any]]:
    """Executions of one status, newest first (ListExecutions, every page)."""
    paginator = sfn.get_paginator("list_executions")
    for page in paginator.paginate(stateMachineArn=state_machine_arn, statusFilter=status):
        yield from page.get("executions", [])


def _count(sfn: Any, arn: str, status: str, since: datetime | None) -> tuple[int, bool]:
    count = 0
    for execution in executions(sfn, arn, status):
        if since is not None and execution["startDate"] < since:
            break  # newest first: the rest are older
        count += 1
        if count >= MAX_LISTED:
            return count, True
    return count, False


def workflow_status(target: Target) -> WorkflowStatus | None:
    """The workflow's executions and its steps' function metrics; None without a workflow."""
    arn = target.outputs.get("state_machine_arn")
    if not arn:
        return None
    sfn = target.client("stepfunctions")
    since = datetime.now(UTC) - WINDOW
    running, capped = _count(sfn, arn, "RUNNING", None)
    ended = {}
    for status in ENDED:
        ended[status], more = _count(sfn, arn, status, since)
        capped = capped or more
    steps = []
    for stage in stages.TABLE.chain():
        if not orchestration.in_workflow(stage, stages.TABLE, orchestration.STEPFUNCTIONS):
            continue
        function = ("FunctionName", target.function_name(stage.name))
        steps.append(
            StepStatus(
                stage.name,
                _metric(target, "AWS/Lambda", "Errors", function, "Sum"),
                _metric(target, "AWS/Lambda", "Throttles", function, "Sum"),
            )
        )
    return WorkflowStatus(arn, running, ended, steps, capped)
