"""Reporters: text for people, JSON for scripts, SARIF 2.1.0 for code scanning."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from pulumi_policy import Policy

from policies.gate.evaluate import GateResult

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://www.pulumi.com/docs/iac/using-pulumi/crossguard/"
# Where a finding points in the repository: the program that declares every resource.
PROGRAM_FILE = "__main__.py"


def to_text(result: GateResult) -> str:
    lines = []
    for finding in sorted(result.findings, key=lambda f: (f.level != "mandatory", f.policy, f.urn)):
        where = f"{finding.name} ({finding.type})" if finding.name else "stack"
        lines.append(f"[{finding.level}] {finding.policy}: {where}: {finding.message}")
    counts = Counter(f.level for f in result.findings)
    cannot = sum(f.cannot_check for f in result.findings)
    lines.append(
        f"stack {result.stack}: {len(result.policies)} policies on {result.resources} resources: "
        f"{counts['mandatory']} mandatory, {counts['advisory'] - cannot} advisory, "
        f"{cannot} cannot check"
    )
    lines.append("FAILED" if result.exit_code else "PASSED")
    return "\n".join(lines) + "\n"


def to_json(result: GateResult) -> str:
    return json.dumps([f.as_json() for f in result.findings], indent=2) + "\n"


def _rule(policy: Policy) -> dict[str, Any]:
    framework = policy.framework
    level = policy.enforcement_level.value if policy.enforcement_level else "advisory"
    return {
        "id": policy.name,
        "name": policy.name,
        "shortDescription": {"text": policy.description},
        "help": {"text": policy.remediation_steps or policy.description},
        "defaultConfiguration": {"level": "error" if level == "mandatory" else "warning"},
        "properties": {
            "severity": policy.severity.value if policy.severity else "",
            "framework": framework.name if framework else "",
            "frameworkRule": framework.reference if framework else "",
            "tags": list(policy.tags or []),
        },
    }


def _sarif_level(level: str, cannot_check: bool) -> str:
    if cannot_check:
        return "note"
    return "error" if level == "mandatory" else "warning"


def to_sarif(result: GateResult) -> str:
    rules = [_rule(p) for p in result.policies]
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = [
        {
            "ruleId": f.policy,
            "ruleIndex": index[f.policy],
            "level": _sarif_level(f.level, f.cannot_check),
            "message": {"text": f"{f.name or 'stack'}: {f.message}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": PROGRAM_FILE},
                        "region": {"startLine": 1},
                    },
                    "logicalLocations": [
                        {"fullyQualifiedName": f.urn, "name": f.name, "kind": f.type}
                    ],
                }
            ],
            "properties": {"stack": result.stack, "enforcementLevel": f.level},
        }
        for f in result.findings
    ]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "docpipe-policies",
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"


REPORTERS = {"text": to_text, "json": to_json, "sarif": to_sarif}
