"""The settings the handlers group together, read from the runtime contract's environment.

Names, types, bounds and defaults are `contract.settings`'s; the defaults also serve the
debugging CLIs and tests, which run without the stack's environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from contract import settings as env


@dataclass(frozen=True)
class OcrLimits:
    max_bytes: int = env.OCR_MAX_BYTES.default
    max_pages: int = env.OCR_MAX_PAGES.default
    language: str = env.OCR_LANGUAGE.default

    @classmethod
    def from_env(cls) -> OcrLimits:
        return cls(
            max_bytes=env.OCR_MAX_BYTES.read(),
            max_pages=env.OCR_MAX_PAGES.read(),
            language=env.OCR_LANGUAGE.read(),
        )


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
