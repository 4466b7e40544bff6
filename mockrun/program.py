"""Run the unchanged `__main__.py` of a stack under Pulumi's mock runtime."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import runpy
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime.resource
import pulumi.runtime.settings
import yaml
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.settings import ROOT

from mockrun.capture import CapturingMonitor, DuplicateUrnError, Registration
from mockrun.mocks import RealisticMocks

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT = "docpipe"
# Tells the program it runs offline (tests, gate, preview, local mode): it may then skip
# requirements that only a real deployment has, such as the OCR function's tesseract layer.
OFFLINE_ENV = "DOCPIPE_OFFLINE"


def _config_string(value: Any) -> str:
    """Pulumi hands config to programs as strings: objects as JSON, booleans lowercase."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _qualified(key: str) -> str:
    return key if ":" in key else f"{PROJECT}:{key}"


def load_stack_config(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, str]:
    """Project defaults from Pulumi.yaml overlaid with Pulumi.<stack>.yaml, as the CLI would.

    The SDK does not apply `Pulumi.yaml` defaults (the CLI does), so we apply them here.
    """
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
    config: dict[str, str] = {}
    for key, spec in (project.get("config") or {}).items():
        if isinstance(spec, dict) and "default" in spec:
            config[_qualified(key)] = _config_string(spec["default"])
    stack_file = project_dir / f"Pulumi.{stack}.yaml"
    if not stack_file.exists():
        raise FileNotFoundError(f"no stack named {stack!r}: {stack_file.name} does not exist")
    stack_config = yaml.safe_load(stack_file.read_text()) or {}
    for key, value in (stack_config.get("config") or {}).items():
        config[_qualified(key)] = _config_string(value)
    return config


@dataclass
class StackRun:
    """What one program run registered, and what it exported."""

    stack: str
    monitor: CapturingMonitor

    @property
    def registrations(self) -> list[Registration]:
        return self.monitor.registrations

    @property
    def outputs(self) -> dict[str, Any]:
        return self.monitor.stack_outputs

    def by_type(self, type_token: str) -> list[Registration]:
        return self.monitor.by_type(type_token)

    def named(self, name: str) -> Registration:
        return self.monitor.named(name)

    def count_by_type(self) -> Counter[str]:
        return Counter(r.type for r in self.registrations)


def _run_main(project_dir: Path, monitor: CapturingMonitor) -> pulumi.Output[None]:
    runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")
    # The root stack's exports, resolved; returning the Output makes the test runner await it.
    root = pulumi.runtime.get_root_resource()
    exports = pulumi.Output.from_input(dict(getattr(root, "outputs", {})))
    return exports.apply(monitor.stack_outputs.update)


def config_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """`KEY=VALUE` pairs as the commands take them (`--config`), like `pulumi config set`
    (`docpipe:` is implied without a namespace); ValueError naming a malformed one."""
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--config expects KEY=VALUE, got {pair!r}")
        overrides[key] = value
    return overrides


@contextmanager
def without_source_positions() -> Iterator[None]:
    """Registrations under mocks skip the call stack Pulumi sends the engine with each one.

    The SDK walks the whole stack and turns every frame into a file URI for each resource, for
    the engine's error messages; a mock monitor never reads it, so the registrations are the
    same without it. Under pytest, whose stacks are deep, that was a third of a dev mock run
    (0.37 s, 0.22 s without); from a shallow script the difference is within the noise.
    """
    sdk: Any = pulumi.runtime.resource
    original = sdk._get_stack_trace
    sdk._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        sdk._get_stack_trace = original


def _settle_outstanding_registrations() -> None:
    """Let the registrations a failed program had started finish before its error is raised.

    Pulumi's runtime raises at the first failed RPC and leaves the other RPCs and the output
    tasks on its event loop: the next program run in this process would run them (against a
    local emulator that may have stopped by then). The failed resource's outputs hold its
    error and nobody reads them: asyncio would log each as "Future exception was never
    retrieved" when it is collected, at exit if nothing else runs. The error is the one being
    raised, so they are marked read.
    """
    settings: Any = pulumi.runtime.settings.SETTINGS
    loop = asyncio.get_event_loop()
    while settings.rpc_manager.rpcs or settings.outputs:
        pending = [*settings.rpc_manager.rpcs, *settings.outputs]
        settings.rpc_manager.rpcs.clear()
        settings.outputs.clear()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    for future in gc.get_objects():
        # type(), not isinstance(): the heap holds weak proxies, and isinstance() asks a dead
        # one for its class, which raises ReferenceError.
        if not issubclass(type(future), asyncio.Future) or future.get_loop() is not loop:
            continue
        if future.done() and not future.cancelled():
            future.exception()  # reading it is what asyncio checks


def run_program(
    stack: str,
    config_overrides: Mapping[str, str] | None = None,
    mocks: pulumi.runtime.Mocks | None = None,
    project_dir: Path = PROJECT_DIR,
    preview: bool = False,
) -> StackRun:
    """Run `project_dir/__main__.py` for `stack` and return every registration.

    Raises the program's own exception when it fails, and DuplicateUrnError when two
    resources share a URN (the engine would reject the deployment).
    """
    config = load_stack_config(stack, project_dir)
    config.update({_qualified(k): v for k, v in (config_overrides or {}).items()})
    monitor = CapturingMonitor(mocks or RealisticMocks())

    ROOT.set(None)  # a fresh root stack, else exports of an earlier run pile up
    pulumi.runtime.set_mocks(
        monitor.mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor
    )
    pulumi.runtime.set_all_config(config)  # after set_mocks, which starts from empty config

    previous_dir, previous_offline = Path.cwd(), os.environ.get(OFFLINE_ENV)
    os.environ[OFFLINE_ENV] = "1"
    try:
        os.chdir(project_dir)
        with without_source_positions():
            pulumi.runtime.test(lambda: _run_main(project_dir, monitor))()
    except BaseException:
        _settle_outstanding_registrations()
        raise
    finally:
        os.chdir(previous_dir)
        if previous_offline is None:
            os.environ.pop(OFFLINE_ENV, None)
        else:
            os.environ[OFFLINE_ENV] = previous_offline
    if monitor.duplicates:
        raise DuplicateUrnError(f"duplicate URNs: {sorted(set(monitor.duplicates))}")
    return StackRun(stack=stack, monitor=monitor)
