"""End to end on the dev stack with handler variants: a burst, and a write outside the role.

- Burst: 2,000 messages pushed at once into the summarize queue, whose stage (a fast variant
  forwarding to the classify queue) and the classify stage (a slow variant writing one item
  per message) both run with maximum concurrency 2. Every message must end as an item:
  a fast stage feeding a slow one loses nothing when every hand-off is a queue.
- Denied: the sweep stage runs a variant that writes to S3, which the sweep's role does not
  allow. A schedule tick (sent with the scheduler's role) feeds it; the emulator's IAM denies
  the write, and the message rests in the sweep DLQ after maxReceiveCount receives.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from localtest import VARIANTS_DIR, function_log, queue_messages, stages

from local.runtime import RuntimeOptions
from local.session import LocalSession, SessionOptions

pytestmark = [pytest.mark.slow, pytest.mark.timeout(360)]

BURST = 2000
SWEEP_MAX_RECEIVE_COUNT = 2


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSession]:
    options = SessionOptions(
        stack="dev",
        config_overrides=stages(
            summarize={"maxConcurrency": 2},
            classify={"maxConcurrency": 2},
            sweep={"timeout": 5, "maxReceiveCount": SWEEP_MAX_RECEIVE_COUNT},
        ),
        runtime=RuntimeOptions(
            schedule_interval_s=0,  # ticked by the test
            log_dir=tmp_path_factory.mktemp("logs"),
            handler_overrides={
                "summarize": "variants.forward_fast",
                "classify": "variants.record_slowly",
                "sweep": "variants.write_outside_role",
            },
            extra_pythonpath=[VARIANTS_DIR],
        ),
    )
    with LocalSession(options) as running:
        assert running.runtime is not None
        # The schedule fires once now: its role sends the sweep message, which the denied
        # sweep variant fails while the burst runs (its two receives take a minute).
        running.runtime.ticker.tick()
        yield running


def wait_for(
    condition: object, timeout_s: float, what: str, session: LocalSession | None = None
) -> None:
    """Until `condition()`; fails at once, with the error, when a watched stage fails a
    batch (a denied write would otherwise only show as a timeout minutes later)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        if session is not None:
            assert_no_failed_batch(session, ("summarize", "classify"))
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def assert_no_failed_batch(session: LocalSession, stages: tuple[str, ...]) -> None:
    runtime = session.runtime
    assert runtime is not None
    names = [runtime.topology.function_for_stage(stage).name for stage in stages]
    with runtime.stats.lock:
        errors = [e for e in runtime.stats.last_errors if e.split(":", 1)[0] in names]
    assert errors == [], f"a burst stage failed: {errors[-1]}"


def item_count(session: LocalSession) -> int:
    dynamodb, count = session.client("dynamodb"), 0
    for page in dynamodb.get_paginator("scan").paginate(
        TableName=session.outputs["table_name"], Select="COUNT"
    ):
        count += page["Count"]
    return count


def dlq_depths(session: LocalSession) -> dict[str, int]:
    sqs, depths = session.client("sqs"), {}
    for stage, url in session.outputs["dlq_urls"].items():
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        depths[stage] = sum(int(v) for v in attributes.values())
    return depths


def test_a_burst_into_a_stage_with_concurrency_2_loses_nothing(session: LocalSession) -> None:
    sqs, url = session.client("sqs"), session.outputs["queue_urls"]["summarize"]
    for start in range(0, BURST, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "MessageBody": json.dumps({"id": f"burst-{start + i:04d}"})}
                for i in range(10)
            ],
        )

    wait_for(lambda: item_count(session) >= BURST, 240, f"{BURST} result items", session)

    depths = dlq_depths(session)
    lost = BURST - item_count(session) - depths["summarize"] - depths["classify"]
    assert (item_count(session), lost) == (BURST, 0)
    assert depths["summarize"] == depths["classify"] == 0
    runtime = session.runtime
    assert runtime is not None
    peaks = {p.pool.spec.stage: p.peak_in_flight for p in runtime.pollers}
    assert peaks["summarize"] == 2  # never more than the mapping's maximum concurrency
    assert peaks["classify"] == 2


def test_a_write_outside_the_role_is_denied_and_dead_lettered(session: LocalSession) -> None:
    runtime = session.runtime
    assert runtime is not None
    assert runtime.ticker.ticks == 1  # ticked when the session started (see the fixture)

    sweep_dlq = session.outputs["dlq_urls"]["sweep"]
    wait_for(lambda: dlq_depths(session)["sweep"] == 1, 150, "the sweep message in its DLQ")

    (dead,) = queue_messages(session, sweep_dlq)
    assert json.loads(dead["Body"]) == {"version": 1, "kind": "sweep"}
    assert runtime.stats.deliveries[dead["MessageId"]] == SWEEP_MAX_RECEIVE_COUNT
    # The handler's exception (its log) and the invocation error both name the denial.
    assert "AccessDenied" in function_log(session, "sweep")
    assert any("AccessDenied" in error for error in runtime.stats.last_errors)
    with pytest.raises(ClientError):  # the write never happened
        session.client("s3").head_object(
            Bucket=session.outputs["bucket_name"], Key="summaries/rogue.txt"
        )


def test_the_workers_run_with_their_roles_credentials(session: LocalSession) -> None:
    runtime = session.runtime
    assert runtime is not None
    sweep = runtime.topology.function_for_stage("sweep")
    env = runtime.function_env(sweep)
    assert env["AWS_ENDPOINT_URL"] == session.emulator.endpoint
    assert env["AWS_SESSION_TOKEN"]  # assumed-role credentials, not the operator's keys
    assert env["AWS_ACCESS_KEY_ID"] != session.environment()["AWS_ACCESS_KEY_ID"]
    assert Path(env["PYTHONPATH"].split(":")[0]).joinpath("handlers").is_dir()
