"""Argument validation shared by every component.

Components collect every problem first and raise one `ValueError` naming each argument, before
any child resource is registered: a preview then fails fast and tells the whole story at once.
Values that are still `Output`s (unknown until deploy) cannot be checked and are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi


def is_known(value: Any) -> bool:
    """True for plain values: Outputs and awaitables are only known at deploy time."""
    return (
        value is not None
        and not isinstance(value, pulumi.Output)
        and not hasattr(value, "__await__")
    )


def plain(value: Any, default: Any = None) -> Any:
    """The plain value, or `default` when it is missing or not known yet."""
    return value if is_known(value) else default


class Problems:
    """Collects validation problems; `raise_if_any` raises them as one ValueError."""

    def __init__(self, component: str, name: str) -> None:
        self.component = component
        self.name = name
        self.messages: list[str] = []

    def add(self, argument: str, message: str) -> None:
        self.messages.append(f"{argument}: {message}")

    def check(self, condition: bool, argument: str, message: str) -> None:
        if not condition:
            self.add(argument, message)

    def raise_if_any(self) -> None:
        if self.messages:
            listing = "\n".join(f"  - {message}" for message in self.messages)
            raise ValueError(f"{self.component} {self.name!r} has invalid arguments:\n{listing}")


def check_range(problems: Problems, args: Mapping[str, Any], key: str, low: int, high: int) -> None:
    """Check an integer argument lies in [low, high] when it is known."""
    value = plain(args.get(key))
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        problems.add(key, f"must be an integer, got {value!r}")
    elif not low <= value <= high:
        problems.add(key, f"must be between {low} and {high}, got {value}")


def merge(defaults: Mapping[str, Any], user: Mapping[str, Any] | None, required: Mapping[str, Any]):
    """Three-layer merge (AWS Solutions Constructs): user values win over defaults,
    values the component needs to work win over user values."""
    merged = dict(defaults)
    merged.update({k: v for k, v in (user or {}).items() if v is not None})
    merged.update(required)
    return merged
