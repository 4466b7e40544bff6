"""A consumer project outside the repository, in Pulumi YAML, whose docpipe components resolve
through the plugin that `packages:` names (what `pulumi package add <path>/components` writes)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mockrun.mocks import physical_name
from plugin.wire import PLUGIN_DIR, Engine, by_name, fake_build, plain
from plugin.yaml_program import ProgramRun, run_yaml_program

PROGRAM = """\
name: consumer
runtime: yaml
packages:
  docpipe: {plugin}
resources:
  eu:
    type: pulumi:providers:aws
    properties:
      region: eu-west-1
  jobs:
    type: aws:sqs/queue:Queue
  results:
    type: docpipe:index:ResultsTable
    properties:
      rangeKey: version
    options:
      providers:
        - ${{eu}}
  tick:
    type: docpipe:index:ScheduledTrigger
    properties:
      queueArn: ${{jobs.arn}}
      scheduleExpression: rate(1 hour)
      maximumRetryAttempts: 2
  pipeline:
    type: docpipe:index:DocumentPipeline
    properties:
      buildDir: {build}
      ocrLayerArn: arn:aws:lambda:eu-west-1:123456789012:layer:tesseract:3
      sweepMaxPerRun: 50
      stages:
        ocr:
          memorySize: 3008
        classify:
          environment:
            JOBS_QUEUE: ${{jobs.url}}
      categories:
        - name: invoice
          keywords: [invoice, total]
    options:
      providers:
        - ${{eu}}
outputs:
  bucket: ${{pipeline.bucketName}}
  queues: ${{pipeline.queueUrls}}
  table: ${{results.tableName}}
"""


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fake_build(tmp_path_factory.mktemp("docpipe-build"))


@pytest.fixture(scope="module")
def program(
    engine: Engine, tmp_path_factory: pytest.TempPathFactory, build: Path
) -> Iterator[tuple[Path, ProgramRun]]:
    """`pulumi up` of the YAML program, once for this module's tests."""
    project = tmp_path_factory.mktemp("yaml-consumer")
    relative_plugin = os.path.relpath(PLUGIN_DIR, project)
    (project / "Pulumi.yaml").write_text(PROGRAM.format(plugin=relative_plugin, build=build))
    engine.monitor.reset()
    run = run_yaml_program(project, engine)
    yield project, run
    run.stop()


def test_the_plugin_runs_from_the_package_path_in_the_consumer_directory(
    program: tuple[Path, ProgramRun], engine: Engine
) -> None:
    project, run = program
    process = run.plugins["docpipe"].process
    # `<venv python> <absolute plugin directory> <engine address>`, in the consumer's directory
    assert process.args == [sys.executable, str(PLUGIN_DIR), engine.engine_address]
    assert Path(f"/proc/{process.pid}/cwd").resolve() == project.resolve()


def test_every_component_resolves_through_the_plugin(
    program: tuple[Path, ProgramRun], build: Path
) -> None:
    _, run = program
    assert {name: c.urn.split("::")[2] for name, c in run.components.items()} == {
        "results": "docpipe:index:ResultsTable",
        "tick": "docpipe:index:ScheduledTrigger",
        "pipeline": "docpipe:index:DocumentPipeline",
    }
    eu = run.provider_refs["eu"]
    for name in ("results", "pipeline"):
        custom = [c for c in run.components[name].children if c.custom]
        assert custom and {c.provider for c in custom} == {eu}

    tick = by_name(run.components["tick"].children)
    assert run.urns["jobs"] in tick["tick-role-policy"].property_dependencies["policy"]
    policy = json.loads(plain(tick["tick-role-policy"].inputs["policy"]))
    assert policy["Statement"][0]["Resource"] == [run.states["jobs"]["arn"]]
    retry = plain(tick["tick-schedule"].inputs["target"])["retryPolicy"]
    assert retry["maximumRetryAttempts"] == 2

    pipeline = by_name(run.components["pipeline"].children)
    ocr = pipeline["pipeline-ocr-function"]
    assert ocr.inputs["memorySize"] == 3008
    assert plain(ocr.inputs["code"])["path"] == str(build / "functions" / "ocr.zip")
    sweep = plain(pipeline["pipeline-sweep-function"].inputs["environment"])["variables"]
    assert sweep["SWEEP_MAX_PER_RUN"] == "50"
    classify = pipeline["pipeline-classify-function"]
    assert (
        plain(classify.inputs["environment"])["variables"]["JOBS_QUEUE"]
        == (run.states["jobs"]["url"])
    )
    assert run.urns["jobs"] in classify.property_dependencies["environment"]
    assert run.duplicate_urns == []


def test_the_programs_outputs(program: tuple[Path, ProgramRun]) -> None:
    _, run = program
    assert run.outputs["bucket"] == "pipeline-dev-123456789012-us-east-1"
    assert sorted(run.outputs["queues"]) == ["classify", "ocr", "summarize", "sweep"]
    assert run.outputs["table"] == physical_name("results-table")
