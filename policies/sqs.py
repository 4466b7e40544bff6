"""SQS: encryption, redrive to a matching DLQ, visibility vs consumers, queue policies, mappings."""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from contract.aws import is_aws_managed_sqs_key
from policies import resource_types as t
from policies._common import (
    MANDATORY,
    ConfigSchema,
    allow_statements,
    as_list,
    fmt,
    for_type,
    framework,
    is_public_principal,
    is_tls_only_deny,
    json_document,
    number,
    of_type,
    referrers,
    resource_policy,
    setting,
    sources_of,
    stack_policy,
    statements,
)

DEFAULT_RETENTION_SECONDS = 345600.0  # SQS keeps messages 4 days unless told otherwise
DEFAULT_VISIBILITY_SECONDS = 30.0
DEFAULT_FUNCTION_TIMEOUT_SECONDS = 3.0


# -- encryption ------------------------------------------------------------------------------


@for_type(t.QUEUE)
def check_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.props.get("kmsMasterKeyId") or args.props.get("sqsManagedSseEnabled") is True:
        return
    report("queue is not encrypted: set sqsManagedSseEnabled or kmsMasterKeyId", None)


encrypted = resource_policy(
    "sqs-encrypted",
    "SQS queues are encrypted at rest (SSE-SQS or a KMS key).",
    check_encrypted,
    level=MANDATORY,
    severity=Severity.MEDIUM,
    # https://docs.bridgecrew.io/docs/general_16-encrypt-sqs-queue
    matches=framework("checkov", "CKV_AWS_27", "SQS queue data is encrypted"),
    also_matches=["securityhub:SQS.1"],
    remediation="Set `sqs_managed_sse_enabled=True` (or `kms_master_key_id` to a CMK).",
)


# -- redrive count ---------------------------------------------------------------------------

REDRIVE_CONFIG: ConfigSchema = {
    "minMaxReceiveCount": {
        "type": "number",
        "minimum": 1,
        "default": 5,
        "description": "Throttled receives count too: below 5, healthy messages reach the DLQ.",
    },
    "maxMaxReceiveCount": {"type": "number", "minimum": 1, "default": 20},
}


@for_type(t.QUEUE, t.REDRIVE_POLICY)
def check_max_receive_count(args: ResourceValidationArgs, report: ReportViolation) -> None:
    raw = args.props.get("redrivePolicy")
    if not raw:
        return  # whether a queue needs one is sqs-work-queue-has-dlq's question
    count = number((json_document(raw) or {}).get("maxReceiveCount"))
    low = float(setting(args, REDRIVE_CONFIG, "minMaxReceiveCount"))
    high = float(setting(args, REDRIVE_CONFIG, "maxMaxReceiveCount"))
    if count is None:
        report("redrive policy has no numeric maxReceiveCount", None)
    elif not low <= count <= high:
        report(f"redrive maxReceiveCount {fmt(count)} is outside {fmt(low)}..{fmt(high)}", None)


max_receive_count = resource_policy(
    "sqs-max-receive-count",
    "Redrive policies retry a message a bounded number of times before the DLQ.",
    check_max_receive_count,
    level=MANDATORY,
    severity=Severity.MEDIUM,
    # https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
    matches=framework("aws-docs", "sqs-dlq-maxreceivecount", "maxReceiveCount at least 5"),
    remediation="Set `maxReceiveCount` (an integer) between the configured bounds, e.g. 5.",
    config=REDRIVE_CONFIG,
)


# -- redrive graph (stack) -------------------------------------------------------------------


def _redrive_pairs(resources: list[PolicyResource]) -> list[tuple[PolicyResource, PolicyResource]]:
    """(source queue, dead-letter queue), joined by property dependencies, never by ARN."""
    pairs = []
    for queue in of_type(resources, t.QUEUE):
        pairs += [(queue, dlq) for dlq in sources_of(queue, "redrivePolicy", t.QUEUE)]
    for policy in of_type(resources, t.REDRIVE_POLICY):
        for source in sources_of(policy, "queueUrl", t.QUEUE):
            pairs += [(source, dlq) for dlq in sources_of(policy, "redrivePolicy", t.QUEUE)]
    return pairs


def _is_dead_letter_queue(queue: PolicyResource, resources: list[PolicyResource]) -> bool:
    if queue.props.get("redriveAllowPolicy"):
        return True
    if referrers(resources, t.REDRIVE_ALLOW_POLICY, "queueUrl", queue):
        return True
    return any(dlq.urn == queue.urn for _, dlq in _redrive_pairs(resources))


def _has_redrive(queue: PolicyResource, resources: list[PolicyResource]) -> bool:
    return bool(queue.props.get("redrivePolicy")) or bool(
        referrers(resources, t.REDRIVE_POLICY, "queueUrl", queue)
    )


