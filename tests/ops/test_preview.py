"""`docpipe preview`: the offline resource tree of a stack, as text and as JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cli.main import main
from mockrun import run_program


def preview_json(stack: str, capsys: Any) -> dict[str, Any]:
    assert main(["preview", "--stack", stack, "--json"]) == 0
    return dict(json.loads(capsys.readouterr().out))


@pytest.mark.parametrize(("stack", "resources"), [("dev", 92), ("prod", 92)])
def test_json_lists_every_resource_with_its_parent(stack: str, resources: int, capsys: Any) -> None:
    shown = preview_json(stack, capsys)
    run = run_program(stack)

    assert len(shown["resources"]) == resources
    assert shown["counts"] == dict(sorted(run.count_by_type().items()))
    assert {(r["urn"], r["parent"]) for r in shown["resources"]} == {
        (r.urn, r.parent) for r in run.registrations
    }
    assert shown["outputs"]["bucket_name"] == run.outputs["bucket_name"]


def test_json_shows_the_settings_a_reviewer_looks_at(capsys: Any) -> None:
    by_name = {r["name"]: r["settings"] for r in preview_json("prod", capsys)["resources"]}

    assert by_name["docpipe-ocr-function"] == {
        "runtime": "python3.12",
        "arch": '["arm64"]',
        "memory MB": "3008",
        "timeout s": "180",
        "package": "Zip",
    }
    assert by_name["docpipe-ocr-queue"] == {
        "visibility s": "1080",
        "retention s": "345600",
        "SSE-SQS": "true",
        "long poll s": "20",
    }
    assert by_name["docpipe-ocr-trigger"] == {
        "batch": "1",
        "window s": "0",
        "scaling": '{"maximumConcurrency":20}',
        "responses": '["ReportBatchItemFailures"]',
    }
    assert by_name["docpipe-results-table"] == {
        "billing": "PAY_PER_REQUEST",
        "PITR": '{"enabled":true}',
        "deletion protection": "true",
        "protect": "true",
        "retain on delete": "true",
    }


def test_text_tree_nests_children_under_their_component(capsys: Any) -> None:
    assert main(["preview", "--stack", "dev"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("docpipe stack dev: 92 resources")
    pipeline = next(i for i, line in enumerate(lines) if "docpipe:index:DocumentPipeline" in line)
    queue = next(i for i, line in enumerate(lines) if "docpipe-ocr-queue " in line)
    # the queue sits deeper than the pipeline, under the ocr QueueFunction
    indent = lambda line: len(line) - len(line.lstrip(" │├└─"))  # noqa: E731
    assert indent(lines[queue]) > indent(lines[pipeline])


def test_unknown_stack_is_a_clear_error() -> None:
    with pytest.raises(FileNotFoundError, match="no stack named 'nope'"):
        main(["preview", "--stack", "nope"])
