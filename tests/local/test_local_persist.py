"""`docpipe local down` and `up` as a user runs them: a deployment that holds work is not
thrown away silently, and `--persist` carries everything across a restart.

Separate processes and one state file per test, like test_local_up.py. The summarize stage
runs with a 5 s timeout (a 30 s visibility timeout) and maxReceiveCount 2, so a message it
cannot read rests in its DLQ within a minute.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from localtest import CONTRACT_TEXT, render, stages, wait_until

from local.runtime import PROJECT_DIR

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

CONFIG = "stages=" + stages(summarize={"timeout": 5, "maxReceiveCount": 2})["stages"]


def docpipe(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=PROJECT_DIR,
        env={**os.environ, "DOCPIPE_LOCAL_STATE": str(state)},
        capture_output=True,
        text=True,
        timeout=240,
    )


def up(state: Path, *args: str) -> dict[str, Any]:
    started = docpipe(
        "local", "up", "--schedule-interval", "0", "--config", CONFIG, *args, state=state
    )
    assert started.returncode == 0, started.stderr + started.stdout
    return dict(json.loads(state.read_text()))


def clients(running: dict[str, Any]) -> Callable[[str], Any]:
    environment = running["environment"]
    session = boto3.session.Session(
        aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
        region_name=environment["AWS_DEFAULT_REGION"],
    )
    make_client: Any = session.client  # service is a plain str: the stubs want literals
    return lambda service: make_client(service, endpoint_url=running["endpoint"])


def items(client: Callable[[str], Any], running: dict[str, Any]) -> list[dict[str, Any]]:
    scan = client("dynamodb").scan(TableName=running["outputs"]["table_name"])
    return list(scan["Items"])


def dead_letters(client: Callable[[str], Any], running: dict[str, Any], stage: str) -> int:
    attributes = client("sqs").get_queue_attributes(
        QueueUrl=running["outputs"]["dlq_urls"][stage],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def test_down_refuses_to_discard_pending_work_unless_forced(tmp_path: Path) -> None:
    # GIVEN a running deployment whose ocr DLQ holds a dead letter
    state = tmp_path / "local.json"
    running = up(state)
    try:
        client = clients(running)
        client("sqs").send_message(
            QueueUrl=running["outputs"]["dlq_urls"]["ocr"], MessageBody='{"file": "incoming/x"}'
        )

        # WHEN it is stopped THEN it refuses, says what would be discarded, and keeps running
        refused = docpipe("local", "down", state=state)
        assert refused.returncode == 1
        assert "ocr DLQ: 1 dead letters" in refused.stderr
        assert "--force" in refused.stderr and "--persist" in refused.stderr
        os.kill(running["pid"], 0)
        assert dead_letters(client, running, "ocr") == 1
    finally:
        forced = docpipe("local", "down", "--force", state=state)
    assert forced.returncode == 0, forced.stderr
    assert not state.exists()


def test_a_down_up_cycle_with_persist_keeps_uploads_results_and_dead_letters(
    tmp_path: Path,
) -> None:
    state = tmp_path / "local.json"
    running = up(state, "--persist")
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    restarted: dict[str, Any] = {}
    try:
        # GIVEN a document done, and a message summarize cannot read resting in its DLQ
        client, outputs = clients(running), running["outputs"]
        pdf = render().text_pdf([CONTRACT_TEXT])
        client("s3").put_object(Bucket=outputs["bucket_name"], Key="incoming/a.pdf", Body=pdf)
        wait_until(
            lambda: any(i["status"]["S"] == "done" for i in items(client, running)),
            120,
            "a.pdf done",
        )
        client("sqs").send_message(
            QueueUrl=outputs["queue_urls"]["summarize"], MessageBody="garbage"
        )
        wait_until(lambda: dead_letters(client, running, "summarize") == 1, 120, "a dead letter")
        before = items(client, running)

        # WHEN the deployment is stopped and started again with --persist
        down = docpipe("local", "down", state=state)
        assert down.returncode == 0, down.stderr
        snapshot = tmp_path / "local-snapshot.pickle"
        assert stat.S_IMODE(snapshot.stat().st_mode) == 0o600
        restarted = up(state, "--persist")

        # THEN the same endpoint serves the same upload, ledger item and dead letter
        assert restarted["endpoint"] == running["endpoint"]
        client = clients(restarted)
        assert items(client, restarted) == before
        kept = client("s3").get_object(Bucket=outputs["bucket_name"], Key="processed/a.pdf")
        assert kept["Body"].read() == pdf
        shown = docpipe("dlq", "show", "summarize", "--json", state=state)
        assert shown.returncode == 0, shown.stderr
        (letter,) = json.loads(shown.stdout)
        assert (letter["body"], letter["receive_count"]) == ("garbage", 2)
        assert "InvalidEnvelopeError" in letter["reason"]
        # ...and the pipeline carries on: a new upload is processed
        client("s3").put_object(Bucket=outputs["bucket_name"], Key="incoming/b.pdf", Body=pdf)
        wait_until(lambda: len(items(client, restarted)) == 2, 120, "b.pdf in the ledger")
    finally:
        stopped = docpipe("local", "down", state=state)
    assert stopped.returncode == 0, stopped.stderr
