"""Run the real `__main__.py` for dev and prod once per session (reusable by other tests).

Anywhere under tests/ (pytest puts tests/, the folder of the root conftest.py, on sys.path)::

    from stack_helpers import run_stack, stack_run
    run = stack_run("prod")                                    # cached StackRun: do not mutate
    fresh = run_stack("dev", {"alarmEmail": "a@example.com"})  # uncached, config overrides

Elsewhere, `mockrun.run_program("dev")` is the same thing without the cache.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from contract import stages
from mockrun import StackRun, run_program
from mockrun.capture import Registration

STAGES = stages.TABLE.names


def run_stack(stack: str, overrides: Mapping[str, str] | None = None) -> StackRun:
    return run_program(stack, config_overrides=overrides)


@functools.cache
def stack_run(stack: str) -> StackRun:
    """One run of `stack` per test session: tests must not mutate what it returns."""
    return run_program(stack)


def component(run: StackRun, name: str) -> Registration:
    return run.named(name)


def children(run: StackRun, parent: Registration) -> list[Registration]:
    return [r for r in run.registrations if r.parent == parent.urn]
