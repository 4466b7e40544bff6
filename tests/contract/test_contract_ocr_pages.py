"""The OCR page limit: derived from the timeout with headroom over a measured cost a page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contract import ocr, stages
from contract import settings as env

DURATIONS = Path(__file__).resolve().parents[2] / "bench" / "stage_durations.json"


def test_the_cost_a_page_is_the_measured_one() -> None:
    # One figure, re-measured by bench/stage_durations.py: a new OCR engine must update it.
    measured = json.loads(DURATIONS.read_text())["ocr_seconds_per_page"]
    assert measured == ocr.SECONDS_PER_PAGE, (
        f"bench/stage_durations.json measured {measured} s a page: copy it into "
        "contract/ocr.py SECONDS_PER_PAGE and update OCR_MAX_PAGES's default"
    )


@pytest.mark.parametrize(
    ("timeout", "memory", "pages"),
    [
        (180, 2048, 69),  # (180 - 10) / (2 x 1.2188)
        (180, 3008, 69),  # above one vCPU tesseract's single thread is no faster
        (180, 1769, 69),
        (180, 1024, 40),  # (180 - 10) / (2 x 1.2188 x 1769 / 1024)
        (300, 2048, 118),
        (900, 10240, 365),
        (12, 2048, 1),  # never below one page
        (3, 128, 1),
    ],
)
def test_max_pages_for(timeout: int, memory: int, pages: int) -> None:
    assert ocr.max_pages_for(timeout, memory) == pages


def page_budget(memory: int) -> float:
    return ocr.HEADROOM * ocr.seconds_per_page(memory)


def test_a_document_at_the_limit_leaves_the_headroom_spare() -> None:
    for timeout in range(20, 901, 7):
        for memory in (128, 512, 1024, 1769, 2048, 3008, 10240):
            pages = ocr.max_pages_for(timeout, memory)
            if timeout - ocr.STARTUP_SECONDS < page_budget(memory):
                assert pages == 1  # not even one page fits: the limit never goes below one
                continue
            spent = pages * ocr.seconds_per_page(memory)
            assert spent * ocr.HEADROOM + ocr.STARTUP_SECONDS <= timeout
            one_more = (pages + 1) * ocr.seconds_per_page(memory)
            assert one_more * ocr.HEADROOM + ocr.STARTUP_SECONDS > timeout


def test_the_handlers_default_is_what_the_ocr_defaults_allow() -> None:
    defaults = stages.TABLE["ocr"].defaults
    limit = ocr.max_pages_for(defaults.timeout, defaults.memory_size)
    assert env.OCR_MAX_PAGES.default == limit
    assert limit >= 50  # the longest document the pipeline promises to read
