"""Summarize stage: the document's text -> `summaries/{doc_id}.txt` -> the next stage.

Lambda entry point: `handlers.summarize.lambda_handler` (SQS batches of document messages).
Debugging without AWS: `python -m handlers.summarize FILE.txt` prints the summary as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contract.errors import DocumentError
from contract.layout import SUMMARIES
from contract.ledger import stage_done
from handlers import config, ledger, runtime, steps
from handlers.textio import read_local_text, read_s3_text

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

STAGE = "summarize"


def lambda_handler(event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
    return dict(runtime.run_batch(STAGE, event, context, handle_record))


def step_handler(event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
    """A workflow step (docpipe:orchestration = stepfunctions): the document message in,
    the advanced one out (handlers/steps.py)."""
    return steps.run_step(STAGE, event, context, handle_record)


def handle_record(record: SQSRecord) -> None:
    from handlers.summarizer import summarize

    document = runtime.take(record, STAGE)
    if document is None:
        return
    bucket = document.source.bucket
    with runtime.timed() as elapsed_ms:
        text = read_s3_text(bucket, document.key("text"))
        summary = summarize(text, config.SummaryBounds.from_env())
        summary_key = SUMMARIES.key_for(document.doc_id)
        runtime.put_text(bucket, summary_key, summary.summary)
    result = document.advanced(
        STAGE,
        elapsed_ms(),
        keys={"summary": summary_key},
        summary_sentences=len(summary.sentences),
    )
    runtime.forward(result)
    # After the hand-off: a retry after a crash in between sends again (stages are idempotent).
    ledger.advance(document.source, STAGE, stage_done(STAGE))
    runtime.logger(STAGE).info(
        "summarized",
        extra={
            "doc_id": document.doc_id,
            "sentences": summary.total_sentences,
            "chosen": len(summary.sentences),
            "truncated": summary.truncated,
            "ms": result.timings_ms[STAGE],
        },
    )
    runtime.count(STAGE, "SummarizeDuration", result.timings_ms[STAGE], "Milliseconds")
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

    from contract import settings as env

    if os.environ.get(env.NLTK_DATA.name):
        return
    try:
        from packager.nltk_data import bundle
    except ImportError:
        return  # not a checkout (e.g. inside Lambda): NLTK_DATA must be set by the stack
    os.environ[env.NLTK_DATA.name] = str(bundle())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
