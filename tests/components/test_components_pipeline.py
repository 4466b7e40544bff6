"""DocumentPipeline: wiring options and every validation error, before anything registers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
from build_helpers import fake_build
from component_helpers import build, counts

from components import DocumentPipeline, DocumentPipelineArgs
from components.names import valid_bucket_name
from contract.ocr import document_pixel_budget, page_pixel_budget
from mockrun import CapturingMonitor

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"

OFFLINE: dict[str, Any] = {"require_artifacts": False, "require_alarm_email": False}
LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:tesseract:7"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/docpipe-ocr:1"


def pipeline(monitor: CapturingMonitor, **args: Any) -> CapturingMonitor:
    full: DocumentPipelineArgs = {**OFFLINE, **args}  # type: ignore[typeddict-item]
    return build(monitor, lambda: DocumentPipeline("dp", full))


def problems(monitor: CapturingMonitor, **args: Any) -> list[str]:
    with pytest.raises(ValueError) as raised:
        pipeline(monitor, **args)
    lines = str(raised.value).splitlines()
    assert lines[0] == "DocumentPipeline 'dp' has invalid arguments:"
    assert monitor.registrations == []
    return lines[1:]


def ocr_env(monitor: CapturingMonitor) -> dict[str, str]:
    return dict(monitor.named("dp-ocr-function").inputs["environment"]["variables"])


def test_ocr_runs_tesseract_in_process_from_its_own_layer_by_default(
    monitor: CapturingMonitor,
) -> None:
    # GIVEN no tesseract configuration at all WHEN the pipeline is built
    pipeline(monitor)

    # THEN the OCR function has only its own dependency layer, and the variables that make
    # its handler run tesserocr with the layer's traineddata
    assert monitor.named("dp-ocr-function").inputs["layers"] == [
        monitor.named("dp-ocr-deps").state["arn"]
    ]
    env = ocr_env(monitor)
    assert (env["OCR_ENGINE"], env["TESSDATA_PREFIX"]) == ("tesserocr", "/opt/python/tessdata")


def test_ocr_from_a_tesseract_layer(monitor: CapturingMonitor) -> None:
    pipeline(monitor, ocr_layer_arn=LAYER)
    layers = monitor.named("dp-ocr-function").inputs["layers"]
    assert layers == [monitor.named("dp-ocr-deps").state["arn"], LAYER]
    env = ocr_env(monitor)
    assert env["OCR_ENGINE"] == "pytesseract"
    assert "TESSDATA_PREFIX" not in env  # the user's tesseract knows where its models are


def test_ocr_from_a_container_image(monitor: CapturingMonitor) -> None:
    pipeline(monitor, ocr_image_uri=IMAGE)
    function = monitor.named("dp-ocr-function").inputs
    assert (function["packageType"], function["imageUri"]) == ("Image", IMAGE)
    assert function["imageConfig"] == {"commands": ["handlers.ocr.lambda_handler"]}
    assert counts(monitor)["aws:lambda/layerVersion:LayerVersion"] == 3  # no ocr deps layer
    assert ocr_env(monitor)["OCR_ENGINE"] == "pytesseract"
    assert "TESSDATA_PREFIX" not in ocr_env(monitor)


@pytest.mark.parametrize(
    ("args", "page", "document"),
    [
        ({}, page_pixel_budget(2048), 69 * 2480 * 3508),
        # below one vCPU a page takes longer: 40 pages (contract/ocr.py)
        ({"stages": {"ocr": {"memory_size": 1024}}}, page_pixel_budget(1024), 40 * 2480 * 3508),
        ({"stages": {"ocr": {"memory_size": 4096}}, "ocr_max_pages": 20},
         page_pixel_budget(4096), 20 * 2480 * 3508),
    ],
)  # fmt: skip
def test_pixel_budgets_follow_the_ocr_memory_and_page_limit(
    monitor: CapturingMonitor, args: dict[str, Any], page: int, document: int
) -> None:
    pipeline(monitor, **args)
    env = ocr_env(monitor)
    assert (env["OCR_MAX_PAGE_PIXELS"], env["OCR_MAX_DOCUMENT_PIXELS"]) == (
        str(page),
        str(document),
    )


def test_handler_pixel_budgets_default_to_the_stacks() -> None:
    from contract import settings, stages
    from contract.ocr import max_pages_for

    ocr = stages.TABLE["ocr"].defaults
    assert page_pixel_budget(ocr.memory_size) == settings.OCR_MAX_PAGE_PIXELS.default
    budget = document_pixel_budget(max_pages_for(ocr.timeout, ocr.memory_size))
    assert budget == settings.OCR_MAX_DOCUMENT_PIXELS.default


def test_contract_environment_wins_over_stage_environment(monitor: CapturingMonitor) -> None:
    pipeline(monitor, stages={"ocr": {"environment": {"DOCPIPE_STAGE": "evil", "EXTRA": "1"}}})
    env = monitor.named("dp-ocr-function").inputs["environment"]["variables"]
    assert (env["DOCPIPE_STAGE"], env["EXTRA"]) == ("ocr", "1")


def test_stage_overrides_win_over_stage_defaults(monitor: CapturingMonitor) -> None:
    pipeline(
        monitor, stages={"summarize": {"timeout": 100, "batching_window": 4, "batch_size": 25}}
    )
    assert monitor.named("dp-summarize-queue").inputs["visibilityTimeoutSeconds"] == 604
    trigger = monitor.named("dp-summarize-trigger").inputs
    assert (trigger["batchSize"], trigger["maximumBatchingWindowInSeconds"]) == (25, 4)
    assert monitor.named("dp-ocr-trigger").inputs["batchSize"] == 1  # untouched stage


def ocr_max_pages(monitor: CapturingMonitor) -> str:
    return str(monitor.named("dp-ocr-function").inputs["environment"]["variables"]["OCR_MAX_PAGES"])


@pytest.mark.parametrize(
    ("args", "pages"),
    [
        # (180 s - 10 s) / (2 x 1.2188 s a page): still above the 50 pages the pipeline promises
        ({}, "69"),
        ({"stages": {"ocr": {"timeout": 300}}, "sweep_min_age_minutes": 300}, "118"),
        # below one vCPU (1769 MB) a page takes longer: 1769 / 1024 x 1.2188 s
        ({"stages": {"ocr": {"memory_size": 1024}}}, "40"),
        ({"stages": {"ocr": {"timeout": 600}}, "sweep_min_age_minutes": 300,
          "ocr_max_pages": 40}, "40"),
    ],
)  # fmt: skip
def test_ocr_page_limit_follows_the_ocr_timeout_and_memory_unless_set(
    monitor: CapturingMonitor, args: dict[str, Any], pages: str
) -> None:
    pipeline(monitor, **args)
    assert ocr_max_pages(monitor) == pages


def test_categories_and_threshold_reach_classify(monitor: CapturingMonitor) -> None:
    categories = [{"name": "memo", "keywords": ["memo"], "examples": ["Memo: lunch"]}]
    pipeline(monitor, categories=categories, classify_threshold=0.5, ocr_language="deu")
    env = monitor.named("dp-classify-function").inputs["environment"]["variables"]
    assert json.loads(env["CLASSIFY_CATEGORIES"]) == categories
    assert env["CLASSIFY_THRESHOLD"] == "0.5"
    ocr_env = monitor.named("dp-ocr-function").inputs["environment"]["variables"]
    assert ocr_env["OCR_LANGUAGE"] == "deu"


def test_outputs_by_stage(monitor: CapturingMonitor) -> None:
    pipeline(monitor)
    outputs = monitor.named("dp").outputs
    assert outputs["queue_urls"] == {
        stage: monitor.named(f"dp-{stage}-queue").state["url"]
        for stage in ("ocr", "summarize", "classify", "sweep")
    }
    assert outputs["bucket_name"] == "dp-test-123456789012-us-east-1"
    assert "alarm_topic_arn" not in outputs


@pytest.mark.parametrize(
    ("python", "found"),
    [
        ("3.11", "was built for Python 3.11"),
        (None, "has no PYTHON_VERSION record"),
    ],
)
def test_layers_for_another_python_are_refused(
    monitor: CapturingMonitor, tmp_path: Path, python: str | None, found: str
) -> None:
    fake_build(tmp_path, python=python)
    assert problems(monitor, build_dir=str(tmp_path), require_artifacts=True) == [
        f"  - build_dir: {tmp_path} {found}, the functions run Python 3.12: run "
        "`python -m packager --python-version 3.12`"
    ]


def test_an_ocr_layer_without_the_stacks_languages_is_refused(
    monitor: CapturingMonitor, tmp_path: Path
) -> None:
    fake_build(tmp_path, languages="eng")
    assert problems(
        monitor, build_dir=str(tmp_path), require_artifacts=True, ocr_language="eng+deu"
    ) == [
        f"  - build_dir: {tmp_path}'s OCR layer holds eng, the stack's ocr_language "
        "'eng+deu' needs deu too: run `make build OCR_LANGUAGE=eng+deu`"
    ]


def test_a_users_tesseract_needs_no_languages_in_the_layer(
    monitor: CapturingMonitor, tmp_path: Path
) -> None:
    fake_build(tmp_path, languages="eng")
    pipeline(
        monitor,
        build_dir=str(tmp_path),
        require_artifacts=True,
        ocr_language="eng+deu",
        ocr_layer_arn=LAYER,
    )
    assert ocr_env(monitor)["OCR_LANGUAGE"] == "eng+deu"


@pytest.mark.parametrize(
    ("built", "wanted", "found"),
    [
        ("arm64", "x86_64", "was built for arm64, the stack's architecture is x86_64"),
        ("x86_64", "arm64", "was built for x86_64, the stack's architecture is arm64"),
        (None, "arm64", "has no ARCHITECTURE record, the stack's architecture is arm64"),
    ],
)
def test_artifacts_of_another_architecture_are_refused(
    monitor: CapturingMonitor, tmp_path: Path, built: str | None, wanted: str, found: str
) -> None:
    fake_build(tmp_path, built)
    assert problems(
        monitor, build_dir=str(tmp_path), require_artifacts=True, architecture=wanted
    ) == [f"  - build_dir: {tmp_path} {found}: run `python -m packager --arch {wanted}`"]


def test_artifacts_found_in_build_dir(monitor: CapturingMonitor, tmp_path: Path) -> None:
    fake_build(tmp_path)
    pipeline(monitor, build_dir=str(tmp_path), require_artifacts=True)
    code = monitor.named("dp-sweep-function").inputs["code"]
    assert code.path == str(tmp_path / "functions" / "sweep.zip")


def test_missing_artifacts_say_to_run_make_build(monitor: CapturingMonitor, tmp_path: Path) -> None:
    found = problems(monitor, build_dir=str(tmp_path), require_artifacts=True, ocr_image_uri=IMAGE)
    missing = [
        str(tmp_path / kind / f"{stage}.zip")
        for stage in ("summarize", "classify", "sweep")
        for kind in ("functions", "layers")
    ]
    assert found == [f"  - build_dir: missing {missing}: run `make build` first"]


def test_a_bad_ocr_language_list_is_refused(monitor: CapturingMonitor) -> None:
    assert problems(monitor, ocr_language="eng deu") == [
        "  - ocr_language: ocrLanguage 'eng deu' is not a tesseract language list such as eng "
        "or eng+deu"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"stages": {"ocrr": {}}},
         "stages: unknown stages ['ocrr']; expected ['ocr', 'summarize', 'classify', 'sweep', "
         "'collect']"),
        ({"stages": {"ocr": {"batch_size": 11}}},
         "stages.ocr.batch_size: 11 above 10 needs batching_window of at least 1 s"),
        ({"stages": {"sweep": {"timeout": 60, "max_concurrency": 4, "reserved_concurrency": 3}}},
         "stages.sweep.max_concurrency: 4 is above reserved_concurrency 3: the mapping would "
         "be throttled"),
        ({"categories": []}, "categories: no categories configured"),
        ({"categories": [{"name": "a", "keywords": ["x"], "examples": []}] * 2},
         "categories: category 'a' is defined twice"),
        ({"categories": [{"name": "a", "keywords": [], "examples": []}]},
         "categories: category 'a' needs keywords or examples"),
        # the classify function refuses this name on every record: refused at preview too
        ({"categories": [{"name": "unclassified", "keywords": ["x"], "examples": []}]},
         "categories: category 0: 'unclassified' is reserved for documents that match no "
         "category"),
        ({"classify_threshold": 1.5}, "classify_threshold: must be between 0 and 1, got 1.5"),
        ({"ocr_layer_arn": LAYER, "ocr_image_uri": IMAGE},
         "ocr_layer_arn: ocr_layer_arn and ocr_image_uri exclude each other"),
        ({"sweep_max_per_run": 0}, "sweep_max_per_run: must be a positive integer, got 0"),
        ({"ocr_max_pages": 0}, "ocr_max_pages: must be a positive integer, got 0"),
        ({"sweep_min_age_minutes": 60, "sweep_max_age_minutes": 60},
         "sweep_max_age_minutes: 60 must be above sweep_min_age_minutes 60: nothing would be "
         "re-sent"),
        ({"sweep_min_age_minutes": 89},
         "sweep_min_age_minutes: 89 is below the minimum 90: an OCR message retries for "
         "max_receive_count 5 x visibility_timeout 1080 s = 5400 s before it reaches the DLQ"),
        ({"sweep_min_age_minutes": 100, "stages": {"ocr": {"max_receive_count": 6}}},
         "sweep_min_age_minutes: 100 is below the minimum 108: an OCR message retries for "
         "max_receive_count 6 x visibility_timeout 1080 s = 6480 s before it reaches the DLQ"),
        ({"account_concurrency": 150, "stages": {"ocr": {"reserved_concurrency": 30},
                                                 "classify": {"reserved_concurrency": 30}}},
         "account_concurrency: the stages reserve 60 concurrent executions (classify 30, ocr "
         "30) but the account's Lambda concurrency quota is 150 (stack config "
         "docpipe:accountConcurrency) and 100 must stay unreserved, so at most 50 can be "
         "reserved: drop reservedConcurrency from docpipe:stages (bound a stage with "
         "maxConcurrency instead), or raise the quota (Service Quotas, AWS Lambda, Concurrent "
         "executions) and set docpipe:accountConcurrency to it"),
        ({"account_concurrency": 0}, "account_concurrency: must be a positive integer, got 0"),
        ({"alarm_email": "ops at acme.com"},
         "alarm_email: 'ops at acme.com' is not an e-mail address"),
        ({"protect_data": True, "require_alarm_email": True},
         "alarm_email: a protected stack (protect_data) needs an address that receives its "
         "alarms: `pulumi config set docpipe:alarmEmail <address>`, then confirm the "
         "subscription from the e-mail AWS sends (until then no alarm is delivered)"),
        ({"alarm_email": "me@example.net", "require_alarm_email": True},
         "alarm_email: 'me@example.net' is on the reserved domain example.net (RFC 2606/6761), "
         "which never receives mail: every alarm would go nowhere. Set a real address with "
         "`pulumi config set docpipe:alarmEmail <address>` and confirm the subscription"),
        ({"rejected_alarm_percent": 100},
         "rejected_alarm_percent: must be above 0 and below 100, got 100"),
        ({"rejected_alarm_min_documents": 0},
         "rejected_alarm_min_documents: must be a positive integer, got 0"),
        ({"rejected_alarm_percent": "10"},
         "rejected_alarm_percent: must be above 0 and below 100, got '10'"),
        ({"log_retention_days": 8},
         "stages.ocr.log_retention_days: must be one of [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, "
         "180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]"),
    ],
)  # fmt: skip
def test_validation(monitor: CapturingMonitor, args: dict[str, Any], message: str) -> None:
    assert f"  - {message}" in problems(monitor, **args)


def test_a_category_with_examples_only_is_accepted(monitor: CapturingMonitor) -> None:
    # The classify function trains on examples as well as keywords: the stack agrees.
    categories = [{"name": "memo", "keywords": [], "examples": ["Internal memo to all staff"]}]
    build(monitor, lambda: DocumentPipeline("dp", {**OFFLINE, "categories": categories}))  # type: ignore[typeddict-item]
    env = monitor.named("dp-classify-function").inputs["environment"]["variables"]
    assert json.loads(env["CLASSIFY_CATEGORIES"]) == categories


def test_the_default_bucket_name_is_a_valid_s3_name(monitor: CapturingMonitor) -> None:
    build(monitor, lambda: DocumentPipeline("Doc_Pipe", OFFLINE))  # type: ignore[arg-type]
    bucket = monitor.named("Doc_Pipe-store-bucket").inputs["bucket"]
    assert bucket == "doc-pipe-test-123456789012-us-east-1"


def test_bucket_names_are_cut_to_63_characters_ending_in_a_letter_or_digit() -> None:
    assert valid_bucket_name("A_b" + "x" * 57 + "-._y") == "a-b" + "x" * 57
    assert valid_bucket_name("my_stack.dev-123") == "my-stack.dev-123"


def test_an_explicit_bucket_name_is_used_as_given(monitor: CapturingMonitor) -> None:
    pipeline(monitor, bucket_name="acme-documents")
    assert monitor.named("dp-store-bucket").inputs["bucket"] == "acme-documents"
    policy = json.loads(monitor.named("dp-ocr-queue-policy").inputs["policy"])
    source = policy["Statement"][1]["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert source == "arn:aws:s3:::acme-documents"


# -- monitoring -----------------------------------------------------------------------------


def dashboard(monitor: CapturingMonitor) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(monitor.named("dp-dashboard").inputs["dashboardBody"])
    return body


def graphs(body: dict[str, Any]) -> dict[str, list[list[Any]]]:
    return {
        w["properties"]["title"]: w["properties"]["metrics"]
        for w in body["widgets"]
        if w["type"] == "metric"
    }


def test_rejected_documents_warning_per_stage_of_the_chain(monitor: CapturingMonitor) -> None:
    pipeline(
        monitor,
        alarm_email="ops@acme-docs.com",
        rejected_alarm_percent=25,
        rejected_alarm_min_documents=50,
    )
    topic = monitor.named("dp-alarms").state["arn"]
    names = sorted(r.name for r in monitor.by_type(ALARM) if "rejected" in r.name)
    assert names == ["dp-classify-rejected-alarm", "dp-ocr-rejected-alarm",
                     "dp-summarize-rejected-alarm"]  # fmt: skip
    alarm = monitor.named("dp-ocr-rejected-alarm")
    assert alarm.parent == monitor.named("dp").urn
    assert (alarm.inputs["alarmActions"], alarm.inputs["okActions"]) == ([topic], [topic])
    assert alarm.inputs["threshold"] == 25
    rate = alarm.inputs["metricQueries"][-1]
    assert rate["expression"] == "IF(seen >= 50, 100 * FILL(rejected, 0) / seen, 0)"
    assert alarm.inputs["alarmDescription"].startswith("WARNING: dp ocr rejected more than 25%")


def test_one_dashboard_built_from_the_stage_table(monitor: CapturingMonitor) -> None:
    pipeline(monitor)
    registered = monitor.named("dp-dashboard")
    assert registered.parent == monitor.named("dp").urn
    assert registered.inputs["dashboardName"] == "dp-test-us-east-1"
    body = dashboard(monitor)
    titles = list(graphs(body))
    assert titles == [
        f"{stage}: {kind}"
        for stage in ("ocr", "summarize", "classify", "sweep")
        for kind in ("queue", "dead letters", "records", "duration (ms)")
    ] + ["invocations", "concurrent executions", "pages", "errors and throttles"]

    # every alarm's state, at the top
    alarm_widget = next(w for w in body["widgets"] if w["type"] == "alarm")
    arns = sorted(r.state["arn"] for r in monitor.by_type(ALARM))
    assert alarm_widget["properties"]["alarms"] == arns and len(arns) == 27

    # per stage: its queue, DLQ, own metrics and function
    ocr_queue, ocr_dlq = (monitor.named(f"dp-ocr-{q}").state["name"] for q in ("queue", "dlq"))
    function = monitor.named("dp-ocr-function").state["name"]
    metrics = graphs(body)
    assert metrics["ocr: queue"] == [
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", ocr_queue,
         {"label": "waiting"}],
        ["AWS/SQS", "ApproximateNumberOfMessagesNotVisible", "QueueName", ocr_queue,
         {"label": "in flight"}],
        ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", ocr_queue,
         {"stat": "Maximum", "yAxis": "right", "label": "oldest (s)"}],
    ]  # fmt: skip
    assert metrics["ocr: dead letters"][0][:4] == [
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", ocr_dlq,
    ]  # fmt: skip
    assert metrics["summarize: records"] == [
        ["docpipe", name, "service", "docpipe-summarize", {"label": label}]
        for name, label in (("RecordsProcessed", "processed"),
                            ("RecordsFailed", "failed (retried)"),
                            ("RecordsRejected", "rejected"))
    ]  # fmt: skip
    assert [[*row[:4], row[4]["stat"]] for row in metrics["ocr: duration (ms)"]] == [
        ["AWS/Lambda", "Duration", "FunctionName", function, stat]
        for stat in ("p50", "p99", "Maximum")
    ]
    # cost drivers: pages only for the stage whose work is pages
    assert metrics["pages"] == [
        ["docpipe", "Pages", "service", "docpipe-ocr", {"label": "ocr pages"}],
        ["docpipe", "OcrPages", "service", "docpipe-ocr", {"label": "ocr pages through OCR"}],
    ]
    assert len(metrics["invocations"]) == 4


def test_dashboard_widgets_are_placed_in_rows_of_24_columns(monitor: CapturingMonitor) -> None:
    pipeline(monitor)
    widgets = dashboard(monitor)["widgets"]
    cells = set()
    for widget in widgets:
        assert widget["x"] + widget["width"] <= 24
        for x in range(widget["x"], widget["x"] + widget["width"]):
            for y in range(widget["y"], widget["y"] + widget["height"]):
                assert (x, y) not in cells  # no two widgets overlap
                cells.add((x, y))
    assert all(w["properties"]["region"] == "us-east-1" for w in widgets if w["type"] == "metric")


@pytest.mark.parametrize(
    ("stack", "name"),
    [
        ("dev", "dp-dev-us-east-1"),
        ("eu.prod", "dp-eu-prod-us-east-1"),  # dashboard names take no '.'
        ("x" * 300, ("dp-" + "x" * 300)[:255]),
    ],
)
def test_the_dashboard_name_is_one_cloudwatch_accepts(
    monitor: CapturingMonitor, stack: str, name: str
) -> None:
    pulumi.runtime.set_mocks(
        monitor.mocks, project="docpipe", stack=stack, preview=False, monitor=monitor
    )
    pipeline(monitor, bucket_name="acme-documents")
    assert monitor.named("dp-dashboard").inputs["dashboardName"] == name
