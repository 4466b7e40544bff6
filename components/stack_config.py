"""Stack config (`docpipe:*` keys, see Pulumi.yaml) to DocumentPipeline arguments.

Pulumi.yaml can type config only as string, integer, boolean or array of those (no objects,
no floats): `stages`, `categories` and `classifyThreshold` are therefore JSON in strings.
Empty strings mean "not set".
"""

from __future__ import annotations

import json
import os
from typing import Any, cast

import pulumi

from components.pipeline import DocumentPipelineArgs
from contract import stages as stage_table

OFFLINE_ENV = "DOCPIPE_OFFLINE"
# Config names of stage settings -> QueueFunction argument names.
STAGE_KEYS = {
    "memory": "memory_size",
    "timeout": "timeout",
    "batchSize": "batch_size",
    "batchingWindow": "batching_window",
    "maxConcurrency": "max_concurrency",
    "reservedConcurrency": "reserved_concurrency",
    "maxReceiveCount": "max_receive_count",
    "environment": "environment",
}


def offline() -> bool:
    """Tests, the policy gate, preview and local mode run the program offline."""
    return os.environ.get(OFFLINE_ENV) == "1"


def _json(config: pulumi.Config, key: str, default: Any) -> Any:
    raw = config.get(key)
    if not raw:
        return default
    try:
        return json.loads(raw)
    except ValueError as error:
        raise ValueError(f"docpipe:{key} is not valid JSON: {error}") from None


def stages(config: pulumi.Config) -> dict[str, dict[str, Any]]:
    raw = _json(config, "stages", {})
    if not isinstance(raw, dict):
        raise ValueError("docpipe:stages must be a JSON object keyed by stage")
    problems, result = [], {}
    for stage, overrides in raw.items():
        names = stage_table.TABLE.names
        if stage not in names or not isinstance(overrides, dict):
            problems.append(f"{stage!r} is not a stage ({', '.join(names)}) with an object")
            continue
        unknown = sorted(set(overrides) - set(STAGE_KEYS))
        problems += [f"{stage}.{key} is not a stage setting" for key in unknown]
        result[stage] = {STAGE_KEYS[k]: v for k, v in overrides.items() if k in STAGE_KEYS}
    if problems:
        raise ValueError(
            f"docpipe:stages: {'; '.join(problems)}; settings: {', '.join(STAGE_KEYS)}"
        )
    return result


def threshold(config: pulumi.Config) -> float | None:
    raw = config.get("classifyThreshold")
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"docpipe:classifyThreshold must be a number, got {raw!r}") from None


def pipeline_args(config: pulumi.Config | None = None) -> DocumentPipelineArgs:
    """The pipeline's arguments from stack config; offline runs skip deploy-only checks.

    Keys left unset (or "") are left out: the CLI (and mockrun) fill in Pulumi.yaml's
    defaults, and DocumentPipeline's own defaults (the same values, a test keeps them equal)
    cover a program run without them. No second copy of a default lives here.
    """
    config = config or pulumi.Config("docpipe")
    args: dict[str, Any] = {
        "stages": stages(config),
        "require_artifacts": not offline(),
        "require_alarm_email": not offline(),
        "tags": {"project": "docpipe", "stack": pulumi.get_stack()},
    }
    optional: dict[str, Any] = {
        "categories": _json(config, "categories", None),
        "classify_threshold": threshold(config),
        "ocr_language": config.get("ocrLanguage"),
        "expand_archives": config.get_bool("expandArchives"),
        "ocr_layer_arn": config.get("ocrLayerArn"),
        "ocr_image_uri": config.get("ocrImageUri"),
        "architecture": config.get("architecture"),
        "log_retention_days": config.get_int("logRetentionDays"),
        "alarm_email": config.get("alarmEmail"),
        "protect_data": config.get_bool("protectData"),
        "account_concurrency": config.get_int("accountConcurrency"),
        "sweep_schedule": config.get("sweepSchedule"),
        "sweep_min_age_minutes": config.get_int("sweepMinAgeMinutes"),
        "sweep_max_per_run": config.get_int("sweepMaxPerRun"),
        "sweep_max_age_minutes": config.get_int("sweepMaxAgeMinutes"),
        "sources": _json(config, "sources", None),
        "collect_contact": config.get("collectContact"),
        "orchestration": config.get("orchestration"),
        "workflow_type": config.get("workflowType"),
    }
    args.update({key: value for key, value in optional.items() if value not in (None, "")})
    return cast(DocumentPipelineArgs, args)
