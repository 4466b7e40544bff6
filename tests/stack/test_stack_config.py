"""Stack config drives the pipeline; bad config and missing deploy inputs stop with clear errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from stack_helpers import run_stack

import components.stack_config
from components import pipeline_args
from mockrun import PROJECT_DIR


def test_stage_settings_come_from_config() -> None:
    stages = {"classify": {"timeout": 50, "batchingWindow": 3, "batchSize": 40,
                           "maxConcurrency": 7, "reservedConcurrency": 8, "memory": 1024,
                           "maxReceiveCount": 9}}  # fmt: skip
    run = run_stack("dev", {"stages": json.dumps(stages)})
    assert run.named("docpipe-classify-queue").inputs["visibilityTimeoutSeconds"] == 303
    redrive = json.loads(run.named("docpipe-classify-queue").inputs["redrivePolicy"])
    assert redrive["maxReceiveCount"] == 9
    trigger = run.named("docpipe-classify-trigger").inputs
    assert (trigger["batchSize"], trigger["maximumBatchingWindowInSeconds"]) == (40, 3)
    assert trigger["scalingConfig"] == {"maximumConcurrency": 7}
    function = run.named("docpipe-classify-function").inputs
    assert (function["memorySize"], function["reservedConcurrentExecutions"]) == (1024, 8)
    # A stack value replaces the project default: dev's own overrides are gone here.
    assert run.named("docpipe-ocr-trigger").inputs["scalingConfig"] == {"maximumConcurrency": 5}


def test_categories_threshold_and_sweep_come_from_config() -> None:
    categories = [{"name": "memo", "keywords": ["memo"], "examples": []}]
    run = run_stack(
        "dev",
        {"categories": json.dumps(categories), "classifyThreshold": "0.6",
         "sweepSchedule": "rate(1 hour)", "sweepMinAgeMinutes": "100", "sweepMaxPerRun": "10",
         "sweepMaxAgeMinutes": "600",
         "architecture": "x86_64"},
    )  # fmt: skip
    env = run.named("docpipe-classify-function").inputs["environment"]["variables"]
    assert (json.loads(env["CLASSIFY_CATEGORIES"]), env["CLASSIFY_THRESHOLD"]) == (
        categories,
        "0.6",
    )
    sweep = run.named("docpipe-sweep-function").inputs
    assert sweep["environment"]["variables"]["SWEEP_MIN_AGE_MINUTES"] == "100"
    assert sweep["environment"]["variables"]["SWEEP_MAX_PER_RUN"] == "10"
    assert sweep["environment"]["variables"]["SWEEP_MAX_AGE_MINUTES"] == "600"
    assert sweep["architectures"] == ["x86_64"]
    schedule = run.named("docpipe-sweep-schedule-schedule").inputs
    assert schedule["scheduleExpression"] == "rate(1 hour)"


def test_ocr_layer_from_config() -> None:
    layer = "arn:aws:lambda:us-east-1:123456789012:layer:tesseract:7"
    run = run_stack("dev", {"ocrLayerArn": layer})
    assert run.named("docpipe-ocr-function").inputs["layers"][-1] == layer


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"stages": '{"ocr": {"memry": 1}}'},
         "docpipe:stages: ocr.memry is not a stage setting; settings: memory, timeout, "
         "batchSize, batchingWindow, maxConcurrency, reservedConcurrency, maxReceiveCount, "
         "environment"),
        ({"stages": "{oops"}, "docpipe:stages is not valid JSON"),
        ({"classifyThreshold": "high"}, "docpipe:classifyThreshold must be a number, got 'high'"),
        ({"stages": '{"ocr": {"batchSize": 11}}'},
         "stages.ocr.batch_size: 11 above 10 needs batching_window of at least 1 s"),
    ],
)  # fmt: skip
def test_bad_config_is_a_clear_error(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        run_stack("dev", overrides)


def test_a_real_deployment_needs_a_build_but_no_tesseract_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # GIVEN a real (not offline) run whose build directory is empty
    monkeypatch.setattr(components.stack_config, "offline", lambda: False)
    monkeypatch.setitem(pipeline_args.PIPELINE_DEFAULTS, "build_dir", str(tmp_path))

    # WHEN the prod stack runs THEN it asks for `make build` and for nothing about tesseract
    with pytest.raises(ValueError) as raised:
        run_stack("prod")
    message = str(raised.value)
    assert "run `make build` first" in message
    assert "ocrLayerArn" not in message and "ocr_layer_arn" not in message


class UnsetConfig:
    """A stack config with no values (a program run without the CLI's Pulumi.yaml defaults)."""

    def get(self, key: str) -> None:
        return None

    get_int = get_bool = get


def test_unset_config_leaves_the_defaults_to_the_component() -> None:
    args = components.stack_config.pipeline_args(UnsetConfig())  # type: ignore[arg-type]
    assert sorted(args) == ["require_alarm_email", "require_artifacts", "stages", "tags"]


def test_pulumi_yaml_defaults_equal_the_contract_defaults() -> None:
    # Pulumi.yaml cannot import Python: its defaults are the one copy a test must keep equal.
    from components.pipeline_args import PIPELINE_DEFAULTS
    from components.pipeline_checks import max_pages_for
    from contract import settings as env
    from contract import stages

    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"]
    assert json.loads(project["categories"]["default"]) == PIPELINE_DEFAULTS["categories"]
    assert float(project["classifyThreshold"]["default"]) == PIPELINE_DEFAULTS["classify_threshold"]
    for key in (
        "ocr_language",
        "sweep_min_age_minutes",
        "sweep_max_age_minutes",
        "sweep_max_per_run",
        "sweep_schedule",
        "log_retention_days",
        "architecture",
        "account_concurrency",
        "orchestration",
        "workflow_type",
    ):
        camel = "".join(part.title() if n else part for n, part in enumerate(key.split("_")))
        assert project[camel]["default"] == PIPELINE_DEFAULTS[key], key
    # the handler's page limit when OCR_MAX_PAGES is unset is what the defaults allow
    ocr = stages.TABLE["ocr"].defaults
    assert max_pages_for(ocr.timeout, ocr.memory_size) == env.OCR_MAX_PAGES.default


def test_every_config_key_is_typed_with_a_default_and_a_description() -> None:
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
    assert project["name"] == "docpipe"
    assert project["runtime"] == {
        "name": "python",
        "options": {"toolchain": "pip", "virtualenv": ".venv"},
    }
    for key, spec in project["config"].items():
        assert set(spec) == {"type", "default", "description"}, key
        # Pulumi types project config only as these (project.json schema).
        assert spec["type"] in {"string", "integer", "boolean"}, key
        assert isinstance(
            spec["default"], {"string": str, "integer": int, "boolean": bool}[spec["type"]]
        )


def test_stack_files_set_only_declared_keys() -> None:
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
    declared = {f"docpipe:{key}" for key in project["config"]}
    for stack in ("dev", "prod"):
        config = yaml.safe_load(Path(PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())["config"]
        assert {k for k in config if k.startswith("docpipe:")} <= declared
