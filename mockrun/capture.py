"""A mock monitor that records every registration the way the engine would see it.

Pulumi's `MockMonitor` keeps only URN, id and state: no inputs as sent, parents, dependencies
or options. Policies and tests need all of those, so this subclass records them from the
raw `RegisterResourceRequest`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.sync_await import _sync_await

STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass
class Registration:
    """One resource as registered: engine-shaped inputs (camelCase keys, floats)."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    inputs: dict[str, Any]
    state: dict[str, Any] = field(default_factory=dict)
    id: str = ""
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    delete_before_replace: bool = False
    protect: bool = False
    retain_on_delete: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def package(self) -> str:
        return self.type.split(":", 1)[0]


class DuplicateUrnError(Exception):
    """The engine rejects two resources with one URN; the mock runtime does not, so we do."""


class CapturingMonitor(MockMonitor):
    def __init__(self, mocks: Any) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.duplicates: list[str] = []
        self.stack_outputs: dict[str, Any] = {}
        self._by_urn: dict[str, Registration] = {}

    def RegisterResource(self, request: Any) -> Any:  # gRPC method name
        response = super().RegisterResource(request)
        if request.type == STACK_TYPE:
            return response
        urn = response.urn
        if urn in self._by_urn:
            self.duplicates.append(urn)
        registered = self.resources.get(urn)
        registration = Registration(
            urn=urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent,
            inputs=rpc.deserialize_properties(request.object),
            state=dict(registered.state) if registered else {},
            id=registered.id if registered else "",
            dependencies=list(request.dependencies),
            property_dependencies={
                key: list(deps.urns) for key, deps in request.propertyDependencies.items()
            },
            delete_before_replace=bool(request.deleteBeforeReplace),
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            ignore_changes=list(request.ignoreChanges),
        )
        self._by_urn[urn] = registration
        self.registrations.append(registration)
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # gRPC method name
        # The stack's own exports are collected by mockrun.program once they resolve.
        if request.urn in self._by_urn:
            self._by_urn[request.urn].outputs = rpc.deserialize_properties(request.outputs)
        return super().RegisterResourceOutputs(request)

    # -- queries used by tests, the policy gate and local mode ------------------------------

    def by_type(self, type_token: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_token]

    def get(self, urn: str) -> Registration:
        return self._by_urn[urn]

    def named(self, name: str) -> Registration:
        matches = [r for r in self.registrations if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]

    def children_of(self, urn: str) -> list[Registration]:
        return [r for r in self.registrations if r.parent == urn]


def resolve(value: Any) -> Any:
    """Await an Output or future in tests that need a plain value."""
    future = getattr(value, "future", None)
    return _sync_await(future()) if callable(future) else value
