"""Helpers shared by local mode's end-to-end tests (not a conftest: mypy sees one per repo)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from local.session import LocalSession

VARIANTS_DIR = Path(__file__).resolve().parent
MINI_STACK = VARIANTS_DIR / "mini_stack"
RENDER_PATH = VARIANTS_DIR.parent / "handlers" / "render.py"

# A text the stack's default categories (Pulumi.yaml) classify as a contract without doubt.
CONTRACT_TEXT = (
    "This agreement is made between the parties. The term of this agreement is two years. "
    "Termination requires ninety days notice. Liability of each party is limited."
)


def wait_until(
    condition: Callable[[], bool], timeout_s: float, what: str, poll_s: float = 0.5
) -> None:
    """Until `condition()` holds; after `timeout_s`, an AssertionError naming `what`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what}"
        time.sleep(poll_s)


def render() -> ModuleType:
    """The handlers' test renderer (scans, PDFs with a text layer, multi-page TIFFs)."""
    spec = importlib.util.spec_from_file_location("docpipe_test_render", RENDER_PATH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stages(**settings: dict[str, Any]) -> dict[str, str]:
    """A `docpipe:stages` override on top of the dev stack's own (config replaces, not merges)."""
    from mockrun import load_stack_config

    merged: dict[str, dict[str, Any]] = json.loads(load_stack_config("dev")["docpipe:stages"])
    for stage, values in settings.items():
        merged[stage] = {**merged.get(stage, {}), **values}
    return {"stages": json.dumps(merged)}


def queue_messages(session: LocalSession, url: str, limit: int = 100) -> list[dict[str, Any]]:
    """Every message of a queue (hidden for 60 s afterwards), with attributes."""
    sqs, messages = session.client("sqs"), []
    for _ in range(limit):
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60, AttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            break
        messages += batch
    return messages


def table_items(session: LocalSession) -> list[dict[str, Any]]:
    dynamodb, items = session.client("dynamodb"), []
    for page in dynamodb.get_paginator("scan").paginate(TableName=session.outputs["table_name"]):
        items += page["Items"]
    return items


def function_log(session: LocalSession, stage: str) -> str:
    assert session.runtime is not None
    return (session.runtime.options.log_dir / f"{stage}.log").read_text()


def mini_project(tmp_path: Path) -> Path:
    """The mini stack as a Pulumi project directory (its program becomes __main__.py)."""
    project = tmp_path / "mini"
    project.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.test.yaml"):
        shutil.copy(MINI_STACK / name, project / name)
    shutil.copy(MINI_STACK / "program.py", project / "__main__.py")
    return project


def _stat(pid: str) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name: state, ppid, pgrp, ..."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def group_members(pgid: int) -> list[int]:
    """Processes (zombies included) in a process group, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        fields = _stat(entry.name) if entry.name.isdigit() else None
        if fields and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def zombie_children() -> list[int]:
    """This process's children that died and were never reaped."""
    me, zombies = os.getpid(), []
    for entry in Path("/proc").iterdir():
        fields = _stat(entry.name) if entry.name.isdigit() else None
        if fields and fields[0] == "Z" and int(fields[1]) == me:
            zombies.append(int(entry.name))
    return zombies
