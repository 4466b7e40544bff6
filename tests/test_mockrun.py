"""The mock-run harness itself: config layering, capture of inputs and options, duplicates."""

from __future__ import annotations

import asyncio
import gc
import textwrap
import weakref
from pathlib import Path
from typing import Any

import pulumi
import pytest

from mockrun import RealisticMocks, load_stack_config, run_program
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


class RefusingPolicies(RealisticMocks):
    """Mocks that fail every queue policy, as the local deployer fails an unsupported type."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == "aws:sqs/queuePolicy:QueuePolicy":
            raise RuntimeError(f"refused {args.name}")
        return super().new_resource(args)


def test_a_failed_run_raises_its_error_and_leaves_nothing_unread(tmp_path: Path) -> None:
    project = write_project(tmp_path, '["x", "y"]')
    # A dead weak proxy on the heap: asking it for its class raises ReferenceError
    referent = RefusingPolicies()
    dead = weakref.proxy(referent)
    del referent

    with pytest.raises(RuntimeError, match="refused"):
        run_program("test", mocks=RefusingPolicies(), project_dir=project)

    unread = [
        o
        for o in gc.get_objects()
        if issubclass(type(o), asyncio.Future) and o.done() and o._log_traceback
    ]
    assert unread == []  # asyncio would log each as "Future exception was never retrieved"
    assert type(dead) is weakref.ProxyType
