"""The mock-run harness itself: config layering, capture of inputs and options, duplicates."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mockrun import load_stack_config, run_program
from mockrun.capture import DuplicateUrnError

PROGRAM = """
import pulumi
import pulumi_aws as aws

config = pulumi.Config()

class Box(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("docpipe:index:Box", name, None, opts)
        self.queue = aws.sqs.Queue(f"{name}-queue", visibility_timeout_seconds=60,
            opts=pulumi.ResourceOptions(parent=self))
        aws.sqs.QueuePolicy(f"{name}-policy", queue_url=self.queue.url,
            policy=self.queue.arn.apply(lambda arn: arn),
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True,
                                        depends_on=[self.queue]))
        self.register_outputs({"queue_url": self.queue.url})

for name in config.require_object("boxes"):
    box = Box(name)
pulumi.export("queue_url", box.queue.url)
pulumi.export("greeting", config.get("greeting"))
"""


def write_project(tmp_path: Path, boxes: str) -> Path:
    (tmp_path / "Pulumi.yaml").write_text(
        textwrap.dedent(
            """\
            name: docpipe
            runtime: python
            config:
              greeting:
                type: string
                default: hello
              boxes:
                type: array
                default: ["a"]
            """
        )
    )
    (tmp_path / "Pulumi.test.yaml").write_text(f"config:\n  docpipe:boxes: {boxes}\n")
    (tmp_path / "__main__.py").write_text(PROGRAM)
    return tmp_path


def test_stack_config_overlays_project_defaults(tmp_path: Path) -> None:
    project = write_project(tmp_path, '["x", "y"]')
    assert load_stack_config("test", project) == {
        "docpipe:greeting": "hello",
        "docpipe:boxes": '["x", "y"]',
    }


def test_unknown_stack_is_a_clear_error(tmp_path: Path) -> None:
    project = write_project(tmp_path, '["x"]')
    with pytest.raises(FileNotFoundError, match="no stack named 'nope'"):
        load_stack_config("nope", project)


def test_run_captures_inputs_parents_options_and_outputs(tmp_path: Path) -> None:
    run = run_program("test", project_dir=write_project(tmp_path, '["x", "y"]'))

    assert run.count_by_type() == {
        "docpipe:index:Box": 2,
        "aws:sqs/queue:Queue": 2,
        "aws:sqs/queuePolicy:QueuePolicy": 2,
    }
    queue = run.named("y-queue")
    assert queue.inputs["visibilityTimeoutSeconds"] == 60.0
    assert queue.parent == run.named("y").urn
    assert queue.state["url"].endswith("/y-queue-" + queue.state["name"].split("-")[-1])
    policy = run.named("y-policy")
    assert policy.delete_before_replace
    assert policy.dependencies == [queue.urn]
    assert policy.property_dependencies["queueUrl"] == [queue.urn]
    assert policy.inputs["policy"] == queue.state["arn"]
    assert run.outputs == {"queue_url": queue.state["url"], "greeting": "hello"}


def test_runs_do_not_leak_into_each_other(tmp_path: Path) -> None:
    project = write_project(tmp_path, '["x"]')
    first = run_program("test", project_dir=project)
    second = run_program("test", project_dir=project)
    assert len(first.registrations) == len(second.registrations) == 3


def test_duplicate_urns_fail_the_run(tmp_path: Path) -> None:
    project = write_project(tmp_path, '["x", "x"]')
    with pytest.raises(DuplicateUrnError, match="docpipe:index:Box::x"):
        run_program("test", project_dir=project)
