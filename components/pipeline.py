"""DocumentPipeline: store -> ocr -> summarize -> classify -> table, plus the periodic sweep.

Every hand-off goes through a queue with a DLQ (docs/runtime-contract.md lists what each
function gets). Creation order follows the data flow backwards, because each stage needs the
URL of the queue it sends to, and the bucket's notification needs the ocr queue's policy.
"""

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypedDict

import pulumi
import pulumi_aws as aws

from components import iam, ocr_layer, queue_function
from components.document_store import DocumentStore
from components.queue_function import QueueFunction, QueueFunctionArgs
from components.results_table import ResultsTable
from components.scheduled_trigger import ScheduledTrigger
from components.validation import Problems, is_known, merge, plain

TYPE = "docpipe:index:DocumentPipeline"
STAGES = ("ocr", "summarize", "classify", "sweep")
INCOMING_PREFIX, TEXT_PREFIX, SUMMARY_PREFIX = "incoming/", "text/", "summaries/"
SWEEP_MESSAGE = {"version": 1, "kind": "sweep"}
ARCHITECTURE_FILE = "ARCHITECTURE"  # what `python -m packager` built, in build_dir
NLTK_DATA = "/opt/python/nltk_data"  # not on nltk's default path inside Lambda

# Per-stage defaults; stack config `docpipe:stages` overrides them key by key.
STAGE_DEFAULTS: dict[str, dict[str, int]] = {
    "ocr": {"memory_size": 2048, "timeout": 180, "batch_size": 1, "batching_window": 0,
            "max_concurrency": 5, "max_receive_count": 5},
    "summarize": {"memory_size": 512, "timeout": 60, "batch_size": 10, "batching_window": 0,
                  "max_concurrency": 5, "max_receive_count": 5},
    "classify": {"memory_size": 512, "timeout": 30, "batch_size": 10, "batching_window": 0,
                 "max_concurrency": 5, "max_receive_count": 5},
    "sweep": {"memory_size": 256, "timeout": 120, "batch_size": 1, "batching_window": 0,
              "max_concurrency": 2, "max_receive_count": 5},
}  # fmt: skip
DEFAULT_CATEGORIES: list[dict[str, Any]] = [
    {"name": "invoice", "keywords": ["invoice", "amount due", "total", "payment", "VAT"],
     "examples": []},
    {"name": "contract", "keywords": ["agreement", "party", "term", "termination", "liability"],
     "examples": []},
    {"name": "report", "keywords": ["quarterly", "analysis", "results", "revenue", "findings"],
     "examples": []},
    {"name": "letter", "keywords": ["dear", "sincerely", "regards"], "examples": []},
]  # fmt: skip


OUTPUTS = (
    "bucket_name",
    "bucket_arn",
    "table_name",
    "table_arn",
    "queue_urls",
    "queue_arns",
    "dlq_urls",
    "dlq_arns",
    "function_names",
    "function_arns",
    "role_arns",
    "schedule_arn",
    "alarm_topic_arn",
)


class StageArgs(TypedDict, total=False):
    """Overrides for one stage (QueueFunction arguments of the same names)."""

    memory_size: pulumi.Input[int]
    """Memory in MB. Defaults: ocr 2048, summarize 512, classify 512, sweep 256."""
    timeout: pulumi.Input[int]
    """Timeout in seconds. Defaults: ocr 180, summarize 60, classify 30, sweep 120."""
    batch_size: pulumi.Input[int]
    """Records per invocation. Defaults: ocr 1, summarize 10, classify 10, sweep 1."""
    batching_window: pulumi.Input[int]
    """Seconds to gather a batch. Default 0."""
    max_concurrency: pulumi.Input[int]
    """Mapping's maximum concurrency. Defaults: 5, sweep 2."""
    reserved_concurrency: pulumi.Input[int]
    """Reserved concurrency. Default: unreserved."""
    max_receive_count: pulumi.Input[int]
    """Receives before the DLQ. Default 5."""
    environment: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    """Extra environment variables; the runtime contract's variables win over these."""


