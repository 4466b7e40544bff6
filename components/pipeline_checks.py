"""DocumentPipeline's validation: every problem with its arguments, found before any child
registers, and raised as one ValueError naming each argument."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi

from components import ocr_layer, queue_function
from components.operations_checks import check_alarm_email, check_reserved_concurrency
from components.pipeline_args import PIPELINE_DEFAULTS, DocumentPipelineArgs
from components.validation import Problems, is_known, merge, plain
from contract import orchestration as flow
from contract import stages
from contract.build import (
    ARCHITECTURE_FILE,
    LAMBDA_RUNTIME,
    PYTHON_VERSION_FILE,
    function_zip,
    layer_zip,
    read_record,
)
from contract.categories import category_problems
from contract.ocr import max_pages_for
from contract.sources import parse_sources, sources_json

OCR = "ocr"
"""The stage the `ocr_*` arguments configure."""
SWEEP = "sweep"
"""The stage the `sweep_*` arguments configure."""
COLLECT = "collect"
"""The stage the `sources` configure: one schedule and its grants per source."""


def deployed(s: Mapping[str, Any]) -> stages.StageTable:
    """The stages these settings deploy (the collect stage only with sources)."""
    return stages.TABLE.active(s)


def stage_settings(s: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each deployed stage's defaults overlaid with its overrides (key by key)."""
    given = s.get("stages") or {}
    return {
        stage.name: merge(stage.defaults.as_dict(), given.get(stage.name), {})
        for stage in deployed(s)
    }


def validate(name: str, args: DocumentPipelineArgs) -> dict[str, Any]:
    """The effective settings: defaults, the caller's values, and what is derived from them."""
    s = merge(PIPELINE_DEFAULTS, dict(args), {})
    problems = Problems("DocumentPipeline", name)
    unknown = sorted(set(s.get("stages") or {}) - set(stages.TABLE.names))
    if unknown:
        problems.add("stages", f"unknown stages {unknown}; expected {list(stages.TABLE.names)}")
    for message in category_problems(s["categories"]):
        problems.add("categories", message)
    threshold = s["classify_threshold"]
    if not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
        problems.add("classify_threshold", f"must be between 0 and 1, got {threshold!r}")
    _check_ocr_runtime(problems, s)
    ocr_layer.check_language(problems, s)
    pages = s.get("ocr_max_pages")
    if pages is not None and (isinstance(pages, bool) or not isinstance(pages, int) or pages < 1):
        problems.add("ocr_max_pages", f"must be a positive integer, got {pages!r}")
    _check_sources(problems, s)
    effective = _check_stages(problems, name, s)
    check_reserved_concurrency(problems, effective, s["account_concurrency"])
    check_alarm_email(
        problems, s.get("alarm_email"), bool(s["protect_data"]), bool(s["require_alarm_email"])
    )
    _check_rejected_alarm(problems, s)
    _check_artifacts(problems, s)
    _check_sweep(problems, s, effective[OCR])
    if COLLECT in effective:
        _check_collect_budget(problems, s, effective[COLLECT]["timeout"])
    _check_orchestration(problems, s, effective)
    problems.raise_if_any()
    s["ocr_max_pages"] = _ocr_max_pages(s, effective[OCR])
    s.update(ocr_layer.settings(s, effective[OCR]["memory_size"], s["ocr_max_pages"]))
    return s


# One fetch may take 120 s (its total timeout) and its retries: a run stops starting fetches
# this long before the function's timeout.
FETCH_WORST_CASE_SECONDS = 180
MIN_COLLECT_BUDGET_SECONDS = 60


def _check_collect_budget(problems: Problems, s: dict[str, Any], timeout: Any) -> None:
    """The collector's time budget: its timeout less one fetch's worst case."""
    if not is_known(timeout):
        s["collect_time_budget"] = pulumi.Output.from_input(timeout).apply(
            lambda t: int(t) - FETCH_WORST_CASE_SECONDS
        )
        return
    budget = int(timeout) - FETCH_WORST_CASE_SECONDS
    if budget < MIN_COLLECT_BUDGET_SECONDS:
        problems.add(
            f"stages.{COLLECT}.timeout",
            f"{timeout} s leaves {budget} s of fetching after one fetch's worst case "
            f"({FETCH_WORST_CASE_SECONDS} s); at least "
            f"{FETCH_WORST_CASE_SECONDS + MIN_COLLECT_BUDGET_SECONDS} s",
        )
    s["collect_time_budget"] = budget


