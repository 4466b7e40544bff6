"""A new stage is its stage table entry and its handler module: everything else follows.

The relay stage (tests/stages/relay.py) goes between summarize and classify in a copy of the
stage table. Nothing else changes, and the stack, its IAM, the packager, the cost estimate,
the graph and local mode all take it in.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contract import stages
from contract.layout import TEXT
from contract.stages import Defaults, Stage
from mockrun import StackRun, run_program

RELAY = Stage(
    name="relay",
    modules=("tests.stages.relay",),
    requirements=("aws-lambda-powertools",),
    defaults=Defaults(memory_size=256, timeout=30, batch_size=10),
    label="rly",
    reads=(TEXT,),
    description="passes each document on unchanged",
)


@pytest.fixture(scope="module")
def with_relay() -> Iterator[stages.StageTable]:
    """The stage table with the relay stage, for every test of this module."""
    with pytest.MonkeyPatch.context() as patch:
        table = stages.TABLE.inserted(RELAY, after="summarize")
        patch.setattr(stages, "TABLE", table)
        yield table


@pytest.fixture(scope="module")
def relay_run(with_relay: stages.StageTable) -> StackRun:
    """One mock run of the dev stack with the relay stage (read only)."""
    return run_program("dev")


@pytest.fixture
def run(relay_run: StackRun) -> StackRun:
    return relay_run


def arn(run: StackRun, name: str) -> Any:
    return run.named(name).state["arn"]


def variables(run: StackRun, stage: str) -> dict[str, str]:
    return dict(run.named(f"docpipe-{stage}-function").inputs["environment"]["variables"])


def test_the_table_rewires_the_chain(with_relay: stages.StageTable) -> None:
    assert [s.name for s in with_relay.chain()] == ["ocr", "summarize", "relay", "classify"]
    assert [s.name for s in with_relay.creation_order()] == [
        "classify",
        "relay",
        "summarize",
        "ocr",
        "sweep",
        "collect",
    ]


def test_the_stack_gets_the_stage_with_its_queue_function_and_wiring(run: StackRun) -> None:
    relay_queue = run.named("docpipe-relay-queue").state["url"]
    assert variables(run, "summarize")["DOCPIPE_NEXT_QUEUE_URL"] == relay_queue
    assert variables(run, "relay") == {
        "DOCPIPE_STAGE": "relay",
        "DOCPIPE_BUCKET": "docpipe-dev-123456789012-us-east-1",
        "POWERTOOLS_SERVICE_NAME": "docpipe-relay",
        "POWERTOOLS_METRICS_NAMESPACE": "docpipe",
        "DOCPIPE_NEXT_QUEUE_URL": run.named("docpipe-classify-queue").state["url"],
    }
    function = run.named("docpipe-relay-function").inputs
    assert function["handler"] == "tests.stages.relay.lambda_handler"
    assert (function["memorySize"], function["timeout"]) == (256, 30)
    assert run.named("docpipe-relay-queue").inputs["visibilityTimeoutSeconds"] == 180
    assert run.outputs["queue_urls"]["relay"] == relay_queue
    assert sorted(run.outputs["function_names"]) == [
        "classify",
        "ocr",
        "relay",
        "summarize",
        "sweep",
    ]


def test_its_role_may_read_text_and_send_to_classify_only(run: StackRun) -> None:
    policy = json.loads(run.named("docpipe-relay-role-policy").inputs["policy"])
    own = {s["Sid"]: (s["Action"], s["Resource"]) for s in policy["Statement"]}
    bucket = "arn:aws:s3:::docpipe-dev-123456789012-us-east-1"
    assert own["ReadText"] == (["s3:GetObject"], [f"{bucket}/text/*"])
    assert own["SendNext"] == (["sqs:SendMessage"], [arn(run, "docpipe-classify-queue")])
    assert set(own) == {"ConsumeQueue", "WriteLogs", "Xray", "ReadText", "SendNext"}
    summarize = json.loads(run.named("docpipe-summarize-role-policy").inputs["policy"])
    (send,) = [s for s in summarize["Statement"] if s["Sid"] == "SendNext"]
    assert send["Resource"] == [arn(run, "docpipe-relay-queue")]


def test_the_policy_gate_passes_the_stack_with_the_stage(run: StackRun) -> None:
    from policies.gate.evaluate import evaluate
    from policies.gate.model import from_stack_run

    result = evaluate(from_stack_run(run))
    assert result.mandatory == []


def test_the_workflow_calls_it_between_summarize_and_classify(
    with_relay: stages.StageTable,
) -> None:
    # GIVEN the stack under the Step Functions orchestration: no edit beyond the table entry
    run = run_program("dev", {"orchestration": "stepfunctions"})
    definition = json.loads(run.named("docpipe-workflow-state-machine").inputs["definition"])

    # THEN the relay is a step of its own, called with summarize's output
    states = definition["States"]
    assert [n for n, s in states.items() if s["Type"] == "Task"] == [
        "ocr",
        "summarize",
        "relay",
        "classify",
    ]
    assert states["after summarize"]["Choices"][0]["Next"] == "relay"
    assert states["relay"]["Next"] == "after relay"
    assert states["relay"]["Parameters"]["FunctionName"] == arn(run, "docpipe-relay-function")
    function = run.named("docpipe-relay-function").inputs
    assert function["handler"] == "tests.stages.relay.step_handler"
    assert "DOCPIPE_NEXT_QUEUE_URL" not in variables(run, "relay")
    policy = json.loads(run.named("docpipe-workflow-role-policy").inputs["policy"])
    (invoke,) = [s for s in policy["Statement"] if s["Sid"] == "InvokeStepFunctions"]
    assert arn(run, "docpipe-relay-function") in invoke["Resource"]
    assert [r.name for r in run.by_type("aws:sqs/queue:Queue") if "relay" in r.name] == []


def test_the_packager_builds_its_zip(with_relay: stages.StageTable, tmp_path: Path) -> None:
    from packager.build import build

    (code,) = build(["relay"], "arm64", tmp_path, layers=False)
    names = zipfile.ZipFile(code).namelist()
    assert "tests/stages/relay.py" in names
    assert {"handlers/runtime.py", "contract/messages.py"} <= set(names)
    assert not {"handlers/ocr.py", "handlers/classify.py"} & set(names)


def test_cost_prices_it_as_a_stage_of_every_document(run: StackRun) -> None:
    from ops.cost import Assumptions, estimate

    lines = estimate(run.registrations, Assumptions(docs_per_month=1000)).lines
    assert lines["lambda relay compute (not measured)"] == 0.0
    assert lines["lambda relay requests"] == pytest.approx(1000 * 0.20 / 1e6)


def test_the_graph_draws_it_in_the_data_flow(run: StackRun) -> None:
    from ops.graph import build_graph

    graph = build_graph(run.registrations)
    arrows = {
        (run.monitor.get(e.source).name, run.monitor.get(e.target).name, e.label)
        for e in graph.edges
    }
    assert ("docpipe-summarize-function", "docpipe-relay-queue", "send") in arrows
    assert ("docpipe-relay-queue", "docpipe-relay-function", "poll") in arrows
    assert ("docpipe-relay-function", "docpipe-classify-queue", "send") in arrows
    assert ("docpipe-store-bucket", "docpipe-relay-function", "get text/*") in arrows


@pytest.mark.slow
def test_local_mode_runs_the_samples_through_it(with_relay: stages.StageTable) -> None:
    from local.run import document_files, run_documents
    from local.session import LocalSession, SessionOptions

    expected = json.loads(Path("samples/expected.json").read_text())
    with LocalSession(SessionOptions(stack="dev")) as session:
        report = run_documents(session, document_files([Path("samples")]), timeout_s=180)
        relayed = session.runtime.stats.invocations if session.runtime else {}
    assert report.lost == 0
    categories = {Path(d.source).name: d.category for d in report.documents}
    assert categories == expected
    assert all("relay" in d.timings for d in report.documents)
    assert any("relay" in name and count for name, count in relayed.items())
