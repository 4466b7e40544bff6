"""Summarize stage: `text/{doc_id}.txt` -> `summaries/{doc_id}.txt` -> classify queue.

Lambda entry point: `handlers.summarize.lambda_handler` (SQS batches of `text.ready`).
Debugging without AWS: `python -m handlers.summarize FILE.txt` prints the summary as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from handlers import config, runtime
from handlers.envelope import SummaryReady, parse_text_ready, to_json
from handlers.errors import DocumentError
from handlers.textio import read_local_text, read_s3_text

STAGE = "summarize"


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return runtime.run_batch(STAGE, event, context, handle_message)


def handle_message(body: str) -> None:
    from handlers.summarizer import summarize

    prefixes = config.Prefixes.from_env()
    envelope = parse_text_ready(body, prefixes.text)
    with runtime.timed() as elapsed_ms:
        text = read_s3_text(envelope.source.bucket, envelope.text_key)
        summary = summarize(text, config.SummaryBounds.from_env())
        summary_key = f"{prefixes.summaries}{envelope.doc_id}.txt"
        runtime.client("s3").put_object(
            Bucket=envelope.source.bucket,
            Key=summary_key,
            Body=summary.summary.encode("utf-8"),
            ContentType="text/plain; charset=utf-8",
        )
    timings = {**envelope.timings_ms, STAGE: elapsed_ms()}
    result = SummaryReady(
        doc_id=envelope.doc_id,
        source=envelope.source,
        text_key=envelope.text_key,
        summary_key=summary_key,
        summary_sentences=len(summary.sentences),
        pages=envelope.pages,
        ocr_confidence=envelope.ocr_confidence,
        timings_ms=timings,
    )
    runtime.client("sqs").send_message(
        QueueUrl=config.next_queue_url(), MessageBody=to_json(result)
    )
    runtime.logger(STAGE).info(
        "summarized",
        extra={
            "doc_id": envelope.doc_id,
            "sentences": summary.total_sentences,
            "chosen": len(summary.sentences),
            "truncated": summary.truncated,
            "ms": timings[STAGE],
        },
    )
    runtime.count(STAGE, "SummarizeDuration", timings[STAGE], "Milliseconds")
    runtime.count(STAGE, "SentencesScored", summary.scored_sentences)


def main(argv: list[str]) -> int:
    """`python -m handlers.summarize FILE.txt`: print JSON; exit 1 on bad input."""
    from handlers.summarizer import summarize

    if len(argv) != 1:
        print("usage: python -m handlers.summarize FILE.txt", file=sys.stderr)
        return 2
    ensure_nltk_data()
    try:
        text = read_local_text(Path(argv[0]))
    except DocumentError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(
        json.dumps(summarize(text, config.SummaryBounds.from_env()).to_dict(), ensure_ascii=False)
    )
    return 0


def ensure_nltk_data() -> None:
    """CLIs in a checkout: without NLTK_DATA, write and use the repo's `dist/nltk_data`."""
    import os

    if os.environ.get("NLTK_DATA"):
        return
    try:
        from packager.nltk_data import bundle
    except ImportError:
        return  # not a checkout (e.g. inside Lambda): NLTK_DATA must be set by the stack
    os.environ["NLTK_DATA"] = str(bundle())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
