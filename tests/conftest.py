"""Shared fixtures: Pulumi's mock runtime is process-global, so each test gets a fresh one."""

from __future__ import annotations

import functools
import gc
from collections.abc import Iterator

import pulumi
import pytest
from pulumi.runtime.settings import ROOT

from mockrun import CapturingMonitor, RealisticMocks
from mockrun.program import without_source_positions

# Young objects the collector lets pile up before it runs. A mock run or a gate evaluation
# makes hundreds of thousands of small short-lived objects; at CPython's default (700) the
# collector runs thousands of times per run, and each older-generation pass walks every object
# the session holds.
YOUNG_OBJECTS_PER_COLLECTION = 20_000


def pytest_configure(config: pytest.Config) -> None:
    """One botocore loader for every session the tests make: a new boto3 session otherwise
    reads and parses each service's model files again (tens of milliseconds per client), and
    the tests make a session per emulator, per mock_aws() and per target. The loader only
    caches what it reads from botocore's data files."""
    import botocore.session

    botocore.session.create_loader = functools.cache(botocore.session.create_loader)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move what imports and collection made (modules, pulumi_aws's classes, the test items)
    out of the collector's sight: it lives until the session ends, and walking it again on
    every full collection was a large share of the suite's time."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS_PER_COLLECTION, *gc.get_threshold()[1:])


@pytest.fixture
def monitor() -> Iterator[CapturingMonitor]:
    """A capturing mock monitor installed for this test (use with @pulumi.runtime.test)."""
    ROOT.set(None)
    capturing = CapturingMonitor(RealisticMocks())
    pulumi.runtime.set_mocks(
        capturing.mocks, project="docpipe", stack="test", preview=False, monitor=capturing
    )
    with without_source_positions():
        yield capturing
    ROOT.set(None)


@pytest.fixture(autouse=True)
def pil_image_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The OCR engine sets PIL's process-wide pixel limit to its page budget (right on
    Lambda, one budget per process); each test starts from PIL's own limit again, so a small
    budget in one test does not make another test's page a decompression bomb."""
    from PIL import Image

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)
