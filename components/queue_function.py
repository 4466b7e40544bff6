"""QueueFunction: an SQS queue with its dead-letter queue, feeding one Lambda function.

What a user of terraform-aws-lambda or AWS Solutions Constructs' `aws-sqs-lambda` expects,
with the rules that otherwise break deploys or lose messages enforced at preview time:
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
"""

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import pulumi
import pulumi_aws as aws

from components import iam
from components.alarms import alarm
from components.names import valid_layer_name
from components.validation import Problems, check_range, coerce, is_known, merge, plain
from contract import metrics
from contract import settings as env
from contract.aws import is_aws_managed_sqs_key
from contract.build import LAMBDA_RUNTIME

TYPE = "docpipe:index:QueueFunction"

DEFAULT_RUNTIME = LAMBDA_RUNTIME
SUPPORTED_RUNTIMES = ("python3.12", "python3.13", "python3.14")
DEFAULT_ARCHITECTURE = "arm64"
DEFAULT_MEMORY_MB = 256
DEFAULT_TIMEOUT_SECONDS = 30
DEFAULT_EPHEMERAL_STORAGE_MB = 512
DEFAULT_LOG_RETENTION_DAYS = 14
DEFAULT_BATCH_SIZE = 10
DEFAULT_BATCHING_WINDOW_SECONDS = 0
DEFAULT_MAX_CONCURRENCY = 5
DEFAULT_MAX_RECEIVE_COUNT = 5
DEFAULT_QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
DEFAULT_DLQ_RETENTION_SECONDS = 14 * 24 * 3600
DEFAULT_RECEIVE_WAIT_SECONDS = 20
DEFAULT_QUEUE_AGE_ALARM_SECONDS = 1800
DEFAULT_DLQ_AGE_ALARM_SECONDS = 24 * 3600

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                      1827, 2192, 2557, 2922, 3288, 3653)  # fmt: skip
# Lambda rejects these environment keys: the runtime sets them.
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
RESERVED_ENVIRONMENT = frozenset(
    {"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
     "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
     "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
     "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY",
     "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
     "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR"}
)  # fmt: skip
# Arguments that configure the queue: meaningless without one.
QUEUE_ONLY_ARGUMENTS = (
    "existing_queue_arn",
    "existing_queue_url",
    "queue_producers",
    "kms_key_arn",
    "create_kms_key",
    "fifo_queue",
)
CONSUME_ACTIONS = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
]


class QueueProducerArgs(TypedDict):
    """An AWS service that sends to the queue on behalf of one resource (S3 bucket, ...)."""

    service: str
    """Service principal, e.g. `s3.amazonaws.com`."""
    source_arn: pulumi.Input[str]
    """ARN of the resource the service acts for (`aws:SourceArn`), e.g. the bucket's ARN."""


