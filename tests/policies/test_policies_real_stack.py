"""The gate on the real dev and prod stacks, and mutation tests: one property of the real
stack broken at a time must make the gate exit 1 and name the right policy, both on the mock
run and through `docpipe check --state` on an exported state."""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE as UNKNOWN

from cli import check
from mockrun import run_program
from policies.gate.evaluate import GateResult, evaluate
from policies.gate.model import GateModel, from_stack_run, to_state_export
from policies.pack import POLICIES

# Mandatory findings on the real stacks that the stack's owner has yet to fix, as
# (policy, resource name). Kept exact: the test fails when one appears or is fixed.
# (The sweep schedule's missing DLQ, found by this gate, was fixed in dfb80c2.)
KNOWN_FINDINGS: set[tuple[str, str]] = set()

Props = dict[str, Any]


@dataclass(frozen=True)
class Stacks:
    models: dict[str, GateModel]
    exports: dict[str, str]

    def model(self, stack: str) -> GateModel:
        return copy.deepcopy(self.models[stack])

    def export(self, stack: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.exports[stack])
        return loaded


@pytest.fixture(scope="module")
def stacks() -> Stacks:
    runs = {stack: run_program(stack) for stack in ("dev", "prod")}
    return Stacks(
        models={stack: from_stack_run(run) for stack, run in runs.items()},
        exports={stack: json.dumps(to_state_export(run)) for stack, run in runs.items()},
    )


def mandatory(result: GateResult) -> set[tuple[str, str]]:
    return {(f.policy, f.name) for f in result.mandatory}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_real_stack_has_no_mandatory_violation_but_the_known_findings(
    stacks: Stacks, stack: str
) -> None:
    result = evaluate(stacks.model(stack))
    assert mandatory(result) == KNOWN_FINDINGS
    assert [f for f in result.findings if f.cannot_check] == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_state_export_evaluates_like_the_mock_run(stacks: Stacks, stack: str) -> None:
    from policies.gate.model import from_state_export

    from_run = evaluate(stacks.model(stack))
    from_state = evaluate(from_state_export(stacks.export(stack)))
    assert [f.as_json() for f in from_state.findings] == [f.as_json() for f in from_run.findings]
    # The export also holds the default AWS provider, which the engine analyzes too.
    assert from_state.resources == from_run.resources + 1


# -- mutations -------------------------------------------------------------------------------


def statements_of(props: Props, key: str = "policy") -> list[Props]:
    document = json.loads(props[key])
    statements: list[Props] = document["Statement"]
    return statements


def edit_policy(
    props: Props, edit: Callable[[list[Props]], list[Props]], key: str = "policy"
) -> None:
    document = json.loads(props[key])
    document["Statement"] = edit(document["Statement"])
    props[key] = json.dumps(document)


def without_source_account(statements: list[Props]) -> list[Props]:
    for statement in statements:
        for operands in (statement.get("Condition") or {}).values():
            operands.pop("aws:SourceAccount", None)
        if "Condition" in statement:
            statement["Condition"] = {k: v for k, v in statement["Condition"].items() if v}
    return statements


def source_arn(arn: str) -> Callable[[list[Props]], list[Props]]:
    def edit(statements: list[Props]) -> list[Props]:
        for statement in statements:
            for operands in (statement.get("Condition") or {}).values():
                if "aws:SourceArn" in operands:
                    operands["aws:SourceArn"] = arn
        return statements

    return edit


def set_in(path: str, value: Any) -> Callable[[Props], None]:
    """Set a (dotted) property; `None` removes it."""

    def mutate(props: Props) -> None:
        *parents, leaf = path.split(".")
        for key in parents:
            props = props.setdefault(key, {})
        if value is None:
            props.pop(leaf, None)
        else:
            props[leaf] = copy.deepcopy(value)

    return mutate


def add_statement(statement: Props) -> Callable[[Props], None]:
    return lambda props: edit_policy(props, lambda s: [*s, statement])


def drop_tls_deny(props: Props) -> None:
    edit_policy(props, lambda s: [x for x in s if x.get("Sid") != "DenyInsecureTransport"])


def redrive_count(count: int) -> Callable[[Props], None]:
    def mutate(props: Props) -> None:
        policy = json.loads(props["redrivePolicy"])
        props["redrivePolicy"] = json.dumps({**policy, "maxReceiveCount": count})

    return mutate


@dataclass(frozen=True)
class Mutation:
    id: str
    resource: str
    mutate: Callable[[Props], None] | None  # None: the resource is removed
    policy: str
    message: str | Callable[[GateModel], str]
    drop_dependencies: tuple[str, ...] = ()
    stack: str = "dev"


