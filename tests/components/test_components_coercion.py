"""Arguments as other languages send them, made what each component declares (in process;
tests/plugin drives the same through the plugin over gRPC)."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from component_helpers import build
from pulumi.runtime import rpc

from components import DocumentPipelineArgs, QueueFunction, QueueFunctionArgs
from components.validation import coerce, merge
from mockrun import CapturingMonitor
from mockrun.capture import resolve

CODE = pulumi.AssetArchive({"handler.py": pulumi.StringAsset("def handle(e, c): ...")})


def test_integral_doubles_become_integers_where_integers_are_declared() -> None:
    args = coerce(
        DocumentPipelineArgs,
        {
            "sweep_max_per_run": 50.0,
            "classify_threshold": 1.0,  # a float field stays a float
            "stages": {"ocr": {"timeout": 120.0, "environment": {"N": "1.0"}}},
            "categories": [{"name": "invoice", "keywords": ["total"]}],
        },
        "DocumentPipeline",
        "dp",
    )
    assert args == {
        "sweep_max_per_run": 50,
        "classify_threshold": 1.0,
        "stages": {"ocr": {"timeout": 120, "environment": {"N": "1.0"}}},
        "categories": [{"name": "invoice", "keywords": ["total"]}],
    }
    assert type(args["sweep_max_per_run"]) is int
    assert type(args["stages"]["ocr"]["timeout"]) is int
    assert type(args["classify_threshold"]) is float


def test_fractional_doubles_are_left_for_validation_to_refuse() -> None:
    args = coerce(QueueFunctionArgs, {"batch_size": 20.5}, "QueueFunction", "qf")
    assert args == {"batch_size": 20.5}
    with pytest.raises(ValueError, match=r"batch_size: must be an integer, got 20\.5"):
        QueueFunction("qf", {"code": CODE, "handler": "h.h", "batch_size": 20.5})  # type: ignore[typeddict-item]


def test_an_integer_output_stays_an_output_of_an_integer(monitor: CapturingMonitor) -> None:
    seen: dict[str, Any] = {}

    def program() -> None:
        args = coerce(
            QueueFunctionArgs,
            {"memory_size": pulumi.Output.secret(1024.0)},
            "QueueFunction",
            "qf",
        )
        seen["memory_size"] = resolve(args["memory_size"])
        seen["type"] = type(seen["memory_size"])

    build(monitor, program)
    assert seen == {"memory_size": 1024, "type": int}


def test_a_plain_argument_refuses_an_output_naming_it() -> None:
    with pytest.raises(ValueError) as raised:
        coerce(
            DocumentPipelineArgs,
            {"stages": pulumi.Output.secret({"ocr": {}}), "protect_data": True},
            "DocumentPipeline",
            "dp",
        )
    assert str(raised.value).splitlines() == [
        "DocumentPipeline 'dp' has invalid arguments:",
        "  - stages: must be a plain value, known when the component is built (the schema "
        "marks it plain), but it arrived as an output: a secret, an unknown or another "
        "resource's value (a secret anywhere inside a map or list makes the whole of it "
        "secret on the wire)",
    ]


def test_merge_of_a_whole_map_output_is_an_output(monitor: CapturingMonitor) -> None:
    seen: dict[str, Any] = {}

    def program() -> None:
        user = pulumi.Output.secret({"A": "user", "STAGE": "evil"})
        merged = merge({"A": "default", "B": "default"}, user, {"STAGE": "ocr"})
        seen["value"] = resolve(merged)

    build(monitor, program)
    assert seen["value"] == {"A": "user", "B": "default", "STAGE": "ocr"}


def test_queue_function_environment_as_one_secret_output(monitor: CapturingMonitor) -> None:
    def program() -> None:
        QueueFunction(
            "qf",
            {
                "code": CODE,
                "handler": "h.h",
                "environment": pulumi.Output.secret({"TOKEN": "t"}),
            },
        )

    build(monitor, program)
    environment = monitor.named("qf-function").inputs["environment"]
    assert rpc.is_rpc_secret(environment)  # the whole environment stays secret
    assert rpc.unwrap_rpc_secret(environment)["variables"] == {
        "POWERTOOLS_SERVICE_NAME": "qf",
        "POWERTOOLS_METRICS_NAMESPACE": "docpipe",
        "TOKEN": "t",
    }
