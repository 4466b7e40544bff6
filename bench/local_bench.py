"""Local mode vs the same handlers called directly: throughput and latency per document.

Both runs deploy the dev stack onto the emulator and process the same documents:
- local mode: upload under incoming/; S3 notifies the OCR queue; pollers, worker processes,
  role credentials and queues carry each document to its result item. Latency per document
  runs from its upload to the end of the classify invocation that wrote its item.
- direct: nothing polls; this process receives each stage's message itself and calls
  `handlers.<stage>.lambda_handler` in a loop, one document after another. Latency per document
  runs from its upload to the return of its classify call.

Usage: .venv/bin/python bench/local_bench.py [--documents 12] [--append bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from local.poller import lambda_record  # noqa: E402
from local.run import document_files, upload, wait_until_settled  # noqa: E402
from local.runtime import RuntimeOptions  # noqa: E402
from local.session import LocalSession, SessionOptions  # noqa: E402

STAGES = ("ocr", "summarize", "classify")


def samples() -> list[Path]:
    """The documents of `samples/` that local mode uploads, in order."""
    return document_files([ROOT / "samples"])


def samples_in_turn() -> str:
    """How the results describe the documents: which samples they cycle through."""
    names = [path.name for path in samples()]
    return f"the {len(names)} `samples/` in turn: {', '.join(names)}"


def documents(folder: Path, count: int) -> list[Path]:
    """`count` documents cycling through the samples (each copy a distinct upload)."""
    cycle = samples()
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        source = cycle[i % len(cycle)]
        path = folder / f"doc{i:03d}{source.suffix}"
        path.write_bytes(source.read_bytes())
        paths.append(path)
    return paths


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(name: str, wall_s: float, latencies: list[float]) -> dict[str, Any]:
    return {
        "mode": name,
        "documents": len(latencies),
        "wall_s": round(wall_s, 2),
        "docs_per_s": round(len(latencies) / wall_s, 3),
        "p50_s": round(percentile(latencies, 50), 2),
        "p90_s": round(percentile(latencies, 90), 2),
        "p99_s": round(percentile(latencies, 99), 2),
        "max_s": round(max(latencies), 2),
        "mean_s": round(statistics.mean(latencies), 2),
    }


def run_local_mode(files: list[Path], log_dir: Path) -> dict[str, Any]:
    options = SessionOptions(runtime=RuntimeOptions(schedule_interval_s=0, log_dir=log_dir))
    with LocalSession(options) as session:
        started = time.time()
        uploads, uploaded_at = [], {}
        for path in files:  # one at a time, so each upload has its own start time
            (item,) = upload(session, [path])
            uploads.append(item)
            uploaded_at[item.doc_id] = time.time()
        watcher = wait_until_settled(session, uploads, timeout_s=900)
        assert session.runtime is not None
        done_at = session.runtime.stats.done_at["classify"]
        missing = [u.source for u in uploads if u.doc_id not in done_at]
        if missing or len(watcher.items) != len(files):
            raise SystemExit(f"local mode did not finish: {missing}")
        wall = max(done_at.values()) - started
        latencies = [done_at[u.doc_id] - uploaded_at[u.doc_id] for u in uploads]
    return summary("local mode (queues, pollers, worker processes)", wall, latencies)


@contextmanager
def function_environment(session: LocalSession, stage: str) -> Iterator[None]:
    """The stage's variables in this process, acting as the operator (IAM off for speed)."""
    spec = session.topology.function_for_stage(stage)
    saved = dict(os.environ)
    os.environ.update(spec.environment)
    os.environ.update(session.environment())
    if "NLTK_DATA" in spec.environment:
        from local.session import nltk_bundle

        os.environ["NLTK_DATA"] = str(nltk_bundle())
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def call_stage(session: LocalSession, stage: str, handlers: dict[str, Any]) -> None:
    """Receive this stage's one message and call its handler the way Lambda would."""
    sqs, url = session.client("sqs"), session.outputs["queue_urls"][stage]
    queue_arn = next(m.queue.arn for m in session.topology.mappings if m.queue.url == url)
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=5, AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            raise SystemExit(f"direct run: no message arrived on the {stage} queue")
        message = messages[0]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if "s3:TestEvent" not in message["Body"]:
            break
    with function_environment(session, stage):
        result = handlers[stage]({"Records": [lambda_record(message, queue_arn)]}, None)
    if result.get("batchItemFailures"):
        raise SystemExit(f"direct run: {stage} failed {result}")


def run_direct(files: list[Path], log_dir: Path) -> dict[str, Any]:
    import importlib

    handlers = {s: importlib.import_module(f"handlers.{s}").lambda_handler for s in STAGES}
    options = SessionOptions(start_runtime=False, runtime=RuntimeOptions(log_dir=log_dir))
    with LocalSession(options) as session:
        session.emulator.set_auth(enabled=False)  # one process plays every role
        started, latencies = time.time(), []
        for path in files:
            uploaded = time.time()
            upload(session, [path])
            for stage in STAGES:
                call_stage(session, stage, handlers)
            latencies.append(time.time() - uploaded)
        wall = time.time() - started
    return summary("direct handler calls in a loop", wall, latencies)


def markdown(results: list[dict[str, Any]], count: int, load: str) -> str:
    measured = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        "",
        "## Local mode vs direct handler calls (`bench/local_bench.py`)",
        "",
        f"{count} documents ({samples_in_turn()}), "
        f"dev stack settings (maximum concurrency 2 per stage), {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, measured {measured}.",
        f"Command: `.venv/bin/python bench/local_bench.py --documents {count}`.",
        "",
        "| mode | docs | wall s | docs/s | p50 s | p90 s | p99 s | max s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['mode']} | {r['documents']} | {r['wall_s']} | {r['docs_per_s']} | "
            f"{r['p50_s']} | {r['p90_s']} | {r['p99_s']} | {r['max_s']} |"
        )
    local, direct = results
    ratio = local["docs_per_s"] / direct["docs_per_s"]
    lines += [
        "",
        f"Local mode ran at {ratio:.2f}x the direct loop's throughput; its median latency was "
        f"{local['p50_s']} s against {direct['p50_s']} s. Load average before the runs: {load}.",
        "Latency runs from upload to result item. All documents are uploaded at once, so in",
        "local mode a document also waits in queues behind the others (two workers per stage),",
        "and each hand-off costs an S3 notification, SQS receive and delete, a process hop and",
        "IAM checks on every emulator call, with the emulator sharing one process (and the",
        "GIL) with the pollers. The direct loop runs one document at a time in one process",
        "with IAM off: its latency is the handlers' own cost. The machine is shared, so",
        "figures vary from run to run.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=12)
    parser.add_argument("--append", type=Path, help="append the results section to this file")
    args = parser.parse_args()
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = documents(folder, args.documents)
        results = [
            run_local_mode(files, folder / "logs-local"),
            run_direct(files, folder / "logs-direct"),
        ]
    print(json.dumps(results, indent=2))
    section = markdown(results, args.documents, load)
    print(section)
    if args.append:
        with args.append.open("a") as out:
            out.write(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
