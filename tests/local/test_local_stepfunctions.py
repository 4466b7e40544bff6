"""End to end with `docpipe:orchestration = stepfunctions`: the dev stack on the emulator,
the pipe starting one execution per upload, moto's engine calling the real handlers, IAM on.

- The samples give the same categories as with queues (samples/expected.json), and a poison
  document is recorded as rejected with its reason, ending its execution as `settled`.
- The roles are real: the state machine's may invoke the chain's functions only, the pipe's
  may start the workflow but invoke nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from localtest import wait_until

from local.emulator import assume_role_credentials
from local.executions import executions
from local.run import document_files, run_documents
from local.runtime import RuntimeOptions
from local.session import LocalSession, SessionOptions

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSession]:
    options = SessionOptions(
        stack="dev",
        config_overrides={"orchestration": "stepfunctions"},
        runtime=RuntimeOptions(schedule_interval_s=0, log_dir=tmp_path_factory.mktemp("logs")),
    )
    with LocalSession(options) as running:
        yield running


def test_the_samples_give_the_same_categories_and_a_poison_document_its_reason(
    session: LocalSession, tmp_path: Path
) -> None:
    # GIVEN the samples and an upload that is no image at all
    poison = tmp_path / "poison.png"
    poison.write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    files = [*document_files([SAMPLES]), poison]

    # WHEN they are uploaded and the workflow runs
    report = run_documents(session, files, timeout_s=240)

    # THEN every sample is classified as with queues, and the poison document is rejected
    # at once with its stage, type and reason: nothing lost, no failed execution
    expected = json.loads((SAMPLES / "expected.json").read_text())
    results = {Path(d.source).name: d for d in report.documents}
    assert {name: results[name].category for name in expected} == expected
    assert all(results[name].status == "done" for name in expected)
    rejected = results["poison.png"]
    assert rejected.status == "rejected"
    assert rejected.reason is not None and rejected.reason.startswith("ocr: CorruptImageError: ")
    assert (report.lost, report.dlq.get("workflow")) == (0, 0)
    sfn, machine = session.client("stepfunctions"), session.outputs["state_machine_arn"]
    succeeded = list(executions(sfn, machine, "SUCCEEDED"))
    # one per document (the uploads and the e-mail's attachment), and one for S3's test
    # event (ignored)
    assert len(succeeded) == len(expected) + 1 + 1
    outputs = [
        json.loads(sfn.describe_execution(executionArn=e["executionArn"])["output"])
        for e in succeeded
    ]
    statuses = sorted(o["status"] for o in outputs)
    assert statuses == ["done"] * len(expected) + ["ignored", "rejected"]
    (refused,) = [o for o in outputs if o["status"] == "rejected"]
    assert refused["stage"] == "ocr" and refused["doc_id"] == rejected.doc_id


def test_the_roles_allow_exactly_the_workflow(session: LocalSession) -> None:
    runtime = session.runtime
    assert runtime is not None
    (machine,) = runtime.topology.state_machines
    (pipe,) = runtime.topology.pipes
    sweep = runtime.topology.function_for_stage("sweep")
    classify = runtime.topology.function_for_stage("classify")

    machine_lambda = session.emulator.client(
        "lambda", assume_role_credentials(machine.role_arn, "probe")
    )
    with pytest.raises(ClientError, match="not authorized to perform: lambda:InvokeFunction"):
        machine_lambda.invoke(FunctionName=sweep.arn, Payload=b"{}")
    # classify is the workflow's: the call reaches the worker, which refuses a bad message
    answer = machine_lambda.invoke(FunctionName=classify.arn, Payload=b"{}")
    assert answer["FunctionError"] == "Unhandled"
    assert json.loads(answer["Payload"].read())["errorType"] == "InvalidEnvelopeError"

    pipe_lambda = session.emulator.client("lambda", assume_role_credentials(pipe.role_arn, "probe"))
    with pytest.raises(ClientError, match="not authorized to perform: lambda:InvokeFunction"):
        pipe_lambda.invoke(FunctionName=classify.arn, Payload=b"{}")


def test_status_shows_the_workflows_executions_and_steps(session: LocalSession) -> None:
    from rich.console import Console

    from cli.status import _workflow_table
    from ops import operate
    from ops.executions import workflow_status
    from ops.target import from_local_session

    # GIVEN one more document through the workflow
    report = run_documents(session, [SAMPLES / "letter.png"], timeout_s=120)
    assert [d.status for d in report.documents] == ["done"]

    # WHEN the operator asks for the status, once the executions have ended: the ledger says
    # done at the last step, a moment before its execution ends, and an execution throttled
    # earlier may still wait out a retry's backoff (at most 30 s a retry)
    target = from_local_session(session.outputs, session.environment())

    def running() -> int:
        status = workflow_status(target)
        return status.running if status else 0

    wait_until(lambda: running() == 0, 90, "the workflow's executions to end")
    workflow = workflow_status(target)

    # THEN it counts executions by status and shows the steps' functions; the stage rows
    # are the queues there still are (the intake and the sweep's)
    assert workflow is not None
    assert workflow.running == 0 and not workflow.capped
    assert workflow.ended_1h["SUCCEEDED"] >= 2  # the letter, and S3's test event
    assert workflow.ended_1h["FAILED"] == workflow.ended_1h["TIMED_OUT"] == 0
    assert [step.stage for step in workflow.steps] == ["ocr", "summarize", "classify"]
    # read from the AWS/Lambda metrics each invocation published
    assert all(isinstance(step.errors_1h, float) for step in workflow.steps)
    assert [row.stage for row in operate.status(target)] == ["ocr", "sweep"]
    console = Console(width=200, record=True)
    console.print(_workflow_table(workflow))
    shown = " ".join(console.export_text().split())  # the title wraps
    assert "0 running; last hour" in shown and "0 failed, 0 timed out, 0 aborted" in shown
