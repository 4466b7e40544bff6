"""The cost model against a case computed by hand, and the real stacks' estimate shape."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mockrun import Registration, run_program
from ops.cost import Assumptions, estimate, runs_per_month

PRICES: dict[str, Any] = {
    "lambda": {"request_per_million": 0.2, "gb_second": {"arm64": 0.00001, "x86_64": 0.00002}},
    "sqs": {"request_per_million": 0.4},
    "s3": {
        "put_per_thousand": 0.005,
        "list_per_thousand": 0.005,
        "get_per_thousand": 0.0004,
        "storage_gb_month": 0.023,
    },
    "dynamodb": {"write_unit_per_million": 1.0, "read_unit_per_million": 0.25},
    "cloudwatch": {
        "logs_ingest_per_gb": 0.5,
        "logs_storage_gb_month": 0.03,
        "alarm_per_month": 0.1,
        "dashboard_per_month": 3.0,
        "get_metric_data_per_thousand_metrics": 0.01,
    },
    "xray": {"traces_recorded_per_million": 5.0},
    "scheduler": {"invocation_per_million": 1.0},
    "kms": {"key_per_month": 1.0},
    "textract": {"detect_document_text_per_page": 0.0015},
    "comprehend": {
        "custom_classification_per_unit": 0.0005,
        "characters_per_unit": 100,
        "minimum_units_per_request": 3,
        "custom_model_management_per_month": 0.5,
    },
}
DURATIONS = {
    "ocr_seconds_per_page": 1.0,
    "summarize_seconds_per_doc": 0.5,
    "classify_seconds_per_doc": 0.1,
    "sweep_seconds_per_object": 0.001,
}


def resource(type_: str, name: str, **inputs: Any) -> Registration:
    return Registration(
        urn=f"urn:{name}", type=type_, name=name, custom=True, parent="", inputs=inputs
    )


def function(stage: str, memory: int, arch: str) -> Registration:
    return resource(
        "aws:lambda/function:Function",
        stage,
        memorySize=float(memory),
        architectures=[arch],
        environment={"variables": {"DOCPIPE_STAGE": stage}},
    )


def sweep_function(min_age: int, max_age: int) -> Registration:
    sweep = function("sweep", 512, "arm64")
    sweep.inputs["environment"]["variables"].update(
        SWEEP_MIN_AGE_MINUTES=str(min_age), SWEEP_MAX_AGE_MINUTES=str(max_age)
    )
    return sweep


def test_estimate_matches_a_case_computed_by_hand() -> None:
    # GIVEN three stages, a daily sweep, one mapping, one log group (30 days), two alarms
    # (one on a single metric, one metric-math alarm reading two), one dashboard
    registrations = [
        function("ocr", 1024, "arm64"),
        function("summarize", 2048, "x86_64"),
        sweep_function(min_age=30, max_age=1470),
        resource("aws:scheduler/schedule:Schedule", "s", scheduleExpression="rate(1 day)"),
        resource("aws:lambda/eventSourceMapping:EventSourceMapping", "m"),
        resource("aws:cloudwatch/logGroup:LogGroup", "l", retentionInDays=30.0),
        resource("aws:cloudwatch/metricAlarm:MetricAlarm", "a1"),
        resource(
            "aws:cloudwatch/metricAlarm:MetricAlarm",
            "a2",
            metricQueries=[
                {"id": "a", "metric": {}},
                {"id": "b", "metric": {}},
                {"id": "rate", "expression": "a / b"},
            ],
        ),
        resource("aws:cloudwatch/dashboard:Dashboard", "d"),
    ]
    # WHEN 1,000 documents of 2 pages are estimated
    result = estimate(registrations, Assumptions(docs_per_month=1000), PRICES, DURATIONS)

    # THEN each line is what the hand computation below gives
    invocations = 1000 + 1000 + 30
    log_gb = invocations * 2 / 1024 / 1024
    expected = {
        # 2 pages x 1 s, x 1769/1024 for the CPU share of 1,024 MB, x 1 GB x $0.00001
        "lambda ocr compute": 1000 * 2.0 * 1769 / 1024 * 1.0 * 0.00001,
        "lambda ocr requests": 1000 * 0.2 / 1e6,
        "lambda summarize compute": 1000 * 0.5 * 2.0 * 0.00002,
        "lambda summarize requests": 1000 * 0.2 / 1e6,
        # 30 daily runs, each 1 ms for each pending upload: what one day brings at most
        # (1,000 / 30), since the first stage moves what it takes out of incoming/
        "lambda sweep compute": 30 * (0.001 * 1000 / 30) * 1769 / 512 * 0.5 * 0.00001,
        "lambda sweep requests": 30 * 0.2 / 1e6,
        # 5 idle pollers x one 20 s poll, all month; 3 requests per message on 3 queues, and
        # the 30 sweep messages on 2 (sweep queue, and what the sweep sends on)
        "sqs requests": (5 * 2_592_000 / 20 + (3 * 1000 + 2 * 30) * 3) * 0.4 / 1e6,
        # puts: upload, text, the move to processed/, summary; gets: ocr, summarize, classify
        # x 2; one listing of incoming/ a run
        "s3 requests": 4000 * 0.005 / 1000 + 4000 * 0.0004 / 1000 + 30 * 1 * 0.005 / 1000,
        "s3 storage": 1000 / 1024 * 0.023,
        # received + 3 stages, 2 units each and 2 index writes each; 3 strongly consistent reads
        "dynamodb ledger writes": 1000 * 4 * 4 * 1.0 / 1e6,
        "dynamodb ledger reads": 1000 * 3 * 0.25 / 1e6,
        # each run looks up the pending uploads it finds, eventually consistent
        "dynamodb sweep reads": 30 * (1000 / 30) * 0.5 * 0.25 / 1e6,
        "cloudwatch logs": log_gb * 0.5 + log_gb * 1.0 * 0.03,
        "cloudwatch alarms": 3 * 0.1,  # billed per metric an alarm reads
        "cloudwatch dashboards": 3.0,
        "x-ray traces": invocations * 5.0 / 1e6,
        "scheduler": 30 * 1.0 / 1e6,
        "cloudwatch metric reads": 30 * 0.01 / 1000,
        "kms keys": 0.0,
    }
    assert result.lines == pytest.approx(expected)
    assert result.total_usd_per_month == round(sum(expected.values()), 2) == 3.69
    assert result.managed_lines == pytest.approx(
        {
            "textract detect document text": 1000 * 2 * 0.0015,
            "comprehend custom classification": 1000 * 50 * 0.0005,  # 5,000 chars = 50 units
            "comprehend model management": 0.5,
        }
    )
    assert result.managed_alternative_usd_per_month == 28.5


@pytest.mark.parametrize(
    ("expression", "runs"),
    [("rate(15 minutes)", 2880), ("rate(1 hour)", 720), ("rate(2 days)", 15)],
)
def test_schedule_rates(expression: str, runs: float) -> None:
    assert runs_per_month(expression) == runs


def test_real_stack_estimate_prices_every_stage() -> None:
    run = run_program("dev")
    result = estimate(run.registrations, Assumptions(docs_per_month=10_000), PRICES, DURATIONS)
    stages = {name.split()[1] for name in result.lines if name.startswith("lambda ")}
    assert stages == {"ocr", "summarize", "classify", "sweep"}
    # 24 single-metric alarms and 3 rejected-documents alarms reading two metrics each
    assert result.lines["cloudwatch alarms"] == pytest.approx(0.1 * (24 + 3 * 2))
    assert result.lines["cloudwatch dashboards"] == 3.0
    document = result.to_dict()
    assert document["total_usd_per_month"] == result.total_usd_per_month > 0
    assert (
        document["managed_alternative_usd_per_month"]
        == 10_000 * 2 * 0.0015 + 10_000 * 50 * 0.0005 + 0.5
    )


# -- the Step Functions orchestration ----------------------------------------------------------

WORKFLOW_PRICES: dict[str, Any] = {
    **PRICES,
    "stepfunctions": {
        "standard_transition_per_thousand": 0.025,
        "express_request_per_million": 1.0,
        "express_gb_second": 0.00002,
        "express_memory_chunk_mb": 64,
    },
    "pipes": {"request_per_million": 0.4},
}


def workflow(kind: str) -> list[Registration]:
    """The chain's three functions, started by a pipe through a state machine of `kind`."""
    from components.workflow_definition import Step, definition

    steps = [Step(s, f"arn:{s}", 30, 5) for s in ("ocr", "summarize", "classify")]
    return [
        function("ocr", 1024, "arm64"),
        function("summarize", 2048, "x86_64"),
        function("classify", 2048, "x86_64"),
        resource(
            "aws:sfn/stateMachine:StateMachine",
            "flow",
            type=kind,
            definition=json.dumps(definition(steps, 3600, "flow")),
        ),
        resource("aws:pipes/pipe:Pipe", "pipe"),
    ]


