"""Each stage of dev and prod: queue, DLQ, redrive, trigger, function, role policy, queue policy."""

from __future__ import annotations

import json
from typing import Any

import pytest
from stack_helpers import STAGES, stack_run

from contract.ocr import page_pixel_budget
from mockrun import PROJECT_DIR, StackRun

BUCKET = {
    "dev": "docpipe-dev-123456789012-us-east-1",
    "prod": "docpipe-prod-123456789012-us-east-1",
}
# (timeout, batching window, batch size, max concurrency, reserved) per stack and stage,
# from the stage defaults overlaid with Pulumi.<stack>.yaml.
SETTINGS: dict[str, dict[str, tuple[int, int, int, int, int | None]]] = {
    "dev": {
        "ocr": (180, 0, 1, 2, None),
        "summarize": (60, 0, 10, 2, None),
        "classify": (30, 0, 10, 2, None),
        "sweep": (120, 0, 1, 2, None),
    },
    "prod": {
        "ocr": (180, 0, 1, 20, None),  # no reservation: a new account's quota can be 10
        "summarize": (60, 0, 10, 10, None),
        "classify": (30, 0, 10, 10, None),
        "sweep": (120, 0, 1, 2, None),
    },
}
CASES = [(stack, stage) for stack in ("dev", "prod") for stage in STAGES]


def arn(run: StackRun, name: str) -> Any:
    return run.named(name).state["arn"]


@pytest.mark.parametrize(("stack", "stage"), CASES)
def test_visibility_timeout_is_six_timeouts_plus_the_batching_window(
    stack: str, stage: str
) -> None:
    timeout, window, *_ = SETTINGS[stack][stage]
    run = stack_run(stack)
    assert run.named(f"docpipe-{stage}-function").inputs["timeout"] == timeout
    queue = run.named(f"docpipe-{stage}-queue").inputs
    assert queue["visibilityTimeoutSeconds"] == 6 * timeout + window


@pytest.mark.parametrize(("stack", "stage"), CASES)
def test_redrive_to_the_dlq_with_an_integer_max_receive_count(stack: str, stage: str) -> None:
    run = stack_run(stack)
    redrive = json.loads(run.named(f"docpipe-{stage}-queue").inputs["redrivePolicy"])
    assert redrive == {
        "deadLetterTargetArn": arn(run, f"docpipe-{stage}-dlq"),
        "maxReceiveCount": 5,
    }
    assert type(redrive["maxReceiveCount"]) is int


@pytest.mark.parametrize(("stack", "stage"), CASES)
def test_dlq_keeps_messages_longer_than_its_source(stack: str, stage: str) -> None:
    run = stack_run(stack)
    queue = run.named(f"docpipe-{stage}-queue").inputs
    dlq = run.named(f"docpipe-{stage}-dlq").inputs
    assert (queue["messageRetentionSeconds"], dlq["messageRetentionSeconds"]) == (345600, 1209600)
    assert queue["sqsManagedSseEnabled"] is True and dlq["sqsManagedSseEnabled"] is True
    assert queue["receiveWaitTimeSeconds"] == 20


@pytest.mark.parametrize(("stack", "stage"), CASES)
def test_redrive_allow_policy_names_only_the_source(stack: str, stage: str) -> None:
    run = stack_run(stack)
    allow = run.named(f"docpipe-{stage}-dlq-redrive-allow").inputs
    assert allow["queueUrl"] == run.named(f"docpipe-{stage}-dlq").state["url"]
    assert json.loads(allow["redriveAllowPolicy"]) == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": [arn(run, f"docpipe-{stage}-queue")],
    }


@pytest.mark.parametrize(("stack", "stage"), CASES)
def test_event_source_mapping(stack: str, stage: str) -> None:
    _, window, batch, concurrency, _ = SETTINGS[stack][stage]
    run = stack_run(stack)
    mapping = run.named(f"docpipe-{stage}-trigger")
    assert mapping.inputs == {
        "eventSourceArn": arn(run, f"docpipe-{stage}-queue"),
        "functionName": arn(run, f"docpipe-{stage}-function"),
        "functionResponseTypes": ["ReportBatchItemFailures"],
        "batchSize": batch,
        "maximumBatchingWindowInSeconds": window,
        "scalingConfig": {"maximumConcurrency": concurrency},
        "tags": {"project": "docpipe", "stack": stack},
    }
    assert mapping.delete_before_replace is True
    assert run.named(f"docpipe-{stage}-role-policy").urn in mapping.dependencies


