"""Workflow steps: a stage's own record handler, called by Step Functions instead of SQS.

Under `docpipe:orchestration = stepfunctions` each stage of the chain is a Task of the
workflow (components/workflow_definition.py). Its input is what a queue would have carried
(the upload message for the first stage, the document message for the others), and its
output is the advanced document message, or the document's settled status when it stops
here (contract/orchestration.py describes both). The work is the same function the queue
path calls, `handle_record`: `forward` hands the document to the step's output instead of
the next queue, and a document error settles the document in the ledger exactly as
`run_batch` does, so the step succeeds with `rejected` and the workflow ends there.

What still fails the step (a crash, a timeout, an AWS error, an invalid message) fails the
Lambda invocation, and the workflow's Retry takes over, as SQS redelivery does for queues.

A retried step may find its document recorded as past this stage although its output was
lost (the function failed after its ledger write): unlike a queue, nothing carries the
document on, so the step does its work again (idempotent writes) and only a settled
document ends the execution as a replay.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from contract import ledger as statuses
from contract import orchestration
from contract.errors import DocumentError, InvalidEnvelopeError
from contract.messages import Document, Source, doc_id_in
from handlers import runtime

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@dataclass
class StepHandoff:
    """Collects what a stage passes on while it handles the step's input."""

    stage: str
    documents: list[Document] = field(default_factory=list)
    replayed: str | None = None
    rejected: tuple[Source, DocumentError] | None = None

    def send(self, document: Document) -> None:
        self.documents.append(document)

    def replay_ends(self, status: str) -> bool:
        if not statuses.is_settled(status):
            return False  # the execution carries the document: an earlier attempt's output
        self.replayed = status  # may be lost, so the work is done again
        return True

    def refused(self, source: Source, error: DocumentError) -> None:
        self.rejected = (source, error)

    def output(self, doc_id: str | None) -> dict[str, Any]:
        if len(self.documents) > 1:
            # One execution carries one document: a message announcing several uploads
            # cannot be a step's input (S3 sends one record per notification).
            raise InvalidEnvelopeError(
                f"names {len(self.documents)} documents; a workflow step takes one", "message"
            )
        if self.documents:
            return self.documents[0].to_dict()
        if self.rejected is not None:
            source, error = self.rejected
            reason = f"{type(error).__name__}: {error.problem}"
            return orchestration.settled(statuses.REJECTED, self.stage, source.doc_id, reason)
        if self.replayed is not None:
            return orchestration.settled(self.replayed, self.stage, doc_id)
        # Nothing passed on and nothing refused: the last stage finished the document, or
        # the message named none (S3's test event, a "folder" key).
        if doc_id and statuses.stage_done(self.stage) == statuses.DONE:
            return orchestration.settled(statuses.DONE, self.stage, doc_id)
        return orchestration.settled(orchestration.IGNORED, self.stage, doc_id)


def run_step(
    stage: str,
    event: dict[str, Any],
    context: LambdaContext | None,
    handle: runtime.RecordHandler,
    reject: runtime.Rejecter | None = None,
) -> dict[str, Any]:
    """Handle one workflow step with the stage's record handler; return the step's output.

    `reject` settles a document error as `run_batch` does (default: `ledger.reject`).
    """
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    runtime.check_stage(stage)
    if not isinstance(event, dict):
        raise InvalidEnvelopeError("a workflow step's input must be a JSON object", "step")
    log = runtime.logger(stage)
    request_id = getattr(context, "aws_request_id", None) or str(uuid.uuid4())
    log.append_keys(request_id=request_id)
    # The input as a queue would have carried it: the same record handler reads it.
    body = json.dumps(event)
    record = SQSRecord({"messageId": request_id, "body": body, "attributes": {}})
    step = StepHandoff(stage)
    try:
        rejecter = reject or runtime.ledger_reject(stage)
        with (
            runtime.handing_off(step),
            runtime.timed() as elapsed_ms,
            runtime.settling(stage, rejecter),
        ):
            handle(record)
        output = step.output(doc_id_in(body))
        runtime.count(stage, "StepDuration", elapsed_ms(), "Milliseconds")
        log.info("step done", extra={"status": output.get("status", "passed on")})
        return output
    except Exception as exc:
        log.exception("step failed", extra={"error": str(exc), "error_type": type(exc).__name__})
        runtime.count(stage, "StepsFailed")
        raise
    finally:
        runtime.metrics(stage).flush_metrics()
