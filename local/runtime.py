"""Lambda semantics on one machine: the worker pools, pollers and schedules of a deployment.

- `local.pool`: one worker process per warm execution environment of a function.
- `local.poller`: one poller per event source mapping, settling batches like Lambda.
- `local.scheduler`: schedules that tick locally.
- `local.metrics`: local counters, and the AWS/Lambda metrics each invocation publishes to the
  emulator's CloudWatch, for `docpipe status`.
- `local.workflow`: Step Functions executions and the pipes that start them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contract import settings as env
from handlers.config import installed_tessdata
from local.dead_letters import DeadLetterNotes
from local.emulator import REGION, Credentials, Emulator, assume_role_credentials
from local.metrics import QueueMetrics, ServiceMetrics, Stats
from local.poller import QueuePoller
from local.pool import PROJECT_DIR, FunctionPool
from local.scheduler import Periodic, ScheduleTicker
from local.topology import FunctionSpec, MappingSpec, Topology
from local.workflow import WorkflowRuntime

# Worker processes per function at most, whatever the mapping allows: a laptop is not a fleet.
DEFAULT_LOCAL_CONCURRENCY = 4
# Host variables a worker keeps (tesseract on PATH, a locale); nothing else leaks. TMPDIR is
# the worker's own (local.pool: one directory per invocation).
HOST_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TESSDATA_PREFIX")

__all__ = ["PROJECT_DIR", "LambdaRuntime", "RuntimeOptions"]


@dataclass
class RuntimeOptions:
    nltk_data: Path | None = None
    # The OCR models for the in-process engine: on Lambda its layer's /opt/python/tessdata,
    # here the tessdata packages installed into the venv.
    tessdata: Path = field(default_factory=installed_tessdata)
    log_dir: Path = PROJECT_DIR / ".docpipe" / "logs"
    local_concurrency: int = DEFAULT_LOCAL_CONCURRENCY
    schedule_interval_s: float = 60.0
    # SQS publishes its queue metrics each minute; locally a little more often.
    queue_metrics_interval_s: float = 10.0
    # stage -> "module.function": run a variant instead of the stack's handler (tests, bench)
    handler_overrides: dict[str, str] = field(default_factory=dict)
    # variables every worker gets besides the function's (tests steer their variants with it)
    extra_environment: dict[str, str] = field(default_factory=dict)
    extra_pythonpath: list[Path] = field(default_factory=list)
    # where the pollers append why each message was dead-lettered (None: kept in memory)
    dead_letters_path: Path | None = None


class LambdaRuntime:
    """Pollers, worker pools and the schedule ticker for one deployed topology."""

    def __init__(
        self,
        emulator: Emulator,
        topology: Topology,
        options: RuntimeOptions,
        service_credentials: Credentials | None = None,
    ) -> None:
        self.emulator = emulator
        self.topology = topology
        self.options = options
        self.stats = Stats()
        # The Lambda and SQS services' own calls (their metrics), made with the operator's
        # keys: the emulator has no service principal.
        cloudwatch = (
            emulator.client("cloudwatch", service_credentials) if service_credentials else None
        )
        self.metrics = ServiceMetrics(cloudwatch, self.stats) if cloudwatch else None
        queues = [queue.name for queue in topology.queues]
        self.queue_metrics = (
            Periodic(
                "sqs-metrics",
                options.queue_metrics_interval_s,
                QueueMetrics(cloudwatch, queues, self.stats).publish,
            )
            if cloudwatch
            else None
        )
        self.dead_letters = DeadLetterNotes(options.dead_letters_path)
        # Every worker's temporary files, one directory per invocation (local.pool).
        self.tmp_root = Path(tempfile.mkdtemp(prefix="docpipe-local-"))
        self._credentials: dict[str, Credentials] = {}
        self.pools: dict[str, FunctionPool] = {}
        self.pollers: list[QueuePoller] = []
        self.ticker = ScheduleTicker(
            topology.schedules, self.sqs_for_role, options.schedule_interval_s
        )
        self.workflow: WorkflowRuntime | None = None

    def credentials_for(self, role_arn: str) -> Credentials:
        if role_arn not in self._credentials:
            session = f"docpipe-local-{role_arn.rsplit('/', 1)[-1]}"[:64]
            self._credentials[role_arn] = assume_role_credentials(role_arn, session)
        return self._credentials[role_arn]

    def sqs_for_role(self, role_arn: str) -> Any:
        return self.emulator.client("sqs", self.credentials_for(role_arn))

    def function_env(self, spec: FunctionSpec) -> dict[str, str]:
        """The function's variables plus what Lambda sets, pointed at the emulator."""
        variables = {key: os.environ[key] for key in HOST_VARIABLES if key in os.environ}
        variables.update(spec.environment)
        variables.update(self.options.extra_environment)
        variables.update(self.credentials_for(spec.role_arn).as_env())
        pythonpath = [PROJECT_DIR, *self.options.extra_pythonpath]
        variables.update(
            {
                "AWS_ENDPOINT_URL": self.emulator.endpoint,
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout_s),
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
                "DOCPIPE_LOCAL_FUNCTION_ARN": spec.arn,
                "PYTHONPATH": os.pathsep.join(str(p) for p in pythonpath),
                "PYTHONUNBUFFERED": "1",
            }
        )
        # No X-Ray daemon runs locally; Powertools' tracer would only warn on every call.
        variables.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
        # /opt/python/... exists only on AWS: the local copies instead
        if self.options.nltk_data and env.NLTK_DATA.name in variables:
            variables[env.NLTK_DATA.name] = str(self.options.nltk_data)
        if env.TESSDATA_PREFIX.name in spec.environment:
            variables[env.TESSDATA_PREFIX.name] = str(self.options.tessdata)
        return variables

    def concurrency_for(self, mapping: MappingSpec) -> int:
        limits = [mapping.maximum_concurrency, self.options.local_concurrency]
        if mapping.function.reserved_concurrency >= 0:
            limits.append(mapping.function.reserved_concurrency)
        return max(0, min(limits))

    def start(self) -> None:
        self.options.log_dir.mkdir(parents=True, exist_ok=True)
        for spec in self.topology.functions:
            handler = self.options.handler_overrides.get(spec.stage, spec.handler)
            log_path = self.options.log_dir / f"{spec.stage}.log"
            self.pools[spec.name] = FunctionPool(
                spec,
                handler,
                self.function_env(spec),
                log_path,
                self.stats,
                self.metrics,
                tmp_root=self.tmp_root,
            )
        for mapping in self.topology.mappings:
            concurrency = self.concurrency_for(mapping)
            if not mapping.enabled or concurrency == 0:
                continue  # a disabled mapping, or reserved concurrency 0: Lambda does not poll
            poller = QueuePoller(
                mapping,
                self.pools[mapping.function.name],
                self.sqs_for_role(mapping.function.role_arn),
                concurrency,
                self.stats,
                self.dead_letters,
            )
            self.pollers.append(poller)
            poller.start()
        self.workflow = WorkflowRuntime(
            self.emulator,
            self.topology,
            self.pools,
            self.credentials_for,
            self.options.local_concurrency,
            self.stats,
            self.metrics,
        )
        self.workflow.start()
        self.ticker.start()
        if self.queue_metrics:
            self.queue_metrics.start()

    def stop(self) -> None:
        if self.workflow is not None:
            self.workflow.stop()  # no new executions
        self.ticker.stop()
        if self.queue_metrics:
            self.queue_metrics.stop()
        for poller in self.pollers:
            poller._stop.set()  # all stop receiving at once
        # Then end the workers, so an invocation in flight fails now instead of running out
        # its timeout (up to 15 minutes); its messages stay on their queue.
        for pool in self.pools.values():
            pool.close()
        for poller in self.pollers:
            poller.stop()
        shutil.rmtree(self.tmp_root, ignore_errors=True)
