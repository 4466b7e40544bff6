"""The OCR stage's engine, page and pixel budgets: what the stack decides and the handlers read.

Pixel budgets. Peak memory while one page is OCR'd grows by at most BYTES_PER_PIXEL bytes per
page pixel (bench/pixel_bench.py: 4-6 for grayscale, about 15 for colour, whichever engine),
above what the process holds anyway (runtime, libraries, model, the document's bytes:
RESERVED_MB). The page limit assumes pages of about A4 at 300 DPI; the document budget is that
many such pages, the work the function's timeout allows.

Page budget. How many pages the OCR function can finish within its timeout, with headroom.

A document the function cannot finish times out on every try and reaches the DLQ after
`maxReceiveCount` x the visibility timeout, with no reason given; a document above the page
limit is refused at once with a typed error. So the limit must sit well inside the timeout:

    seconds_per_page = SECONDS_PER_PAGE x max(1, FULL_VCPU_MB / memory_mb)
    max_pages        = floor((timeout - STARTUP_SECONDS) / (HEADROOM x seconds_per_page))

With the OCR stage's defaults (180 s, 2048 MB): floor(170 / (2 x 1.2188)) = 69 pages.

Re-measure after changing the OCR engine: `.venv/bin/python bench/stage_durations.py`, then
copy its `ocr_seconds_per_page` into SECONDS_PER_PAGE (a test compares the two) and set
`contract.settings.OCR_MAX_PAGES`'s default to what the default timeout now allows.
"""

from __future__ import annotations

import math
import re

from contract.aws import FULL_VCPU_MB

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


# -- the page budget ---------------------------------------------------------------------

SECONDS_PER_PAGE = 1.2188
"""OCR of one full 300-DPI page of running text on one core of the bench machine, with
OMP_THREAD_LIMIT=1 as on Lambda: `ocr_seconds_per_page` in bench/stage_durations.json."""

HEADROOM = 2.0
"""Each page is budgeted twice its measured time. The same page measured 1.22 s
(bench/stage_durations.json) to 2.06 s (bench/RESULTS.md, through the handler) on the shared
bench machine; a Lambda vCPU may be slower than its core, and a dense page (small print,
tables) takes longer than the benchmark's."""

STARTUP_SECONDS = 10
"""Fixed time per invocation before and after the pages: a cold start's imports and model
load (about 0.6 s measured), downloading an upload of up to 25 MiB, writing the text."""


def seconds_per_page(memory_mb: float) -> float:
    """Measured seconds a page at `memory_mb`: tesseract runs on one thread, so it is slowed
    by a CPU share below one vCPU and not sped up above it."""
    return SECONDS_PER_PAGE * max(1.0, FULL_VCPU_MB / float(memory_mb))


def max_pages_for(timeout_seconds: float, memory_mb: float) -> int:
    """The most pages the OCR function finishes, with HEADROOM, within `timeout_seconds`."""
    budget = float(timeout_seconds) - STARTUP_SECONDS
    return max(1, math.floor(budget / (HEADROOM * seconds_per_page(memory_mb))))
