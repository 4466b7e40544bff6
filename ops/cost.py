"""Monthly cost estimate of a docpipe stack, beside the managed alternative.

Everything the stack decides comes from its mock run (memory, architecture, schedule, log
retention, alarms, keys, the orchestration and its workflow's definition); per-stage
durations come from `bench/stage_durations.json`, which `bench/stage_durations.py` records
on this machine; prices come from `ops/prices.json`, with their date and sources.
Assumptions a stack cannot know (pages and size of a document, log volume) are explicit
arguments with defaults. `compare_orchestrations` prices one stack under each orchestration.

Under the Step Functions orchestration a document costs its workflow instead of the queue
hand-offs between stages: Standard bills each state transition (a Task or Choice entered;
retries are more, and are not counted here: a throttled burst adds one per retry), Express
bills each execution and its duration (the steps' Lambda time, at the 64 MB minimum), and
the pipe bills one request per message it starts an execution for.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from contract import orchestration as flow
from contract import settings as env
from contract import stages
from contract.aws import FULL_VCPU_MB
from mockrun import Registration
from policies import resource_types as t

PRICES_FILE = Path(__file__).with_name("prices.json")
DURATIONS_FILE = Path(__file__).resolve().parent.parent / "bench" / "stage_durations.json"
SECONDS_PER_MONTH = 30 * 24 * 3600
SWEEP = "sweep"  # its age window decides how many uploads each run looks up
# An SQS event source mapping keeps at least five long-polling receivers per queue even when
# idle; each empty 20 s long poll is one billed request.
IDLE_POLLERS = 5
LONG_POLL_SECONDS = 20
# Requests per message on each queue: SendMessage, ReceiveMessage, DeleteMessage.
SQS_REQUESTS_PER_MESSAGE = 3
# X-Ray's default sampling rule: the first request each second, then 5% of the rest.
XRAY_SAMPLE_RATE = 0.05


@dataclass(frozen=True)
class Assumptions:
    docs_per_month: int
    pages_per_doc: float = 2.0
    mb_per_doc: float = 1.0
    chars_per_page: int = 2500
    log_kb_per_invocation: float = 2.0
    months_stored: float = 1.0


@dataclass(frozen=True)
class StageSettings:
    stage: str
    memory_mb: int
    architecture: str


@dataclass
class Estimate:
    assumptions: Assumptions
    lines: dict[str, float] = field(default_factory=dict)
    managed_lines: dict[str, float] = field(default_factory=dict)

    @property
    def total_usd_per_month(self) -> float:
        return round(sum(self.lines.values()), 2)

    @property
    def managed_alternative_usd_per_month(self) -> float:
        return round(sum(self.managed_lines.values()), 2)

    def to_dict(self) -> dict[str, Any]:
        return {
            "assumptions": asdict(self.assumptions),
            "lines_usd_per_month": {k: round(v, 4) for k, v in self.lines.items()},
            "total_usd_per_month": self.total_usd_per_month,
            "managed_alternative_lines_usd_per_month": {
                k: round(v, 4) for k, v in self.managed_lines.items()
            },
            "managed_alternative_usd_per_month": self.managed_alternative_usd_per_month,
        }


def load_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def stage_settings(registrations: list[Registration]) -> dict[str, StageSettings]:
    stages = {}
    for r in registrations:
        if r.type != t.FUNCTION:
            continue
        variables = (r.inputs.get("environment") or {}).get("variables") or {}
        stage = variables.get(env.STAGE.name, r.name)
        architecture = (r.inputs.get("architectures") or ["x86_64"])[0]
        memory = int(r.inputs.get("memorySize") or 128)
        stages[stage] = StageSettings(stage, memory, architecture)
    return stages


def runs_per_month(schedule_expression: str) -> float:
    """`rate(N minutes|hours|days)`; a cron expression is taken as hourly (a lower bound)."""
    match = re.fullmatch(r"rate\((\d+) (minute|hour|day)s?\)", schedule_expression.strip())
    if not match:
        return SECONDS_PER_MONTH / 3600
    unit_seconds = {"minute": 60, "hour": 3600, "day": 86400}[match.group(2)]
    return SECONDS_PER_MONTH / (int(match.group(1)) * unit_seconds)


def _pending_uploads(usage: StackUsage, a: Assumptions) -> float:
    """What a sweep run finds under incoming/: the first stage moves every upload it takes to
    processed/ or rejected/, so at most the uploads of one sweep interval are still there."""
    return max(1.0, a.docs_per_month / max(usage.sweeps_per_month, 1.0))


# The measured unit of each kind of stage work in bench/stage_durations.json.
DURATION_UNITS = {"page": "page", "document": "doc", "tick": "object"}


def _stage_seconds(
    stage: str, durations: dict[str, Any], a: Assumptions, usage: StackUsage
) -> float | None:
    """Seconds of one invocation (per document, or per scheduled run); None when the stage
    has no measured duration."""
    work = stages.TABLE[stage].work if stage in stages.TABLE else "document"
    per_unit = durations.get(f"{stage}_seconds_per_{DURATION_UNITS[work]}")
    if per_unit is None:
        return None
    units = {"page": a.pages_per_doc, "document": 1.0, "tick": _pending_uploads(usage, a)}[work]
    return float(per_unit) * units


def _alarm_metrics(registration: Registration) -> int:
    """CloudWatch bills an alarm per metric it reads: a metric-math alarm per metric query."""
    if registration.type != t.METRIC_ALARM:
        return 0
    queries = registration.inputs.get("metricQueries") or []
    return sum(1 for query in queries if query.get("metric") is not None) or 1


def _mean_retention_days(registrations: list[Registration]) -> float:
    days = [
        float(r.inputs.get("retentionInDays") or 0) for r in registrations if r.type == t.LOG_GROUP
    ]
    return sum(days) / len(days) if days else 0.0


@dataclass(frozen=True)
class Workflow:
    """The stack's state machine, as the bill sees it."""

    type: str
    transitions_per_document: int


