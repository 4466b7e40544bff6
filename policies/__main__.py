"""Entry point for `pulumi preview --policy-pack policies`.

The CLI runs this file from inside `policies/`; the rule modules import each other as the
`policies` package, so the project root replaces this folder on the path. `PolicyPack(...)`
starts the analyzer's gRPC server and never returns: it must stay under the `__main__` guard
so that tests, the offline gate and `import policies` never start it.
"""

if __name__ == "__main__":
    import os
    import sys

    # Python put this folder first on the path: its modules (s3, sqs, iam...) could shadow
    # installed ones. Import them as the `policies` package from the project root instead.
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    from pulumi_policy import EnforcementLevel, PolicyPack

    from policies.pack import PACK_NAME, POLICIES

    PolicyPack(
        name=PACK_NAME,
        policies=POLICIES,
        enforcement_level=EnforcementLevel.MANDATORY,
        description="docpipe: serverless pipeline guardrails (Lambda, SQS, S3, DynamoDB, IAM).",
    )
