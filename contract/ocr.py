"""The OCR stage's engine and pixel budgets: what the stack decides and the handlers read.

Pixel budgets. Peak memory while one page is OCR'd grows by at most BYTES_PER_PIXEL bytes per
page pixel (bench/pixel_bench.py: 4-6 for grayscale, about 15 for colour, whichever engine),
above what the process holds anyway (runtime, libraries, model, the document's bytes:
RESERVED_MB). The page limit assumes pages of about A4 at 300 DPI; the document budget is that
many such pages, the work the function's timeout allows.
"""

from __future__ import annotations

import re

ENGINES = ("tesserocr", "pytesseract")
"""tesserocr runs libtesseract in process from the function's own layer; pytesseract drives a
`tesseract` binary a user's layer or container image brings."""
DEFAULT_ENGINE = "tesserocr"
LAMBDA_TESSDATA = "/opt/python/tessdata"
"""Where the OCR layer's traineddata is on Lambda (layers unpack under /opt)."""
DEFAULT_MEMORY_MB = 2048
"""The ocr function's default memory (contract/stages.py)."""

# tesseract's language names: eng, deu, chi_sim, script/Latin (lowercase or not)
_LANGUAGE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(/[A-Za-z][A-Za-z0-9_]*)?$")

BYTES_PER_PIXEL = 16
RESERVED_MB = 320
PAGE_PIXELS_AT_300_DPI = 2480 * 3508


def page_pixel_budget(memory_mb: int) -> int:
    """The largest page image (pixels) a function of `memory_mb` can OCR without running out
    of memory; at least one megapixel (a page is then rendered small, never refused)."""
    return max(1_000_000, (int(memory_mb) - RESERVED_MB) * 1024 * 1024 // BYTES_PER_PIXEL)


def document_pixel_budget(max_pages: int) -> int:
    """Pixels OCR'd per document: the page limit's worth of A4 pages at 300 DPI."""
    return int(max_pages) * PAGE_PIXELS_AT_300_DPI


def languages(spec: str) -> list[str]:
    """`eng+deu` -> ["eng", "deu"] (tesseract's syntax), in order, each once."""
    names = [name.strip() for name in spec.split("+")]
    if not spec.strip() or not all(_LANGUAGE.match(name) for name in names):
        raise ValueError(
            f"ocrLanguage {spec!r} is not a tesseract language list such as eng or eng+deu"
        )
    return list(dict.fromkeys(names))
