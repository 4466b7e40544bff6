"""Queues vs Step Functions in local mode: the same documents through both orchestrations.

One run deploys the dev stack onto the emulator twice, once per orchestration
(`docpipe:orchestration` queues, then stepfunctions with a Standard workflow), uploads the
same documents (the samples in turn, each copy a distinct upload) all at once, and watches
the ledger until every document is settled. Latency per document runs from its upload to the
poll that first sees it settled (polls every 0.2 s in both runs). Beside the measured figures
it prints what `docpipe cost` prices for each orchestration at 100,000 documents a month.

Usage: .venv/bin/python bench/orchestration_bench.py [--documents 32] [--append bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from local_bench import documents, samples_in_turn, summary  # noqa: E402

from contract import ledger  # noqa: E402
from local.run import Watcher, upload  # noqa: E402
from local.runtime import RuntimeOptions  # noqa: E402
from local.session import LocalSession, SessionOptions  # noqa: E402
from ops.cost import Assumptions, Estimate, compare_orchestrations  # noqa: E402

POLL_S = 0.2
MONTHLY_DOCUMENTS = 100_000
RUNS = {
    "queues": {"orchestration": "queues"},
    "stepfunctions (Standard)": {"orchestration": "stepfunctions", "workflowType": "STANDARD"},
}


def run(name: str, config: dict[str, str], files: list[Path], log_dir: Path) -> dict[str, Any]:
    options = SessionOptions(
        config_overrides=config,
        runtime=RuntimeOptions(schedule_interval_s=0, log_dir=log_dir),
    )
    with LocalSession(options) as session:
        started = time.time()
        uploads, uploaded_at = [], {}
        for path in files:
            (item,) = upload(session, [path])
            uploads.append(item)
            uploaded_at[item.doc_id] = time.time()
        watcher, settled_at = Watcher(session), {}
        deadline = time.monotonic() + 900
        while len(settled_at) < len(uploads) and time.monotonic() < deadline:
            watcher.poll(uploads)
            now = time.time()
            for item in uploads:
                status = watcher.status_of(item.doc_id)
                if status and ledger.is_settled(status):
                    settled_at.setdefault(item.doc_id, now)
            time.sleep(POLL_S)
        if len(settled_at) != len(uploads):
            raise SystemExit(f"{name}: {len(uploads) - len(settled_at)} documents unsettled")
        not_done = [u.source for u in uploads if watcher.status_of(u.doc_id) != ledger.DONE]
        if not_done:
            raise SystemExit(f"{name}: not done: {not_done}")
        assert session.runtime is not None
        stats = session.runtime.stats
        result = summary(
            name,
            max(settled_at.values()) - started,
            [settled_at[u.doc_id] - uploaded_at[u.doc_id] for u in uploads],
        )
        result["invocations"] = sum(stats.invocations.values())
        result["throttles"] = sum(stats.throttles.values())
        result["executions"] = sum(stats.executions_started.values())
    return result


def priced() -> dict[str, Estimate | str]:
    return compare_orchestrations("dev", Assumptions(docs_per_month=MONTHLY_DOCUMENTS))


def markdown(
    results: list[dict[str, Any]], prices: dict[str, Estimate | str], count: int, load: str
) -> str:
    measured = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        "",
        "## Queues vs Step Functions in local mode (`bench/orchestration_bench.py`)",
        "",
        f"{count} documents ({samples_in_turn()}), uploaded at once, dev stack settings "
        "(maximum concurrency 2 per stage: the mappings' with queues, the functions' reserved "
        f"concurrency with Step Functions), {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, measured {measured}, one run of each, one after the other.",
        f"Command: `.venv/bin/python bench/orchestration_bench.py --documents {count}`.",
        "",
        "| orchestration | docs | wall s | docs/s | p50 s | p90 s | max s | invocations | "
        "throttled | executions |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['mode']} | {r['documents']} | {r['wall_s']} | {r['docs_per_s']} | "
            f"{r['p50_s']} | {r['p90_s']} | {r['max_s']} | {r['invocations']} | "
            f"{r['throttles']} | {r['executions']} |"
        )
    queues, workflow = results
    lines += [
        "",
        f"The workflow ran at {workflow['docs_per_s'] / queues['docs_per_s']:.2f}x the queues' "
        f"throughput, median latency {workflow['p50_s']} s against {queues['p50_s']} s. "
        f"Load average before the runs: {load}.",
        "",
        f"Priced by `docpipe cost --stack dev --docs-per-month {MONTHLY_DOCUMENTS}` "
        "(ops/prices.json; Lambda, S3, DynamoDB and the rest are the same work in each):",
        "",
        "| orchestration | lines that differ (USD / month) | total USD / month |",
        "|---|---|---|",
    ]
    for name, estimate in prices.items():
        if isinstance(estimate, str):
            lines.append(f"| {name} | not possible: {estimate} | - |")
            continue
        differ = ", ".join(
            f"{k} {v:.2f}"
            for k, v in estimate.lines.items()
            if k.startswith(("sqs", "pipes", "step functions"))
        )
        lines.append(f"| {name} | {differ} | {estimate.total_usd_per_month:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=32)
    parser.add_argument("--append", type=Path, help="append the results section to this file")
    args = parser.parse_args()
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = documents(folder, args.documents)
        results = [
            run(name, config, files, folder / f"logs-{index}")
            for index, (name, config) in enumerate(RUNS.items())
        ]
    prices = priced()
    print(json.dumps(results, indent=2))
    section = markdown(results, prices, args.documents, load)
    print(section)
    if args.append:
        with args.append.open("a") as out:
            out.write(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