@pytest.mark.parametrize(("stack", "stage"), CASES)
def test_function_runs_with_its_own_log_group_created_first(stack: str, stage: str) -> None:
    _, _, _, _, reserved = SETTINGS[stack][stage]
    run = stack_run(stack)
    function = run.named(f"docpipe-{stage}-function")
    log_group = run.named(f"docpipe-{stage}-logs")
    assert log_group.urn in function.dependencies
    assert function.inputs["loggingConfig"] == {
        "logFormat": "JSON",
        "logGroup": log_group.state["name"],
    }
    assert log_group.inputs["retentionInDays"] == {"dev": 7, "prod": 365}[stack]
    assert function.inputs["tracingConfig"] == {"mode": "Active"}
    assert function.inputs["architectures"] == ["arm64"]
    assert function.inputs["runtime"] == "python3.12"
    assert function.inputs["handler"] == f"handlers.{stage}.lambda_handler"
    assert function.inputs["role"] == arn(run, f"docpipe-{stage}-role")
    assert function.inputs["layers"] == [arn(run, f"docpipe-{stage}-deps")]
    assert function.inputs.get("reservedConcurrentExecutions") == reserved
    # the checkout's build, whatever the working directory (a consumer project's, for the plugin)
    assert function.inputs["code"].path == str(PROJECT_DIR / "dist" / "functions" / f"{stage}.zip")
    layer = run.named(f"docpipe-{stage}-deps").inputs
    assert layer["code"].path == str(PROJECT_DIR / "dist" / "layers" / f"{stage}.zip")
    assert layer["layerName"] == f"docpipe-{stage}-{stack}-deps"
    assert layer["compatibleRuntimes"] == ["python3.12"]
    assert layer["compatibleArchitectures"] == ["arm64"]


def role_statements(run: StackRun, stack: str, stage: str) -> list[dict[str, Any]]:
    """What docs/runtime-contract.md grants `stage`, in the order the component writes it."""
    bucket = f"arn:aws:s3:::{BUCKET[stack]}"
    table = arn(run, "docpipe-results-table")

    def allow(sid: str, actions: list[str], resources: list[str], **condition: Any) -> Any:
        statement = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
        return {**statement, "Condition": condition} if condition else statement

    common = [
        allow(
            "ConsumeQueue",
            [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
            ],
            [arn(run, f"docpipe-{stage}-queue")],
        ),
        allow(
            "WriteLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [arn(run, f"docpipe-{stage}-logs") + ":*"],
        ),
        allow("Xray", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]),
    ]
    send = {"ocr": "summarize", "summarize": "classify", "sweep": "ocr"}
    ledger = allow("RecordLedger", ["dynamodb:GetItem", "dynamodb:UpdateItem"], [table])
    own = {
        "ocr": [
            allow(
                "ReadIncoming", ["s3:GetObject", "s3:GetObjectVersion"], [f"{bucket}/incoming/*"]
            ),
            allow("WriteText", ["s3:PutObject"], [f"{bucket}/text/*"]),
            allow("WriteChildren", ["s3:PutObject"], [f"{bucket}/incoming/children/*"]),
            allow(
                "TakeUploads",
                ["s3:DeleteObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging"],
                [f"{bucket}/incoming/*"],
            ),
            allow(
                "ArchiveProcessed",
                ["s3:PutObject", "s3:PutObjectTagging"],
                [f"{bucket}/processed/*"],
            ),
            allow(
                "ArchiveRejected", ["s3:PutObject", "s3:PutObjectTagging"], [f"{bucket}/rejected/*"]
            ),
            ledger,
        ],
        "summarize": [
            allow("ReadText", ["s3:GetObject"], [f"{bucket}/text/*"]),
            allow("WriteSummaries", ["s3:PutObject"], [f"{bucket}/summaries/*"]),
            ledger,
        ],
        "classify": [
            allow("ReadSummaries", ["s3:GetObject"], [f"{bucket}/summaries/*"]),
            allow("ReadText", ["s3:GetObject"], [f"{bucket}/text/*"]),
            ledger,
        ],
        "sweep": [
            allow(
                "ListIncoming",
                ["s3:ListBucket"],
                [bucket],
                StringLike={"s3:prefix": ["incoming/*"]},
            ),
            allow("ReadLedger", ["dynamodb:BatchGetItem"], [table]),
            allow("RecordReceived", ["dynamodb:PutItem"], [table]),
        ],
    }[stage]
    if stage in send:
        own.append(
            allow("SendNext", ["sqs:SendMessage"], [arn(run, f"docpipe-{send[stage]}-queue")])
        )
    if stage == "sweep":
        own.append(allow("ReadQueueMetrics", ["cloudwatch:GetMetricData"], ["*"]))
    return common + own


@pytest.mark.parametrize(("stack", "stage"), CASES)
def test_role_policy_is_exactly_the_contract(stack: str, stage: str) -> None:
    run = stack_run(stack)
    policy = run.named(f"docpipe-{stage}-role-policy").inputs
    assert policy["role"] == run.named(f"docpipe-{stage}-role").state["name"]
    assert json.loads(policy["policy"]) == {
        "Version": "2012-10-17",
        "Statement": role_statements(run, stack, stage),
    }