class QueueFunctionArgs(TypedDict, total=False):
    """Arguments of QueueFunction. Every field is optional unless the code needs it."""

    # -- packaging -------------------------------------------------------------------------
    code: pulumi.Input[pulumi.Archive]
    """Zip packaging: the function's code archive (e.g. `FileArchive("dist/functions/x.zip")`).
    Exactly one of `code` and `image_uri` is required."""
    handler: pulumi.Input[str]
    """Zip packaging: the handler (`module.function`). Required with `code`."""
    runtime: pulumi.Input[str]
    """Zip packaging: the runtime. Default `python3.12`; python3.12 or newer."""
    dependency_layer: pulumi.Input[pulumi.Archive]
    """Zip packaging: an archive with `python/` holding only this function's dependencies;
    published as this function's own layer version. Default: none."""
    layers: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Zip packaging: extra layer version ARNs (e.g. tesseract). At most 5 layers in all."""
    image_uri: pulumi.Input[str]
    """Image packaging: an ECR image URI. Excludes `code`, `handler`, layers."""
    image_command: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Image packaging: the image's CMD override (e.g. the handler). Default: the image's."""
    # -- function --------------------------------------------------------------------------
    description: pulumi.Input[str]
    """The function's description. Default: none."""
    architecture: pulumi.Input[str]
    """`arm64` (default) or `x86_64`."""
    memory_size: pulumi.Input[int]
    """Memory in MB, 128 to 10240. Default 256 (1769 MB is one vCPU)."""
    timeout: pulumi.Input[int]
    """Timeout in seconds, 1 to 900. Default 30."""
    ephemeral_storage_size: pulumi.Input[int]
    """/tmp size in MB, 512 to 10240. Default 512."""
    reserved_concurrency: pulumi.Input[int]
    """Reserved concurrent executions, at least 1 (0 would disable the function).
    Default: unreserved."""
    environment: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    """Environment variables. Default: `POWERTOOLS_SERVICE_NAME` = the component's name and
    `POWERTOOLS_METRICS_NAMESPACE` = the Pulumi project's name: the failed-records alarm
    watches the metric in that namespace with that `service` dimension."""
    environment_kms_key_arn: pulumi.Input[str]
    """Customer-managed KMS key encrypting the environment at rest; the role may decrypt
    with it. Default: Lambda's AWS-managed key."""
    vpc_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Run inside a VPC on these subnets (with `vpc_security_group_ids`). Default: no VPC."""
    vpc_security_group_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Security groups for the VPC network interfaces. Required with `vpc_subnet_ids`."""
    tracing_mode: pulumi.Input[str]
    """X-Ray tracing: `Active` (default) or `PassThrough`."""
    log_retention_days: pulumi.Input[int]
    """Retention of the function's own log group, in days (a CloudWatch value). Default 14."""
    policy_statements: Mapping[str, iam.PolicyStatementArgs]
    """Extra grants for the role, by name (the name becomes the statement's `Sid`).
    No `*` action; `*` resource only for actions that support no resource scoping."""
    # -- trigger ---------------------------------------------------------------------------
    batch_size: pulumi.Input[int]
    """Records per invocation, 1 to 10000 (FIFO: 10). Default 10. Above 10 needs a window."""
    batching_window: pulumi.Input[int]
    """Seconds to gather a batch, 0 to 300 (standard queues only). Default 0."""
    max_concurrency: pulumi.Input[int]
    """Maximum concurrent invocations by the event source mapping, 2 to 1000, at most
    `reserved_concurrency`. Default 5."""
    # -- queues ----------------------------------------------------------------------------
    visibility_timeout: pulumi.Input[int]
    """Queue visibility timeout in seconds. Default and minimum: 6 x `timeout` +
    `batching_window` (AWS's guidance, so a retried batch is not processed twice at once)."""
    max_receive_count: pulumi.Input[int]
    """Receives before a message moves to the DLQ, 1 to 1000. Default 5 (throttled receives
    count too: keep it at 5 or more)."""
    queue_retention_seconds: pulumi.Input[int]
    """Work queue retention, 60 to 1209600. Default 345600 (4 days)."""
    dlq_retention_seconds: pulumi.Input[int]
    """DLQ retention, above the work queue's. Default 1209600 (14 days): messages keep their
    original enqueue time in the DLQ."""
    receive_wait_time_seconds: pulumi.Input[int]
    """Long polling wait, 0 to 20. Default 20."""
    fifo_queue: bool
    """Create FIFO queues (both). Default false. S3 cannot notify FIFO queues."""
    kms_key_arn: pulumi.Input[str]
    """Encrypt both queues with this customer-managed KMS key instead of SSE-SQS (default).
    The AWS-managed `alias/aws/sqs` key is refused when a service produces into the queue."""
    create_kms_key: bool
    """Create a customer-managed KMS key (rotation on) for both queues, with the key-policy
    statements that `queue_producers` need. Default false (SSE-SQS)."""
    queue_producers: Sequence[QueueProducerArgs]
    """AWS services allowed to send to the work queue, each for one source resource, with
    `aws:SourceArn` and `aws:SourceAccount` conditions. Default: none."""
    existing_queue_arn: pulumi.Input[str]
    """Adopt this queue instead of creating queue and DLQ (its own policy and redrive stay
    as they are). Requires `existing_queue_url`."""
    existing_queue_url: pulumi.Input[str]
    """URL of the adopted queue. Requires `existing_queue_arn`."""
    # -- what to create -------------------------------------------------------------------
    create_queue: bool
    """Create the work queue and its DLQ (or adopt `existing_queue_arn`). Default true.
    False makes a function fed otherwise (a workflow step): no queue, no trigger."""
    create_trigger: bool
    """Feed the function from its queue through an event source mapping. Default true.
    False keeps the queue for another consumer (a pipe) and grants the role nothing on it."""
    # -- alarms and tags -------------------------------------------------------------------
    create_alarms: bool
    """Create alarms on DLQ depth and age, the work queue's oldest message, failed records,
    errors and throttles. Default true. The failed-records alarm watches `RecordsFailed`
    (Sum > 0 in 5 minutes) that the function emits in its `POWERTOOLS_METRICS_NAMESPACE` with
    the dimension `service` = its `POWERTOOLS_SERVICE_NAME` (Powertools' metrics): with
    partial batch responses a failed record never makes the invocation fail, so Lambda's
    `Errors` never counts it."""
    alarm_topic_arn: pulumi.Input[str]
    """SNS topic that receives alarm and OK notifications. Default: none."""
    queue_age_alarm_seconds: pulumi.Input[int]
    """Oldest-message age on the work queue that raises the alarm. Default 1800."""
    dlq_age_alarm_seconds: pulumi.Input[int]
    """Age of the oldest dead letter (time since it reached the DLQ) that raises the alarm:
    nobody has redriven or purged it. Default 86400 (a day); below `dlq_retention_seconds` -
    `queue_retention_seconds`, the least time a dead letter stays before it expires."""
    tags: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    """Tags for every taggable child. Default: none."""


