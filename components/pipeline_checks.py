"""DocumentPipeline's validation: every problem with its arguments, found before any child
registers, and raised as one ValueError naming each argument."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi

from components import queue_function
from components.pipeline_args import PIPELINE_DEFAULTS, DocumentPipelineArgs
from components.validation import Problems, is_known, merge, plain
from contract import orchestration as flow
from contract import stages
from contract.build import architecture_file, function_zip, layer_zip
from contract.categories import category_problems

OCR = "ocr"
"""The stage the `ocr_*` arguments configure."""
SWEEP = "sweep"
"""The stage the `sweep_*` arguments configure."""
# Tesseract takes about 1.7 s per 300-DPI page on one thread (bench/RESULTS.md); 2 s per
# page leaves room for rasterizing, the text layer check and the uploads.
SECONDS_PER_PAGE = 2


def max_pages_for(ocr_timeout: float) -> int:
    """The most pages the OCR function can finish within `ocr_timeout` seconds."""
    return max(1, int(ocr_timeout) // SECONDS_PER_PAGE)


def stage_settings(overrides: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Each stage's defaults overlaid with its overrides (key by key)."""
    given = overrides or {}
    return {
        stage.name: merge(stage.defaults.as_dict(), given.get(stage.name), {})
        for stage in stages.TABLE
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
    pages = s.get("ocr_max_pages")
    if pages is not None and (isinstance(pages, bool) or not isinstance(pages, int) or pages < 1):
        problems.add("ocr_max_pages", f"must be a positive integer, got {pages!r}")
    effective = _check_stages(problems, name, s)
    _check_artifacts(problems, s)
    _check_sweep(problems, s, effective[OCR])
    _check_orchestration(problems, s, effective)
    problems.raise_if_any()
    s["ocr_max_pages"] = _ocr_max_pages(s, effective[OCR]["timeout"])
    return s


def _ocr_max_pages(s: Mapping[str, Any], timeout: Any) -> Any:
    """`ocr_max_pages`, else what the OCR function's timeout allows: a larger document
    would time out on every try and reach the DLQ with no typed error."""
    if s.get("ocr_max_pages") is not None:
        return s["ocr_max_pages"]
    if is_known(timeout):
        return max_pages_for(timeout)
    return pulumi.Output.from_input(timeout).apply(max_pages_for)


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
    for stage, settings in stage_settings(s.get("stages")).items():
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
    if s["require_ocr_runtime"] and layer is None and image is None:
        problems.add(
            "ocr_layer_arn",
            "the OCR function needs tesseract: set ocr_layer_arn (stack config "
            "docpipe:ocrLayerArn, a layer version ARN) or ocr_image_uri (docpipe:ocrImageUri, "
            "a container image URI)",
        )


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
        for stage in stages.TABLE.names
        for path in archive_paths(s, stage).values()
        if not Path(path).is_file()
    ]
    if missing:
        problems.add("build_dir", f"missing {missing}: run `make build` first")
        return
    _check_built_architecture(problems, s)


def _check_built_architecture(problems: Problems, s: Mapping[str, Any]) -> None:
    """The layers hold compiled wheels (pillow, pypdfium2) for one instruction set: an
    arm64 layer on an x86_64 function fails at import, after the deploy succeeded."""
    wanted = s["architecture"]
    record = architecture_file(s["build_dir"])
    built = record.read_text().strip() if record.is_file() else None
    if built != wanted:
        found = f"was built for {built}" if built else f"has no {record.name} record"
        problems.add(
            "build_dir",
            f"{s['build_dir']} {found}, the stack's architecture is {wanted}: run "
            f"`python -m packager --arch {wanted}`",
        )
