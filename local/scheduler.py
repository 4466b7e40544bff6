"""EventBridge Scheduler, locally: schedules tick on an interval and send their target input
with the schedule's role."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from local.topology import ScheduleSpec


class Periodic:
    """Runs `action` every `interval_s` on its own thread until stopped; an error in one run
    never ends the loop (the caller's action records what went wrong)."""

    def __init__(self, name: str, interval_s: float, action: Callable[[], None]) -> None:
        self.interval_s = interval_s
        self.action = action
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        if self.interval_s > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.action()
            except Exception:  # a denied send shows in the sweep's absence; keep going
                continue


class ScheduleTicker:
    """EventBridge Scheduler, locally: every `interval_s`, send each target its input."""

    def __init__(
        self,
        schedules: list[ScheduleSpec],
        client_for_role: Callable[[str], Any],
        interval_s: float,
    ) -> None:
        self.schedules = schedules
        self.client_for_role = client_for_role
        self.ticks = 0
        self._periodic = Periodic("scheduler", interval_s if schedules else 0, self.tick)

    def start(self) -> None:
        self._periodic.start()

    def stop(self) -> None:
        self._periodic.stop()

    def tick(self) -> None:
        for schedule in self.schedules:
            # The scheduler assumes the target's role: a role that may not send is an error.
            sqs = self.client_for_role(schedule.role_arn)
            sqs.send_message(QueueUrl=schedule.target_queue.url, MessageBody=schedule.message)
        self.ticks += 1