def _workflow(registrations: list[Registration]) -> Workflow | None:
    from components.workflow_definition import transitions_per_document

    machines = [r for r in registrations if r.type == t.STATE_MACHINE]
    if not machines:
        return None
    definition = json.loads(machines[0].inputs["definition"])
    kind = str(machines[0].inputs.get("type") or flow.STANDARD)
    return Workflow(kind, transitions_per_document(definition))


@dataclass(frozen=True)
class StackUsage:
    """What the stack decides that costs money, read once from its registrations."""

    stages: dict[str, StageSettings]
    sweeps_per_month: float
    mappings: int
    alarm_metrics: int
    dashboards: int
    kms_keys: int
    mean_log_retention_days: float
    workflow: Workflow | None = None
    pipes: int = 0

    @classmethod
    def of(cls, registrations: list[Registration]) -> StackUsage:
        def count(type_token: str) -> int:
            return sum(1 for r in registrations if r.type == type_token)

        return cls(
            stages=stage_settings(registrations),
            sweeps_per_month=sum(
                runs_per_month(r.inputs.get("scheduleExpression", ""))
                for r in registrations
                if r.type == t.SCHEDULE
            ),
            mappings=count(t.MAPPING),
            alarm_metrics=sum(_alarm_metrics(r) for r in registrations),
            dashboards=count(t.DASHBOARD),
            kms_keys=count(t.KMS_KEY),
            mean_log_retention_days=_mean_retention_days(registrations),
            workflow=_workflow(registrations),
            pipes=count(t.PIPE),
        )

    def invocations(self, stage: str, a: Assumptions) -> float:
        scheduled = stage in stages.TABLE and stages.TABLE[stage].fed_by == "schedule"
        return self.sweeps_per_month if scheduled else float(a.docs_per_month)

    def total_invocations(self, a: Assumptions) -> float:
        return sum(self.invocations(stage, a) for stage in self.stages)


Lines = dict[str, float]


def estimate(
    registrations: list[Registration],
    assumptions: Assumptions,
    prices: dict[str, Any] | None = None,
    durations: dict[str, Any] | None = None,
) -> Estimate:
    prices = prices or load_json(PRICES_FILE)
    durations = durations or load_json(DURATIONS_FILE)
    usage = StackUsage.of(registrations)
    result = Estimate(assumptions)
    for lines in (
        _lambda_lines(usage, assumptions, prices["lambda"], durations),
        _sqs_lines(usage, assumptions, prices["sqs"]),
        _workflow_lines(usage, assumptions, prices, durations),
        _s3_lines(usage, assumptions, prices["s3"]),
        _dynamodb_lines(usage, assumptions, prices["dynamodb"]),
        _observability_lines(usage, assumptions, prices),
    ):
        result.lines.update(lines)
    result.managed_lines.update(managed_alternative(assumptions, prices))
    return result


