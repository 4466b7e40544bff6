"""EventBridge Scheduler, locally: schedules tick on an interval and send their target input
with the schedule's role."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from local.topology import ScheduleSpec


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
        self.interval_s = interval_s
        self.ticks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)

    def start(self) -> None:
        if self.schedules and self.interval_s > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def tick(self) -> None:
        for schedule in self.schedules:
            # The scheduler assumes the target's role: a role that may not send is an error.
            sqs = self.client_for_role(schedule.role_arn)
            sqs.send_message(QueueUrl=schedule.target_queue.url, MessageBody=schedule.message)
        self.ticks += 1

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.tick()
            except Exception:  # a denied send shows in the sweep's absence; keep ticking
                continue
