"""Argument coercion and validation shared by every component.

Components first coerce their arguments as other languages send them (`coerce`), then collect
every problem and raise one `ValueError` naming each argument, before any child resource is
registered: a preview then fails fast and tells the whole story at once. Values that are still
`Output`s (unknown until deploy) cannot be checked and are skipped.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Mapping, Sequence
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


def merge(defaults: Mapping[str, Any], user: Any, required: Mapping[str, Any]) -> Any:
    """Three-layer merge (AWS Solutions Constructs): user values win over defaults,
    values the component needs to work win over user values.

    `user` may be one Output for the whole mapping (an `Input[Mapping]` from another resource,
    or a map holding a secret, which the SDK marks secret as a whole): the merge is then an
    Output too, with the same dependencies and secrecy."""
    if isinstance(user, pulumi.Output):
        return user.apply(
            lambda resolved: pulumi.Output.from_input(merge(defaults, resolved, required))
        )
    merged = dict(defaults)
    merged.update({k: v for k, v in (user or {}).items() if v is not None})
    merged.update(required)
    return merged


# -- coercion: arguments as other languages send them ----------------------------------------

PLAIN_EXPECTED = (
    "must be a plain value, known when the component is built (the schema marks it plain), "
    "but it arrived as an output: a secret, an unknown or another resource's value (a secret "
    "anywhere inside a map or list makes the whole of it secret on the wire)"
)


def coerce(args_type: type, args: Mapping[str, Any] | None, component: str, name: str) -> Any:
    """`args` shaped as `args_type` (a TypedDict) declares, from what any Pulumi language sends.

    Numbers travel as doubles, so an integral float becomes an int where an int is declared
    (`150.0` -> `150`, also inside Outputs, nested args, maps and lists); other floats stay
    for validation to refuse. Outputs stay Outputs where an `Input` is declared (whole maps
    included: `merge` handles them) and are refused, naming the argument, where a plain value
    is declared: those shape the component itself and must be known when it is built.
    """
    problems = Problems(component, name)
    coerced = _coerce_fields(args_type, args or {}, "", problems)
    problems.raise_if_any()
    return coerced


def _coerce_fields(
    typed_dict: type, values: Mapping[str, Any], path: str, problems: Problems
) -> dict[str, Any]:
    declared = _annotations(typed_dict)
    return {
        key: _coerce(declared[key], value, f"{path}{key}", problems) if key in declared else value
        for key, value in values.items()
    }


def _annotations(typed_dict: type) -> dict[str, Any]:
    """The TypedDict's declared field types, base classes included (as the schema analyzer
    reads them: `pulumi.Input` holds a forward reference that `get_type_hints` cannot resolve)."""
    declared: dict[str, Any] = {}
    for cls in reversed(typed_dict.__mro__):
        if typing.is_typeddict(cls):
            declared.update(inspect.get_annotations(cls))
    return declared


def _coerce(declared: Any, value: Any, path: str, problems: Problems) -> Any:
    accepts_output, kind = _unwrap(declared)
    if isinstance(value, pulumi.Output):
        if not accepts_output:
            problems.add(path, PLAIN_EXPECTED)
            return value
        return value.apply(_integral) if kind is int else value
    if kind is int:
        return _integral(value)
    origin = typing.get_origin(kind)
    if typing.is_typeddict(kind) and isinstance(value, Mapping):
        return _coerce_fields(kind, value, f"{path}.", problems)
    if origin in (Mapping, dict) and isinstance(value, Mapping):
        item = typing.get_args(kind)[1]
        return {k: _coerce(item, v, f"{path}.{k}", problems) for k, v in value.items()}
    if origin in (Sequence, list) and isinstance(value, list | tuple):
        item = typing.get_args(kind)[0]
        return [_coerce(item, v, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    return value


def _unwrap(declared: Any) -> tuple[bool, Any]:
    """(accepts an Output, the declared type without Required/Optional/Input around it)."""
    while typing.get_origin(declared) in (typing.Required, typing.NotRequired):
        declared = typing.get_args(declared)[0]
    if typing.get_origin(declared) is typing.Union:
        members = [m for m in typing.get_args(declared) if m is not type(None)]
        awaitable = [m for m in members if typing.get_origin(m) is Awaitable]
        if awaitable:  # pulumi.Input[T] = Union[T, Awaitable[T], Output[T]]
            return True, typing.get_args(awaitable[0])[0]
        if len(members) == 1:
            return False, members[0]
    return False, declared


def _integral(value: Any) -> Any:
    """A double that holds an integer is that integer (other values are left to validation)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