def test_a_standard_workflow_bills_its_transitions_and_the_pipe_its_requests() -> None:
    result = estimate(
        workflow("STANDARD"), Assumptions(docs_per_month=1000), WORKFLOW_PRICES, DURATIONS
    )
    # ocr, after ocr, summarize, after summarize, classify: five transitions a document
    assert result.lines["step functions state transitions"] == pytest.approx(
        1000 * 5 * 0.025 / 1000
    )
    assert result.lines["pipes requests"] == pytest.approx(1000 * 0.4 / 1e6)
    # one pipe polling the intake; one queued message a document (the intake), none between
    assert result.lines["sqs requests"] == pytest.approx(
        (5 * 2_592_000 / 20 + 1000 * 3) * 0.4 / 1e6
    )
    assert not any(name.startswith("step functions express") for name in result.lines)


def test_an_express_workflow_bills_requests_and_the_steps_duration_at_64_mb() -> None:
    result = estimate(
        workflow("EXPRESS"), Assumptions(docs_per_month=1000), WORKFLOW_PRICES, DURATIONS
    )
    # the execution waits for its steps: ocr 2 pages x 1 s x 1769/1024, summarize 0.5 s,
    # classify 0.1 s (both at 2,048 MB: no CPU-share stretch)
    seconds = 2.0 * 1769 / 1024 + 0.5 + 0.1
    assert result.lines["step functions express requests"] == pytest.approx(1000 * 1.0 / 1e6)
    assert result.lines["step functions express duration"] == pytest.approx(
        1000 * seconds * 64 / 1024 * 0.00002
    )
    assert "step functions state transitions" not in result.lines


