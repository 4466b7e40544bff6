"""The gate itself: config resolution, levels, reporters, state exports, the pack's metadata,
and the pack served the way the Pulumi CLI runs it."""

from __future__ import annotations

import json
import re
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from policy_helpers import UNKNOWN, findings, resource
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2_grpc

from policies import resource_types as t
from policies.gate.config import PolicyConfigError, resolve
from policies.gate.evaluate import evaluate
from policies.gate.model import GateModel, from_state_export
from policies.gate.report import to_json, to_sarif, to_text
from policies.pack import PACK_VERSION, POLICIES, policy_named

ROOT = Path(__file__).resolve().parents[2]
BAD_QUEUE = resource(t.QUEUE, "q", {"sqsManagedSseEnabled": False})


def model(*resources: Any, stack: str = "dev") -> GateModel:
    return GateModel("docpipe", stack, list(resources))


# -- pack metadata ---------------------------------------------------------------------------


def test_every_policy_has_level_severity_framework_and_remediation() -> None:
    names = [p.name for p in POLICIES]
    assert len(names) == len(set(names))
    for policy in POLICIES:
        assert policy.enforcement_level is not None, policy.name
        assert policy.severity is not None, policy.name
        assert policy.framework and policy.framework.name and policy.framework.reference
        assert policy.remediation_steps, policy.name


def test_policy_yaml_version_and_pinned_requirements_match_the_lock() -> None:
    yaml_text = (ROOT / "policies" / "PulumiPolicy.yaml").read_text()
    assert f"version: {PACK_VERSION}" in yaml_text
    lock = (ROOT / "requirements.lock").read_text()
    for line in (ROOT / "policies" / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            assert re.search(rf"^{re.escape(line)} ", lock, re.M), line


def test_importing_the_entry_point_starts_nothing() -> None:
    namespace = runpy.run_path(str(ROOT / "policies" / "__main__.py"), run_name="imported")
    assert "PolicyPack" not in namespace


def test_the_pack_serves_the_analyzer_protocol_like_under_the_cli() -> None:
    """Start `policies/__main__.py` as the CLI does and call it over gRPC."""
    process = subprocess.Popen(
        [sys.executable, "__main__.py"],
        cwd=ROOT / "policies",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().decode().strip())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = analyzer_pb2_grpc.AnalyzerStub(channel)
            info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=10)
            assert {p.name for p in info.policies} == {p.name for p in POLICIES}
            properties = struct_pb2.Struct()
            properties.update({"sqsManagedSseEnabled": False})
            response = stub.Analyze(
                proto.AnalyzeRequest(type=t.QUEUE, properties=properties, urn="u", name="q"),
                timeout=10,
            )
        assert [(d.policyName, d.message.splitlines()[-1]) for d in response.diagnostics] == [
            ("sqs-encrypted", "queue is not encrypted: set sqsManagedSseEnabled or kmsMasterKeyId")
        ]
    finally:
        process.kill()
        process.wait()


# -- config ----------------------------------------------------------------------------------


def test_defaults_come_from_each_schema() -> None:
    settings = resolve(POLICIES)
    assert settings["lambda-timeout-bounded"].properties == {"maxTimeoutSeconds": 300}
    assert settings["sqs-encrypted"].level.value == "mandatory"


def test_levels_from_all_and_per_policy() -> None:
    settings = resolve(
        POLICIES,
        {
            "all": "advisory",
            "sqs-encrypted": "disabled",
            "lambda-timeout-bounded": {"enforcementLevel": "mandatory", "maxTimeoutSeconds": 60},
        },
    )
    assert settings["sqs-dlq-same-type"].level.value == "advisory"
    assert settings["sqs-encrypted"].level.value == "disabled"
    assert settings["lambda-timeout-bounded"].level.value == "mandatory"
    assert settings["lambda-timeout-bounded"].properties == {"maxTimeoutSeconds": 60}


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ({"no-such-policy": "advisory"}, "policy config names unknown policies: no-such-policy"),
        ({"sqs-encrypted": "loud"}, "sqs-encrypted: enforcement level 'loud' is not one of"),
        (
            {"lambda-timeout-bounded": {"maxTimeoutSeconds": 1000}},
            "policy lambda-timeout-bounded: maxTimeoutSeconds: 1000 is greater than the maximum",
        ),
        (
            {"sqs-visibility-covers-function-timeout": {"factor": "six"}},
            "policy sqs-visibility-covers-function-timeout: factor: 'six' is not of type 'number'",
        ),
    ],
)
def test_invalid_config_is_refused(document: dict[str, Any], error: str) -> None:
    with pytest.raises(PolicyConfigError, match=re.escape(error)):
        resolve(POLICIES, document)


def test_disabled_and_advisory_policies_do_not_fail_the_gate() -> None:
    failing = evaluate(model(BAD_QUEUE))
    assert failing.exit_code == 1
    advisory = evaluate(model(BAD_QUEUE), {"all": "advisory"})
    assert advisory.exit_code == 0
    assert {f.level for f in advisory.findings} == {"advisory"}
    disabled = evaluate(model(BAD_QUEUE), {"sqs-encrypted": "disabled"})
    assert [f.policy for f in disabled.findings if f.policy == "sqs-encrypted"] == []


def test_unknown_values_never_fail_the_gate() -> None:
    unknown_queue = resource(t.QUEUE, "q", {"sqsManagedSseEnabled": UNKNOWN})
    result = evaluate(
        model(unknown_queue),
        {"sqs-work-queue-has-dlq": "disabled", "sqs-queue-tls-only": "disabled"},
    )
    assert result.exit_code == 0
    assert [(f.policy, f.level, f.cannot_check) for f in result.findings] == [
        ("sqs-encrypted", "advisory", True)
    ]