# Lambda caps a function's whole environment at 4 KB; the collect function's other variables
# take a few hundred bytes. https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html
MAX_SOURCES_JSON_BYTES = 3072


def _check_sources(problems: Problems, s: dict[str, Any]) -> None:
    """The sources, validated as the collector reads them; `sources_json` is what the collect
    function gets, `parsed_sources` what the schedules and grants are made from."""
    if not s.get("sources"):
        return
    try:
        parsed = parse_sources(json.dumps([dict(source) for source in s["sources"]]))
    except ValueError as error:
        problems.add("sources", str(error))
        return
    s["parsed_sources"], s["sources_json"] = parsed, sources_json(parsed)
    size = len(s["sources_json"].encode())
    if size > MAX_SOURCES_JSON_BYTES:
        problems.add(
            "sources",
            f"take {size} bytes as the collect function's COLLECT_SOURCES; Lambda allows 4 KB "
            f"for a function's whole environment: keep sources under {MAX_SOURCES_JSON_BYTES}",
        )


def _ocr_max_pages(s: Mapping[str, Any], ocr: Mapping[str, Any]) -> Any:
    """`ocr_max_pages`, else what the OCR function's timeout and memory allow with headroom
    (contract.ocr): a larger document would time out on every try and reach the DLQ
    with no typed error."""
    if s.get("ocr_max_pages") is not None:
        return s["ocr_max_pages"]
    timeout, memory = ocr["timeout"], ocr["memory_size"]
    if is_known(timeout) and is_known(memory):
        return max_pages_for(timeout, memory)
    return pulumi.Output.all(timeout, memory).apply(lambda values: max_pages_for(*values))


def _check_rejected_alarm(problems: Problems, s: Mapping[str, Any]) -> None:
    percent, least = s["rejected_alarm_percent"], s["rejected_alarm_min_documents"]
    if isinstance(percent, bool) or not isinstance(percent, int | float) or not 0 < percent < 100:
        problems.add("rejected_alarm_percent", f"must be above 0 and below 100, got {percent!r}")
    if isinstance(least, bool) or not isinstance(least, int) or least < 1:
        problems.add("rejected_alarm_min_documents", f"must be a positive integer, got {least!r}")


def _check_sweep(problems: Problems, s: Mapping[str, Any], ocr: Mapping[str, Any]) -> None:
    for key in ("sweep_min_age_minutes", "sweep_max_per_run", "sweep_max_age_minutes"):
        if not isinstance(s[key], int) or s[key] < 1:
            problems.add(key, f"must be a positive integer, got {s[key]!r}")
    youngest, oldest = s["sweep_min_age_minutes"], s["sweep_max_age_minutes"]
    if isinstance(youngest, int) and isinstance(oldest, int) and oldest <= youngest:
        problems.add(
            "sweep_max_age_minutes",
            f"{oldest} must be above sweep_min_age_minutes {youngest}: nothing would be re-sent",
        )
    receives, visibility = plain(ocr["max_receive_count"]), plain(ocr["visibility_timeout"])
    numbers = (youngest, receives, visibility)
    if not all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers):
        return
    retrying = int(receives * visibility)
    if youngest * 60 < retrying:
        # An OCR message is retried for up to max_receive_count visibility timeouts before
        # SQS moves it to the DLQ: a sweep sooner re-sends uploads still waiting in the queue.
        problems.add(
            "sweep_min_age_minutes",
            f"{youngest} is below the minimum {math.ceil(retrying / 60)}: an OCR message "
            f"retries for max_receive_count {receives} x visibility_timeout {visibility} s "
            f"= {retrying} s before it reaches the DLQ",
        )