def prop(model: GateModel, name: str, key: str) -> int:
    """A whole-number property of the unmutated run, as messages print it."""
    value = next(r for r in model.resources if r.name == name).inputs.get(key) or 0
    return int(value)


def visibility_message(model: GateModel) -> str:
    """Timeout and batching window come from the stack's config: read them from the run."""
    timeout = prop(model, "docpipe-ocr-function", "timeout")
    window = prop(model, "docpipe-ocr-trigger", "maximumBatchingWindowInSeconds")
    return (
        f"queue docpipe-ocr-queue visibility timeout 1s is below 6 x function "
        f"docpipe-ocr-function timeout {timeout}s + batching window {window}s = "
        f"{6 * timeout + window}s"
    )


def expected_message(mutation: Mutation, model: GateModel) -> str:
    return mutation.message if isinstance(mutation.message, str) else mutation.message(model)


TRUST_ACCOUNT = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
            "Action": "sts:AssumeRole",
        }
    ],
}
WIDE = "resource-level scoping"

MUTATIONS = [
    Mutation(
        "visibility-lowered",
        "docpipe-ocr-queue",
        set_in("visibilityTimeoutSeconds", 1),
        "sqs-visibility-covers-function-timeout",
        visibility_message,
    ),
    Mutation(
        "dlq-removed",
        "docpipe-summarize-queue",
        set_in("redrivePolicy", None),
        "sqs-work-queue-has-dlq",
        "queue docpipe-summarize-queue has no redrive policy: failing messages are retried "
        "until they expire",
        drop_dependencies=("redrivePolicy",),
    ),
    Mutation(
        "sse-off",
        "docpipe-classify-queue",
        set_in("sqsManagedSseEnabled", False),
        "sqs-encrypted",
        "queue is not encrypted: set sqsManagedSseEnabled or kmsMasterKeyId",
    ),
    Mutation(
        "wildcard-resource-on-role",
        "docpipe-ocr-role-policy",
        add_statement(
            {"Sid": "Wide", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}
        ),
        "iam-no-wildcard-resources",
        f"statement Wide allows sqs:SendMessage on resource * although they support {WIDE}",
    ),
    Mutation(
        "public-access-flag-off",
        "docpipe-store-public-access-block",
        set_in("blockPublicPolicy", False),
        "s3-public-access-block-all-four",
        "public access block flags not true: blockPublicPolicy",
    ),
    Mutation(
        "pitr-off",
        "docpipe-results-table",
        set_in("pointInTimeRecovery.enabled", False),
        "dynamodb-pitr",
        "pointInTimeRecovery.enabled is not true",
    ),
    Mutation(
        "notification-queue-policy-without-source-account",
        "docpipe-ocr-queue-policy",
        lambda props: edit_policy(props, without_source_account),
        "s3-notification-queue-policy",
        "queue docpipe-ocr-queue lets S3 send without aws:SourceAccount "
        "(fed by docpipe-store-notification)",
    ),
    Mutation(
        "max-receive-count-1",
        "docpipe-ocr-queue",
        redrive_count(1),
        "sqs-max-receive-count",
        "redrive maxReceiveCount 1 is outside 5..20",
    ),
    Mutation(
        "dlq-retention-shortened",
        "docpipe-ocr-dlq",
        set_in("messageRetentionSeconds", 345600),
        "sqs-dlq-retention-longer",
        "dead-letter queue docpipe-ocr-dlq keeps messages 345600s, not longer than its source "
        "docpipe-ocr-queue (345600s)",
    ),
    Mutation(
        "dlq-made-fifo",
        "docpipe-classify-dlq",
        set_in("fifoQueue", True),
        "sqs-dlq-same-type",
        "dead-letter queue docpipe-classify-dlq is FIFO but its source docpipe-classify-queue "
        "is standard",
    ),
    Mutation(
        "batch-item-failures-off",
        "docpipe-ocr-trigger",
        set_in("functionResponseTypes", []),
        "sqs-mapping-reports-batch-item-failures",
        "functionResponseTypes does not include ReportBatchItemFailures",
    ),
    Mutation(
        "mapping-concurrency-removed",
        "docpipe-summarize-trigger",
        set_in("scalingConfig", None),
        "lambda-concurrency-bounded",
        "function docpipe-summarize-function has no reserved concurrency and event source "
        "mapping docpipe-summarize-trigger sets no scalingConfig.maximumConcurrency",
    ),
    Mutation(
        "tracing-off",
        "docpipe-classify-function",
        set_in("tracingConfig.mode", "PassThrough"),
        "lambda-tracing-active",
        "tracingConfig.mode is PassThrough, not Active",
    ),
    Mutation(
        "old-runtime",
        "docpipe-sweep-function",
        set_in("runtime", "python3.9"),
        "lambda-runtime-allowed",
        "runtime python3.9 is not in the allowed list: python3.12, python3.13, python3.14",
    ),
    Mutation(
        "timeout-too-long",
        "docpipe-summarize-function",
        set_in("timeout", 900),
        "lambda-timeout-bounded",
        "timeout 900s is above the maximum of 300s",
    ),
    Mutation(
        "secret-in-environment",
        "docpipe-ocr-function",
        set_in("environment.variables.DB_PASSWORD", "hunter2"),
        "lambda-no-secrets-in-environment",
        "environment variable DB_PASSWORD looks like a secret: keep it in Secrets Manager or "
        "SSM and pass its ARN or name",
    ),
    Mutation(
        "log-retention-removed",
        "docpipe-sweep-logs",
        set_in("retentionInDays", None),
        "logs-retention-set",
        "retentionInDays is not set: logs are kept forever",
    ),
    Mutation(
        "queue-tls-deny-removed",
        "docpipe-sweep-queue-policy",
        drop_tls_deny,
        "sqs-queue-tls-only",
        "queue docpipe-sweep-queue has no queue policy denying non-TLS access",
    ),
    Mutation(
        "queue-policy-public",
        "docpipe-summarize-queue-policy",
        add_statement(
            {
                "Sid": "Open",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "sqs:SendMessage",
                "Resource": "*",
            }
        ),
        "sqs-queue-policy-no-wildcards",
        "statement Open allows principal *",
    ),
    Mutation(
        "versioning-suspended",
        "docpipe-store-versioning",
        set_in("versioningConfiguration.status", "Suspended"),
        "s3-bucket-versioning",
        "bucket docpipe-store-bucket: versioning status is Suspended",
    ),
    Mutation(
        "bucket-encryption-removed",
        "docpipe-store-encryption",
        None,
        "s3-bucket-encryption",
        "bucket docpipe-store-bucket has no default encryption",
    ),
    Mutation(
        "ownership-object-writer",
        "docpipe-store-ownership",
        set_in("rule.objectOwnership", "ObjectWriter"),
        "s3-bucket-ownership-enforced",
        "bucket docpipe-store-bucket: object ownership is ObjectWriter, not BucketOwnerEnforced",
    ),
    Mutation(
        "bucket-tls-deny-removed",
        "docpipe-store-policy",
        drop_tls_deny,
        "s3-bucket-tls-only",
        "bucket docpipe-store-bucket: bucket policy does not deny requests without TLS",
    ),
    Mutation(
        "public-access-block-removed",
        "docpipe-store-public-access-block",
        None,
        "s3-bucket-public-access-block",
        "bucket docpipe-store-bucket has no public access block",
    ),
    Mutation(
        "role-trusts-another-account",
        "docpipe-classify-role",
        set_in("assumeRolePolicy", json.dumps(TRUST_ACCOUNT)),
        "iam-trust-service-principals-only",
        "trust statement #0 trusts AWS arn:aws:iam::999999999999:root, not an AWS service",
    ),
    Mutation(
        "wildcard-action",
        "docpipe-sweep-role-policy",
        add_statement(
            {
                "Sid": "All",
                "Effect": "Allow",
                "Action": "*",
                "Resource": "arn:aws:sqs:us-east-1:123456789012:x",
            }
        ),
        "iam-no-wildcard-actions",
        "statement All allows action *",
    ),
    Mutation(
        "pass-role-on-wildcard",
        "docpipe-ocr-role-policy",
        add_statement(
            {"Sid": "Pass", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}
        ),
        "iam-no-passrole-on-wildcard",
        "statement Pass allows iam:PassRole on resource *",
    ),
    Mutation(
        "s3-fed-queue-on-aws-managed-key",
        "docpipe-ocr-queue",
        set_in("kmsMasterKeyId", "alias/aws/sqs"),
        "sqs-s3-fed-queue-usable",
        "queue docpipe-ocr-queue is fed by S3 notification docpipe-store-notification but "
        "encrypted with alias/aws/sqs, the AWS-managed key, which S3 cannot use",
    ),
    Mutation(
        "schedule-dlq-removed",
        "docpipe-sweep-schedule-schedule",
        set_in("target.deadLetterConfig", None),
        "scheduler-target-retry-and-dlq",
        "target has no deadLetterConfig.arn",
    ),
    Mutation(
        "notification-source-arn-another-bucket",
        "docpipe-ocr-queue-policy",
        lambda props: edit_policy(props, source_arn("arn:aws:s3:::someone-elses-bucket")),
        "s3-notification-queue-policy",
        "queue docpipe-ocr-queue lets S3 send from aws:SourceArn arn:aws:s3:::someone-elses-bucket,"
        " not from bucket docpipe-store-bucket (fed by docpipe-store-notification)",
    ),
    Mutation(
        "schedule-retry-removed",
        "docpipe-sweep-schedule-schedule",
        set_in("target.retryPolicy", None),
        "scheduler-target-retry-and-dlq",
        "target has no retryPolicy",
    ),
    Mutation(
        "prod-table-deletion-protection-off",
        "docpipe-results-table",
        set_in("deletionProtectionEnabled", False),
        "dynamodb-deletion-protection",
        "deletionProtectionEnabled is not true on stack prod",
        stack="prod",
    ),
]


