"""The Step Functions side of local mode: moto's execution engine wired to local mode's Lambda
runtime, and the pipes that start the executions.

On start, the engine's clients get the emulator's endpoint and each state machine role's STS
credentials, and its Lambda tasks go to `DirectInvoker` (`local.moto_patches.route_engine`);
one `PipePoller` per pipe then moves messages from its queue into executions. Stopping
stops the pipes first (no new executions), then unroutes the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from local import moto_patches
from local.emulator import Credentials, Emulator
from local.invoker import DirectInvoker
from local.metrics import ServiceMetrics, Stats
from local.pipe import PipePoller
from local.pool import FunctionPool
from local.topology import Topology


class WorkflowRuntime:
    """Executions and pipes for the topology's state machines (nothing without any)."""

    def __init__(
        self,
        emulator: Emulator,
        topology: Topology,
        pools: dict[str, FunctionPool],
        credentials_for: Callable[[str], Credentials],
        local_concurrency: int,
        stats: Stats,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self.emulator = emulator
        self.topology = topology
        self.credentials_for = credentials_for
        self.stats = stats
        self.invoker = DirectInvoker(topology, pools, local_concurrency, stats, metrics)
        self.pipes: list[PipePoller] = []

    def client(self, service: str, role_arn: str) -> Any:
        return self.emulator.client(service, self.credentials_for(role_arn))

    def start(self) -> None:
        if not self.topology.state_machines:
            return
        moto_patches.route_engine(
            moto_patches.EngineRoutes(
                endpoint=self.emulator.endpoint,
                credentials_for=self.credentials_for,
                invoke=self.invoker.invoke,
            )
        )
        for pipe in self.topology.pipes:
            poller = PipePoller(
                pipe,
                self.client("sqs", pipe.role_arn),
                self.client("stepfunctions", pipe.role_arn),
                self.stats,
            )
            self.pipes.append(poller)
            poller.start()

    def stop(self) -> None:
        for poller in self.pipes:
            poller.stop()
        if self.topology.state_machines:
            moto_patches.route_engine(None)