def _check_stages(problems: Problems, name: str, s: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each stage's QueueFunction settings, checked now: a bad stage must fail before the
    first child registers, not after the stages created before it. Returns each stage's
    effective settings (the sweep's check needs the ocr queue's)."""
    effective = {}
    for stage, settings in stage_settings(s).items():
        args: dict[str, Any] = {
            **settings,
            "architecture": s["architecture"],
            "log_retention_days": s["log_retention_days"],
            "code": pulumi.AssetArchive({}),  # placeholders: packaging is checked below
            "handler": stages.TABLE[stage].handler,
        }
        checked, stage_problems = queue_function.check(f"{name}-{stage}", args)  # type: ignore[arg-type]
        effective[stage] = checked
        for message in stage_problems.messages:
            problems.messages.append(f"stages.{stage}.{message}")
    return effective


def _check_orchestration(
    problems: Problems, s: Mapping[str, Any], effective: Mapping[str, Mapping[str, Any]]
) -> None:
    """The workflow's limits, checked before any child exists (DocumentWorkflow would only
    find them after the stages were created)."""
    if s["orchestration"] not in flow.ORCHESTRATIONS:
        problems.add(
            "orchestration",
            f"must be one of {list(flow.ORCHESTRATIONS)}, got {s['orchestration']!r}",
        )
        return
    if s["workflow_type"] not in flow.WORKFLOW_TYPES:
        problems.add(
            "workflow_type",
            f"must be one of {list(flow.WORKFLOW_TYPES)}, got {s['workflow_type']!r}",
        )
        return
    if s["orchestration"] != flow.STEPFUNCTIONS or s["workflow_type"] != flow.EXPRESS:
        return
    chain = [stage.name for stage in stages.TABLE.chain()]
    timeouts = [plain(effective[name]["timeout"]) for name in chain]
    if all(isinstance(t, int) for t in timeouts) and sum(timeouts) >= flow.EXPRESS_MAX_SECONDS:
        spent = " + ".join(f"{n} {t}" for n, t in zip(chain, timeouts, strict=True))
        problems.add(
            "workflow_type",
            f"EXPRESS executions end after {flow.EXPRESS_MAX_SECONDS} s, but the steps' timeouts "
            f"add up to {sum(timeouts)} s ({spent}): use STANDARD or shorter timeouts",
        )
    visibility = plain(effective[stages.TABLE.first.name]["visibility_timeout"])
    if isinstance(visibility, int) and visibility <= flow.EXPRESS_MAX_SECONDS:
        # The pipe waits for an Express execution: the message must stay hidden meanwhile.
        problems.add(
            "workflow_type",
            f"EXPRESS: the {stages.TABLE.first.name} queue's visibility_timeout {visibility} s "
            f"must exceed an execution's {flow.EXPRESS_MAX_SECONDS} s, or a running document "
            "is started again",
        )


def _check_ocr_runtime(problems: Problems, s: Mapping[str, Any]) -> None:
    layer, image = s.get("ocr_layer_arn"), s.get("ocr_image_uri")
    if layer is not None and image is not None:
        problems.add("ocr_layer_arn", "ocr_layer_arn and ocr_image_uri exclude each other")


def archive_paths(s: Mapping[str, Any], stage: str) -> dict[str, str]:
    """The stage's code and layer archives; none for the OCR stage in a container image."""
    if stage == OCR and s.get("ocr_image_uri") is not None:
        return {}
    return {
        "code": str(function_zip(s["build_dir"], stage)),
        "dependency_layer": str(layer_zip(s["build_dir"], stage)),
    }


def _check_artifacts(problems: Problems, s: Mapping[str, Any]) -> None:
    if not s["require_artifacts"]:
        return
    missing = [
        path
        for stage in deployed(s).names
        for path in archive_paths(s, stage).values()
        if not Path(path).is_file()
    ]
    if missing:
        problems.add("build_dir", f"missing {missing}: run `make build` first")
        return
    _check_built_for(problems, s)
    ocr_layer.check_built_languages(problems, s)


def _check_built_for(problems: Problems, s: Mapping[str, Any]) -> None:
    """The layers hold compiled wheels (tesserocr, pillow, pypdfium2) for one instruction set
    and one CPython: a mismatch fails at import, after the deploy succeeded."""
    python = LAMBDA_RUNTIME.removeprefix("python")
    wanted = (
        (ARCHITECTURE_FILE, s["architecture"], "", "the stack's architecture is", "--arch"),
        (PYTHON_VERSION_FILE, python, "Python ", "the functions run Python", "--python-version"),
    )
    for record, value, label, needs, option in wanted:
        built = read_record(s["build_dir"], record)
        if built != value:
            found = f"was built for {label}{built}" if built else f"has no {record} record"
            problems.add(
                "build_dir",
                f"{s['build_dir']} {found}, {needs} {value}: run "
                f"`python -m packager {option} {value}`",
            )