@pytest.mark.parametrize(("stack", "stage"), CASES)
def test_role_is_trusted_by_lambda_only(stack: str, stage: str) -> None:
    role = stack_run(stack).named(f"docpipe-{stage}-role").inputs
    assert json.loads(role["assumeRolePolicy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    assert "managedPolicyArns" not in role and "inlinePolicies" not in role


def tls_only(queue_arn: str) -> dict[str, Any]:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sqs:*",
        "Resource": [queue_arn],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


@pytest.mark.parametrize(("stack", "stage"), CASES)
def test_one_policy_per_queue(stack: str, stage: str) -> None:
    run = stack_run(stack)
    for role in ("queue", "dlq"):
        policy = run.named(f"docpipe-{stage}-{role}-policy").inputs
        queue = run.named(f"docpipe-{stage}-{role}")
        assert policy["queueUrl"] == queue.state["url"]
        statements = json.loads(policy["policy"])["Statement"]
        assert statements[0] == tls_only(queue.state["arn"])
        producers = 1 if (stage, role) == ("ocr", "queue") else 0
        assert len(statements) == 1 + producers


@pytest.mark.parametrize(("stack", "stage"), CASES)
def test_environment_is_the_runtime_contract(stack: str, stage: str) -> None:
    run = stack_run(stack)
    env = run.named(f"docpipe-{stage}-function").inputs["environment"]["variables"]
    queue_url = {s: run.named(f"docpipe-{s}-queue").state["url"] for s in STAGES}
    table = run.named("docpipe-results-table").state["name"]
    common = {
        "DOCPIPE_STAGE": stage,
        "DOCPIPE_BUCKET": BUCKET[stack],
        "POWERTOOLS_SERVICE_NAME": f"docpipe-{stage}",
        "POWERTOOLS_METRICS_NAMESPACE": "docpipe",
    }
    nltk = {"NLTK_DATA": "/opt/python/nltk_data"}
    expected = {
        "ocr": {
            "DOCPIPE_TABLE": table,
            "DOCPIPE_NEXT_QUEUE_URL": queue_url["summarize"],
            "OCR_LANGUAGE": "eng",
            "OCR_MAX_BYTES": "26214400",
            "OCR_MAX_PAGES": "69",
            "OCR_ENGINE": "tesserocr",
            "TESSDATA_PREFIX": "/opt/python/tessdata",
            "OCR_MAX_PAGE_PIXELS": str(page_pixel_budget({"dev": 2048, "prod": 3008}[stack])),
            "OCR_MAX_DOCUMENT_PIXELS": str(69 * 2480 * 3508),  # 69 A4 pages at 300 DPI
            "DOCUMENT_EXPAND_ARCHIVES": "false",
            "DOCUMENT_MAX_CHILDREN": "100",
            "DOCUMENT_MAX_DESCENDANTS": "1000",
            "DOCUMENT_MAX_TOTAL_BYTES": str(100 * 1024 * 1024),
            "DOCUMENT_MAX_MEMBER_BYTES": str(25 * 1024 * 1024),
            "DOCUMENT_MAX_COMPRESSION_RATIO": "100",
            "DOCUMENT_MAX_DEPTH": "3",
        },
        "summarize": {
            "DOCPIPE_TABLE": table,
            "DOCPIPE_NEXT_QUEUE_URL": queue_url["classify"],
            "SUMMARY_MAX_SENTENCES": "5",
            "SUMMARY_MAX_CHARS": "1200",
            **nltk,
        },
        "classify": {
            "DOCPIPE_TABLE": table,
            "CLASSIFY_THRESHOLD": "0.3",
            "CLASSIFY_CATEGORIES": env.get("CLASSIFY_CATEGORIES"),
        },
        "sweep": {
            "DOCPIPE_TABLE": table,
            "DOCPIPE_NEXT_QUEUE_URL": queue_url["ocr"],
            "SWEEP_MIN_AGE_MINUTES": "120",
            "SWEEP_MAX_PER_RUN": "100",
            "SWEEP_MAX_AGE_MINUTES": "1440",
        },
    }[stage]
    assert env == {**common, **expected}


def test_classify_gets_the_default_categories() -> None:
    env = stack_run("dev").named("docpipe-classify-function").inputs["environment"]["variables"]
    categories = json.loads(env["CLASSIFY_CATEGORIES"])
    assert [(c["name"], c["keywords"], c["examples"]) for c in categories] == [
        ("invoice", ["invoice", "amount due", "total", "payment", "VAT"], []),
        ("contract", ["agreement", "party", "term", "termination", "liability"], []),
        ("report", ["quarterly", "analysis", "results", "revenue", "findings"], []),
        ("letter", ["dear", "sincerely", "regards"], []),
    ]
