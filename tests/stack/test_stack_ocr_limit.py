"""The OCR page limit each stack writes leaves the OCR function time to spare.

Independent of how the limit is computed: the measured cost a page (bench/stage_durations.json),
slowed by Lambda's CPU share below one vCPU, for the longest document the limit admits, must
fit in half the function's timeout. With no headroom a document near the limit times out on
every try (and reaches the DLQ 45 minutes later with no reason) instead of being refused.
"""

from __future__ import annotations

import json

import pytest
from stack_helpers import stack_run

from mockrun import PROJECT_DIR

FULL_VCPU_MB = 1769  # https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_longest_admitted_document_fits_in_half_the_ocr_timeout(stack: str) -> None:
    function = stack_run(stack).named("docpipe-ocr-function").inputs
    pages = int(function["environment"]["variables"]["OCR_MAX_PAGES"])
    durations = json.loads((PROJECT_DIR / "bench" / "stage_durations.json").read_text())
    slowdown = max(1.0, FULL_VCPU_MB / function["memorySize"])
    seconds = pages * durations["ocr_seconds_per_page"] * slowdown
    assert seconds <= function["timeout"] / 2, (
        f"{pages} pages take {seconds:.0f} s at the measured rate, more than half the "
        f"{function['timeout']:.0f} s timeout"
    )
