"""Worker processes that die, hang or are killed: the pool fails that invocation once, logs it
in Lambda's shape, counts it, replaces the worker, and leaves no process or file behind.

Real worker processes (`local.worker`) running handler variants; no emulator needed.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from localtest import VARIANTS_DIR, group_members, zombie_children

from local.metrics import Stats
from local.pool import FunctionPool
from local.topology import FunctionSpec

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def spec(handler: str, timeout_s: int = 1) -> FunctionSpec:
    return FunctionSpec(
        name="fn",
        arn="arn:aws:lambda:us-east-1:123456789012:function:fn",
        handler=handler,
        timeout_s=timeout_s,
        memory_mb=128,
        role_arn="arn:aws:iam::123456789012:role/none",
        environment={},
    )


MakePool = Callable[..., FunctionPool]


@pytest.fixture
def make_pool(tmp_path: Path) -> Iterator[MakePool]:
    pools: list[FunctionPool] = []

    def make(handler: str, timeout_s: int = 1) -> FunctionPool:
        env = {"PATH": os.environ["PATH"], "PYTHONPATH": f"{Path.cwd()}:{VARIANTS_DIR}"}
        pool = FunctionPool(
            spec(handler, timeout_s),
            f"variants.{handler}",
            env,
            tmp_path / "fn.log",
            Stats(),
            tmp_root=tmp_path / "tmp",
        )
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()


def log_lines(pool: FunctionPool) -> list[dict[str, object]]:
    text = (pool.tmp_root.parent / "fn.log").read_text()
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def assert_nothing_left(pool: FunctionPool) -> None:
    """No process of any worker's group alive, no zombie of ours, no temporary file."""
    deadline = time.monotonic() + 5  # the system's init reaps the killed children
    while any(group_members(pid) for pid in pool.started_pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert {pid: group_members(pid) for pid in pool.started_pids if group_members(pid)} == {}
    assert zombie_children() == []
    assert [p for p in pool.tmp_root.rglob("*") if p.is_file()] == []


def test_an_idle_worker_that_died_fails_one_invocation_and_is_replaced(make_pool: MakePool) -> None:
    # GIVEN a warm worker that dies while idle
    pool = make_pool("echo_handler")
    first = pool.invoke({"n": 1})
    os.kill(first.result["pid"], signal.SIGKILL)
    time.sleep(0.2)

    # WHEN the next invocation comes THEN it fails as Lambda reports a runtime that exited
    failed = pool.invoke({"n": 2})
    assert failed.error is not None and failed.error["type"] == "Runtime.ExitError"
    assert "Runtime exited with error: signal: killed" in failed.error["message"]
    # ...logged in Lambda's shape, counted, and the worker replaced by a new one (cold)
    (line,) = [line for line in log_lines(pool) if line.get("errorType")]
    assert line["requestId"] == failed.request_id
    assert line["errorMessage"] == failed.error["message"]
    assert (pool.stats.crashes["fn"], pool.stats.errors["fn"]) == (1, 1)
    again = pool.invoke({"n": 3})
    assert again.ok and again.cold_start and again.result["pid"] != first.result["pid"]
    pool.close()
    assert_nothing_left(pool)


def test_a_timeout_kills_the_worker_its_children_and_its_files(make_pool: MakePool) -> None:
    pool = make_pool("spawn_and_hang", timeout_s=2)
    result = pool.invoke({})
    assert (result.ok, result.timed_out) == (False, True)
    assert result.error and result.error["type"] == "Sandbox.Timedout"
    assert result.error["message"].endswith("Error: Task timed out after 2.00 seconds")
    hung = next(line for line in log_lines(pool) if "child" in line)
    timed_out = next(line for line in log_lines(pool) if line.get("errorType"))
    assert timed_out["requestId"] == result.request_id
    assert not Path(str(hung["tmp"])).exists()  # the copy of the document is gone
    assert pool.stats.timeouts["fn"] == 1
    pool.close()
    assert_nothing_left(pool)  # tesseract was killed with its worker, and reaped


def test_a_worker_killed_mid_invocation_takes_its_children_with_it(make_pool: MakePool) -> None:
    pool = make_pool("spawn_and_hang", timeout_s=60)
    killer = threading.Thread(target=kill_worker_once_busy, args=(pool,))
    killer.start()
    result = pool.invoke({})
    killer.join()
    assert result.error and result.error["type"] == "Runtime.ExitError"
    assert "signal: killed" in result.error["message"]
    assert pool.stats.crashes["fn"] == 1
    pool.close()
    assert_nothing_left(pool)


def kill_worker_once_busy(pool: FunctionPool) -> None:
    """SIGKILL the worker alone (not its group) once its tesseract runs: a crash."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for pid in pool.workers():
            if len(group_members(pid)) > 1:
                os.kill(pid, signal.SIGKILL)
                return
        time.sleep(0.05)


def test_each_invocation_has_a_temporary_directory_of_its_own(make_pool: MakePool) -> None:
    pool = make_pool("write_temp_file")
    results = [pool.invoke({}).result for _ in range(2)]
    assert results[0]["TMPDIR"] != results[1]["TMPDIR"]  # one per invocation, same worker
    for result in results:
        assert Path(result["tmp"]).parent == Path(result["TMPDIR"])
        assert Path(result["TMPDIR"]).is_relative_to(pool.tmp_root)
        assert not Path(result["TMPDIR"]).exists()
    pool.close()
    assert_nothing_left(pool)