class CategoryArgs(TypedDict):
    """A classification category."""

    name: str
    """Category name written on the result item."""
    keywords: Sequence[str]
    """Words or phrases that indicate the category."""
    examples: Sequence[str]
    """Example texts of the category (may be empty)."""


class DocumentPipelineArgs(TypedDict, total=False):
    """Arguments of DocumentPipeline; all optional."""

    stages: Mapping[str, StageArgs]
    """Per-stage overrides keyed by `ocr`, `summarize`, `classify`, `sweep`."""
    categories: Sequence[CategoryArgs]
    """Classification categories. Default: invoice, contract, report, letter."""
    classify_threshold: float
    """Confidence below which a document is `unclassified`. Default 0.3."""
    ocr_language: str
    """Tesseract language(s), e.g. `eng+deu`; `make build OCR_LANGUAGE=...` puts their
    traineddata in the OCR layer. Default `eng`."""
    ocr_max_pages: int
    """Longest document the OCR function accepts, in pages. Default: the ocr timeout / 2 s
    per page (90 with the default 180 s): tesseract needs about 1.7 s per page, and a longer
    document would time out on every try instead of failing with a typed error."""
    ocr_layer_arn: pulumi.Input[str]
    """Override: a layer version ARN bringing a `tesseract` binary, run through pytesseract.
    Default: none, tesseract runs in process from the OCR function's own layer."""
    ocr_image_uri: pulumi.Input[str]
    """Override: a container image (a `tesseract` binary plus the handlers) for the OCR
    function. Default: none."""
    build_dir: str
    """Where `make build` writes `functions/<stage>.zip` and `layers/<stage>.zip`.
    Default `dist`."""
    require_artifacts: bool
    """Refuse to build when an archive is missing. Default true (offline runs: false)."""
    architecture: str
    """`arm64` (default) or `x86_64`, for every function and layer."""
    log_retention_days: int
    """Retention of every function's log group. Default 14."""
    alarm_email: pulumi.Input[str]
    """Send alarms to an SNS topic with this e-mail subscription. Default: no topic."""
    protect_data: bool
    """Protect bucket and table, turn on table deletion protection. Default false."""
    bucket_name: pulumi.Input[str]
    """Physical bucket name. Default `<name>-<stack>-<account>-<region>`."""
    sweep_schedule: str
    """Schedule expression of the sweep. Default `rate(15 minutes)`."""
    sweep_min_age_minutes: int
    """Re-enqueue (once) uploads older than this with no result. Default 120; at least the
    ocr stage's max_receive_count x visibility timeout (90 minutes with the defaults), the
    time an OCR message may still be retrying before its DLQ."""
    sweep_max_per_run: int
    """At most this many re-enqueues per sweep. Default 100."""
    sweep_max_age_minutes: int
    """The sweep looks up only uploads younger than this (older ones were swept already),
    which bounds each run's table reads. Default 1440 (a day); above `sweep_min_age_minutes`."""
    tags: Mapping[str, str]
    """Tags for every taggable resource. Default: none."""


PIPELINE_DEFAULTS: dict[str, Any] = {
    "categories": DEFAULT_CATEGORIES,
    "classify_threshold": 0.3,
    "ocr_language": "eng",
    "build_dir": "dist",
    "require_artifacts": True,
    "architecture": "arm64",
    "log_retention_days": 14,
    "protect_data": False,
    "sweep_schedule": "rate(15 minutes)",
    "sweep_min_age_minutes": 120,
    "sweep_max_per_run": 100,
    "sweep_max_age_minutes": 1440,
}


# Tesseract takes about 1.7 s per 300-DPI page on one thread (bench/RESULTS.md); 2 s per
# page leaves room for rasterizing, the text layer check and the uploads.
SECONDS_PER_PAGE = 2


