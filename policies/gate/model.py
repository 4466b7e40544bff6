"""Resources as the engine sends them to analyzers, from a mock run or a state export."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi_policy.deserialize import serialize_properties
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

if TYPE_CHECKING:
    from mockrun import StackRun

STACK_TYPE = "pulumi:pulumi:Stack"
# The engine's signature keys for assets, archives and secrets in serialized properties.
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


@dataclass
class GateResource:
    """One resource: inputs for resource policies, outputs and links for stack policies."""

    urn: str
    type: str
    name: str
    custom: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    parent: str = ""
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    protect: bool = False
    delete_before_replace: bool = False
    ignore_changes: list[str] = field(default_factory=list)


@dataclass
class GateModel:
    project: str
    stack: str
    resources: list[GateResource]


def wire_value(value: Any) -> Any:
    """Turn a value into what the engine puts in an analyzer request's Struct.

    Unknowns become the engine's unknown sentinel (pulumi_policy turns reads of it into
    "can't be known during preview"), secrets are sent as their plain value, assets and
    archives keep their signature form.
    """
    if isinstance(value, pulumi.output.Unknown):
        return UNKNOWN_STRING_VALUE
    if isinstance(value, pulumi.Asset | pulumi.Archive):
        return serialize_properties({"v": value})["v"]
    if isinstance(value, Mapping):
        if value.get(SIG_KEY) == SECRET_SIG:
            return _secret_value(value)
        return {str(k): wire_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [wire_value(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    # A resource reference or anything else the engine would not hand an analyzer as data.
    return UNKNOWN_STRING_VALUE


def _secret_value(secret: Mapping[str, Any]) -> Any:

    if "value" in secret:
        return wire_value(secret["value"])
    if "plaintext" in secret:  # `pulumi stack export --show-secrets`
        return wire_value(json.loads(secret["plaintext"]))
    return UNKNOWN_STRING_VALUE  # encrypted in the export: cannot be checked offline


def _wire_props(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: wire_value(v) for k, v in props.items() if v is not None}


# -- from a mock run --------------------------------------------------------------------------


def from_stack_run(run: StackRun, project: str = "docpipe") -> GateModel:
    resources = []
    for registration in run.registrations:
        # Components have no provider state: their outputs are what they registered.
        outputs = registration.state if registration.custom else registration.outputs
        resources.append(
            GateResource(
                urn=registration.urn,
                type=registration.type,
                name=registration.name,
                custom=registration.custom,
                inputs=_wire_props(registration.inputs),
                outputs=_wire_props(outputs),
                parent=registration.parent,
                dependencies=list(registration.dependencies),
                property_dependencies={
                    k: list(v) for k, v in registration.property_dependencies.items()
                },
                protect=registration.protect,
                delete_before_replace=registration.delete_before_replace,
                ignore_changes=list(registration.ignore_changes),
            )
        )
    return GateModel(project=project, stack=run.stack, resources=resources)


# -- `pulumi stack export` (deployment version 3) ---------------------------------------------


def _stack_and_project(urn: str) -> tuple[str, str]:
    # urn:pulumi:<stack>::<project>::<type>::<name>
    parts = urn.split("::")
    return parts[0].removeprefix("urn:pulumi:"), parts[1]


def from_state_export(document: Mapping[str, Any]) -> GateModel:
    if document.get("version") != 3:
        raise ValueError(
            f"unsupported export version {document.get('version')!r}: expected deployment v3"
        )
    raw = (document.get("deployment") or {}).get("resources") or []
    if not raw:
        raise ValueError("the export holds no resources")
    stack, project = _stack_and_project(raw[0]["urn"])
    resources = [
        GateResource(
            urn=item["urn"],
            type=item["type"],
            name=item["urn"].split("::")[-1],
            custom=bool(item.get("custom")),
            inputs=_wire_props(item.get("inputs") or {}),
            outputs=_wire_props(item.get("outputs") or {}),
            parent=item.get("parent") or "",
            dependencies=list(item.get("dependencies") or []),
            property_dependencies={
                k: list(v) for k, v in (item.get("propertyDependencies") or {}).items()
            },
            protect=bool(item.get("protect")),
            delete_before_replace=bool(item.get("deleteBeforeReplace")),
            ignore_changes=list(item.get("ignoreChanges") or []),
        )
        for item in raw
        if item["type"] != STACK_TYPE and not item.get("delete")
    ]
    return GateModel(project=project, stack=stack, resources=resources)


def _default_provider(stack: str, project: str, stack_urn: str) -> dict[str, Any]:
    """The default AWS provider every custom resource points at in a real export."""
    release = version("pulumi-aws")
    name = f"default_{release.replace('.', '_')}"
    return {
        "urn": f"urn:pulumi:{stack}::{project}::pulumi:providers:aws::{name}",
        "custom": True,
        "id": "00000000-0000-4000-8000-000000000000",
        "type": "pulumi:providers:aws",
        "inputs": {"version": release},
        "outputs": {"version": release},
        "parent": stack_urn,
    }


def to_state_export(run: StackRun, project: str = "docpipe") -> dict[str, Any]:
    """A deployment v3 export of a mock run, shaped like `pulumi stack export` writes it."""
    model = from_stack_run(run, project)
    stack_urn = f"urn:pulumi:{model.stack}::{project}::{STACK_TYPE}::{project}-{model.stack}"
    provider = _default_provider(model.stack, project, stack_urn)
    resources: list[dict[str, Any]] = [
        {
            "urn": stack_urn,
            "custom": False,
            "type": STACK_TYPE,
            "outputs": _wire_props(run.outputs),
        },
        provider,
    ]
    for resource in model.resources:
        entry: dict[str, Any] = {
            "urn": resource.urn,
            "custom": resource.custom,
            "type": resource.type,
            "inputs": resource.inputs,
            "outputs": resource.outputs,
            "parent": resource.parent or stack_urn,
            "dependencies": resource.dependencies,
            "propertyDependencies": resource.property_dependencies,
            "protect": resource.protect,
        }
        if resource.custom:
            entry["id"] = run.monitor.get(resource.urn).id
            entry["provider"] = f"{provider['urn']}::{provider['id']}"
        if resource.delete_before_replace:
            entry["deleteBeforeReplace"] = True
        resources.append(entry)
    now = datetime.datetime.now(datetime.UTC).isoformat()
    return {
        "version": 3,
        "deployment": {
            "manifest": {"time": now, "magic": "", "version": f"v{version('pulumi')}"},
            "resources": resources,
        },
    }
