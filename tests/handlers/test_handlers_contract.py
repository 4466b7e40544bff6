"""Each function reads exactly the environment the stack writes for it.

The environment comes from the dev stack's registrations (its resources swapped for the
test's), a real message goes through the real handler, and every variable the handler looks
up is recorded: a variable the stack writes that no handler reads is dead configuration, a
contract variable a handler reads that the stack does not write is a deployment bug.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import render
from handler_fixtures import (  # noqa: F401  (fixtures, registered by name)
    Aws,
    aws_fixture,
    env_fixture,
    load_event,
    nltk_data_fixture,
    sqs_event,
    stack_environment,
    stage_env_fixture,
)

from contract import settings
from contract.messages import Document, Source
from handlers import classify, ocr, runtime, summarize, sweep

CONTRACT_NAMES = {
    value.name for value in vars(settings).values() if isinstance(value, settings.Variable)
}
LETTER = "Dear Ms. Jensen,\n\nThank you for your visit. It was a pleasure.\n\nKind regards,\nOle"


class RecordingEnviron(dict[str, str]):
    """os.environ's stand-in that remembers every name looked up."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)

    def setdefault(self, key: str, default: str) -> str:
        self.read.add(key)
        return super().setdefault(key, default)


def forget_cached_settings() -> None:
    """Handlers cache what they build from settings (logger, metrics, nltk's tokenizer) for a
    warm container; a cold start reads them again."""
    for name, module in list(sys.modules.items()):
        if not name.startswith("handlers."):
            continue
        for value in vars(module).values():
            if hasattr(value, "cache_clear") and value is not runtime.client:
                value.cache_clear()


def document(aws: Aws, *, summary: bool) -> str:
    etag = aws.put("incoming/letter.pdf", b"%PDF-1.4 stand-in")
    source = Source(aws.bucket, "incoming/letter.pdf", etag)
    keys = {"text": f"text/{source.doc_id}.txt"}
    aws.put(keys["text"], LETTER.encode())
    if summary:
        keys["summary"] = f"summaries/{source.doc_id}.txt"
        aws.put(keys["summary"], b"Thank you for your visit.")
    return Document(source.doc_id, source, "ocr", keys, 1, 0.9).to_json()


def upload_event(aws: Aws) -> str:
    page = render.to_bytes(render.render_page("Invoice total").crop((0, 0, 2550, 500)), "PNG")
    etag = aws.put("incoming/scan.png", page)
    event = load_event("s3_object_created_spaces.json")
    record = event["Records"][0]["s3"]
    record["bucket"]["name"], record["object"]["key"] = aws.bucket, "incoming/scan.png"
    record["object"]["eTag"] = etag
    return json.dumps(event)


MESSAGES: dict[str, Callable[[Aws], str]] = {
    "ocr": upload_event,
    "summarize": lambda aws: document(aws, summary=False),
    "classify": lambda aws: document(aws, summary=True),
    "sweep": lambda aws: json.dumps(load_event("scheduler_sweep.json")),
}
HANDLERS = {"ocr": ocr, "summarize": summarize, "classify": classify, "sweep": sweep}


@pytest.mark.parametrize("stage", sorted(HANDLERS))
def test_the_handler_reads_exactly_the_variables_the_stack_writes(
    stage: str,
    stage_env: Callable[[str], Aws],
    monkeypatch: pytest.MonkeyPatch,
    nltk_data: Path,
) -> None:
    # GIVEN the stage's environment as the dev stack writes it, and a valid message
    aws = stage_env(stage)
    body = MESSAGES[stage](aws)
    recording = RecordingEnviron(dict(os.environ))
    monkeypatch.setattr(os, "environ", recording)
    forget_cached_settings()

    # WHEN its handler processes the message
    response = HANDLERS[stage].lambda_handler(sqs_event(body), None)

    # THEN it succeeded, and the contract variables it read are the ones the stack wrote
    assert response == {"batchItemFailures": []}
    assert recording.read & CONTRACT_NAMES == set(stack_environment(stage))