def _settings(args: QueueFunctionArgs) -> dict[str, Any]:
    """Defaults overlaid with the caller's values (user values win over defaults)."""
    defaults: dict[str, Any] = {
        "runtime": DEFAULT_RUNTIME,
        "architecture": DEFAULT_ARCHITECTURE,
        "memory_size": DEFAULT_MEMORY_MB,
        "timeout": DEFAULT_TIMEOUT_SECONDS,
        "ephemeral_storage_size": DEFAULT_EPHEMERAL_STORAGE_MB,
        "tracing_mode": "Active",
        "log_retention_days": DEFAULT_LOG_RETENTION_DAYS,
        "batch_size": DEFAULT_BATCH_SIZE,
        "batching_window": DEFAULT_BATCHING_WINDOW_SECONDS,
        "max_concurrency": DEFAULT_MAX_CONCURRENCY,
        "max_receive_count": DEFAULT_MAX_RECEIVE_COUNT,
        "queue_retention_seconds": DEFAULT_QUEUE_RETENTION_SECONDS,
        "dlq_retention_seconds": DEFAULT_DLQ_RETENTION_SECONDS,
        "receive_wait_time_seconds": DEFAULT_RECEIVE_WAIT_SECONDS,
        "fifo_queue": False,
        "create_kms_key": False,
        "create_queue": True,
        "create_trigger": True,
        "create_alarms": True,
        "queue_age_alarm_seconds": DEFAULT_QUEUE_AGE_ALARM_SECONDS,
        "dlq_age_alarm_seconds": DEFAULT_DLQ_AGE_ALARM_SECONDS,
    }
    settings = merge(defaults, dict(args), {})
    if "visibility_timeout" in settings:
        return settings
    timeout, window = settings["timeout"], settings["batching_window"]
    if is_known(timeout) and is_known(window):
        settings["visibility_timeout"] = 6 * timeout + window
    else:  # deploy-time values: compute it as they resolve
        settings["visibility_timeout"] = pulumi.Output.all(timeout, window).apply(
            lambda values: 6 * int(values[0]) + int(values[1])
        )
    return settings


def check(name: str, args: QueueFunctionArgs) -> tuple[dict[str, Any], Problems]:
    """The effective settings and every problem with `args` (DocumentPipeline checks its
    stages with this before creating anything)."""
    settings = _settings(args)
    problems = Problems("QueueFunction", name)
    _check_packaging(problems, settings)
    _check_function(problems, settings)
    _check_trigger(problems, settings)
    _check_queues(problems, settings)
    for statement_name, statement in (settings.get("policy_statements") or {}).items():
        for message in iam.statement_problems(statement_name, statement):
            problems.add("policy_statements", message)
    return settings, problems


def validate(name: str, args: QueueFunctionArgs) -> dict[str, Any]:
    """Every problem with `args`, raised as one ValueError; else the effective settings."""
    settings, problems = check(name, args)
    problems.raise_if_any()
    return settings


def _check_packaging(problems: Problems, s: Mapping[str, Any]) -> None:
    has_code, has_image = s.get("code") is not None, s.get("image_uri") is not None
    if has_code == has_image:
        problems.add("code", "exactly one of code (zip) and image_uri (container) is required")
    if has_code and s.get("handler") is None:
        problems.add("handler", "is required with code (zip packaging)")
    if has_image:
        for key in ("handler", "dependency_layer", "layers"):
            if s.get(key) is not None:
                problems.add(key, "is not allowed with image_uri (container packaging)")
    runtime = plain(s.get("runtime"))
    if has_code and runtime is not None and runtime not in SUPPORTED_RUNTIMES:
        problems.add("runtime", f"must be one of {list(SUPPORTED_RUNTIMES)}, got {runtime!r}")
    layers = plain(s.get("layers"), [])
    count = len(layers) + (1 if s.get("dependency_layer") is not None else 0)
    if count > 5:
        problems.add("layers", f"Lambda allows at most 5 layers, got {count}")


def _check_function(problems: Problems, s: Mapping[str, Any]) -> None:
    architecture = plain(s["architecture"])
    if architecture is not None and architecture not in ("arm64", "x86_64"):
        problems.add("architecture", f"must be arm64 or x86_64, got {architecture!r}")
    check_range(problems, s, "memory_size", 128, 10240)
    check_range(problems, s, "timeout", 1, 900)
    check_range(problems, s, "ephemeral_storage_size", 512, 10240)
    check_range(problems, s, "reserved_concurrency", 1, 1000000)
    tracing = plain(s["tracing_mode"])
    if tracing is not None and tracing not in ("Active", "PassThrough"):
        problems.add("tracing_mode", f"must be Active or PassThrough, got {tracing!r}")
    retention = plain(s["log_retention_days"])
    if retention is not None and retention not in LOG_RETENTION_DAYS:
        problems.add("log_retention_days", f"must be one of {list(LOG_RETENTION_DAYS)}")
    reserved = sorted(set(plain(s.get("environment"), {})) & RESERVED_ENVIRONMENT)
    if reserved:
        problems.add("environment", f"sets keys reserved by Lambda: {reserved}")
    if (s.get("vpc_subnet_ids") is None) != (s.get("vpc_security_group_ids") is None):
        problems.add("vpc_subnet_ids", "vpc_subnet_ids and vpc_security_group_ids go together")


