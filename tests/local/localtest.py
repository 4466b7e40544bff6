"""Helpers shared by local mode's end-to-end tests (not a conftest: mypy sees one per repo)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from local.session import LocalSession

VARIANTS_DIR = Path(__file__).resolve().parent
RENDER_PATH = VARIANTS_DIR.parent / "handlers" / "render.py"

# Text whose category the stack's default categories (Pulumi.yaml) decide without doubt.
DOCUMENT_TEXT = {
    "invoice": (
        "INVOICE No. 4411. Amount due: 1,250.00 EUR. Total payment due within 30 days. "
        "VAT included. Please make the payment to our account before the due date."
    ),
    "contract": (
        "This agreement is made between the parties. The term of this agreement is two years. "
        "Termination requires ninety days notice. Liability of each party is limited."
    ),
    "report": (
        "Quarterly report. The analysis of the results shows revenue growth. "
        "Findings: revenue increased in every region and the quarterly results are strong."
    ),
    "letter": (
        "Dear Ms. Smith, thank you for your kind letter of last week. We were glad to hear "
        "from you. Sincerely, and with kind regards, John Doe."
    ),
}


def render() -> ModuleType:
    """The handlers' test renderer (scans, PDFs with a text layer, multi-page TIFFs)."""
    spec = importlib.util.spec_from_file_location("docpipe_test_render", RENDER_PATH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_documents(folder: Path) -> dict[str, Path]:
    """One document of each kind, named by the category it must get: file name -> path."""
    r = render()
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "invoice.png": r.to_bytes(r.render_page(DOCUMENT_TEXT["invoice"]), "PNG"),
        "contract.pdf": r.text_pdf([DOCUMENT_TEXT["contract"]]),
        "report.tiff": r.multipage_tiff(
            [r.render_page(DOCUMENT_TEXT["report"]), r.render_page(DOCUMENT_TEXT["report"])]
        ),
        "letter.jpg": r.to_bytes(r.degrade(r.render_page(DOCUMENT_TEXT["letter"])), "JPEG"),
    }
    paths = {}
    for name, data in files.items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    return paths


def stages(**settings: dict[str, Any]) -> dict[str, str]:
    """A `docpipe:stages` override on top of the dev stack's own (config replaces, not merges)."""
    from mockrun import load_stack_config

    merged: dict[str, dict[str, Any]] = json.loads(load_stack_config("dev")["docpipe:stages"])
    for stage, values in settings.items():
        merged[stage] = {**merged.get(stage, {}), **values}
    return {"stages": json.dumps(merged)}


def queue_messages(session: LocalSession, url: str, limit: int = 100) -> list[dict[str, Any]]:
    """Every message of a queue (hidden for 60 s afterwards), with attributes."""
    sqs, messages = session.client("sqs"), []
    for _ in range(limit):
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60, AttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            break
        messages += batch
    return messages


def table_items(session: LocalSession) -> list[dict[str, Any]]:
    dynamodb, items = session.client("dynamodb"), []
    for page in dynamodb.get_paginator("scan").paginate(TableName=session.outputs["table_name"]):
        items += page["Items"]
    return items


def function_log(session: LocalSession, stage: str) -> str:
    assert session.runtime is not None
    return (session.runtime.options.log_dir / f"{stage}.log").read_text()
