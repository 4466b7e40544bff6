"""Lambda semantics on the mini stack: partial batch responses, redrive, timeouts, cold starts.

The mini stack (tests/local/mini_stack) is one queue with a DLQ feeding one function; its
visibility timeout is set to 6 s here so a failed record comes back within seconds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from localtest import VARIANTS_DIR, mini_project, queue_messages, table_items

from local.metrics import Stats
from local.pool import FunctionPool
from local.runtime import RuntimeOptions
from local.session import LocalSession, SessionOptions
from local.topology import FunctionSpec

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

GOOD = [f"incoming/doc{i}.txt" for i in range(5)]
POISON = "incoming/poison.txt"


@pytest.fixture(scope="module")
def mini(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSession]:
    project = mini_project(tmp_path_factory.mktemp("project"))
    options = SessionOptions(
        stack="test",
        project_dir=project,
        config_overrides={"visibility": "6", "timeout": "1"},
        runtime=RuntimeOptions(
            schedule_interval_s=0,
            log_dir=tmp_path_factory.mktemp("logs"),
            extra_pythonpath=[VARIANTS_DIR],
            nltk_data=Path("unused"),
        ),
    )
    with LocalSession(options) as session:
        yield session


def test_a_failed_record_fails_alone_and_is_redriven_after_max_receive_count(
    mini: LocalSession,
) -> None:
    s3, bucket = mini.client("s3"), mini.outputs["bucket_name"]
    for key in [*GOOD, POISON]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    dlq = mini.outputs["dlq_urls"]["mini"]
    deadline = time.monotonic() + 60
    dead: list[dict[str, object]] = []
    while not dead and time.monotonic() < deadline:
        time.sleep(1)
        dead = queue_messages(mini, dlq)
    assert len(dead) == 1 and "poison.txt" in str(dead[0]["Body"])  # moto encodes the "/"
    assert mini.runtime is not None
    assert mini.runtime.stats.deliveries[str(dead[0]["MessageId"])] == 2  # maxReceiveCount
    items = {item["doc_id"]["S"]: item for item in table_items(mini)}
    assert sorted(items) == GOOD
    # Each good record was delivered once: the poison's failure did not send them back.
    assert {item["receives"]["S"] for item in items.values()} == {"1"}


def sleepy_spec() -> FunctionSpec:
    return FunctionSpec(
        name="sleepy",
        arn="arn:aws:lambda:us-east-1:123456789012:function:sleepy",
        handler="variants.sleepy_handler",
        timeout_s=1,
        memory_mb=128,
        role_arn="arn:aws:iam::123456789012:role/none",
        environment={},
    )


def test_a_timeout_kills_the_worker_and_the_next_invocation_is_cold(tmp_path: Path) -> None:
    import os

    env = {"PATH": os.environ["PATH"], "PYTHONPATH": f"{Path.cwd()}:{VARIANTS_DIR}"}
    stats = Stats()
    pool = FunctionPool(sleepy_spec(), "variants.sleepy_handler", env, tmp_path / "log", stats)
    try:
        started = time.monotonic()
        first = pool.invoke({"Records": []})
        assert time.monotonic() - started < 5  # 1 s timeout, not the handler's hour
        assert (first.ok, first.timed_out, first.error and first.error["type"]) == (
            False,
            True,
            "Sandbox.Timedout",
        )
        second = pool.invoke({"Records": []})
        assert second.timed_out
        assert stats.timeouts["sleepy"] == 2
        assert stats.errors["sleepy"] == 2
    finally:
        pool.close()


def test_a_warm_worker_is_reused(tmp_path: Path) -> None:
    import os

    spec = FunctionSpec(**{**sleepy_spec().__dict__, "handler": "variants.echo_handler"})
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": f"{Path.cwd()}:{VARIANTS_DIR}"}
    stats = Stats()
    pool = FunctionPool(spec, spec.handler, env, tmp_path / "log", stats)
    try:
        results = [pool.invoke({"n": n}) for n in range(3)]
        assert [r.result for r in results] == [{"n": 0, "pid": results[0].result["pid"]}] + [
            {"n": n, "pid": results[0].result["pid"]} for n in (1, 2)
        ]
        assert [r.cold_start for r in results] == [True, False, False]
        assert stats.cold_starts["sleepy"] == 1
    finally:
        pool.close()