def _check_trigger(problems: Problems, s: Mapping[str, Any]) -> None:
    check_range(problems, s, "batch_size", 1, 10 if s["fifo_queue"] else 10000)
    check_range(problems, s, "batching_window", 0, 300)
    check_range(problems, s, "max_concurrency", 2, 1000)
    batch, window = plain(s["batch_size"]), plain(s["batching_window"])
    if batch is not None and batch > 10 and window is not None and window < 1:
        problems.add("batch_size", f"{batch} above 10 needs batching_window of at least 1 s")
    if s["fifo_queue"] and window:
        problems.add("batching_window", "is not supported on FIFO queues: leave it 0")
    maximum, reserved = plain(s["max_concurrency"]), plain(s.get("reserved_concurrency"))
    if maximum is not None and reserved is not None and maximum > reserved:
        problems.add(
            "max_concurrency",
            f"{maximum} is above reserved_concurrency {reserved}: the mapping would be throttled",
        )


def _check_queues(problems: Problems, s: Mapping[str, Any]) -> None:
    timeout, window = plain(s["timeout"]), plain(s["batching_window"])
    visibility = plain(s["visibility_timeout"])
    check_range(problems, s, "visibility_timeout", 0, 43200)
    if None not in (timeout, window, visibility) and visibility < 6 * timeout + window:
        problems.add(
            "visibility_timeout",
            f"{visibility} is below 6 x timeout + batching_window = {6 * timeout + window}",
        )
    check_range(problems, s, "max_receive_count", 1, 1000)
    check_range(problems, s, "queue_retention_seconds", 60, 1209600)
    check_range(problems, s, "dlq_retention_seconds", 60, 1209600)
    check_range(problems, s, "receive_wait_time_seconds", 0, 20)
    source, dlq = plain(s["queue_retention_seconds"]), plain(s["dlq_retention_seconds"])
    if source is not None and dlq is not None and dlq <= source:
        problems.add(
            "dlq_retention_seconds",
            f"{dlq} must be above queue_retention_seconds {source}: DLQ messages keep their "
            "original enqueue time and would expire early",
        )
    _check_dlq_age_alarm(problems, s)
    _check_encryption(problems, s)
    _check_adoption(problems, s)


def _check_dlq_age_alarm(problems: Problems, s: Mapping[str, Any]) -> None:
    """The alarm must fire while the dead letter is still there. Standard queues expire a
    message by its first enqueue time, also in the DLQ, while the DLQ's age metric counts
    from its arrival there: a message that waited the source queue's whole retention has
    only dlq_retention - queue_retention left.
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/setting-up-dead-letter-queue-retention.html"""
    check_range(problems, s, "dlq_age_alarm_seconds", 60, 1209600)
    age = plain(s["dlq_age_alarm_seconds"])
    source, dlq = plain(s["queue_retention_seconds"]), plain(s["dlq_retention_seconds"])
    if None in (age, source, dlq) or s["fifo_queue"] or dlq <= source:
        return
    if age >= dlq - source:
        problems.add(
            "dlq_age_alarm_seconds",
            f"{age} must be below dlq_retention_seconds - queue_retention_seconds = "
            f"{dlq - source}: a dead letter may expire before the alarm fires",
        )


def _check_encryption(problems: Problems, s: Mapping[str, Any]) -> None:
    producers = s.get("queue_producers") or []
    key = plain(s.get("kms_key_arn"))
    if key is not None and s["create_kms_key"]:
        problems.add("kms_key_arn", "kms_key_arn and create_kms_key exclude each other")
    if producers and is_aws_managed_sqs_key(key):
        services = sorted({p["service"] for p in producers})
        problems.add(
            "kms_key_arn",
            f"{services} cannot send to a queue encrypted with the AWS-managed {key}: "
            "use SSE-SQS (default) or a customer-managed key",
        )
    if s["fifo_queue"] and any(p["service"] == "s3.amazonaws.com" for p in producers):
        problems.add("fifo_queue", "S3 event notifications cannot target FIFO queues")


def _check_adoption(problems: Problems, s: Mapping[str, Any]) -> None:
    if not s["create_queue"]:
        given = [k for k in QUEUE_ONLY_ARGUMENTS if s.get(k) not in (None, False, [])]
        for key in given:
            problems.add(key, "needs a queue: it is not allowed with create_queue false")
    arn, url = s.get("existing_queue_arn"), s.get("existing_queue_url")
    if (arn is None) != (url is None):
        problems.add("existing_queue_arn", "existing_queue_arn and existing_queue_url go together")
    if arn is None:
        return
    if is_known(arn) and str(arn).endswith(".fifo") != bool(s["fifo_queue"]):
        problems.add(
            "fifo_queue",
            f"is {bool(s['fifo_queue'])} but the adopted queue {arn} is "
            f"{'' if str(arn).endswith('.fifo') else 'not '}FIFO",
        )
    if s.get("queue_producers"):
        problems.add(
            "queue_producers",
            "need a queue policy, which is not managed on an adopted queue",
        )


