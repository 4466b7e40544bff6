"""`docpipe local up`, `send` and `down` as a user runs them: separate processes, one state file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from localtest import render

from local.runtime import PROJECT_DIR

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def docpipe(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "local", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=200,
    )


def exported(stdout: str) -> dict[str, str]:
    """The `export KEY=VALUE` lines `local up` prints."""
    pairs = [line.removeprefix("export ").split("=", 1) for line in stdout.splitlines()]
    return {key: value.strip("'") for key, value, *_ in (p for p in pairs if len(p) == 2)}


def wait_for_items(dynamodb: object, table: str, count: int, timeout_s: float) -> int:
    deadline, found = time.monotonic() + timeout_s, 0
    while time.monotonic() < deadline:
        found = dynamodb.scan(TableName=table, Select="COUNT")["Count"]  # type: ignore[attr-defined]
        if found >= count:
            return int(found)
        time.sleep(0.5)
    return int(found)


def test_up_send_down(tmp_path: Path) -> None:
    env = {**os.environ, "DOCPIPE_LOCAL_STATE": str(tmp_path / "local.json")}
    up = docpipe("up", "--schedule-interval", "0", env=env)
    assert up.returncode == 0, up.stderr + up.stdout
    try:
        state = json.loads((tmp_path / "local.json").read_text())
        aws = exported(up.stdout)
        assert aws["AWS_ENDPOINT_URL"] == state["endpoint"]
        assert state["endpoint"].startswith("http://127.0.0.1:")
        session = boto3.session.Session(
            aws_access_key_id=aws["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=aws["AWS_SECRET_ACCESS_KEY"],
            region_name=aws["AWS_DEFAULT_REGION"],
        )
        s3 = session.client("s3", endpoint_url=aws["AWS_ENDPOINT_URL"])
        dynamodb = session.client("dynamodb", endpoint_url=aws["AWS_ENDPOINT_URL"])
        table = state["outputs"]["table_name"]
        pdf = render().text_pdf(["This agreement is made between the parties for a term."])
        s3.put_object(Bucket=state["outputs"]["bucket_name"], Key="incoming/x.pdf", Body=pdf)
        assert wait_for_items(dynamodb, table, 1, 90) == 1

        sent = docpipe("send", "--file", "incoming/x.pdf", env=env)
        assert sent.returncode == 0, sent.stderr
        assert "message" in sent.stdout
        sqs = session.client("sqs", endpoint_url=aws["AWS_ENDPOINT_URL"])
        ocr_queue = state["outputs"]["queue_urls"]["ocr"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the manual event is consumed...
            attributes = sqs.get_queue_attributes(
                QueueUrl=ocr_queue,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            if sum(int(v) for v in attributes.values()) == 0:
                break
            time.sleep(0.5)
        time.sleep(3)  # ...and its result rides the later stages
        assert dynamodb.scan(TableName=table, Select="COUNT")["Count"] == 1  # idempotent

        # `docpipe smoke` finds the running deployment as `status` does and passes
        smoke = subprocess.run(
            [sys.executable, "-m", "cli.main", "smoke", "--json", "--timeout", "120"],
            cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert smoke.returncode == 0, smoke.stdout + smoke.stderr
        report = json.loads(smoke.stdout[smoke.stdout.index("{") :])
        assert (report["ok"], report["category"], report["missing_words"]) == (True, "invoice", [])
    finally:
        # --force: the manual event for an upload already moved to processed/ is retried
        # (refusing to stop over pending work is test_local_persist.py's business)
        down = docpipe("down", "--force", env=env)
    assert down.returncode == 0, down.stderr
    assert not (tmp_path / "local.json").exists()
    with pytest.raises(ProcessLookupError):
        os.kill(state["pid"], 0)
