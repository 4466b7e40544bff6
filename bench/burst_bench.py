"""Bursts of documents through local mode as the results table grows.

One dev-stack deployment (real handlers, worker processes, IAM on), then `--bursts` bursts of
`--documents` uploads each, back to back: the first on an empty table, each later one on a
table that already holds every earlier burst's items (with the defaults, 0, 300 and 600).
Each document is a copy of one of the samples (the documents of `samples/`, in turn) under
a key of its own (`incoming/burst<n>/doc<i>.<ext>`), so each is a
document of its own. For each burst:

- documents a minute: uploads from the first PutObject to the last document settled;
- peak memory: the most the whole process tree (this process, which runs the emulator and
  the pollers, plus every worker and the tesseract processes they start) held at once, the
  sum of their resident set sizes sampled from /proc every 0.25 s (Linux);
- the watcher's poll: what `docpipe local run` spends per look at the ledger and the DLQs,
  which must not grow with the table (it reads the items of unsettled uploads only);
- statuses and lost: every document must be done, none lost.

Usage: .venv/bin/python bench/burst_bench.py [--documents 300] [--bursts 3]
       [--append bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from local_bench import documents, samples_in_turn  # noqa: E402

from local.run import Upload, Watcher, build_report, upload  # noqa: E402
from local.runtime import RuntimeOptions  # noqa: E402
from local.session import LocalSession, SessionOptions  # noqa: E402

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _processes() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, resident KiB) of every process, from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            resident_pages = int((entry / "statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue  # it ended while being read
        found[int(entry.name)] = (int(fields[1]), resident_pages * PAGE_KB)
    return found


def tree_rss_kib(root: int) -> int:
    """Resident memory of `root` and all its descendants, KiB."""
    processes = _processes()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += processes.get(pid, (0, 0))[1]
        stack += children.get(pid, [])
    return total


class PeakMemory:
    """Samples the process tree's resident memory until stopped; keeps the peak."""

    def __init__(self, interval_s: float = 0.25) -> None:
        self.interval_s = interval_s
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, tree_rss_kib(os.getpid()))
            self._stop.wait(self.interval_s)


def item_count(session: LocalSession) -> int:
    dynamodb, count = session.client("dynamodb"), 0
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=session.outputs["table_name"], Select="COUNT"
    )
    for page in pages:
        count += page["Count"]
    return count


def burst(
    session: LocalSession, number: int, files: list[Path], timeout_s: float
) -> dict[str, Any]:
    count = len(files)
    items_before = item_count(session)
    load_before = os.getloadavg()[0]
    watcher, polls = Watcher(session), []
    with PeakMemory() as memory:
        started = time.monotonic()
        uploads: list[Upload] = upload(session, files, prefix=f"incoming/burst{number}/")
        deadline = started + timeout_s
        while True:
            poll_started = time.perf_counter()
            watcher.poll(uploads)
            polls.append(time.perf_counter() - poll_started)
            if watcher.settled(uploads) == len(uploads) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        elapsed = time.monotonic() - started
    report = build_report(session, uploads, watcher, elapsed)
    watcher.release()
    return {
        "burst": number,
        "items_before": items_before,
        "documents": count,
        "wall_s": round(elapsed, 1),
        "docs_per_min": round(count / elapsed * 60),
        "peak_rss_mib": round(memory.peak_kib / 1024),
        "poll_ms_median": round(statistics.median(polls) * 1000, 1),
        "poll_ms_last10": round(statistics.mean(polls[-10:]) * 1000, 1),
        "statuses": dict(Counter(d.status for d in report.documents)),
        "lost": report.lost,
        # the machine is shared: the 1-minute load average at the start and at the end
        "load": f"{load_before:.1f}-{os.getloadavg()[0]:.1f}",
    }


def markdown(results: list[dict[str, Any]], load: str, command: str) -> str:
    measured = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        "",
        "## Bursts as the table grows (`bench/burst_bench.py`)",
        "",
        f"{results[0]['documents']} documents a burst ({samples_in_turn()}, each under "
        "a key of its own), dev stack settings (maximum concurrency 2 per stage, at most 4 "
        f"workers per function), {os.cpu_count()} cores shared with other engineers' runs, "
        f"Python {platform.python_version()}, measured {measured}. Command: `{command}`.",
        "",
        "| burst | items in the table before | docs/min | wall s | peak RSS of the process "
        "tree MiB | watcher poll ms (median, last 10) | done | lost | load average |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['burst']} | {r['items_before']} | {r['docs_per_min']} | {r['wall_s']} | "
            f"{r['peak_rss_mib']} | {r['poll_ms_median']}, {r['poll_ms_last10']} | "
            f"{r['statuses'].get('done', 0)} | {r['lost']} | {r['load']} |"
        )
    lines += ["", f"Load average before the run: {load}.", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--bursts", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per burst")
    parser.add_argument("--append", type=Path, help="append the results section to this file")
    args = parser.parse_args()
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        options = SessionOptions(
            runtime=RuntimeOptions(schedule_interval_s=0, log_dir=Path(tmp) / "logs")
        )
        files = documents(Path(tmp) / "documents", args.documents)
        with LocalSession(options) as session:
            results = []
            for number in range(1, args.bursts + 1):
                results.append(burst(session, number, files, args.timeout))
                print(json.dumps(results[-1]), flush=True)
    command = "bench/burst_bench.py" + "".join(
        f" --{name} {value}"
        for name, value in (("documents", args.documents), ("bursts", args.bursts))
    )
    section = markdown(results, load, f".venv/bin/python {command}")
    print(section)
    if args.append:
        with args.append.open("a") as out:
            out.write(section)
    return 0 if all(r["lost"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
