"""Entry point for `pulumi preview --policy-pack policies`.

The CLI runs this file from inside `policies/`; the rule modules import each other as the
`policies` package, so the project root goes on the path first. `PolicyPack(...)` starts the
analyzer's gRPC server and never returns: it must stay under the `__main__` guard so that tests,
the offline gate and `import policies` never start it.
"""

if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

    from pulumi_policy import EnforcementLevel, PolicyPack

    from policies.pack import PACK_NAME, POLICIES

    PolicyPack(
        name=PACK_NAME,
        policies=POLICIES,
        enforcement_level=EnforcementLevel.MANDATORY,
        description="docpipe: serverless pipeline guardrails (Lambda, SQS, S3, DynamoDB, IAM).",
    )
