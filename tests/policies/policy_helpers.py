"""Build engine-shaped resources by hand and run them through the gate (the real analyzer path)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from policies.gate.evaluate import Finding, evaluate
from policies.gate.model import GateModel, GateResource

UNKNOWN = UNKNOWN_STRING_VALUE
PROJECT = "docpipe"


def urn(type_token: str, name: str, stack: str = "dev") -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{type_token}::{name}"


def resource(
    type_token: str,
    name: str,
    props: Mapping[str, Any] | None = None,
    deps: Mapping[str, Sequence[GateResource]] | None = None,
    outputs: Mapping[str, Any] | None = None,
) -> GateResource:
    """A resource whose inputs are `props`, outputs `outputs` (default: the inputs) and whose
    property dependencies point at the given resources."""
    inputs = dict(props or {})
    return GateResource(
        urn=urn(type_token, name),
        type=type_token,
        name=name,
        custom=True,
        inputs=inputs,
        outputs=dict(outputs if outputs is not None else inputs),
        property_dependencies={k: [r.urn for r in v] for k, v in (deps or {}).items()},
        dependencies=sorted({r.urn for v in (deps or {}).values() for r in v}),
    )


def doc(*statements: Mapping[str, Any]) -> str:
    """An IAM/resource policy as the engine sees it: a JSON string."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def findings(
    resources: Sequence[GateResource],
    policy: str,
    config: Mapping[str, Any] | None = None,
    stack: str = "dev",
) -> list[Finding]:
    result = evaluate(GateModel(PROJECT, stack, list(resources)), config)
    return [f for f in result.findings if f.policy == policy]


def messages(
    resources: Sequence[GateResource],
    policy: str,
    config: Mapping[str, Any] | None = None,
    stack: str = "dev",
) -> list[str]:
    """Messages of `policy`'s violations (cannot-check diagnostics excluded)."""
    return [f.message for f in findings(resources, policy, config, stack) if not f.cannot_check]


def cannot_check(resources: Sequence[GateResource], policy: str) -> list[Finding]:
    return [f for f in findings(resources, policy) if f.cannot_check]