def _apply_to_model(model: GateModel, mutation: Mutation) -> None:
    target = next(r for r in model.resources if r.name == mutation.resource)
    if mutation.mutate is None:
        model.resources.remove(target)
        return
    mutation.mutate(target.inputs)
    mutation.mutate(target.outputs)
    for prop in mutation.drop_dependencies:
        target.property_dependencies.pop(prop, None)


def _entries(export: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from export["deployment"]["resources"]


def _apply_to_export(export: dict[str, Any], mutation: Mutation) -> None:
    def named(name: str) -> dict[str, Any]:
        return next(e for e in _entries(export) if e["urn"].endswith(f"::{name}"))

    entry = named(mutation.resource)
    if mutation.mutate is None:
        export["deployment"]["resources"].remove(entry)
        return
    mutation.mutate(entry["inputs"])
    mutation.mutate(entry["outputs"])
    for prop in mutation.drop_dependencies:
        entry["propertyDependencies"].pop(prop, None)


def test_at_least_twenty_distinct_mutations() -> None:
    assert len({m.id for m in MUTATIONS}) == len(MUTATIONS) >= 20


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.id)
def test_mutation_fails_the_gate_on_the_mock_run(stacks: Stacks, mutation: Mutation) -> None:
    model = stacks.model(mutation.stack)
    message = expected_message(mutation, stacks.models[mutation.stack])  # read, not mutated
    _apply_to_model(model, mutation)
    result = evaluate(model)
    assert result.exit_code == 1
    assert (mutation.policy, message) in {(f.policy, f.message) for f in result.mandatory}


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    check.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return int(args.run(args))


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.id)
def test_mutation_fails_docpipe_check_on_an_exported_state(
    stacks: Stacks, mutation: Mutation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The export's way in (parsing, `--state`, the report) with the mutation's policy alone,
    at its own level: the whole pack on each mutated stack is the test above."""
    export = stacks.export(mutation.stack)
    _apply_to_export(export, mutation)
    state = tmp_path / "state.json"
    state.write_text(json.dumps(export))
    config = tmp_path / "only-this-policy.json"
    config.write_text(
        json.dumps({p.name: "disabled" for p in POLICIES if p.name != mutation.policy})
    )

    code = run_cli(
        ["check", "--state", str(state), "--format", "json", "--policy-config", str(config)]
    )

    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert {
        "policy": mutation.policy,
        "level": "mandatory",
        "message": expected_message(mutation, stacks.models[mutation.stack]),
    }.items() <= next(f for f in report if f["policy"] == mutation.policy).items()
    assert {f["policy"] for f in report} == {mutation.policy}


def test_docpipe_check_on_the_unmutated_export_passes(
    stacks: Stacks, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps(stacks.export("prod")))
    assert run_cli(["check", "--state", str(state), "--format", "sarif"]) == 0
    sarif = json.loads(capsys.readouterr().out)
    assert sarif["runs"][0]["results"] == []


def test_docpipe_check_runs_the_stack_under_mocks(capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    code = main(["check", "--stack", "dev", "--format", "text"])
    text = capsys.readouterr().out
    assert code == (1 if KNOWN_FINDINGS else 0)
    assert f"stack dev: {len(POLICIES)} policies on" in text
    assert text.endswith("FAILED\n" if KNOWN_FINDINGS else "PASSED\n")


def test_docpipe_check_refuses_a_bad_policy_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({"lambda-timeout-bounded": {"maxTimeoutSeconds": "long"}}))
    assert run_cli(["check", "--stack", "dev", "--policy-config", str(config)]) == 2
    assert "maxTimeoutSeconds: 'long' is not of type 'number'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("config", "code", "expected"),
    [
        (
            {"lambda-timeout-bounded": {"maxTimeoutSeconds": 120}},
            1,
            [("lambda-timeout-bounded", "docpipe-ocr-function", "mandatory")],
        ),
        (
            {"lambda-timeout-bounded": {"enforcementLevel": "advisory", "maxTimeoutSeconds": 100}},
            0,
            [
                ("lambda-timeout-bounded", "docpipe-ocr-function", "advisory"),
                ("lambda-timeout-bounded", "docpipe-sweep-function", "advisory"),
            ],
        ),
    ],
)
def test_policy_config_overrides_apply_to_the_real_stack(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    config: dict[str, Any],
    code: int,
    expected: list[tuple[str, str, str]],
) -> None:
    path = tmp_path / "policy-config.json"
    path.write_text(json.dumps(config))
    argv = ["check", "--stack", "dev", "--format", "json", "--policy-config", str(path)]
    assert run_cli(argv) == code
    report = json.loads(capsys.readouterr().out)
    assert sorted((f["policy"], f["name"], f["level"]) for f in report) == expected


# -- unknown values, as in a first `pulumi preview` -------------------------------------------


def as_first_preview(model: GateModel) -> GateModel:
    """What the engine knows before anything exists: an input built from another resource's
    output is unknown, and so is every output the provider computes."""
    for resource in model.resources:
        for prop, deps in resource.property_dependencies.items():
            if deps and prop in resource.inputs:
                resource.inputs[prop] = UNKNOWN
        computed = set(resource.outputs) - set(resource.inputs)
        resource.outputs = {**resource.inputs, **dict.fromkeys(computed, UNKNOWN)}
    return model


def everything_unknown(model: GateModel) -> GateModel:
    for resource in model.resources:
        resource.inputs = dict.fromkeys(resource.inputs, UNKNOWN)
        resource.outputs = dict.fromkeys(resource.outputs, UNKNOWN)
    return model


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("blank", [as_first_preview, everything_unknown])
def test_unknown_values_are_reported_as_cannot_check_never_as_failures(
    stacks: Stacks, stack: str, blank: Callable[[GateModel], GateModel]
) -> None:
    result = evaluate(blank(stacks.model(stack)))
    unexplained = mandatory(result) - KNOWN_FINDINGS
    assert unexplained == set()
    cannot = [f for f in result.findings if f.cannot_check]
    assert cannot, "a preview with unknown values must say what it could not check"
    assert {f.level for f in cannot} == {"advisory"}
    assert all(f.message.startswith("cannot check: ") for f in cannot)


def every_mutation(model: GateModel) -> GateModel:
    for mutation in MUTATIONS:
        if mutation.stack == model.stack:
            _apply_to_model(model, mutation)
    return model


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("blank", [every_mutation, as_first_preview, everything_unknown])
def test_sharing_each_resources_properties_between_policies_changes_no_finding(
    stacks: Stacks, stack: str, blank: Callable[[GateModel], GateModel], monkeypatch: Any
) -> None:
    """The gate has the servicer build each resource's properties once for all its policies;
    left alone, the servicer builds them anew for each policy. The findings are the same."""
    import pulumi_policy.policy
    from google.protobuf import json_format

    gate = importlib.import_module("policies.gate.evaluate")
    shared = evaluate(blank(stacks.model(stack)))
    assert pulumi_policy.policy.json_format is json_format  # the servicer is left as it was
    monkeypatch.setattr(gate, "_each_resource_converted_once", contextlib.nullcontext)
    alone = evaluate(blank(stacks.model(stack)))
    assert shared.findings == alone.findings
    assert shared.findings, "the comparison needs findings to compare"


def test_docpipe_check_unknown_stack_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["check", "--stack", "nope"]) == 2
    assert "docpipe check: no stack named 'nope'" in capsys.readouterr().err


def test_docpipe_check_writes_the_report_to_a_file(tmp_path: Path) -> None:
    report = tmp_path / "report.sarif"
    assert run_cli(["check", "--stack", "prod", "--format", "sarif", "--output", str(report)]) == 0
    sarif = json.loads(report.read_text())
    assert sarif["version"] == "2.1.0"
    assert len(sarif["runs"][0]["tool"]["driver"]["rules"]) == len(POLICIES)