def test_the_orchestrations_are_compared_on_the_same_stack_and_volume() -> None:
    from ops.cost import compare_orchestrations

    compared = compare_orchestrations(
        "dev", Assumptions(docs_per_month=10_000), prices=None, durations=DURATIONS
    )
    assert list(compared) == ["queues", "stepfunctions STANDARD", "stepfunctions EXPRESS"]
    queues, standard, express = (compared[name] for name in compared)
    assert not isinstance(queues, str) and not isinstance(standard, str)
    assert not isinstance(express, str)
    assert "step functions state transitions" not in queues.lines
    assert standard.lines["step functions state transitions"] > 0
    assert express.lines["step functions express duration"] > 0
    # the same Lambda work under each
    lambda_lines = [
        {k: v for k, v in e.lines.items() if k.startswith("lambda ")} for e in (queues, standard)
    ]
    assert lambda_lines[0] == pytest.approx(lambda_lines[1])
    # Express cannot run steps longer than its five minutes: said, not priced
    too_long = compare_orchestrations(
        "dev",
        Assumptions(docs_per_month=10),
        {"stages": '{"ocr": {"timeout": 280}}', "sweepMinAgeMinutes": "150"},
        durations=DURATIONS,
    )
    assert "EXPRESS executions end after 300 s" in str(too_long["stepfunctions EXPRESS"])
