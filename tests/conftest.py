"""Shared fixtures: Pulumi's mock runtime is process-global, so each test gets a fresh one."""

from __future__ import annotations

from collections.abc import Iterator

import pulumi
import pytest
from pulumi.runtime.settings import ROOT

from mockrun import CapturingMonitor, RealisticMocks


@pytest.fixture
def monitor() -> Iterator[CapturingMonitor]:
    """A capturing mock monitor installed for this test (use with @pulumi.runtime.test)."""
    ROOT.set(None)
    capturing = CapturingMonitor(RealisticMocks())
    pulumi.runtime.set_mocks(
        capturing.mocks, project="docpipe", stack="test", preview=False, monitor=capturing
    )
    yield capturing
    ROOT.set(None)


@pytest.fixture(autouse=True)
def pil_image_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The OCR engine sets PIL's process-wide pixel limit to its page budget (right on
    Lambda, one budget per process); each test starts from PIL's own limit again, so a small
    budget in one test does not make another test's page a decompression bomb."""
    from PIL import Image

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)
