"""What the workflow's executions say about documents, for `local run`'s report.

An execution's input is the pipe's batch: a JSON array of SQS records whose bodies are the
upload messages, so the document it carries is `doc_id_in` of the first record's body. A
failed, timed-out or aborted execution is the workflow's dead letter (its input kept in the
execution history); a running one holds its document in progress.
"""

from __future__ import annotations

import json
from typing import Any

from contract.messages import doc_id_in
from ops.executions import executions

ENDED_BADLY = ("FAILED", "TIMED_OUT", "ABORTED")


def doc_id_of_input(text: str) -> str | None:
    """The document an execution's input carries (None when it names none)."""
    try:
        records = json.loads(text)
    except ValueError:
        return None
    if not isinstance(records, list) or not records or not isinstance(records[0], dict):
        return None
    body = records[0].get("body")
    return doc_id_in(body) if isinstance(body, str) else None


def ended_badly(sfn: Any, state_machine_arn: str, known: dict[str, str | None]) -> None:
    """Add to `known` (execution ARN -> doc id) every failed, timed-out or aborted execution
    not in it yet; each is described once."""
    for status in ENDED_BADLY:
        for execution in executions(sfn, state_machine_arn, status):
            arn = execution["executionArn"]
            if arn not in known:
                described = sfn.describe_execution(executionArn=arn)
                known[arn] = doc_id_of_input(described.get("input", ""))


def running_documents(sfn: Any, state_machine_arn: str) -> set[str]:
    """The documents of the executions still running."""
    documents = set()
    for execution in executions(sfn, state_machine_arn, "RUNNING"):
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        doc_id = doc_id_of_input(described.get("input", ""))
        if doc_id:
            documents.add(doc_id)
    return documents
