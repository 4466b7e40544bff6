"""Damaged copies of the real documents: every failure is a typed DocumentError, never an
unhandled exception and never a hang. Deterministic: a fixed seed per document."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from contract.errors import DocumentError
from handlers.formats import DocumentLimits, detect, extract_document

DOCUMENTS = Path(__file__).resolve().parent / "documents"
NAMES = sorted(p.name for p in DOCUMENTS.iterdir() if p.name != "README.md")
MUTATIONS_PER_DOCUMENT = 150


def damaged(data: bytes, rng: random.Random) -> bytes:
    """One of: random bytes overwritten, truncated, bytes inserted, a span repeated, zeroed."""
    out = bytearray(data)
    where, count = rng.randrange(len(out)), rng.randint(1, 20)
    match rng.choice(("overwrite", "truncate", "insert", "repeat", "zero")):
        case "overwrite":
            for _ in range(count):
                out[rng.randrange(len(out))] = rng.randrange(256)
        case "truncate":
            del out[where:]
        case "insert":
            out[where:where] = bytes(rng.randrange(256) for _ in range(count))
        case "repeat":
            out[where:where] = out[where : where + rng.randint(1, 2000)] * rng.randint(1, 5)
        case _:
            out[where : where + count] = bytes(count)
    return bytes(out)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", NAMES)
def test_damaged_documents_fail_only_with_document_errors(name: str) -> None:
    rng = random.Random(name)
    data = (DOCUMENTS / name).read_bytes()
    limits = DocumentLimits(expand_archives=True)
    outcomes = {"extracted": 0, "refused": 0}
    for _ in range(MUTATIONS_PER_DOCUMENT):
        copy = damaged(data, rng)
        try:
            if detect(copy, name).needs_ocr_engine:
                continue  # a PDF: the OCR engine's own tests cover damaged PDFs
            extract_document(copy, name, limits)
            outcomes["extracted"] += 1
        except DocumentError:
            outcomes["refused"] += 1
    assert sum(outcomes.values()) > MUTATIONS_PER_DOCUMENT // 2, outcomes
