"""Operator commands against local mode: the real stack deployed on the emulator.

The functions are not running here, as when a stage is stopped or throttled, so every count
is exactly what the test sent.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest
from botocore.exceptions import ClientError

from cli.main import main
from local.deploy import EmulatorMocks
from local.emulator import Emulator, create_operator
from local.runtime import RuntimeOptions
from local.session import LocalSession, SessionOptions
from mockrun import run_program
from ops import operate
from ops.target import Target, from_local_session

VARIANTS_DIR = Path(__file__).resolve().parent.parent / "local"  # tests/local/variants.py

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def deployed() -> Iterator[tuple[Target, dict[str, str]]]:
    with Emulator() as emulator:
        run = run_program("dev", mocks=EmulatorMocks(emulator))
        operator = create_operator(emulator)
        emulator.set_auth(enabled=True)
        environment = {
            "AWS_ENDPOINT_URL": emulator.endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            **operator.as_env(),
        }
        yield from_local_session(run.outputs, environment), environment


@pytest.fixture
def target(deployed: tuple[Target, dict[str, str]]) -> Target:
    """The deployment with every queue emptied (S3 queued its s3:TestEvent on deploy).

    Drained, not purged: SQS allows one PurgeQueue per queue a minute, and so does moto."""
    pipeline = deployed[0]
    for stage in pipeline.stages:
        drain(pipeline, pipeline.queue_url(stage))
        drain(pipeline, pipeline.dlq_url(stage))
    return pipeline


def send(target: Target, url: str, bodies: list[str]) -> None:
    for body in bodies:
        target.client("sqs").send_message(QueueUrl=url, MessageBody=body)


def drain(target: Target, url: str) -> list[str]:
    sqs, bodies = target.client("sqs"), []
    while messages := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=60
    ).get("Messages", []):
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def test_status_counts_what_was_sent(target: Target) -> None:
    # GIVEN 7 messages on the summarize queue, 2 of them received, and 3 classify dead letters
    send(target, target.queue_url("summarize"), [f"s{i}" for i in range(7)])
    target.client("sqs").receive_message(
        QueueUrl=target.queue_url("summarize"), MaxNumberOfMessages=2, VisibilityTimeout=60
    )
    send(target, target.dlq_url("classify"), ["d1", "d2", "d3"])

    # WHEN the status is read
    rows = {row.stage: row for row in operate.status(target)}

    # THEN the numbers are exactly those
    assert set(rows) == {"ocr", "summarize", "classify", "sweep"}
    assert (rows["summarize"].queued, rows["summarize"].in_flight) == (5, 2)
    assert rows["classify"].dead_letters == 3
    assert all(rows[s].queued == rows[s].dead_letters == 0 for s in ("ocr", "sweep"))
    # The emulator publishes no service metrics: shown as unknown, never as zero.
    assert rows["ocr"].errors_1h is None and rows["ocr"].oldest_age_s is None


def test_redrive_returns_every_dead_letter_exactly_once(target: Target) -> None:
    bodies = [json.dumps({"file": f"incoming/{i}.png"}) for i in range(23)]
    send(target, target.dlq_url("ocr"), bodies)

    result = operate.dlq_redrive(target, "ocr")

    assert (result.moved, result.method) == (23, "receive-send-delete")
    assert operate.status(target)[0].dead_letters == 0
    assert Counter(drain(target, target.queue_url("ocr"))) == Counter(bodies)


def test_show_leaves_dead_letters_in_place(target: Target) -> None:
    send(target, target.dlq_url("summarize"), ["a", "b", "c"])

    letters = operate.dlq_show(target, "summarize", limit=10)

    assert sorted(letter.body for letter in letters) == ["a", "b", "c"]
    assert all(letter.receive_count == 0 for letter in letters)  # sent there, never delivered
    assert sorted(drain(target, target.dlq_url("summarize"))) == ["a", "b", "c"]


def max_receive_count(target: Target, stage: str) -> int:
    attributes = target.client("sqs").get_queue_attributes(
        QueueUrl=target.queue_url(stage), AttributeNames=["RedrivePolicy"]
    )["Attributes"]
    return int(json.loads(attributes["RedrivePolicy"])["maxReceiveCount"])


def test_dead_letters_show_their_deliveries_not_the_tools_own_looks(
    target: Target, tmp_path: Path
) -> None:
    # GIVEN a message delivered maxReceiveCount times, then moved to the DLQ by the redrive
    sqs, queue = target.client("sqs"), target.queue_url("summarize")
    deliveries = max_receive_count(target, "summarize")
    send(target, queue, ["doomed"])
    for _ in range(deliveries):
        assert sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0).get("Messages")
    assert "Messages" not in sqs.receive_message(QueueUrl=queue)  # this receive moved it
    operator = replace(target, records_dir=tmp_path)

    # WHEN an operator lists it, then shows it twice (each look is a receive to SQS)
    looks = [operate.dlq_show(operator, "summarize") for _ in range(3)]

    # THEN every look reports the deliveries it had when it was dead-lettered
    assert [letter.receive_count for (letter,) in looks] == [deliveries] * 3


def test_piped_dlq_show_prints_every_character_of_the_body(
    target: Target, cli_env: Path, capsys: Any
) -> None:
    body = json.dumps({"file": "incoming/" + "long-name-" * 30 + ".pdf"})
    send(target, target.dlq_url("ocr"), [body])
    assert main(["dlq", "show", "ocr", "--outputs", str(cli_env)]) == 0
    assert body in capsys.readouterr().out


def test_an_aws_error_is_one_clear_line_and_exit_status_1(
    cli_env: Path, monkeypatch: Any, capsys: Any
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNUNKNOWN00")
    assert main(["status", "--outputs", str(cli_env)]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Traceback" not in error
    assert error.startswith("docpipe status: AWS refused GetQueueAttributes: ")
    assert "InvalidClientTokenId" in error

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    assert main(["status", "--outputs", str(cli_env)]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Could not connect" in error


@pytest.fixture
def cli_env(
    deployed: tuple[Target, dict[str, str]], target: Target, tmp_path: Path, monkeypatch: Any
) -> Path:
    """The environment `docpipe local up` prints, and the outputs file a deployed stack has."""
    for name, value in deployed[1].items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("ops.target.RECORDS_DIR", tmp_path / "records")  # not the user's
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(target.outputs))
    return outputs


def test_purge_only_after_confirmation(target: Target, cli_env: Path, capsys: Any) -> None:
    send(target, target.dlq_url("ocr"), ["x", "y"])

    # WHEN purge is asked without a terminal to confirm on and without --yes: nothing goes
    assert main(["dlq", "purge", "ocr", "--outputs", str(cli_env)]) == 1
    assert "pass --yes" in capsys.readouterr().err
    assert operate.status(target)[0].dead_letters == 2

    # WHEN confirmed: every dead letter goes
    assert main(["dlq", "purge", "ocr", "--yes", "--json", "--outputs", str(cli_env)]) == 0
    assert json.loads(capsys.readouterr().out) == {"stage": "ocr", "purged": 2}
    assert operate.status(target)[0].dead_letters == 0


def test_send_uploads_under_incoming_and_s3_notifies_the_ocr_queue(
    target: Target, cli_env: Path, tmp_path: Path, capsys: Any
) -> None:
    document = tmp_path / "memo one.txt"
    document.write_text("hello")

    assert main(["send", str(document), "--json", "--outputs", str(cli_env)]) == 0

    sent = json.loads(capsys.readouterr().out)
    assert sent == {
        "sent": "upload",
        "bucket": target.outputs["bucket_name"],
        "key": "incoming/memo one.txt",
    }
    [notification] = [json.loads(body) for body in drain(target, target.queue_url("ocr"))]
    # S3 URL-encodes keys in events (the emulator also encodes the slash)
    assert (
        unquote_plus(notification["Records"][0]["s3"]["object"]["key"]) == "incoming/memo one.txt"
    )


def test_send_test_event_and_status_json(target: Target, cli_env: Path, capsys: Any) -> None:
    assert main(["send", "--file", "incoming/x.pdf", "--json", "--outputs", str(cli_env)]) == 0
    capsys.readouterr()
    assert main(["status", "--json", "--outputs", str(cli_env)]) == 0
    rows = {row["stage"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["ocr"]["queued"] == 1
    assert drain(target, target.queue_url("ocr")) == ['{"file": "incoming/x.pdf"}']


def test_bad_target_is_one_clear_line(tmp_path: Path, capsys: Any) -> None:
    missing = tmp_path / "nope.json"
    assert main(["status", "--outputs", str(missing)]) == 2
    assert capsys.readouterr().err.startswith(
        f"docpipe status: cannot read stack outputs from {missing}"
    )


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}}, "StartMessageMoveTask")


@pytest.mark.parametrize(
    ("code", "emulated", "unsupported"),
    [
        ("AWS.SimpleQueueService.UnsupportedOperation", False, True),
        ("500", True, True),  # moto's server for an action it does not implement
        ("500", False, False),  # a real SQS 500 is an error to report, not a fallback
        ("AccessDenied", False, False),
        ("AccessDenied", True, False),
    ],
)
def test_redrive_falls_back_only_when_the_move_task_is_missing(
    code: str, emulated: bool, unsupported: bool
) -> None:
    assert operate.move_task_unsupported(client_error(code), emulated) is unsupported


def test_status_reads_the_function_metrics_local_mode_publishes() -> None:
    # GIVEN local mode with classify swapped for a variant that writes outside its role, and
    # a message for each of summarize (which it cannot parse) and classify
    options = SessionOptions(
        stack="dev",
        runtime=RuntimeOptions(
            handler_overrides={"classify": "variants.write_outside_role"},
            extra_pythonpath=[VARIANTS_DIR],
            queue_metrics_interval_s=1,
        ),
    )
    with LocalSession(options) as session:
        target = from_local_session(session.outputs, session.environment())
        send(target, target.queue_url("summarize"), ["not an envelope"])
        send(target, target.queue_url("classify"), ["{}"])

        # WHEN both functions have run once, and SQS's metrics have been published since
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            rows = {row.stage: row for row in operate.status(target)}
            wanted = (
                rows["summarize"].errors_1h,
                rows["summarize"].failed_1h,
                rows["classify"].errors_1h,
                rows["classify"].oldest_age_s,
            )
            if None not in wanted:
                break
            time.sleep(0.5)

    # THEN a record the handler fails is a batch item failure, not a function error, and it
    # shows as a failed record (the pipeline's RecordsFailed, published from the function's
    # log); an exception (AccessDenied) is a function error; S3's test event, which OCR may
    # have handled by now, is neither
    assert rows["summarize"].errors_1h == 0
    assert rows["summarize"].failed_1h == 1
    assert rows["classify"].errors_1h is not None and rows["classify"].errors_1h >= 1
    assert rows["ocr"].errors_1h in (None, 0)
    assert rows["ocr"].failed_1h in (None, 0)
    # The classify message waits for its retry: the age of the oldest message shows.
    assert rows["classify"].oldest_age_s is not None and rows["classify"].oldest_age_s > 0
