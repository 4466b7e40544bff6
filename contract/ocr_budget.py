"""How many pages the OCR function can finish within its timeout, with headroom.

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

from contract.aws import FULL_VCPU_MB

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
