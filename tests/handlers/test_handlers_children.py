"""Documents inside documents: an e-mail's attachment and an archive's members become uploads
of their own, linked to their parent both ways, and the tree stays bounded."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from handler_fixtures import (  # noqa: F401  (fixtures, registered by name)
    Aws,
    aws_fixture,
    env_fixture,
    nltk_data_fixture,
    sqs_event,
    stage_env_fixture,
)

from contract import settings
from contract.layout import CHILDREN, ChildMetadata
from contract.ledger import Attr
from contract.messages import doc_id_for, manual_event
from handlers import ocr

DOCUMENTS = Path(__file__).resolve().parent / "documents"
EMAIL = DOCUMENTS / "quarterly-report.eml"  # an HTML body and report.pdf attached
BUNDLE = DOCUMENTS / "report-bundle.zip"  # report.odt, report.pdf, cp1252/report.txt


@pytest.fixture
def ocr_env(stage_env: Callable[[str], Aws]) -> Aws:
    return stage_env("ocr")


def take(aws: Aws, key: str) -> dict[str, Any]:
    """Send the first stage a message about `key`; the batch response."""
    return dict(ocr.lambda_handler(sqs_event(json.dumps(manual_event(key))), None))


def item(aws: Aws, doc_id: str) -> dict[str, Any]:
    response = aws.client("dynamodb").get_item(TableName=aws.table, Key={"doc_id": {"S": doc_id}})
    return dict(response["Item"])


def metadata(aws: Aws, key: str) -> dict[str, str]:
    return dict(aws.client("s3").head_object(Bucket=aws.bucket, Key=key)["Metadata"])


def test_an_attachment_becomes_a_document_linked_to_its_email(ocr_env: Aws) -> None:
    # GIVEN an e-mail with a PDF attached, uploaded
    etag = ocr_env.put("incoming/quarterly.eml", EMAIL.read_bytes())
    parent = doc_id_for(ocr_env.bucket, "incoming/quarterly.eml", etag)

    # WHEN the first stage takes it
    assert take(ocr_env, "incoming/quarterly.eml") == {"batchItemFailures": []}

    # THEN the attachment is an upload of its own under the parent's folder, carrying its link
    (child_key,) = ocr_env.keys(CHILDREN.path)
    assert child_key == f"{CHILDREN.path}{parent}/report.pdf"
    assert metadata(ocr_env, child_key) == {
        ChildMetadata.PARENT: parent,
        ChildMetadata.ROOT: parent,
        ChildMetadata.DEPTH: "1",
    }
    # and the parent's ledger item says what it is, how it was read, and lists the child
    record = item(ocr_env, parent)
    assert record[Attr.MEDIA_TYPE] == {"S": "message/rfc822"}
    assert record[Attr.METHOD] == {"S": "email"}
    (listed,) = record[Attr.CHILDREN]["L"]
    child_etag = ocr_env.client("s3").head_object(Bucket=ocr_env.bucket, Key=child_key)["ETag"]
    child = doc_id_for(ocr_env.bucket, child_key, child_etag.strip('"'))
    assert listed["M"]["doc_id"] == {"S": child}
    assert listed["M"]["media_type"] == {"S": "application/pdf"}
    assert record[Attr.DESCENDANTS] == {"N": "1"}
    ocr_env.check_calls("ocr")

    # WHEN the child is taken in turn THEN its ledger item links it to its parent and root
    assert take(ocr_env, child_key) == {"batchItemFailures": []}
    child_record = item(ocr_env, child)
    assert child_record[Attr.PARENT] == {"S": parent}
    assert child_record[Attr.ROOT] == {"S": parent}
    assert child_record[Attr.DEPTH] == {"N": "1"}
    assert child_record[Attr.METHOD]["S"].startswith("text-layer")
    summarize = [m["doc_id"] for m in ocr_env.messages("summarize")]
    assert summarize == [parent, child]  # both go on through the same pipeline


def test_a_retried_parent_stores_the_same_children_and_counts_them_once(ocr_env: Aws) -> None:
    # GIVEN an e-mail taken once, then put back as if its first try had crashed after
    # storing its children (same bytes, same key: the same document)
    ocr_env.put("incoming/q.eml", EMAIL.read_bytes())
    take(ocr_env, "incoming/q.eml")
    etag = ocr_env.put("incoming/q.eml", EMAIL.read_bytes())
    parent = doc_id_for(ocr_env.bucket, "incoming/q.eml", etag)
    ocr_env.client("dynamodb").update_item(
        TableName=ocr_env.table,
        Key={"doc_id": {"S": parent}},
        UpdateExpression="SET #s = :s, #r = :r",
        ExpressionAttributeNames={"#s": Attr.STATUS, "#r": Attr.RANK},
        ExpressionAttributeValues={":s": {"S": "received"}, ":r": {"N": "0"}},
    )

    # WHEN it is taken again THEN its child is where it was, and counted once
    assert take(ocr_env, "incoming/q.eml") == {"batchItemFailures": []}
    assert len(ocr_env.keys(CHILDREN.path)) == 1
    assert item(ocr_env, parent)[Attr.DESCENDANTS] == {"N": "1"}


def test_a_tree_past_its_bound_is_refused_and_stores_nothing(
    ocr_env: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN archives expanded, and at most 2 documents per upload
    monkeypatch.setenv(settings.DOCUMENT_EXPAND_ARCHIVES.name, "true")
    monkeypatch.setenv(settings.DOCUMENT_MAX_DESCENDANTS.name, "2")
    etag = ocr_env.put("incoming/bundle.zip", BUNDLE.read_bytes())
    parent = doc_id_for(ocr_env.bucket, "incoming/bundle.zip", etag)

    # WHEN a ZIP of 3 members is taken
    assert take(ocr_env, "incoming/bundle.zip") == {"batchItemFailures": []}

    # THEN it is rejected at once with the bound named, and none of its members stored
    record = item(ocr_env, parent)
    assert record[Attr.STATUS] == {"S": "rejected"}
    assert record[Attr.ERROR_TYPE] == {"S": "DocumentTooLargeError"}
    assert "past 2 in all (DOCUMENT_MAX_DESCENDANTS)" in record[Attr.ERROR_MESSAGE]["S"]
    assert ocr_env.keys(CHILDREN.path) == []
    assert ocr_env.keys("rejected/") == ["rejected/bundle.zip"]


def test_expanded_archive_members_become_documents(
    ocr_env: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(settings.DOCUMENT_EXPAND_ARCHIVES.name, "true")
    etag = ocr_env.put("incoming/bundle.zip", BUNDLE.read_bytes())
    parent = doc_id_for(ocr_env.bucket, "incoming/bundle.zip", etag)
    assert take(ocr_env, "incoming/bundle.zip") == {"batchItemFailures": []}
    assert ocr_env.keys(CHILDREN.path) == [
        f"{CHILDREN.path}{parent}/{name}"
        for name in ("cp1252/report.txt", "report.odt", "report.pdf")
    ]
    assert item(ocr_env, parent)[Attr.METHOD] == {"S": "archive"}


@pytest.mark.parametrize(
    "forged",
    [
        {ChildMetadata.DEPTH: "-1", ChildMetadata.PARENT: "a" * 32, ChildMetadata.ROOT: "a" * 32},
        {ChildMetadata.DEPTH: "1", ChildMetadata.PARENT: "../x", ChildMetadata.ROOT: "a" * 32},
        {ChildMetadata.DEPTH: "one"},
    ],
)
def test_malformed_child_metadata_is_a_rejection_naming_it(
    ocr_env: Aws, forged: dict[str, str]
) -> None:
    s3 = ocr_env.client("s3")
    response = s3.put_object(
        Bucket=ocr_env.bucket, Key="incoming/x.txt", Body=b"plain words", Metadata=forged
    )
    doc_id = doc_id_for(ocr_env.bucket, "incoming/x.txt", response["ETag"].strip('"'))
    assert take(ocr_env, "incoming/x.txt") == {"batchItemFailures": []}
    record = item(ocr_env, doc_id)
    assert record[Attr.ERROR_TYPE] == {"S": "InvalidMetadataError"}
    assert "malformed child metadata" in record[Attr.ERROR_MESSAGE]["S"]


def test_a_document_at_the_deepest_level_may_not_have_children(
    ocr_env: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an e-mail that is itself a child at the deepest level allowed
    monkeypatch.setenv(settings.DOCUMENT_MAX_DEPTH.name, "1")
    root = "b" * 32
    ocr_env.client("dynamodb").put_item(TableName=ocr_env.table, Item={"doc_id": {"S": root}})
    response = ocr_env.client("s3").put_object(
        Bucket=ocr_env.bucket,
        Key=f"{CHILDREN.path}{root}/fwd.eml",
        Body=EMAIL.read_bytes(),
        Metadata={ChildMetadata.DEPTH: "1", ChildMetadata.PARENT: root, ChildMetadata.ROOT: root},
    )
    key = f"{CHILDREN.path}{root}/fwd.eml"
    doc_id = doc_id_for(ocr_env.bucket, key, response["ETag"].strip('"'))

    # WHEN it is taken THEN it is rejected, naming the depth bound, and nothing is stored
    assert take(ocr_env, key) == {"batchItemFailures": []}
    record = item(ocr_env, doc_id)
    assert record[Attr.STATUS] == {"S": "rejected"}
    assert "DOCUMENT_MAX_DEPTH=1" in record[Attr.ERROR_MESSAGE]["S"]
    assert ocr_env.keys(f"{CHILDREN.path}{doc_id}/") == []