def _lambda_lines(
    usage: StackUsage, a: Assumptions, price: dict[str, Any], durations: dict[str, Any]
) -> Lines:
    lines = {}
    for stage, settings in sorted(usage.stages.items()):
        invocations = usage.invocations(stage, a)
        if _stage_seconds(stage, durations, a, usage) is None:
            lines[f"lambda {stage} compute (not measured)"] = 0.0
        seconds = _billed_seconds(stage, settings, durations, a, usage)
        gb_seconds = invocations * seconds * settings.memory_mb / 1024
        lines[f"lambda {stage} compute"] = gb_seconds * price["gb_second"][settings.architecture]
        lines[f"lambda {stage} requests"] = invocations * price["request_per_million"] / 1e6
    return lines


def _billed_seconds(
    stage: str,
    settings: StageSettings,
    durations: dict[str, Any],
    a: Assumptions,
    usage: StackUsage,
) -> float:
    """One invocation's seconds at the function's memory (0 when not measured): a
    CPU-bound stage measured on one core runs 1769/memory times longer below one vCPU."""
    measured = _stage_seconds(stage, durations, a, usage) or 0.0
    return measured * max(1.0, FULL_VCPU_MB / settings.memory_mb)


def _sqs_lines(usage: StackUsage, a: Assumptions, price: dict[str, Any]) -> Lines:
    # a pipe polls its queue as an event source mapping's pollers do
    pollers = usage.mappings + usage.pipes
    idle_polls = pollers * IDLE_POLLERS * SECONDS_PER_MONTH / LONG_POLL_SECONDS
    # each stage a document passes carries it through its queue (under a workflow, only the
    # first: the intake); the sweep queue each tick, and the first queue what the sweep sends
    # on (at most one per tick counted here)
    queued_stages = 1 if usage.workflow else len(stages.TABLE.chain())
    work_messages = queued_stages * a.docs_per_month + 2 * usage.sweeps_per_month
    requests = idle_polls + work_messages * SQS_REQUESTS_PER_MESSAGE
    return {"sqs requests": requests * price["request_per_million"] / 1e6}


def _workflow_lines(
    usage: StackUsage, a: Assumptions, prices: dict[str, Any], durations: dict[str, Any]
) -> Lines:
    workflow = usage.workflow
    if workflow is None:
        return {}
    price, docs = prices["stepfunctions"], a.docs_per_month
    lines = {"pipes requests": docs * usage.pipes * prices["pipes"]["request_per_million"] / 1e6}
    if workflow.type == flow.EXPRESS:
        # an execution lasts as long as its steps' Lambda invocations (plus milliseconds)
        seconds = sum(
            _billed_seconds(stage.name, usage.stages[stage.name], durations, a, usage)
            for stage in stages.TABLE.chain()
            if stage.name in usage.stages
        )
        gb_seconds = docs * seconds * price["express_memory_chunk_mb"] / 1024
        lines["step functions express requests"] = docs * price["express_request_per_million"] / 1e6
        lines["step functions express duration"] = gb_seconds * price["express_gb_second"]
    else:
        transitions = docs * workflow.transitions_per_document
        lines["step functions state transitions"] = (
            transitions * price["standard_transition_per_thousand"] / 1000
        )
    return lines


def _s3_lines(usage: StackUsage, a: Assumptions, price: dict[str, Any]) -> Lines:
    docs, pending = a.docs_per_month, _pending_uploads(usage, a)
    chain = stages.TABLE.chain()
    # the upload, each artifact, and the copy that moves the upload out of incoming/ (a
    # document found inside another is a document of its own: counted in docs_per_month)
    artifacts = sum(1 for stage in chain for prefix in stage.writes if not prefix.uploads)
    puts = 1 + artifacts + sum(bool(stage.archives) for stage in chain)
    gets = sum(len(stage.reads) for stage in chain)
    listings = usage.sweeps_per_month * math.ceil(pending / 1000)
    return {
        "s3 requests": (
            docs * puts * price["put_per_thousand"] / 1000
            + docs * gets * price["get_per_thousand"] / 1000
            + listings * price["list_per_thousand"] / 1000
        ),
        "s3 storage": docs * a.mb_per_doc / 1024 * a.months_stored * price["storage_gb_month"],
    }


