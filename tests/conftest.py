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
