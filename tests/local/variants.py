"""Handler variants for local mode's tests: small, real handlers run in real worker processes.

They run inside `local.worker` with a function's environment and role credentials, like the
stack's handlers; each one exercises one Lambda or IAM rule.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any
from urllib.parse import unquote_plus

import boto3


def _table() -> Any:
    return boto3.resource("dynamodb").Table(os.environ["DOCPIPE_TABLE"])


def _item_id(body: str) -> str | None:
    data = json.loads(body)
    if "Records" in data:  # an S3 notification: one item per object key (URL-encoded)
        return unquote_plus(str(data["Records"][0]["s3"]["object"]["key"]))
    return data.get("id")


def record_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Writes one item per message; a body containing "poison" fails that record only."""
    failures = []
    table = _table()
    for record in event["Records"]:
        item_id = _item_id(record["body"])
        if item_id is None:  # s3:TestEvent
            continue
        if "poison" in item_id:
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        table.put_item(
            Item={"doc_id": item_id, "receives": record["attributes"]["ApproximateReceiveCount"]}
        )
    return {"batchItemFailures": failures}


def write_outside_role(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Writes to S3, which its role does not allow: AccessDenied fails the whole batch."""
    s3 = boto3.client("s3")
    for _record in event["Records"]:
        s3.put_object(Bucket=os.environ["DOCPIPE_BUCKET"], Key="summaries/rogue.txt", Body=b"x")
    return {"batchItemFailures": []}


def sleepy_handler(event: dict[str, Any], context: Any) -> None:
    """Outlives its timeout: Lambda kills it and the batch becomes visible again."""
    time.sleep(3600)


def forward_fast(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A fast stage: hands every record on to the next queue, ten per SendMessageBatch."""
    sqs = boto3.client("sqs")
    records = event["Records"]
    for start in range(0, len(records), 10):
        chunk = records[start : start + 10]
        response = sqs.send_message_batch(
            QueueUrl=os.environ["DOCPIPE_NEXT_QUEUE_URL"],
            Entries=[{"Id": str(i), "MessageBody": r["body"]} for i, r in enumerate(chunk)],
        )
        if response.get("Failed"):
            raise RuntimeError(f"send failed: {response['Failed']}")
    return {"batchItemFailures": []}


def record_slowly(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A slow stage: 10 ms of work per record, then one item per message id, written with
    UpdateItem, which is what the classify stage's role allows on the table (the ledger's
    grant: GetItem and UpdateItem, no PutItem)."""
    table = _table()
    for record in event["Records"]:
        time.sleep(0.01)
        table.update_item(
            Key={"doc_id": json.loads(record["body"])["id"]},
            UpdateExpression="SET #status = :done",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":done": "done"},
        )
    return {"batchItemFailures": []}


def echo_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Returns its event and the worker's pid: shows which execution environment ran it."""
    return {**event, "pid": os.getpid()}


def flaky_summarize(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The real summarize stage, failing whole batches while the test's marker file exists:
    a transient outage (the records are retried, then dead-lettered)."""
    from pathlib import Path

    from handlers import summarize

    if Path(os.environ["DOCPIPE_TEST_OUTAGE"]).exists():
        raise RuntimeError("injected transient failure")
    return summarize.lambda_handler(event, context)


def spawn_and_hang(event: dict[str, Any], context: Any) -> None:
    """What a stuck OCR looks like: tesseract started (here waiting on its stdin forever), a
    copy of the page in a temporary file, and a handler that never returns. Prints the
    child's pid and the file's path to the function's log."""
    import subprocess
    import tempfile

    child = subprocess.Popen(["tesseract", "stdin", "stdout"], stdin=subprocess.PIPE)
    with tempfile.NamedTemporaryFile(prefix="page-", delete=False) as copy:
        copy.write(b"a copy of the document")
    print(json.dumps({"child": child.pid, "tmp": copy.name}), flush=True)
    time.sleep(3600)


def write_temp_file(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Leaves a temporary file behind and says where."""
    import tempfile

    with tempfile.NamedTemporaryFile(prefix="left-", delete=False) as left:
        left.write(b"x")
    return {"tmp": left.name, "TMPDIR": os.environ["TMPDIR"]}


def ocr_stalling_on_marker(event: dict[str, Any], context: Any) -> Any:
    """The real OCR stage, except that the invocation which finds the test's marker file
    (and removes it) gets stuck the way a wedged tesseract does (`spawn_and_hang`)."""
    from pathlib import Path

    from handlers import ocr

    marker = Path(os.environ["DOCPIPE_TEST_STALL"])
    try:
        marker.unlink()
    except FileNotFoundError:
        return ocr.lambda_handler(event, context)
    return spawn_and_hang(event, context)
