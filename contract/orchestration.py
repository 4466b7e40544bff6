"""How a document moves from stage to stage: queue chaining or a Step Functions workflow.

`queues` (the default): each stage of the chain sends the document message to the next
stage's queue; every function is fed by its own queue through an event source mapping.

`stepfunctions`: uploads still land in the first stage's queue (the intake: a burst waits
there instead of being lost), an EventBridge Pipe starts one workflow execution per message,
and the workflow calls the chain's functions in order, passing the document message from one
to the next as its state. The chain's functions then have no event source mapping and no
next queue; stages outside the chain (the sweep) keep their queues and send to the intake.

The step contract (what a workflow step receives and returns):
  input   the first stage: the upload message as the intake queue holds it (an S3
          notification, the sweep's `ocr.request`, a manual `{"file": ...}`); every other
          stage: the document message (contract/messages.py)
  output  the advanced document message, which the workflow hands to the next stage; or,
          when the document stops here, {"version": 1, "kind": "settled", "status",
          "stage", "doc_id"?, "reason"?}: `rejected` (a document error, recorded in the
          ledger with its reason), a status the document had reached already (a replay:
          another execution or an earlier attempt took it further), `done` from the last
          stage, or `ignored` (a message that names no document, such as S3's test event).
"""

from __future__ import annotations

from typing import Any, Literal

from contract import settings as env
from contract.stages import Stage, StageTable

Orchestration = Literal["queues", "stepfunctions"]
QUEUES: Orchestration = "queues"
STEPFUNCTIONS: Orchestration = "stepfunctions"
ORCHESTRATIONS: tuple[Orchestration, ...] = (QUEUES, STEPFUNCTIONS)

WorkflowType = Literal["STANDARD", "EXPRESS"]
STANDARD: WorkflowType = "STANDARD"
EXPRESS: WorkflowType = "EXPRESS"
WORKFLOW_TYPES: tuple[WorkflowType, ...] = (STANDARD, EXPRESS)
EXPRESS_MAX_SECONDS = 300
"""An Express execution ends after five minutes at most.
https://docs.aws.amazon.com/step-functions/latest/dg/choosing-workflow-type.html"""

STEP_ENTRY = "step_handler"
"""The function each chain stage's first module defines for workflow steps."""

SETTLED = "settled"
SETTLED_VERSION = 1
IGNORED = "ignored"
"""A step's status for a message that names no document (S3's test event)."""


def in_workflow(stage: Stage, table: StageTable, orchestration: str) -> bool:
    """Does the workflow call this stage (rather than a queue feeding it)?"""
    return orchestration == STEPFUNCTIONS and stage in table.chain()


def sends_to_queue(stage: Stage, table: StageTable, orchestration: str) -> bool:
    """Does the stage hand documents on by sending to the next stage's queue?"""
    return stage.next is not None and not in_workflow(stage, table, orchestration)


def has_queue(stage: Stage, table: StageTable, orchestration: str) -> bool:
    """The chain's later stages need no queue under a workflow; the first keeps its queue
    as the intake the pipe reads, and stages outside the chain keep theirs."""
    return not in_workflow(stage, table, orchestration) or stage == table.first


def handler(stage: Stage, table: StageTable, orchestration: str) -> str:
    """The function's entry point: the SQS batch handler, or the workflow step."""
    if in_workflow(stage, table, orchestration):
        return f"{stage.modules[0]}.{STEP_ENTRY}"
    return stage.handler


def variables(stage: Stage, table: StageTable, orchestration: str) -> tuple[env.Variable, ...]:
    """The stage's environment variables under this orchestration (no next queue when the
    workflow hands the document on)."""
    if sends_to_queue(stage, table, orchestration):
        return stage.variables
    return tuple(v for v in stage.variables if v is not env.NEXT_QUEUE_URL)


def settled(
    status: str, stage: str, doc_id: str | None = None, reason: str | None = None
) -> dict[str, Any]:
    """A step's output when the document stops at this stage."""
    body: dict[str, Any] = {
        "version": SETTLED_VERSION,
        "kind": SETTLED,
        "status": status,
        "stage": stage,
    }
    if doc_id is not None:
        body["doc_id"] = doc_id
    if reason is not None:
        body["reason"] = reason
    return body
