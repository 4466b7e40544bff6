"""Evaluate the pack with pulumi_policy's own analyzer, fed engine-shaped requests.

`PolicyPack(...)` starts a gRPC server around `_PolicyAnalyzerServicer` and never returns. The
gate builds the same servicer and calls its RPC methods directly with the messages the engine
would send (`Configure`, `Analyze` per resource with its inputs, `AnalyzeStack` with every
resource's outputs, parent, dependencies and property dependencies). The policies therefore run
unchanged, including pulumi_policy's handling of unknown values (an advisory "can't run policy"
diagnostic, never a violation) and of enforcement levels. The servicer is private API: it is
pinned with pulumi-policy in requirements.lock and covered by tests.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pulumi_policy.policy
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel, Policy
from pulumi_policy.policy import _PolicyAnalyzerServicer

from policies.gate.config import PolicySettings, resolve
from policies.gate.model import GateModel, GateResource
from policies.pack import PACK_NAME, PACK_VERSION, POLICIES

CANNOT_CHECK = "cannot check"
_LEVELS = {
    proto.ADVISORY: "advisory",
    proto.MANDATORY: "mandatory",
    proto.REMEDIATE: "mandatory",  # a violation left after remediation blocks like mandatory
    proto.DISABLED: "disabled",
}
_SEVERITIES = {
    proto.POLICY_SEVERITY_LOW: "low",
    proto.POLICY_SEVERITY_MEDIUM: "medium",
    proto.POLICY_SEVERITY_HIGH: "high",
    proto.POLICY_SEVERITY_CRITICAL: "critical",
}
_PROTO_LEVEL = {
    EnforcementLevel.ADVISORY: proto.ADVISORY,
    EnforcementLevel.MANDATORY: proto.MANDATORY,
    EnforcementLevel.REMEDIATE: proto.REMEDIATE,
    EnforcementLevel.DISABLED: proto.DISABLED,
}


@dataclass(frozen=True)
class Finding:
    policy: str
    urn: str
    type: str
    name: str
    level: str  # "mandatory" or "advisory"
    message: str
    severity: str = ""
    cannot_check: bool = False

    def as_json(self) -> dict[str, str]:
        return {
            "policy": self.policy,
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "level": self.level,
            "message": self.message,
        }


@dataclass
class GateResult:
    stack: str
    findings: list[Finding]
    policies: list[Policy]
    resources: int
    not_applicable: list[str] = field(default_factory=list)

    @property
    def mandatory(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "mandatory"]

    @property
    def exit_code(self) -> int:
        return 1 if self.mandatory else 0


def _struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(dict(props))
    return struct


def _options(resource: GateResource) -> proto.AnalyzerResourceOptions:
    return proto.AnalyzerResourceOptions(
        protect=resource.protect,
        ignoreChanges=resource.ignore_changes,
        deleteBeforeReplace=resource.delete_before_replace,
        deleteBeforeReplaceDefined=True,
        parent=resource.parent,
    )


def _analyze_request(resource: GateResource) -> proto.AnalyzeRequest:
    return proto.AnalyzeRequest(
        type=resource.type,
        properties=_struct(resource.inputs),
        urn=resource.urn,
        name=resource.name,
        options=_options(resource),
    )


def _stack_request(resources: Sequence[GateResource]) -> proto.AnalyzeStackRequest:
    return proto.AnalyzeStackRequest(
        resources=[
            proto.AnalyzerResource(
                type=r.type,
                properties=_struct(r.outputs),
                urn=r.urn,
                name=r.name,
                options=_options(r),
                parent=r.parent,
                dependencies=r.dependencies,
                propertyDependencies={
                    k: proto.AnalyzerPropertyDependencies(urns=v)
                    for k, v in r.property_dependencies.items()
                },
            )
            for r in resources
        ]
    )


def _servicer(
    policies: Sequence[Policy], settings: Mapping[str, PolicySettings]
) -> _PolicyAnalyzerServicer:
    servicer = _PolicyAnalyzerServicer(
        PACK_NAME, PACK_VERSION, list(policies), EnforcementLevel.MANDATORY
    )
    policy_config = {}
    for name, setting in settings.items():
        policy_config[name] = proto.PolicyConfig(
            enforcementLevel=_PROTO_LEVEL[setting.level], properties=_struct(setting.properties)
        )
    servicer.Configure(proto.ConfigureAnalyzerRequest(policyConfig=policy_config), None)
    return servicer


@contextmanager
def _engine_environment(project: str, stack: str) -> Iterator[None]:
    """The variables the engine sets for an analyzer; the servicer configures pulumi from them."""
    values = {"PULUMI_PROJECT": project, "PULUMI_STACK": stack, "PULUMI_DRY_RUN": "true"}
    previous = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _Once:
    """`function` called once per argument object; later calls with it get the same result.

    Each argument is held with its result, so its `id` cannot pass to another object while the
    memo lives (one evaluation). Calls with more than one argument are not remembered.
    """

    def __init__(self, function: Callable[..., Any]) -> None:
        self._function = function
        self._results: dict[int, tuple[Any, Any]] = {}

    def __call__(self, argument: Any, *more: Any) -> Any:
        if more:
            return self._function(argument, *more)
        held = self._results.get(id(argument))
        if held is None or held[0] is not argument:
            held = self._results[id(argument)] = (argument, self._function(argument))
        return held[1]


class _JsonFormatOnce:
    """`json_format` for the servicer, with `MessageToDict` converting each message once."""

    def __init__(self) -> None:
        self.MessageToDict = _Once(json_format.MessageToDict)

    def __getattr__(self, name: str) -> Any:
        return getattr(json_format, name)


@contextmanager
def _each_resource_converted_once() -> Iterator[None]:
    """Let the servicer build each resource's properties once, not once per policy.

    For every policy the servicer turns each resource's protobuf properties into a dict, then a
    deserialized dict, then pulumi_policy's unknown-checking proxy (AnalyzeStack: every resource
    once per stack policy); that was most of an evaluation's time. Policies only read their
    properties (none of the pack assigns to them; remediation, which may, is not run here), so
    one proxy per resource serves them all, and `tests/policies/test_policies_real_stack.py` checks
    that the findings are those of the servicer left alone.
    """
    module: Any = pulumi_policy.policy
    originals = (module.json_format, module.deserialize_properties, module.unknown_checking_proxy)
    module.json_format = _JsonFormatOnce()
    module.deserialize_properties = _Once(originals[1])
    module.unknown_checking_proxy = _Once(originals[2])
    try:
        yield
    finally:
        module.json_format, module.deserialize_properties, module.unknown_checking_proxy = originals


def _finding(
    diagnostic: Any, resource: GateResource | None, by_urn: Mapping[str, GateResource]
) -> Finding:
    urn = diagnostic.urn or (resource.urn if resource else "")
    target = by_urn.get(urn)
    message = diagnostic.message
    cannot_check = message.startswith(f"can't run policy '{diagnostic.policyName}'")
    if cannot_check:
        message = f"{CANNOT_CHECK}: {message.split(': ', 1)[-1]}"
    elif message.startswith(diagnostic.description):
        message = message[len(diagnostic.description) :].lstrip("\n") or diagnostic.description
    return Finding(
        policy=diagnostic.policyName,
        urn=urn,
        type=target.type if target else "pulumi:pulumi:Stack",
        name=target.name if target else "",
        level="advisory" if cannot_check else _LEVELS[diagnostic.enforcementLevel],
        message=message,
        severity=_SEVERITIES.get(diagnostic.severity, ""),
        cannot_check=cannot_check,
    )


def evaluate(
    model: GateModel,
    policy_config: Mapping[str, Any] | None = None,
    policies: Sequence[Policy] = POLICIES,
) -> GateResult:
    """Run every resource policy on each resource's inputs and every stack policy on outputs."""
    settings = resolve(policies, policy_config)
    servicer = _servicer(policies, settings)
    by_urn = {r.urn: r for r in model.resources}
    findings: list[Finding] = []
    not_applicable: list[str] = []
    with _engine_environment(model.project, model.stack), _each_resource_converted_once():
        for resource in model.resources:
            response = servicer.Analyze(_analyze_request(resource), None)
            findings += [_finding(d, resource, by_urn) for d in response.diagnostics]
        response = servicer.AnalyzeStack(_stack_request(model.resources), None)
        findings += [_finding(d, None, by_urn) for d in response.diagnostics]
        not_applicable += [n.policy_name for n in response.not_applicable]
    return GateResult(
        stack=model.stack,
        findings=findings,
        policies=list(policies),
        resources=len(model.resources),
        not_applicable=not_applicable,
    )
