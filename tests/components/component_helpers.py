"""Build one component under the `monitor` fixture's mocks and return what registered."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi

from mockrun import CapturingMonitor, Registration


def build(monitor: CapturingMonitor, factory: Callable[[], Any]) -> CapturingMonitor:
    """Run `factory` inside `pulumi.runtime.test` (which waits for every registration)."""

    @pulumi.runtime.test
    def program() -> None:
        factory()

    program()
    return monitor


def policy(registration: Registration, key: str = "policy") -> Any:
    return json.loads(registration.inputs[key])


def counts(monitor: CapturingMonitor) -> dict[str, int]:
    result: dict[str, int] = {}
    for registration in monitor.registrations:
        result[registration.type] = result.get(registration.type, 0) + 1
    return result