class QueueFunction(pulumi.ComponentResource):
    """An SQS work queue and its DLQ feeding one Lambda function through an event source
    mapping, with the function's own role, log group and alarms."""

    function_arn: pulumi.Output[str]
    """ARN of the Lambda function."""
    function_name: pulumi.Output[str]
    """Name of the Lambda function."""
    role_arn: pulumi.Output[str]
    """ARN of the function's execution role."""
    role_name: pulumi.Output[str]
    """Name of the function's execution role."""
    queue_arn: pulumi.Output[str]
    """ARN of the work queue (created or adopted; empty with `create_queue` false)."""
    queue_url: pulumi.Output[str]
    """URL of the work queue (created or adopted; empty with `create_queue` false)."""
    queue_name: pulumi.Output[str]
    """Name of the work queue (empty with `create_queue` false)."""
    dlq_arn: pulumi.Output[str | None]
    """ARN of the dead-letter queue (none when a queue is adopted)."""
    dlq_url: pulumi.Output[str | None]
    """URL of the dead-letter queue (none when a queue is adopted)."""
    dlq_name: pulumi.Output[str | None]
    """Name of the dead-letter queue (none when a queue is adopted)."""
    log_group_name: pulumi.Output[str]
    """Name of the function's log group."""
    log_group_arn: pulumi.Output[str]
    """ARN of the function's log group."""
    event_source_mapping_uuid: pulumi.Output[str | None]
    """UUID of the queue -> function event source mapping (none without a trigger)."""
    layer_arn: pulumi.Output[str | None]
    """ARN of the function's dependency layer version, if any."""
    kms_key_arn: pulumi.Output[str | None]
    """ARN of the created KMS key (`create_kms_key`), if any."""
    metrics_namespace: pulumi.Output[str]
    """CloudWatch namespace of the function's own metrics (its `POWERTOOLS_METRICS_NAMESPACE`)."""
    metrics_service: pulumi.Output[str]
    """The `service` dimension of the function's own metrics (its `POWERTOOLS_SERVICE_NAME`)."""

    def __init__(
        self, name: str, args: QueueFunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        settings = validate(name, coerce(QueueFunctionArgs, args, "QueueFunction", name))
        super().__init__(TYPE, name, None, opts)
        self._name, self._s = name, settings
        self._tags = settings.get("tags")
        self._account = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).account_id
        self._partition = aws.get_partition_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).partition

        self.key = self._create_key()
        self._create_queues()
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            retention_in_days=settings["log_retention_days"],
            tags=self._tags,
            opts=self._child(),
        )
        self._create_role()
        self.layer = self._create_layer()
        self._create_function()
        self.event_source_mapping = self._create_trigger() if self.feeds_function else None
        self._metric_identity()
        self.alarms = self._create_alarms() if settings["create_alarms"] else []
        self._export()

    def _child(self, **extra: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **extra)

    @property
    def feeds_function(self) -> bool:
        """Is the function fed by its queue (an event source mapping)?"""
        return bool(self._s["create_queue"] and self._s["create_trigger"])

    # -- encryption and queues ---------------------------------------------------------------

    def _create_key(self) -> aws.kms.Key | None:
        if not self._s["create_kms_key"]:
            return None
        root = pulumi.Output.concat("arn:", self._partition, ":iam::", self._account, ":root")
        statements: list[Any] = [
            {
                # Without it the key becomes unmanageable (the default key policy).
                "Sid": "EnableAccountAdministration",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": "kms:*",
                "Resource": "*",
            }
        ]
        for index, producer in enumerate(self._s.get("queue_producers") or []):
            # Services that publish to an encrypted queue need the data key themselves.
            # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html
            statements.append(
                iam.service_producer(
                    f"producer-{index}-encrypt",
                    producer["service"],
                    ["kms:GenerateDataKey", "kms:Decrypt"],
                    "*",
                    producer["source_arn"],
                    self._account,
                )
            )
        return aws.kms.Key(
            f"{self._name}-key",
            description=f"Encrypts the {self._name} queues",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=iam.to_json(statements),
            tags=self._tags,
            opts=self._child(),
        )

    def _encryption(self) -> dict[str, Any]:
        key = self.key.arn if self.key is not None else self._s.get("kms_key_arn")
        if key is None:
            return {"sqs_managed_sse_enabled": True}
        return {"kms_master_key_id": key, "kms_data_key_reuse_period_seconds": 300}

    def _create_queues(self) -> None:
        self.queue: aws.sqs.Queue | None = None  # None when adopting the caller's queue
        self.dlq: aws.sqs.Queue | None = None
        self.queue_policy: aws.sqs.QueuePolicy | None = None
        if not self._s["create_queue"]:
            empty: pulumi.Output[str] = pulumi.Output.from_input("")
            self._queue_arn, self._queue_url, self._queue_name = empty, empty, empty
            return
        if self._s.get("existing_queue_arn") is not None:
            self._adopt_existing_queue()
            return
        self.dlq = self._create_dlq()
        self.queue = self._create_work_queue(self.dlq)
        self._queue_arn, self._queue_url = self.queue.arn, self.queue.url
        self._queue_name = self.queue.name
        self.redrive_allow = self._create_redrive_allow(self.queue, self.dlq)
        self.queue_policy = self._create_queue_policy(self.queue, "queue", producers=True)
        self.dlq_policy = self._create_queue_policy(self.dlq, "dlq", producers=False)

    def _adopt_existing_queue(self) -> None:
        """The caller's queue feeds the function: no queues or queue policies of our own."""
        s = self._s
        self._queue_arn = pulumi.Output.from_input(s["existing_queue_arn"])
        self._queue_url = pulumi.Output.from_input(s["existing_queue_url"])
        self._queue_name = self._queue_arn.apply(lambda arn: arn.split(":")[-1])

    def _fifo(self) -> dict[str, Any]:
        return {"fifo_queue": True} if self._s["fifo_queue"] else {}

    def _create_dlq(self) -> aws.sqs.Queue:
        return aws.sqs.Queue(
            f"{self._name}-dlq",
            message_retention_seconds=self._s["dlq_retention_seconds"],
            tags=self._tags,
            opts=self._child(),
            **self._fifo(),
            **self._encryption(),
        )

    def _create_work_queue(self, dlq: aws.sqs.Queue) -> aws.sqs.Queue:
        s = self._s
        redrive = pulumi.Output.json_dumps(
            # maxReceiveCount must be an integer: SQS rejects "5.0".
            {
                "deadLetterTargetArn": dlq.arn,
                "maxReceiveCount": pulumi.Output.from_input(s["max_receive_count"]).apply(int),
            }
        )
        return aws.sqs.Queue(
            f"{self._name}-queue",
            visibility_timeout_seconds=s["visibility_timeout"],
            message_retention_seconds=s["queue_retention_seconds"],
            receive_wait_time_seconds=s["receive_wait_time_seconds"],
            redrive_policy=redrive,
            tags=self._tags,
            opts=self._child(),
            **self._fifo(),
            **self._encryption(),
        )

    def _create_redrive_allow(
        self, queue: aws.sqs.Queue, dlq: aws.sqs.Queue
    ) -> aws.sqs.RedriveAllowPolicy:
        """Only this component's work queue may use its DLQ as a dead-letter target."""
        return aws.sqs.RedriveAllowPolicy(
            f"{self._name}-dlq-redrive-allow",
            queue_url=dlq.url,
            redrive_allow_policy=pulumi.Output.json_dumps(
                {"redrivePermission": "byQueue", "sourceQueueArns": [queue.arn]}
            ),
            opts=self._child(),
        )

    def _create_queue_policy(
        self, queue: aws.sqs.Queue, role: str, producers: bool
    ) -> aws.sqs.QueuePolicy:
        return aws.sqs.QueuePolicy(
            f"{self._name}-{role}-policy",
            queue_url=queue.url,
            policy=iam.to_json(self._queue_statements(queue.arn, producers=producers)),
            opts=self._child(),
        )

    def _queue_statements(self, arn: pulumi.Output[str], producers: bool) -> list[Any]:
        """One document per queue: `QueuePolicy` replaces the whole policy."""
        statements: list[Any] = [iam.tls_only([arn], "sqs:*")]
        if producers:
            for index, producer in enumerate(self._s.get("queue_producers") or []):
                statements.append(
                    iam.service_producer(
                        f"producer-{index}-send",
                        producer["service"],
                        "sqs:SendMessage",
                        arn,
                        producer["source_arn"],
                        self._account,
                    )
                )
        return statements

    # -- role, function, trigger ------------------------------------------------------------

    def policy_statements(self) -> list[Any]:
        """The role's statements: what the component knows, then the caller's named grants."""
        s = self._s
        statements = [
            iam.statement(
                "write-logs",
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                [pulumi.Output.concat(self.log_group.arn, ":*")],
            ),
            iam.statement("xray", iam.XRAY_ACTIONS, ["*"]),
        ]
        if self.feeds_function:
            statements.insert(0, iam.statement("consume-queue", CONSUME_ACTIONS, [self._queue_arn]))
        queue_key = self.key.arn if self.key is not None else s.get("kms_key_arn")
        if queue_key is not None and self.feeds_function:
            statements.append(iam.statement("decrypt-queue", ["kms:Decrypt"], [queue_key]))
        if s.get("environment_kms_key_arn") is not None:
            statements.append(
                iam.statement(
                    "decrypt-environment", ["kms:Decrypt"], [s["environment_kms_key_arn"]]
                )
            )
        if s.get("vpc_subnet_ids") is not None:
            statements.append(iam.statement("vpc-network-interfaces", iam.VPC_ACTIONS, ["*"]))
        for grant_name, grant in (s.get("policy_statements") or {}).items():
            statements.append(iam.from_args(grant_name, grant))
        return statements

    def _create_role(self) -> None:
        self.role = aws.iam.Role(
            f"{self._name}-role",
            assume_role_policy=iam.service_trust("lambda.amazonaws.com"),
            tags=self._tags,
            opts=self._child(),
        )
        self.role_policy = aws.iam.RolePolicy(
            f"{self._name}-role-policy",
            role=self.role.id,
            policy=iam.to_json(self.policy_statements()),
            opts=self._child(),
        )

    def _create_layer(self) -> aws.lambda_.LayerVersion | None:
        if self._s.get("dependency_layer") is None:
            return None
        return aws.lambda_.LayerVersion(
            f"{self._name}-deps",
            # Layer names are not auto-named: include the stack so two stacks in one account
            # do not publish into one layer (stack names may hold '.', which Lambda refuses).
            layer_name=valid_layer_name(f"{self._name}-{pulumi.get_stack()}-deps"),
            code=self._s["dependency_layer"],
            compatible_runtimes=[self._s["runtime"]],
            compatible_architectures=[self._s["architecture"]],
            opts=self._child(),
        )

    def _packaging(self) -> dict[str, Any]:
        s = self._s
        if s.get("image_uri") is not None:
            image: dict[str, Any] = {"package_type": "Image", "image_uri": s["image_uri"]}
            if s.get("image_command") is not None:
                image["image_config"] = {"commands": s["image_command"]}
            return image
        own = [self.layer.arn] if self.layer is not None else []
        layers: Any = own
        if s.get("layers") is not None:
            layers = pulumi.Output.all(*own, pulumi.Output.from_input(s["layers"])).apply(
                lambda resolved: [*resolved[:-1], *resolved[-1]]
            )
        return {
            "package_type": "Zip",
            "code": s["code"],
            "handler": s["handler"],
            "runtime": s["runtime"],
            "layers": layers,
        }

    def _create_function(self) -> None:
        s = self._s
        defaults = {
            env.SERVICE_NAME.name: self._name,
            env.METRICS_NAMESPACE.name: pulumi.get_project(),
        }
        environment = merge(defaults, s.get("environment"), {})
        optional: dict[str, Any] = {}
        if s.get("reserved_concurrency") is not None:
            optional["reserved_concurrent_executions"] = s["reserved_concurrency"]
        if s.get("vpc_subnet_ids") is not None:
            optional["vpc_config"] = {
                "subnet_ids": s["vpc_subnet_ids"],
                "security_group_ids": s["vpc_security_group_ids"],
            }
        if s.get("environment_kms_key_arn") is not None:
            optional["kms_key_arn"] = s["environment_kms_key_arn"]
        if s.get("description") is not None:
            optional["description"] = s["description"]
        self.function = aws.lambda_.Function(
            f"{self._name}-function",
            role=self.role.arn,
            architectures=[s["architecture"]],
            memory_size=s["memory_size"],
            timeout=s["timeout"],
            ephemeral_storage={"size": s["ephemeral_storage_size"]},
            environment={"variables": environment},
            tracing_config={"mode": s["tracing_mode"]},
            # Its own log group, created first with retention: Lambda would otherwise create
            # /aws/lambda/<name> on first invoke, with no retention and outside the stack.
            logging_config={"log_format": "JSON", "log_group": self.log_group.name},
            tags=self._tags,
            opts=self._child(depends_on=[self.log_group, self.role_policy]),
            **self._packaging(),
            **optional,
        )

    def _create_trigger(self) -> aws.lambda_.EventSourceMapping:
        s = self._s
        return aws.lambda_.EventSourceMapping(
            f"{self._name}-trigger",
            event_source_arn=self._queue_arn,
            function_name=self.function.arn,
            batch_size=s["batch_size"],
            maximum_batching_window_in_seconds=s["batching_window"],
            scaling_config={"maximum_concurrency": s["max_concurrency"]},
            # Required, not a default: without it a returned batchItemFailures list is
            # ignored and the whole batch, failures included, is deleted.
            function_response_types=["ReportBatchItemFailures"],
            tags=self._tags,
            # One mapping per (queue, function): a replacement must delete the old one first
            # (else 409 ResourceConflictException); the role must be able to poll first.
            opts=self._child(delete_before_replace=True, depends_on=[self.role_policy]),
        )

    # -- alarms and outputs -----------------------------------------------------------------

    def _alarm(
        self, role: str, description: str, namespace: pulumi.Input[str], metric: str,
        dimensions: Mapping[str, Any], statistic: str, period: int, threshold: Any,
    ) -> aws.cloudwatch.MetricAlarm:  # fmt: skip
        return alarm(
            f"{self._name}-{role}",
            description,
            threshold,
            self._s.get("alarm_topic_arn"),
            self._tags,
            self._child(),
            namespace=namespace,
            metric_name=metric,
            dimensions=dict(dimensions),
            statistic=statistic,
            period=period,
        )

    def _metric_identity(self) -> None:
        """Namespace and `service` dimension of the function's own metrics, from the
        function's environment: the alarm watches what the function is configured to emit
        (and depends on the function, so policies can join the two)."""

        def variable(name: str) -> pulumi.Output[str]:
            value = self.function.environment.apply(lambda e: str(_variables(e)[name]))
            # A namespace or service name is no secret, though one secret variable makes the
            # whole environment one: the alarm and the dashboard show them in plain text.
            return pulumi.Output.unsecret(value)

        self.metrics_namespace = variable(env.METRICS_NAMESPACE.name)
        self.metrics_service = variable(env.SERVICE_NAME.name)

    def _create_alarms(self) -> list[aws.cloudwatch.MetricAlarm]:
        function = {"FunctionName": self.function.name}
        alarms = []
        if self.dlq is not None:
            dlq = {"QueueName": self.dlq.name}
            alarms += [
                self._alarm(
                    "dlq-depth-alarm", f"{self._name}: messages in the dead-letter queue",
                    "AWS/SQS", "ApproximateNumberOfMessagesVisible", dlq, "Maximum", 60, 0,
                ),
                self._alarm(
                    "dlq-age-alarm",
                    f"{self._name}: a dead letter has waited too long: redrive or purge it "
                    "before it expires",
                    "AWS/SQS", "ApproximateAgeOfOldestMessage", dlq, "Maximum", 300,
                    self._s["dlq_age_alarm_seconds"],
                ),
            ]  # fmt: skip
        if self._s["create_queue"]:  # no queue: no message that could wait
            alarms.append(
                self._alarm(
                    "queue-age-alarm", f"{self._name}: oldest message waits too long",
                    "AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": self._queue_name},
                    "Maximum", 300, self._s["queue_age_alarm_seconds"],
                )
            )  # fmt: skip
        alarms += [
            self._alarm(
                "failed-records-alarm",
                f"{self._name}: records failed and are being retried (throttling, access "
                "denied, a crash); after max_receive_count tries they reach the DLQ",
                self.metrics_namespace, metrics.RECORDS_FAILED,
                {metrics.SERVICE_DIMENSION: self.metrics_service}, "Sum", 300, 0,
            ),
            self._alarm(
                "errors-alarm", f"{self._name}: function errors", "AWS/Lambda", "Errors",
                function, "Sum", 300, 0,
            ),
        ]  # fmt: skip
        if self.feeds_function:
            # Fed by its queue, a throttle is a fault (the mapping's concurrency should stay
            # below the function's); a workflow step is throttled on purpose: its reserved
            # concurrency is the back-pressure, and the workflow retries.
            alarms.append(
                self._alarm(
                    "throttles-alarm", f"{self._name}: function throttled", "AWS/Lambda",
                    "Throttles", function, "Sum", 300, 0,
                )
            )  # fmt: skip
        return alarms

    def _export(self) -> None:
        self.function_arn, self.function_name = self.function.arn, self.function.name
        self.role_arn, self.role_name = self.role.arn, self.role.name
        self.queue_arn, self.queue_url = self._queue_arn, self._queue_url
        self.queue_name = self._queue_name
        none: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        self.dlq_arn = self.dlq.arn if self.dlq is not None else none
        self.dlq_url = self.dlq.url if self.dlq is not None else none
        self.dlq_name = self.dlq.name if self.dlq is not None else none
        self.log_group_name, self.log_group_arn = self.log_group.name, self.log_group.arn
        self.event_source_mapping_uuid = (
            self.event_source_mapping.uuid if self.event_source_mapping is not None else none
        )
        self.layer_arn = self.layer.arn if self.layer is not None else none
        self.kms_key_arn = self.key.arn if self.key is not None else none
        self.register_outputs(
            {
                "function_arn": self.function_arn,
                "function_name": self.function_name,
                "role_arn": self.role_arn,
                "role_name": self.role_name,
                "queue_arn": self.queue_arn,
                "queue_url": self.queue_url,
                "queue_name": self.queue_name,
                "dlq_arn": self.dlq_arn,
                "dlq_url": self.dlq_url,
                "dlq_name": self.dlq_name,
                "log_group_name": self.log_group_name,
                "log_group_arn": self.log_group_arn,
                "event_source_mapping_uuid": self.event_source_mapping_uuid,
                "layer_arn": self.layer_arn,
                "kms_key_arn": self.kms_key_arn,
                "metrics_namespace": self.metrics_namespace,
                "metrics_service": self.metrics_service,
            }
        )


def _variables(environment: Any) -> Mapping[str, str]:
    """A function's environment variables, from its typed output (or a plain dict)."""
    variables = getattr(environment, "variables", None)
    if variables is None and isinstance(environment, Mapping):
        variables = environment.get("variables")
    return variables or {}
