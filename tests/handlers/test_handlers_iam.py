"""The calls handler tests may make come from the real stack's role policies."""

from __future__ import annotations

from handler_fixtures import allowed_calls


def test_allowed_calls_are_the_stacks_role_policies() -> None:
    def own_queue(stage: str) -> dict[tuple[str, str], frozenset[str]]:
        operations = (
            "ReceiveMessage",
            "DeleteMessage",
            "ChangeMessageVisibility",
            "GetQueueAttributes",
        )
        return {("sqs", operation): frozenset({stage}) for operation in operations}

    ledger = {
        ("dynamodb", "GetItem"): frozenset({"table"}),
        ("dynamodb", "UpdateItem"): frozenset({"table"}),
    }
    assert allowed_calls("ocr") == {
        **own_queue("ocr"),
        **ledger,
        ("s3", "GetObject"): frozenset({"incoming/"}),
        ("s3", "PutObject"): frozenset({"text/", "incoming/children/", "processed/", "rejected/"}),
        ("s3", "DeleteObject"): frozenset({"incoming/"}),
        ("s3", "GetObjectTagging"): frozenset({"incoming/"}),
        ("s3", "PutObjectTagging"): frozenset({"processed/", "rejected/"}),
        ("sqs", "SendMessage"): frozenset({"summarize"}),
    }
    assert allowed_calls("summarize") == {
        **own_queue("summarize"),
        **ledger,
        ("s3", "GetObject"): frozenset({"text/"}),
        ("s3", "PutObject"): frozenset({"summaries/"}),
        ("sqs", "SendMessage"): frozenset({"classify"}),
    }
    assert allowed_calls("classify") == {
        **own_queue("classify"),
        **ledger,
        ("s3", "GetObject"): frozenset({"summaries/", "text/"}),
    }
    assert allowed_calls("sweep") == {
        **own_queue("sweep"),
        ("s3", "ListObjectsV2"): frozenset({"incoming/"}),
        ("dynamodb", "BatchGetItem"): frozenset({"table"}),
        ("dynamodb", "PutItem"): frozenset({"table"}),
        ("sqs", "SendMessage"): frozenset({"ocr"}),
        ("cloudwatch", "GetMetricData"): frozenset({"*"}),
    }