def max_pages_for(ocr_timeout: float) -> int:
    """The most pages the OCR function can finish within `ocr_timeout` seconds."""
    return max(1, int(ocr_timeout) // SECONDS_PER_PAGE)


def stage_settings(stages: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Each stage's defaults overlaid with its overrides (key by key)."""
    overrides = stages or {}
    return {stage: merge(STAGE_DEFAULTS[stage], overrides.get(stage), {}) for stage in STAGES}


def validate(name: str, args: DocumentPipelineArgs) -> dict[str, Any]:
    s = merge(PIPELINE_DEFAULTS, dict(args), {})
    problems = Problems("DocumentPipeline", name)
    unknown = sorted(set(s.get("stages") or {}) - set(STAGES))
    if unknown:
        problems.add("stages", f"unknown stages {unknown}; expected {list(STAGES)}")
    _check_categories(problems, s["categories"])
    threshold = s["classify_threshold"]
    if not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
        problems.add("classify_threshold", f"must be between 0 and 1, got {threshold!r}")
    _check_ocr_runtime(problems, s)
    ocr_layer.check_language(problems, s)
    pages = s.get("ocr_max_pages")
    if pages is not None and (isinstance(pages, bool) or not isinstance(pages, int) or pages < 1):
        problems.add("ocr_max_pages", f"must be a positive integer, got {pages!r}")
    stage_checked = _check_stages(problems, name, s)
    _check_artifacts(problems, s)
    _check_sweep(problems, s, stage_checked["ocr"])
    problems.raise_if_any()
    return s


def _check_sweep(problems: Problems, s: Mapping[str, Any], ocr: Mapping[str, Any]) -> None:
    for key in ("sweep_min_age_minutes", "sweep_max_per_run", "sweep_max_age_minutes"):
        if not isinstance(s[key], int) or s[key] < 1:
            problems.add(key, f"must be a positive integer, got {s[key]!r}")
    youngest, oldest = s["sweep_min_age_minutes"], s["sweep_max_age_minutes"]
    if isinstance(youngest, int) and isinstance(oldest, int) and oldest <= youngest:
        problems.add(
            "sweep_max_age_minutes",
            f"{oldest} must be above sweep_min_age_minutes {youngest}: nothing would be re-sent",
        )
    receives, visibility = plain(ocr["max_receive_count"]), plain(ocr["visibility_timeout"])
    numbers = (youngest, receives, visibility)
    if not all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers):
        return
    retrying = int(receives * visibility)
    if youngest * 60 < retrying:
        # An OCR message is retried for up to max_receive_count visibility timeouts before
        # SQS moves it to the DLQ: a sweep sooner re-sends uploads still waiting in the queue.
        problems.add(
            "sweep_min_age_minutes",
            f"{youngest} is below the minimum {math.ceil(retrying / 60)}: an OCR message "
            f"retries for max_receive_count {receives} x visibility_timeout {visibility} s "
            f"= {retrying} s before it reaches the DLQ",
        )


def _check_categories(problems: Problems, categories: Sequence[Mapping[str, Any]]) -> None:
    if not categories:
        problems.add("categories", "needs at least one category")
    names = [category.get("name") for category in categories]
    duplicates = sorted({n for n in names if n and names.count(n) > 1})
    if duplicates:
        problems.add("categories", f"duplicate names {duplicates}")
    for index, category in enumerate(categories):
        if not category.get("name"):
            problems.add("categories", f"category {index} has no name")
        if not category.get("keywords"):
            problems.add("categories", f"category {category.get('name', index)!r} has no keywords")


def _check_stages(problems: Problems, name: str, s: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each stage's QueueFunction settings, checked now: a bad stage must fail before the
    first child registers, not after the stages created before it. Returns each stage's
    effective settings (the sweep's check needs the ocr queue's)."""
    effective = {}
    for stage, settings in stage_settings(s.get("stages")).items():
        args: dict[str, Any] = {
            **settings,
            "architecture": s["architecture"],
            "log_retention_days": s["log_retention_days"],
            "code": pulumi.AssetArchive({}),  # placeholders: packaging is checked below
            "handler": f"handlers.{stage}.lambda_handler",
        }
        checked, stage_problems = queue_function.check(f"{name}-{stage}", args)  # type: ignore[arg-type]
        effective[stage] = checked
        for message in stage_problems.messages:
            problems.messages.append(f"stages.{stage}.{message}")
    return effective


def _check_ocr_runtime(problems: Problems, s: Mapping[str, Any]) -> None:
    layer, image = s.get("ocr_layer_arn"), s.get("ocr_image_uri")
    if layer is not None and image is not None:
        problems.add("ocr_layer_arn", "ocr_layer_arn and ocr_image_uri exclude each other")


def archive_paths(s: Mapping[str, Any], stage: str) -> dict[str, str]:
    if stage == "ocr" and s.get("ocr_image_uri") is not None:
        return {}
    build_dir = s["build_dir"]
    return {
        "code": os.path.join(build_dir, "functions", f"{stage}.zip"),
        "dependency_layer": os.path.join(build_dir, "layers", f"{stage}.zip"),
    }


def _check_artifacts(problems: Problems, s: Mapping[str, Any]) -> None:
    if not s["require_artifacts"]:
        return
    missing = [
        path
        for stage in STAGES
        for path in archive_paths(s, stage).values()
        if not os.path.isfile(path)
    ]
    if missing:
        problems.add("build_dir", f"missing {missing}: run `make build` first")
        return
    _check_built_architecture(problems, s)
    ocr_layer.check_built_layers(problems, s)


def _check_built_architecture(problems: Problems, s: Mapping[str, Any]) -> None:
    """The layers hold compiled wheels (pillow, pypdfium2) for one instruction set: an
    arm64 layer on an x86_64 function fails at import, after the deploy succeeded."""
    wanted = s["architecture"]
    record = Path(s["build_dir"], ARCHITECTURE_FILE)
    built = record.read_text().strip() if record.is_file() else None
    if built != wanted:
        found = f"was built for {built}" if built else f"has no {ARCHITECTURE_FILE} record"
        problems.add(
            "build_dir",
            f"{s['build_dir']} {found}, the stack's architecture is {wanted}: run "
            f"`python -m packager --arch {wanted}`",
        )


def valid_bucket_name(raw: str) -> str:
    """S3 bucket names: 3-63 of a-z, 0-9, '.', '-', ending in a letter or digit; stack and
    component names may hold capitals and '_', which S3 rejects."""
    return re.sub(r"[^a-z0-9.-]", "-", raw.lower())[:63].rstrip("-.")


def _without_none(args: dict[str, Any]) -> Any:
    """Typed args leave unset keys out (hosted components receive no None values either)."""
    return {key: value for key, value in args.items() if value is not None}


def _grant(actions: list[str], resources: list[Any]) -> iam.PolicyStatementArgs:
    return {"actions": actions, "resources": resources}


class DocumentPipeline(pulumi.ComponentResource):
    """The whole document pipeline: bucket, four queue-fed functions, results table,
    periodic sweep, and (with an e-mail) an alarm topic."""

    bucket_name: pulumi.Output[str]
    """Name of the document bucket."""
    bucket_arn: pulumi.Output[str]
    """ARN of the document bucket."""
    table_name: pulumi.Output[str]
    """Name of the results table."""
    table_arn: pulumi.Output[str]
    """ARN of the results table."""
    queue_urls: pulumi.Output[dict[str, str]]
    """Work queue URL by stage."""
    queue_arns: pulumi.Output[dict[str, str]]
    """Work queue ARN by stage."""
    dlq_urls: pulumi.Output[dict[str, str]]
    """Dead-letter queue URL by stage."""
    dlq_arns: pulumi.Output[dict[str, str]]
    """Dead-letter queue ARN by stage."""
    function_names: pulumi.Output[dict[str, str]]
    """Function name by stage."""
    function_arns: pulumi.Output[dict[str, str]]
    """Function ARN by stage."""
    role_arns: pulumi.Output[dict[str, str]]
    """Execution role ARN by stage."""
    schedule_arn: pulumi.Output[str]
    """ARN of the sweep schedule."""
    alarm_topic_arn: pulumi.Output[str | None]
    """ARN of the alarm topic (with `alarm_email` only)."""

    def __init__(
        self, name: str, args: DocumentPipelineArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        s = validate(name, args)
        super().__init__(TYPE, name, None, opts)
        self._name, self._s = name, s
        self._stages = stage_settings(s.get("stages"))
        self._resolve_bucket_name()
        self.topic = self._create_topic()
        self.table = self._create_table()
        self.stages: dict[str, QueueFunction] = {}
        self._create_stages()
        self.store = self._create_store()
        self.sweep_trigger = self._create_sweep_trigger()
        self._export()

    def _resolve_bucket_name(self) -> None:
        """The bucket's name is fixed up front: the ocr queue's policy needs the bucket's ARN
        while the bucket's notification needs that queue policy (a cycle otherwise)."""
        invoke = pulumi.InvokeOutputOptions(parent=self)
        self._account = aws.get_caller_identity_output(opts=invoke).account_id
        self._partition = aws.get_partition_output(opts=invoke).partition
        region = aws.get_region_output(opts=invoke).region
        self._bucket: pulumi.Output[str] = pulumi.Output.from_input(
            self._s.get("bucket_name")
            or pulumi.Output.concat(
                self._name, "-", pulumi.get_stack(), "-", self._account, "-", region
            ).apply(valid_bucket_name)
        )
        self._bucket_arn = pulumi.Output.concat("arn:", self._partition, ":s3:::", self._bucket)

    # -- children ---------------------------------------------------------------------------

    def _create_table(self) -> ResultsTable:
        protect = bool(self._s["protect_data"])
        return ResultsTable(
            f"{self._name}-results",
            _without_none(
                {"deletion_protection": protect, "protect": protect, "tags": self._s.get("tags")}
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _create_stages(self) -> None:
        """Backwards along the data flow: each stage's `_stage_args` needs the queue URL of
        the stage it sends to, already in self.stages."""
        for stage in ("classify", "summarize", "ocr", "sweep"):
            self.stages[stage] = QueueFunction(
                f"{self._name}-{stage}",
                self._stage_args(stage),
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _create_sweep_trigger(self) -> ScheduledTrigger:
        sweep = self.stages["sweep"]
        return ScheduledTrigger(
            f"{self._name}-sweep-schedule",
            _without_none(
                {
                    "queue_arn": sweep.queue_arn,
                    "dead_letter_queue_arn": sweep.dlq_arn,
                    "schedule_expression": self._s["sweep_schedule"],
                    "message": json.dumps(SWEEP_MESSAGE),
                    "description": "Re-enqueue uploads that have no result yet",
                    "tags": self._s.get("tags"),
                }
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _create_topic(self) -> aws.sns.Topic | None:
        email = self._s.get("alarm_email")
        if email is None:
            return None
        # Not KMS-encrypted: CloudWatch cannot publish to a topic under the AWS-managed
        # aws/sns key, and a customer-managed key for an e-mail topic buys nothing here.
        topic = aws.sns.Topic(
            f"{self._name}-alarms",
            tags=self._s.get("tags"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.sns.TopicSubscription(
            f"{self._name}-alarm-email",
            topic=topic.arn,
            protocol="email",
            endpoint=email,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return topic

    def _create_store(self) -> DocumentStore:
        ocr = self.stages["ocr"]
        # Carries the dependency on the ocr queue's policy: S3 checks it may send to the
        # queue when the notification is written (else "Unable to validate destination").
        assert ocr.queue_policy is not None
        queue_arn = pulumi.Output.all(ocr.queue_arn, ocr.queue_policy.id).apply(lambda a: a[0])
        return DocumentStore(
            f"{self._name}-store",
            _without_none(
                {
                    "bucket_name": self._bucket,
                    "force_destroy": not self._s["protect_data"],
                    "protect": bool(self._s["protect_data"]),
                    "queue_notifications": [
                        {"queue_arn": queue_arn, "filter_prefix": INCOMING_PREFIX}
                    ],
                    "output_prefixes": [TEXT_PREFIX, SUMMARY_PREFIX],
                    "tags": self._s.get("tags"),
                }
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _objects(self, prefix: str) -> pulumi.Output[str]:
        return pulumi.Output.concat(self._bucket_arn, "/", prefix, "*")

    def _stage_args(self, stage: str) -> QueueFunctionArgs:
        s, settings = self._s, dict(self._stages[stage])
        environment = merge({}, settings.pop("environment", None), self._environment(stage))
        args: dict[str, Any] = {
            **settings,
            "architecture": s["architecture"],
            "log_retention_days": s["log_retention_days"],
            "environment": environment,
            "policy_statements": self._grants(stage),
            "tags": s.get("tags"),
        }
        if self.topic is not None:
            args["alarm_topic_arn"] = self.topic.arn
        if stage == "ocr":
            args["queue_producers"] = [
                {"service": "s3.amazonaws.com", "source_arn": self._bucket_arn}
            ]
        args.update(self._packaging(stage))
        return _without_none(args)

    def _packaging(self, stage: str) -> dict[str, Any]:
        s = self._s
        if stage == "ocr" and s.get("ocr_image_uri") is not None:
            return {
                "image_uri": s["ocr_image_uri"],
                "image_command": ["handlers.ocr.lambda_handler"],
            }
        paths = archive_paths(s, stage)
        packaging: dict[str, Any] = {
            "code": pulumi.FileArchive(paths["code"]),
            "dependency_layer": pulumi.FileArchive(paths["dependency_layer"]),
            "handler": f"handlers.{stage}.lambda_handler",
        }
        if stage == "ocr" and s.get("ocr_layer_arn") is not None:
            packaging["layers"] = [s["ocr_layer_arn"]]
        return packaging

    def _environment(self, stage: str) -> dict[str, Any]:
        """The runtime contract's variables for `stage` (docs/runtime-contract.md)."""
        s = self._s
        env: dict[str, Any] = {
            "DOCPIPE_STAGE": stage,
            "DOCPIPE_BUCKET": self._bucket,
            "POWERTOOLS_SERVICE_NAME": f"docpipe-{stage}",
            "POWERTOOLS_METRICS_NAMESPACE": "docpipe",
        }
        if stage in ("classify", "sweep"):
            env["DOCPIPE_TABLE"] = self.table.table_name
        if stage in ("ocr", "summarize", "sweep"):
            env["DOCPIPE_NEXT_QUEUE_URL"] = self.stages[self._next(stage)].queue_url
        if stage in ("ocr", "sweep"):
            env["DOCPIPE_INCOMING_PREFIX"] = INCOMING_PREFIX
        if stage in ("ocr", "summarize"):
            env["DOCPIPE_TEXT_PREFIX"] = TEXT_PREFIX
        if stage in ("summarize", "classify"):
            env["DOCPIPE_SUMMARY_PREFIX"] = SUMMARY_PREFIX
        if stage == "summarize":  # punkt_tab for sentences; classify's nltk parts need no data
            env["NLTK_DATA"] = NLTK_DATA
        if stage == "ocr":
            env.update(
                OCR_LANGUAGE=s["ocr_language"],
                OCR_MAX_BYTES="26214400",
                OCR_MAX_PAGES=self._ocr_max_pages(),
                OMP_THREAD_LIMIT="1",  # tesseract is 5-7x faster single-threaded on Lambda
            )
            memory = self._stages["ocr"]["memory_size"]
            env.update(ocr_layer.environment(s, memory, env["OCR_MAX_PAGES"]))
        if stage == "summarize":
            env.update(SUMMARY_MAX_SENTENCES="5", SUMMARY_MAX_CHARS="1200")
        if stage == "classify":
            env["CLASSIFY_CATEGORIES"] = json.dumps(list(s["categories"]))
            env["CLASSIFY_THRESHOLD"] = str(s["classify_threshold"])
        if stage == "sweep":
            env["SWEEP_MIN_AGE_MINUTES"] = str(s["sweep_min_age_minutes"])
            env["SWEEP_MAX_PER_RUN"] = str(s["sweep_max_per_run"])
            env["SWEEP_MAX_AGE_MINUTES"] = str(s["sweep_max_age_minutes"])
        return env

    def _ocr_max_pages(self) -> pulumi.Input[str]:
        """`ocr_max_pages`, else what the OCR function's timeout allows: a larger document
        would time out on every try and reach the DLQ with no typed error."""
        if self._s.get("ocr_max_pages") is not None:
            return str(self._s["ocr_max_pages"])
        timeout = self._stages["ocr"]["timeout"]
        if is_known(timeout):
            return str(max_pages_for(timeout))
        return pulumi.Output.from_input(timeout).apply(lambda t: str(max_pages_for(t)))

    @staticmethod
    def _next(stage: str) -> str:
        return {"ocr": "summarize", "summarize": "classify", "sweep": "ocr"}[stage]

    def _grants(self, stage: str) -> dict[str, iam.PolicyStatementArgs]:
        """The runtime contract's IAM for `stage`, on top of what QueueFunction grants."""
        table, objects = self.table.table_arn, self._objects
        if stage == "ocr":
            return {
                "read-incoming": _grant(
                    ["s3:GetObject", "s3:GetObjectVersion"], [objects(INCOMING_PREFIX)]
                ),
                "write-text": _grant(["s3:PutObject"], [objects(TEXT_PREFIX)]),
                "send-next": self._send("summarize"),
            }
        if stage == "summarize":
            return {
                "read-text": _grant(["s3:GetObject"], [objects(TEXT_PREFIX)]),
                "write-summaries": _grant(["s3:PutObject"], [objects(SUMMARY_PREFIX)]),
                "send-next": self._send("classify"),
            }
        if stage == "classify":
            return {
                "read-summaries": _grant(
                    ["s3:GetObject"], [objects(SUMMARY_PREFIX), objects(TEXT_PREFIX)]
                ),
                "write-results": _grant(["dynamodb:GetItem", "dynamodb:PutItem"], [table]),
            }
        list_incoming = _grant(["s3:ListBucket"], [self._bucket_arn])
        list_incoming["conditions"] = [
            {"test": "StringLike", "variable": "s3:prefix", "values": [f"{INCOMING_PREFIX}*"]}
        ]
        return {
            "list-incoming": list_incoming,
            "read-results": _grant(["dynamodb:BatchGetItem"], [table]),
            # the `pending` item that makes each upload's re-send happen once
            "record-pending": _grant(["dynamodb:PutItem"], [table]),
            "send-next": self._send("ocr"),
        }

    def _send(self, stage: str) -> iam.PolicyStatementArgs:
        return _grant(["sqs:SendMessage"], [self.stages[stage].queue_arn])

    # -- outputs ----------------------------------------------------------------------------

    def _by_stage(self, attribute: str) -> pulumi.Output[dict[str, str]]:
        values = {stage: getattr(self.stages[stage], attribute) for stage in STAGES}
        return pulumi.Output.all(**values).apply(lambda resolved: dict(resolved))

    def _export(self) -> None:
        self.bucket_name, self.bucket_arn = self.store.bucket_name, self.store.bucket_arn
        self.table_name, self.table_arn = self.table.table_name, self.table.table_arn
        self.queue_urls, self.queue_arns = self._by_stage("queue_url"), self._by_stage("queue_arn")
        self.dlq_urls, self.dlq_arns = self._by_stage("dlq_url"), self._by_stage("dlq_arn")
        self.function_names = self._by_stage("function_name")
        self.function_arns = self._by_stage("function_arn")
        self.role_arns = self._by_stage("role_arn")
        self.schedule_arn = self.sweep_trigger.schedule_arn
        self.alarm_topic_arn = (
            self.topic.arn if self.topic is not None else pulumi.Output.from_input(None)
        )
        self.register_outputs({key: getattr(self, key) for key in OUTPUTS})
