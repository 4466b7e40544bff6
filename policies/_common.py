"""Helpers shared by the rule modules.

Props arrive engine-shaped: camelCase keys, every number a float, IAM and redrive policies as
JSON strings, and (during preview) unknown values that pulumi_policy's proxy turns into an
`UnknownValueError` when read. The engine reports that error as an advisory "can't run policy"
diagnostic, so reading an unknown value never fails a deployment: helpers here must read
values through the proxy (never unwrap it) so that behaviour is kept.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from contract.aws import (  # noqa: F401  (the policy modules import them from here)
    as_list,
    is_mapping,
    is_public_principal,
    is_tls_only_deny,
    principal_values,
)

ConfigSchema = dict[str, dict[str, Any]]
ResourceCheck = Callable[[ResourceValidationArgs, ReportViolation], None]
StackCheck = Callable[[StackValidationArgs, ReportViolation], None]

MANDATORY = EnforcementLevel.MANDATORY


# -- metadata --------------------------------------------------------------------------------


def framework(name: str, rule_id: str, title: str) -> PolicyComplianceFramework:
    """The checkov / cfn-nag / AWS Config rule a policy matches (`reference` is its id)."""
    return PolicyComplianceFramework(name=name, reference=rule_id, specification=title)


def schema(properties: Mapping[str, Mapping[str, Any]]) -> PolicyConfigSchema:
    return PolicyConfigSchema(properties={key: dict(spec) for key, spec in properties.items()})


def _metadata(
    level: EnforcementLevel,
    severity: Severity,
    matches: PolicyComplianceFramework,
    remediation: str,
    config: Mapping[str, Mapping[str, Any]] | None,
    also_matches: Sequence[str],
) -> dict[str, Any]:
    """What every docpipe policy declares beside its check, in CrossGuard's argument names."""
    return {
        "enforcement_level": level,
        "severity": severity,
        "framework": matches,
        "remediation_steps": remediation,
        "config_schema": schema(config) if config else None,
        "tags": [f"{matches.name}:{matches.reference}", *also_matches],
    }


def resource_policy(
    name: str,
    description: str,
    validate: ResourceCheck,
    *,
    level: EnforcementLevel,
    severity: Severity,
    matches: PolicyComplianceFramework,
    remediation: str,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    also_matches: Sequence[str] = (),
) -> ResourceValidationPolicy:
    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        **_metadata(level, severity, matches, remediation, config, also_matches),
    )


def stack_policy(
    name: str,
    description: str,
    validate: StackCheck,
    *,
    level: EnforcementLevel,
    severity: Severity,
    matches: PolicyComplianceFramework,
    remediation: str,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    also_matches: Sequence[str] = (),
) -> StackValidationPolicy:
    return StackValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        **_metadata(level, severity, matches, remediation, config, also_matches),
    )


def for_type(*type_tokens: str) -> Callable[[ResourceCheck], ResourceCheck]:
    """Run a resource check only on the given types (Python CrossGuard has no typed helper)."""

    def decorate(check: ResourceCheck) -> ResourceCheck:
        def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
            if args.resource_type in type_tokens:
                check(args, report)

        validate.__name__ = check.__name__
        validate.__doc__ = check.__doc__
        return validate

    return decorate


def setting(
    args: ResourceValidationArgs | StackValidationArgs, config: Mapping[str, Any], key: str
) -> Any:
    """A config value, falling back to the schema default when the engine sent none."""
    value = args.get_config().get(key)
    return config[key].get("default") if value is None else value


# -- values ----------------------------------------------------------------------------------


def number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def fmt(value: float | None) -> str:
    """Engine numbers are floats: print 30.0 as 30."""
    if value is None:
        return "unset"
    return str(int(value)) if float(value).is_integer() else str(value)


def json_document(value: Any) -> Mapping[str, Any] | None:
    """A policy document given as a JSON string (the engine's shape) or already as an object."""
    if is_mapping(value):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def statements(document: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if not document:
        return []
    return [s for s in as_list(document.get("Statement")) if is_mapping(s)]


def allow_statements(document: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    return [s for s in statements(document) if s.get("Effect") == "Allow"]


def condition_keys(statement: Mapping[str, Any]) -> dict[str, list[str]]:
    """Condition keys (lower-cased, as IAM compares them) to their values, whatever the operator."""
    keys: dict[str, list[str]] = {}
    condition = statement.get("Condition")
    if not is_mapping(condition):
        return keys
    for operands in condition.values():
        if not is_mapping(operands):
            continue
        for key, values in operands.items():
            keys.setdefault(str(key).lower(), []).extend(str(v) for v in as_list(values))
    return keys


# -- stack graph -----------------------------------------------------------------------------


def of_type(resources: Iterable[PolicyResource], type_token: str) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type == type_token]


def depends_through(resource: PolicyResource, prop: str, target: PolicyResource) -> bool:
    """Does `resource`'s property `prop` take its value from `target` (property dependencies)?"""
    return any(dep.urn == target.urn for dep in resource.property_dependencies.get(prop, []))


def referrers(
    resources: Iterable[PolicyResource], type_token: str, prop: str, target: PolicyResource
) -> list[PolicyResource]:
    """Resources of `type_token` whose `prop` is built from `target`."""
    return [r for r in of_type(resources, type_token) if depends_through(r, prop, target)]


def sources_of(resource: PolicyResource, prop: str, type_token: str) -> list[PolicyResource]:
    """The resources of `type_token` that `resource`'s property `prop` depends on."""
    return [
        d for d in resource.property_dependencies.get(prop, []) if d.resource_type == type_token
    ]