# -- reporters -------------------------------------------------------------------------------


def test_json_report_is_a_list_of_findings() -> None:
    report = json.loads(to_json(evaluate(model(BAD_QUEUE))))
    assert report[0] == {
        "policy": "sqs-encrypted",
        "urn": BAD_QUEUE.urn,
        "type": t.QUEUE,
        "name": "q",
        "level": "mandatory",
        "message": "queue is not encrypted: set sqsManagedSseEnabled or kmsMasterKeyId",
    }


def test_sarif_report_names_rules_and_results() -> None:
    sarif = json.loads(to_sarif(evaluate(model(BAD_QUEUE))))
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len(rules) == len(POLICIES)
    result = next(r for r in run["results"] if r["ruleId"] == "sqs-encrypted")
    assert result["level"] == "error"
    assert rules[result["ruleIndex"]]["id"] == "sqs-encrypted"
    assert rules[result["ruleIndex"]]["properties"]["frameworkRule"] == "CKV_AWS_27"
    logical = result["locations"][0]["logicalLocations"][0]
    assert logical == {"fullyQualifiedName": BAD_QUEUE.urn, "name": "q", "kind": t.QUEUE}


def test_text_report_ends_with_a_verdict() -> None:
    text = to_text(evaluate(model(BAD_QUEUE)))
    assert (
        "[mandatory] sqs-encrypted: q (aws:sqs/queue:Queue): queue is not encrypted: set "
        "sqsManagedSseEnabled or kmsMasterKeyId"
    ) in text
    assert text.endswith("FAILED\n")


# -- state exports ---------------------------------------------------------------------------


def export(*entries: dict[str, Any]) -> dict[str, Any]:
    stack = {
        "urn": "urn:pulumi:prod::docpipe::pulumi:pulumi:Stack::docpipe-prod",
        "custom": False,
        "type": "pulumi:pulumi:Stack",
    }
    return {"version": 3, "deployment": {"manifest": {}, "resources": [stack, *entries]}}


def queue_entry(**inputs: Any) -> dict[str, Any]:
    return {
        "urn": f"urn:pulumi:prod::docpipe::{t.QUEUE}::q",
        "custom": True,
        "type": t.QUEUE,
        "inputs": inputs,
        "outputs": inputs,
    }


def test_state_export_gives_stack_project_and_resources() -> None:
    state = from_state_export(export(queue_entry(sqsManagedSseEnabled=False)))
    assert (state.project, state.stack, [r.name for r in state.resources]) == (
        "docpipe",
        "prod",
        ["q"],
    )
    assert [f.message for f in findings(state.resources, "sqs-encrypted")] == [
        "queue is not encrypted: set sqsManagedSseEnabled or kmsMasterKeyId"
    ]


def test_encrypted_secrets_in_an_export_cannot_be_checked() -> None:
    secret = {
        "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
        "ciphertext": "AAABAJ...",
    }
    state = from_state_export(export(queue_entry(kmsMasterKeyId=secret)))
    found = findings(state.resources, "sqs-encrypted")
    assert [(f.level, f.cannot_check) for f in found] == [("advisory", True)]
    plaintext = {**secret, "plaintext": json.dumps("alias/docpipe")}
    del plaintext["ciphertext"]
    state = from_state_export(export(queue_entry(kmsMasterKeyId=plaintext)))
    assert findings(state.resources, "sqs-encrypted") == []


def test_other_export_versions_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported export version 2: expected deployment v3"):
        from_state_export({"version": 2, "deployment": {}})


def test_policy_named() -> None:
    assert policy_named("sqs-encrypted").name == "sqs-encrypted"
    with pytest.raises(KeyError):
        policy_named("nope")


def test_stack_policies_see_outputs_parents_dependencies_and_property_dependencies() -> None:
    from pulumi_policy import EnforcementLevel, StackValidationPolicy

    seen: dict[str, Any] = {}

    def probe(args: Any, report: Any) -> None:
        for r in args.resources:
            seen[r.name] = {
                "props": dict(r.props),
                "parent": r.parent.name if r.parent else None,
                "dependencies": [d.name for d in r.dependencies],
                "property_dependencies": {
                    k: [d.name for d in v] for k, v in r.property_dependencies.items()
                },
            }

    component = resource("docpipe:index:QueueFunction", "stage", {})
    work = resource(
        t.QUEUE,
        "work",
        {"visibilityTimeoutSeconds": 60.0},
        outputs={"visibilityTimeoutSeconds": 60.0, "arn": "arn:q"},
    )
    work.parent = component.urn
    policy = resource(t.QUEUE_POLICY, "qp", {"policy": "{}"}, deps={"queueUrl": [work]})
    probe_policy = StackValidationPolicy(
        "probe",
        "records what stack policies see",
        probe,
        enforcement_level=EnforcementLevel.ADVISORY,
    )
    evaluate(model(component, work, policy), policies=[probe_policy])
    assert seen["work"] == {
        "props": {"visibilityTimeoutSeconds": 60.0, "arn": "arn:q"},
        "parent": "stage",
        "dependencies": [],
        "property_dependencies": {},
    }
    assert seen["qp"]["property_dependencies"] == {"queueUrl": ["work"]}
    assert seen["qp"]["dependencies"] == ["work"]


def test_the_pack_needs_only_pulumi_policy_and_policy_sentry() -> None:
    """What requirements.txt installs is all the pack imports: no pulumi_aws, no mockrun."""
    probe = (
        "import sys, policies.pack, policies.iam; policies.iam.scopable_actions('sqs:SendMessage');"
        "print(sorted(m for m in ('pulumi_aws', 'mockrun', 'components', 'jsonschema')"
        " if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