def _dynamodb_lines(usage: StackUsage, a: Assumptions, price: dict[str, Any]) -> Lines:
    # The ledger item of a document, up to 2 KB with its summary: `received`, then one update
    # per stage, two write units each, plus two index writes per status change (the old
    # entry out, the new in: under 1 KB each). Each stage reads the item first to know a
    # replay (a strongly consistent read under 4 KB: one read unit).
    chain = len(stages.TABLE.chain())
    writes = a.docs_per_month * (chain + 1) * (2 + 2)
    reads = a.docs_per_month * chain
    # The sweep looks up the pending uploads it finds (eventually consistent: half a unit).
    checked = usage.sweeps_per_month * _pending_uploads(usage, a)
    return {
        "dynamodb ledger writes": writes * price["write_unit_per_million"] / 1e6,
        "dynamodb ledger reads": reads * price["read_unit_per_million"] / 1e6,
        "dynamodb sweep reads": checked * 0.5 * price["read_unit_per_million"] / 1e6,
    }


def _observability_lines(usage: StackUsage, a: Assumptions, prices: dict[str, Any]) -> Lines:
    cloudwatch = prices["cloudwatch"]
    invocations = usage.total_invocations(a)
    log_gb = invocations * a.log_kb_per_invocation / 1024 / 1024
    stored_months = min(usage.mean_log_retention_days / 30, 1.0)
    traced = min(invocations, SECONDS_PER_MONTH) + XRAY_SAMPLE_RATE * max(
        0.0, invocations - SECONDS_PER_MONTH
    )
    return {
        "cloudwatch logs": log_gb * cloudwatch["logs_ingest_per_gb"]
        + log_gb * stored_months * cloudwatch["logs_storage_gb_month"],
        "cloudwatch alarms": usage.alarm_metrics * cloudwatch["alarm_per_month"],
        "cloudwatch dashboards": usage.dashboards * cloudwatch["dashboard_per_month"],
        "x-ray traces": traced * prices["xray"]["traces_recorded_per_million"] / 1e6,
        "scheduler": usage.sweeps_per_month * prices["scheduler"]["invocation_per_million"] / 1e6,
        # the sweep's backlog guard reads one metric a run
        "cloudwatch metric reads": usage.sweeps_per_month
        * cloudwatch["get_metric_data_per_thousand_metrics"]
        / 1000,
        "kms keys": usage.kms_keys * prices["kms"]["key_per_month"],
    }


def managed_alternative(a: Assumptions, prices: dict[str, Any]) -> dict[str, float]:
    """Textract DetectDocumentText for the text, Comprehend custom classification for the
    category. (Comprehend has no summarization: that part has no managed counterpart here.)"""
    comprehend = prices["comprehend"]
    chars = a.pages_per_doc * a.chars_per_page
    units = max(
        comprehend["minimum_units_per_request"],
        math.ceil(chars / comprehend["characters_per_unit"]),
    )
    return {
        "textract detect document text": (
            a.docs_per_month * a.pages_per_doc * prices["textract"]["detect_document_text_per_page"]
        ),
        "comprehend custom classification": (
            a.docs_per_month * units * comprehend["custom_classification_per_unit"]
        ),
        "comprehend model management": comprehend["custom_model_management_per_month"],
    }


ORCHESTRATIONS: dict[str, dict[str, str]] = {
    "queues": {"orchestration": flow.QUEUES},
    "stepfunctions STANDARD": {"orchestration": flow.STEPFUNCTIONS, "workflowType": flow.STANDARD},
    "stepfunctions EXPRESS": {"orchestration": flow.STEPFUNCTIONS, "workflowType": flow.EXPRESS},
}
"""Each orchestration `compare_orchestrations` prices, as the stack config that selects it."""


def compare_orchestrations(
    stack: str,
    assumptions: Assumptions,
    overrides: dict[str, str] | None = None,
    prices: dict[str, Any] | None = None,
    durations: dict[str, Any] | None = None,
) -> dict[str, Estimate | str]:
    """The same stack and volume under each orchestration: its estimate, or why the stack
    cannot take that orchestration (a validation error, e.g. steps too long for Express)."""
    from mockrun import run_program

    results: dict[str, Estimate | str] = {}
    for name, config in ORCHESTRATIONS.items():
        try:
            run = run_program(stack, {**(overrides or {}), **config})
        except ValueError as error:
            results[name] = str(error).splitlines()[-1].strip(" -")
            continue
        results[name] = estimate(run.registrations, assumptions, prices, durations)
    return results