def check_work_queues_have_dlq(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    for queue in of_type(resources, t.QUEUE):
        if not _is_dead_letter_queue(queue, resources) and not _has_redrive(queue, resources):
            report(
                f"queue {queue.name} has no redrive policy: failing messages are retried until "
                "they expire",
                queue.urn,
            )


work_queue_has_dlq = stack_policy(
    "sqs-work-queue-has-dlq",
    "Every work queue redrives to a dead-letter queue (DLQs themselves are exempt).",
    check_work_queues_have_dlq,
    level=MANDATORY,
    severity=Severity.HIGH,
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
    matches=framework("aws-docs", "sqs-dead-letter-queues", "work queues have a redrive policy"),
    remediation="Give the queue a `redrive_policy` naming its DLQ with `maxReceiveCount` >= 5.",
)


def _retention(queue: PolicyResource) -> float:
    return number(queue.props.get("messageRetentionSeconds")) or DEFAULT_RETENTION_SECONDS


def check_dlq_retention(args: StackValidationArgs, report: ReportViolation) -> None:
    for source, dlq in _redrive_pairs(list(args.resources)):
        if _retention(dlq) <= _retention(source):
            report(
                f"dead-letter queue {dlq.name} keeps messages {fmt(_retention(dlq))}s, not longer "
                f"than its source {source.name} ({fmt(_retention(source))}s)",
                dlq.urn,
            )


dlq_retention_longer = stack_policy(
    "sqs-dlq-retention-longer",
    "Dead-letter queues keep messages longer than their source queues.",
    check_dlq_retention,
    level=MANDATORY,
    severity=Severity.HIGH,
    # Standard queues expire by original enqueue time, also in the DLQ:
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
    matches=framework("aws-docs", "sqs-dlq-retention", "DLQ retention longer than the source"),
    remediation="Raise the DLQ's `message_retention_seconds` (e.g. 14 days) above the source's.",
)


def _fifo(queue: PolicyResource) -> bool:
    return queue.props.get("fifoQueue") is True


def check_dlq_fifo(args: StackValidationArgs, report: ReportViolation) -> None:
    for source, dlq in _redrive_pairs(list(args.resources)):
        if _fifo(source) != _fifo(dlq):
            kinds = {True: "FIFO", False: "standard"}
            report(
                f"dead-letter queue {dlq.name} is {kinds[_fifo(dlq)]} but its source "
                f"{source.name} is {kinds[_fifo(source)]}",
                dlq.urn,
            )


dlq_same_fifo = stack_policy(
    "sqs-dlq-same-type",
    "A dead-letter queue is FIFO exactly when its source queue is.",
    check_dlq_fifo,
    level=MANDATORY,
    severity=Severity.HIGH,
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
    matches=framework("aws-docs", "sqs-dlq-queue-type", "DLQ of a FIFO queue is FIFO"),
    remediation="Make the DLQ the same kind (standard or FIFO) as its source queue.",
)


# -- visibility vs consumer timeout (stack, through the mapping's dependencies) ---------------

VISIBILITY_CONFIG: ConfigSchema = {
    "factor": {
        "type": "number",
        "minimum": 1,
        "default": 6,
        "description": "Visibility must be at least factor x function timeout + batching window.",
    }
}


def _visibility_problem(
    mapping: PolicyResource, queue: PolicyResource, function: PolicyResource, factor: float
) -> str | None:
    visibility = number(queue.props.get("visibilityTimeoutSeconds")) or DEFAULT_VISIBILITY_SECONDS
    timeout = number(function.props.get("timeout")) or DEFAULT_FUNCTION_TIMEOUT_SECONDS
    window = number(mapping.props.get("maximumBatchingWindowInSeconds")) or 0.0
    required = factor * timeout + window
    if visibility >= required:
        return None
    return (
        f"queue {queue.name} visibility timeout {fmt(visibility)}s is below {fmt(factor)} x "
        f"function {function.name} timeout {fmt(timeout)}s + batching window {fmt(window)}s "
        f"= {fmt(required)}s"
    )


def check_visibility(args: StackValidationArgs, report: ReportViolation) -> None:
    factor = float(setting(args, VISIBILITY_CONFIG, "factor"))
    for mapping in of_type(list(args.resources), t.MAPPING):
        for queue in sources_of(mapping, "eventSourceArn", t.QUEUE):
            for function in sources_of(mapping, "functionName", t.FUNCTION):
                problem = _visibility_problem(mapping, queue, function, factor)
                if problem:
                    report(problem, queue.urn)


visibility_covers_timeout = stack_policy(
    "sqs-visibility-covers-function-timeout",
    "A queue's visibility timeout is at least factor x its consumer's timeout + batching window.",
    check_visibility,
    level=MANDATORY,
    severity=Severity.HIGH,
    # https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
    matches=framework("aws-docs", "sqs-visibility-timeout", "visibility >= 6 x function timeout"),
    remediation="Raise the queue's `visibility_timeout_seconds` or lower the function's timeout.",
    config=VISIBILITY_CONFIG,
)


# -- queue policies --------------------------------------------------------------------------


def _statement_label(statement: Any, index: int) -> str:
    return str(statement.get("Sid") or f"#{index}")


def _wildcard_actions(statement: Any) -> list[str]:
    return [str(a) for a in as_list(statement.get("Action")) if str(a) in ("*", "sqs:*")]


@for_type(t.QUEUE_POLICY)
def check_queue_policy_wildcards(args: ResourceValidationArgs, report: ReportViolation) -> None:
    document = json_document(args.props.get("policy"))
    for index, statement in enumerate(allow_statements(document)):
        label = _statement_label(statement, index)
        if is_public_principal(statement):
            report(f"statement {label} allows principal *", None)
        for action in _wildcard_actions(statement):
            report(f"statement {label} allows action {action}", None)


queue_policy_no_wildcards = resource_policy(
    "sqs-queue-policy-no-wildcards",
    "SQS queue policies allow no `*` principal and no `*` action.",
    check_queue_policy_wildcards,
    level=MANDATORY,
    severity=Severity.HIGH,
    # https://docs.bridgecrew.io/docs/ensure-sqs-queue-policy-is-not-public-by-only-allowing-specific-services-or-principals-to-access-it
    matches=framework("checkov", "CKV_AWS_168", "SQS queue policy is not public"),
    also_matches=["checkov:CKV_AWS_72", "cfn-nag:F20", "cfn-nag:F21"],
    remediation="Name the principals (service or role ARNs) and the actions each one needs.",
)


def _has_tls_only_policy(queue: PolicyResource, resources: list[PolicyResource]) -> bool:
    for policy in referrers(resources, t.QUEUE_POLICY, "queueUrl", queue):
        if any(is_tls_only_deny(s) for s in statements(json_document(policy.props.get("policy")))):
            return True
    return False


def check_queue_tls_only(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    for queue in of_type(resources, t.QUEUE):
        if not _has_tls_only_policy(queue, resources):
            report(f"queue {queue.name} has no queue policy denying non-TLS access", queue.urn)


queue_tls_only = stack_policy(
    "sqs-queue-tls-only",
    "Every queue has a queue policy that denies requests without TLS.",
    check_queue_tls_only,
    level=MANDATORY,
    severity=Severity.MEDIUM,
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-security-best-practices.html
    matches=framework("aws-docs", "sqs-security-best-practices", "enforce TLS in transit"),
    remediation=(
        "Add a QueuePolicy with a Deny for every principal when `aws:SecureTransport` is false."
    ),
)


# -- queues S3 writes to (stack) --------------------------------------------------------------


def _s3_fed_problems(queue: PolicyResource, notification: PolicyResource) -> list[str]:
    problems = []
    key = queue.props.get("kmsMasterKeyId")
    if is_aws_managed_sqs_key(key):
        problems.append(
            f"queue {queue.name} is fed by S3 notification {notification.name} but encrypted "
            f"with {key}, the AWS-managed key, which S3 cannot use"
        )
    if _fifo(queue):
        problems.append(
            f"queue {queue.name} is fed by S3 notification {notification.name} but is FIFO, "
            "which S3 cannot notify"
        )
    return problems


def check_s3_fed_queues(args: StackValidationArgs, report: ReportViolation) -> None:
    for notification in of_type(list(args.resources), t.BUCKET_NOTIFICATION):
        for queue in sources_of(notification, "queues", t.QUEUE):
            for problem in _s3_fed_problems(queue, notification):
                report(problem, queue.urn)


s3_fed_queue_usable = stack_policy(
    "sqs-s3-fed-queue-usable",
    "Queues fed by S3 are standard queues S3 can encrypt to (SSE-SQS or a CMK, not aws/sqs).",
    check_s3_fed_queues,
    level=MANDATORY,
    severity=Severity.HIGH,
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/ways-to-add-notification-config-to-bucket.html
    matches=framework("aws-docs", "s3-notification-sqs-kms", "S3 cannot use the aws/sqs key"),
    remediation="Use SSE-SQS or a CMK whose key policy lets s3.amazonaws.com use it; not FIFO.",
)


# -- event source mappings -------------------------------------------------------------------


@for_type(t.MAPPING)
def check_batch_item_failures(args: ResourceValidationArgs, report: ReportViolation) -> None:
    source = str(args.props.get("eventSourceArn") or "")
    if ":sqs:" not in source:
        return
    if "ReportBatchItemFailures" not in as_list(args.props.get("functionResponseTypes")):
        # Without it a batch that reports failures is deleted whole, failures included.
        report("functionResponseTypes does not include ReportBatchItemFailures", None)


mapping_reports_failures = resource_policy(
    "sqs-mapping-reports-batch-item-failures",
    "SQS event source mappings report batch item failures.",
    check_batch_item_failures,
    level=MANDATORY,
    severity=Severity.HIGH,
    # https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
    matches=framework("aws-docs", "sqs-partial-batch-response", "ReportBatchItemFailures on"),
    remediation="Set `function_response_types=['ReportBatchItemFailures']` on the mapping.",
)


POLICIES: list[Any] = [
    encrypted,
    max_receive_count,
    work_queue_has_dlq,
    dlq_retention_longer,
    dlq_same_fifo,
    visibility_covers_timeout,
    queue_policy_no_wildcards,
    queue_tls_only,
    s3_fed_queue_usable,
    mapping_reports_failures,
]
