"""Crash and kill, end to end on the dev stack with the real OCR: an idle worker killed, a
busy worker killed while it runs OCR, an invocation that times out. Each failure fails its
batch once; SQS delivers it again after the visibility timeout and the document is done.
Afterwards no worker, tesseract or temporary file is left, nothing is lost, and the failures
are in the function's log (Lambda's lines) and in its Errors metric.

OCR runs with a 10 s timeout here (a 60 s visibility timeout) instead of the dev stack's 180 s,
so a failed delivery comes back within a minute.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from localtest import (
    CONTRACT_TEXT,
    VARIANTS_DIR,
    group_members,
    render,
    stages,
    wait_until,
    zombie_children,
)

from local.run import Report, Upload, build_report, upload, wait_until_settled
from local.runtime import PROJECT_DIR, RuntimeOptions
from local.session import LocalSession, SessionOptions

pytestmark = [pytest.mark.slow, pytest.mark.timeout(480)]

SAMPLES = PROJECT_DIR / "samples"
OCR_TIMEOUT_S = 10


@dataclass
class CrashRun:
    report: Report
    log: str
    crashes: int
    timeouts: int
    errors_metric: float
    worker_pids: list[int]
    tmp_root: Path
    stalled: dict[str, object]


def kill_busy_worker(workers: Callable[[], list[int]], idle: Callable[[], list[int]]) -> int:
    """SIGKILL the first worker seen busy for a tenth of a second, so mid-OCR (tesseract runs in
    the worker's own process): the worker alone, a crash."""
    busy_since: dict[int, float] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now, idle_now = time.monotonic(), set(idle())
        busy_since = {pid: busy_since.get(pid, now) for pid in workers() if pid not in idle_now}
        for pid, since in busy_since.items():
            if now - since >= 0.1:
                os.kill(pid, signal.SIGKILL)
                return pid
        time.sleep(0.02)
    raise AssertionError("no OCR worker was busy for a tenth of a second within 60 s")


@pytest.fixture(scope="module")
def crash_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrashRun]:
    folder = tmp_path_factory.mktemp("crashes")
    stall = folder / "stall"
    busy = folder / "full-page.tiff"  # one page: the page limit a 10 s timeout allows
    page = render().render_page(" ".join([CONTRACT_TEXT] * 4))
    busy.write_bytes(render().multipage_tiff([page]))
    options = SessionOptions(
        stack="dev",
        config_overrides=stages(ocr={"timeout": OCR_TIMEOUT_S}),
        runtime=RuntimeOptions(
            schedule_interval_s=0,
            log_dir=folder / "logs",
            handler_overrides={"ocr": "variants.ocr_stalling_on_marker"},
            extra_pythonpath=[VARIANTS_DIR],
            extra_environment={"DOCPIPE_TEST_STALL": str(stall)},
        ),
    )
    with LocalSession(options) as session:
        runtime = session.runtime
        assert runtime is not None
        ocr = runtime.pools[runtime.topology.function_for_stage("ocr").name]
        stats, name = runtime.stats, ocr.spec.name
        uploads: list[Upload] = []

        # A warm worker killed while idle: the next document's first delivery fails.
        uploads += upload(session, [SAMPLES / "letter.png"])
        wait_until_settled(session, uploads, timeout_s=120)
        os.kill(ocr.idle_workers()[0], signal.SIGKILL)  # the one the next invocation takes
        uploads += upload(session, [SAMPLES / "invoice.jpg"])
        wait_until(lambda: stats.crashes[name] == 1, 60, "the idle worker's crash", poll_s=0.05)

        # An invocation that hangs with tesseract running and a copy of the page on disk.
        stall.touch()
        uploads += upload(session, [SAMPLES / "contract.pdf"])
        wait_until(lambda: stats.timeouts[name] == 1, 60, "the timeout", poll_s=0.05)

        # A worker killed while it reads a full page.
        uploads += upload(session, [busy])
        kill_busy_worker(ocr.workers, ocr.idle_workers)
        wait_until(lambda: stats.crashes[name] == 2, 60, "the busy worker's crash", poll_s=0.05)

        watcher = wait_until_settled(session, uploads, timeout_s=240)
        report = build_report(session, uploads, watcher, 0)
        watcher.release()
        now = datetime.now(UTC)
        errors = session.client("cloudwatch").get_metric_statistics(
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Dimensions=[{"Name": "FunctionName", "Value": name}],
            StartTime=now - timedelta(hours=1),
            EndTime=now,
            Period=3600,
            Statistics=["Sum"],
        )["Datapoints"]
        log = (folder / "logs" / "ocr.log").read_text()
        stalled = next(json.loads(line) for line in log.splitlines() if line.startswith('{"child"'))
        crashes, timeouts = stats.crashes[name], stats.timeouts[name]
        pids, tmp_root = list(ocr.started_pids), runtime.tmp_root
    yield CrashRun(
        report,
        log,
        crashes,
        timeouts,
        sum(point["Sum"] for point in errors),
        pids,
        tmp_root,
        stalled,
    )


def test_every_document_is_done_and_nothing_is_lost(crash_run: CrashRun) -> None:
    assert [d.status for d in crash_run.report.documents] == ["done"] * 4
    assert crash_run.report.lost == 0
    assert crash_run.report.dlq == {"ocr": 0, "summarize": 0, "classify": 0, "sweep": 0}


def test_each_failure_is_logged_as_lambda_logs_it_and_counted(crash_run: CrashRun) -> None:
    assert (crash_run.crashes, crash_run.timeouts) == (2, 1)
    assert crash_run.log.count("Runtime exited with error: signal: killed") == 2
    assert crash_run.log.count(f"Task timed out after {OCR_TIMEOUT_S:.2f} seconds") == 1
    assert crash_run.errors_metric == 3  # AWS/Lambda Errors, as `docpipe status` reads it


def test_no_worker_child_or_temporary_file_is_left(crash_run: CrashRun) -> None:
    deadline = time.monotonic() + 5  # the system's init reaps the orphans it was handed
    while any(group_members(pid) for pid in crash_run.worker_pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in crash_run.worker_pids if group_members(pid)] == []
    assert not os.path.exists(f"/proc/{crash_run.stalled['child']}")  # the hung tesseract
    assert not Path(str(crash_run.stalled["tmp"])).exists()  # its copy of the page
    assert zombie_children() == []
    assert not crash_run.tmp_root.exists()
