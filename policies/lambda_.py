"""Lambda: bounded concurrency, timeouts, tracing, runtimes, secrets, invokers, failures, logs."""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from policies import resource_types as t
from policies._common import (
    MANDATORY,
    ConfigSchema,
    fmt,
    for_type,
    framework,
    number,
    of_type,
    referrers,
    resource_policy,
    setting,
    sources_of,
    stack_policy,
)

UNRESERVED = -1.0  # the provider's value for "no reserved concurrency"
DEFAULT_TIMEOUT_SECONDS = 3.0  # Lambda's default when `timeout` is not set


# -- concurrency (stack: a function is bounded by itself or by every mapping that feeds it) --


def _reserved(function: PolicyResource) -> float | None:
    reserved = number(function.props.get("reservedConcurrentExecutions"))
    return None if reserved is None or reserved == UNRESERVED else reserved


def _concurrency_problem(function: PolicyResource, resources: list[PolicyResource]) -> str | None:
    if _reserved(function) is not None:
        return None
    mappings = referrers(resources, t.MAPPING, "functionName", function)
    if not mappings:
        return (
            f"function {function.name} has no reserved concurrency and no event source mapping "
            "with a maximum concurrency"
        )
    for mapping in mappings:
        scaling = mapping.props.get("scalingConfig") or {}
        if number(scaling.get("maximumConcurrency")) is None:
            return (
                f"function {function.name} has no reserved concurrency and event source mapping "
                f"{mapping.name} sets no scalingConfig.maximumConcurrency"
            )
    return None


def check_concurrency_bounded(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    for function in of_type(resources, t.FUNCTION):
        problem = _concurrency_problem(function, resources)
        if problem:
            report(problem, function.urn)


concurrency_bounded = stack_policy(
    "lambda-concurrency-bounded",
    "Lambda functions have a concurrency bound (reserved concurrency or mapping maximum).",
    check_concurrency_bounded,
    level=MANDATORY,
    severity=Severity.MEDIUM,
    # https://docs.bridgecrew.io/docs/ensure-that-aws-lambda-function-is-configured-for-function-level-concurrent-execution-limit
    matches=framework("checkov", "CKV_AWS_115", "Lambda function-level concurrent execution limit"),
    also_matches=["cfn-nag:W92", "aws-config:lambda-concurrency-check"],
    remediation=(
        "Set `reserved_concurrent_executions` on the function, or "
        "`scaling_config={'maximum_concurrency': n}` (2..1000) on every SQS event source mapping."
    ),
)


# -- timeout ---------------------------------------------------------------------------------

TIMEOUT_CONFIG: ConfigSchema = {
    "maxTimeoutSeconds": {
        "type": "number",
        "minimum": 1,
        "maximum": 900,
        "default": 300,
        "description": "Longest function timeout allowed, in seconds.",
    }
}


@for_type(t.FUNCTION)
def check_timeout(args: ResourceValidationArgs, report: ReportViolation) -> None:
    timeout = number(args.props.get("timeout")) or DEFAULT_TIMEOUT_SECONDS
    maximum = float(setting(args, TIMEOUT_CONFIG, "maxTimeoutSeconds"))
    if timeout > maximum:
        report(f"timeout {fmt(timeout)}s is above the maximum of {fmt(maximum)}s", None)


timeout_bounded = resource_policy(
    "lambda-timeout-bounded",
    "Lambda function timeouts stay at or below a configured maximum.",
    check_timeout,
    level=MANDATORY,
    severity=Severity.LOW,
    # https://docs.aws.amazon.com/config/latest/developerguide/lambda-function-settings-check.html
    matches=framework("aws-config", "lambda-function-settings-check", "timeout at most a maximum"),
    remediation="Lower `timeout`, or split the work into smaller queued steps.",
    config=TIMEOUT_CONFIG,
)


# -- tracing ---------------------------------------------------------------------------------


@for_type(t.FUNCTION)
def check_tracing(args: ResourceValidationArgs, report: ReportViolation) -> None:
    mode = (args.props.get("tracingConfig") or {}).get("mode")
    if mode != "Active":
        report(f"tracingConfig.mode is {mode or 'unset'}, not Active", None)


tracing_active = resource_policy(
    "lambda-tracing-active",
    "Lambda functions have X-Ray active tracing.",
    check_tracing,
    level=MANDATORY,
    severity=Severity.LOW,
    # https://docs.bridgecrew.io/docs/bc_aws_serverless_4
    matches=framework("checkov", "CKV_AWS_50", "X-Ray tracing is enabled for Lambda"),
    also_matches=["securityhub:Lambda.7"],
    remediation="Set `tracing_config={'mode': 'Active'}` and grant xray:PutTraceSegments.",
)


# -- runtime ---------------------------------------------------------------------------------

RUNTIME_CONFIG: ConfigSchema = {
    "allowedRuntimes": {
        "type": "array",
        "items": {"type": "string"},
        "default": ["python3.12", "python3.13", "python3.14"],
        "description": "Runtimes functions may use (zip packages).",
    }
}


@for_type(t.FUNCTION)
def check_runtime(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.props.get("packageType") == "Image":
        return  # container images carry their own runtime
    runtime = args.props.get("runtime")
    allowed = [str(r) for r in setting(args, RUNTIME_CONFIG, "allowedRuntimes")]
    if runtime not in allowed:
        report(
            f"runtime {runtime or 'unset'} is not in the allowed list: {', '.join(allowed)}", None
        )


runtime_allowed = resource_policy(
    "lambda-runtime-allowed",
    "Lambda functions use a supported runtime from the allow list.",
    check_runtime,
    level=MANDATORY,
    severity=Severity.MEDIUM,
    # https://docs.bridgecrew.io/docs/bc_aws_general_210 (deprecated runtimes)
    matches=framework("checkov", "CKV_AWS_363", "Lambda runtime is not deprecated"),
    also_matches=["aws-config:lambda-function-settings-check", "securityhub:Lambda.2"],
    remediation="Move the function to an allowed runtime (python3.12 or newer).",
    config=RUNTIME_CONFIG,
)


# -- secrets in the environment ---------------------------------------------------------------

SECRETS_CONFIG: ConfigSchema = {
    "secretKeyPattern": {
        "type": "string",
        "default": (
            r"(^|_)(SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIALS?)(_|$)"
        ),
        "description": "Case-insensitive regex for environment keys that look like secrets.",
    },
    "allowedSuffixes": {
        "type": "array",
        "items": {"type": "string"},
        "default": ["_ARN", "_NAME", "_PARAMETER"],
        "description": "Keys ending like this name a secret (its ARN or parameter): allowed.",
    },
}


def _secret_looking(key: str, pattern: str, allowed_suffixes: list[str]) -> bool:
    if any(key.upper().endswith(suffix.upper()) for suffix in allowed_suffixes):
        return False
    return re.search(pattern, key, re.IGNORECASE) is not None


@for_type(t.FUNCTION)
def check_no_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    variables = (args.props.get("environment") or {}).get("variables") or {}
    pattern = str(setting(args, SECRETS_CONFIG, "secretKeyPattern"))
    suffixes = [str(s) for s in setting(args, SECRETS_CONFIG, "allowedSuffixes")]
    for key in sorted(variables):
        if _secret_looking(str(key), pattern, suffixes):
            report(
                f"environment variable {key} looks like a secret: keep it in Secrets Manager or "
                "SSM and pass its ARN or name",
                None,
            )


no_secrets_in_environment = resource_policy(
    "lambda-no-secrets-in-environment",
    "Lambda environment variables hold no secrets.",
    check_no_secrets,
    level=MANDATORY,
    severity=Severity.HIGH,
    # https://docs.bridgecrew.io/docs/bc_aws_secrets_3
    matches=framework("checkov", "CKV_AWS_45", "No hard-coded secrets in Lambda environment"),
    remediation="Store the value in Secrets Manager or SSM and pass the secret's ARN or name.",
    config=SECRETS_CONFIG,
)


# -- environment encryption -------------------------------------------------------------------

ENV_KMS_CONFIG: ConfigSchema = {
    "requireCustomerManagedKey": {
        "type": "boolean",
        "default": False,
        "description": "Require `kmsKeyArn` on functions that have environment variables.",
    }
}


@for_type(t.FUNCTION)
def check_environment_kms(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not setting(args, ENV_KMS_CONFIG, "requireCustomerManagedKey"):
        return
    variables = (args.props.get("environment") or {}).get("variables") or {}
    if variables and not args.props.get("kmsKeyArn"):
        report("environment variables are not encrypted with a customer managed KMS key", None)


environment_kms = resource_policy(
    "lambda-environment-kms",
    "Lambda environment variables are encrypted with a customer managed key (when configured).",
    check_environment_kms,
    level=MANDATORY,
    severity=Severity.LOW,
    # https://docs.bridgecrew.io/docs/bc_aws_serverless_5
    matches=framework("checkov", "CKV_AWS_173", "Lambda environment variables encrypted"),
    remediation="Set `kms_key_arn` to a customer managed key the function's role may decrypt.",
    config=ENV_KMS_CONFIG,
)


# -- function URLs and permissions ------------------------------------------------------------


@for_type(t.FUNCTION_URL)
def check_function_url_auth(args: ResourceValidationArgs, report: ReportViolation) -> None:
    auth = args.props.get("authorizationType")
    if auth in (None, "NONE"):
        report(f"authorizationType is {auth or 'unset'}: anyone may invoke the function", None)


function_url_auth = resource_policy(
    "lambda-function-url-auth",
    "Lambda function URLs require IAM authentication.",
    check_function_url_auth,
    level=MANDATORY,
    severity=Severity.HIGH,
    # https://docs.bridgecrew.io/docs/ensure-that-lambda-function-urls-authtype-is-not-none
    matches=framework("checkov", "CKV_AWS_258", "Lambda function URL AuthType is not NONE"),
    remediation="Set `authorization_type='AWS_IAM'` and sign requests with SigV4.",
)


def _is_service_principal(principal: str) -> bool:
    return principal.endswith(".amazonaws.com") or principal.endswith(".amazonaws.com.cn")


@for_type(t.PERMISSION)
def check_permission_principal(args: ResourceValidationArgs, report: ReportViolation) -> None:
    principal = str(args.props.get("principal") or "")
    if "*" in principal:
        report(f"principal {principal} lets anyone invoke the function", None)
    elif _is_service_principal(principal) and not (
        args.props.get("sourceArn") or args.props.get("sourceAccount")
    ):
        # Without SourceArn/SourceAccount any account's bucket or rule can invoke (confused deputy).
        report(f"principal {principal} is not scoped: set sourceArn or sourceAccount", None)


permission_scoped = resource_policy(
    "lambda-permission-scoped",
    "Lambda permissions name a principal and scope services by source ARN or account.",
    check_permission_principal,
    level=MANDATORY,
    severity=Severity.HIGH,
    # https://docs.bridgecrew.io/docs/ensure-that-aws-lambda-function-permissions-delegated-to-aws-services-are-limited-by-sourcearn-or-sourceaccount
    matches=framework("checkov", "CKV_AWS_364", "Lambda permissions limited by SourceArn/Account"),
    also_matches=["checkov:CKV_AWS_301", "cfn-nag:F13"],
    remediation="Name the invoking principal and set `source_arn` (and `source_account`).",
)


# -- asynchronous invokes need somewhere to put failures (stack) ------------------------------

# Services that invoke Lambda asynchronously, through a Permission.
ASYNC_SERVICE_PRINCIPALS = ("s3.amazonaws.com", "events.amazonaws.com", "sns.amazonaws.com")


def _async_invokers(
    function: PolicyResource, resources: list[PolicyResource]
) -> list[PolicyResource]:
    invokers = [
        *referrers(resources, t.SCHEDULE, "target", function),
        *referrers(resources, t.EVENT_TARGET, "arn", function),
        *referrers(resources, t.BUCKET_NOTIFICATION, "lambdaFunctions", function),
    ]
    invokers += [
        permission
        for permission in referrers(resources, t.PERMISSION, "function", function)
        if permission.props.get("principal") in ASYNC_SERVICE_PRINCIPALS
    ]
    return invokers


def _has_failure_destination(function: PolicyResource, resources: list[PolicyResource]) -> bool:
    if (function.props.get("deadLetterConfig") or {}).get("targetArn"):
        return True
    for config in referrers(resources, t.INVOKE_CONFIG, "functionName", function):
        on_failure = ((config.props.get("destinationConfig") or {}).get("onFailure")) or {}
        if on_failure.get("destination"):
            return True
    return False


def check_async_failures(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    for function in of_type(resources, t.FUNCTION):
        invokers = _async_invokers(function, resources)
        if invokers and not _has_failure_destination(function, resources):
            report(
                f"function {function.name} is invoked asynchronously by {invokers[0].name} but has "
                "no on-failure destination or dead-letter queue",
                function.urn,
            )


async_failure_destination = stack_policy(
    "lambda-async-failure-destination",
    "Asynchronously invoked functions keep failed events (on-failure destination or DLQ).",
    check_async_failures,
    level=MANDATORY,
    severity=Severity.HIGH,
    # https://docs.bridgecrew.io/docs/ensure-that-aws-lambda-function-is-configured-for-a-dead-letter-queue-dlq
    matches=framework("checkov", "CKV_AWS_116", "Lambda function configured with a DLQ"),
    also_matches=["aws-config:lambda-dlq-check"],
    remediation=(
        "Add a FunctionEventInvokeConfig with `destination_config.on_failure`, or "
        "`dead_letter_config`; better, put a queue between the producer and the function."
    ),
)


# -- each function has its own log group with bounded retention (stack) -----------------------

LOG_RETENTION_CONFIG: ConfigSchema = {
    "minDays": {"type": "number", "minimum": 1, "default": 7},
    "maxDays": {"type": "number", "minimum": 1, "default": 3653},
}


def _log_groups(function: PolicyResource, resources: list[PolicyResource]) -> list[PolicyResource]:
    configured = sources_of(function, "loggingConfig", t.LOG_GROUP)
    if configured:
        return configured
    # Without loggingConfig Lambda writes to /aws/lambda/<function name>.
    default_name = f"/aws/lambda/{function.props.get('name')}"
    return [g for g in of_type(resources, t.LOG_GROUP) if g.props.get("name") == default_name]


def _retention_problem(
    function: PolicyResource, group: PolicyResource, bounds: tuple[float, float]
) -> str | None:
    days = number(group.props.get("retentionInDays"))
    if not days:
        return f"log group {group.name} of function {function.name} has no retentionInDays"
    if not bounds[0] <= days <= bounds[1]:
        return (
            f"log group {group.name} of function {function.name} keeps logs {fmt(days)} days, "
            f"outside {fmt(bounds[0])}..{fmt(bounds[1])}"
        )
    return None


def check_function_log_groups(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    bounds = (
        float(setting(args, LOG_RETENTION_CONFIG, "minDays")),
        float(setting(args, LOG_RETENTION_CONFIG, "maxDays")),
    )
    for function in of_type(resources, t.FUNCTION):
        groups = _log_groups(function, resources)
        if not groups:
            report(f"function {function.name} has no log group of its own", function.urn)
            continue
        for group in groups:
            problem = _retention_problem(function, group, bounds)
            if problem:
                report(problem, function.urn)


function_log_group = stack_policy(
    "lambda-log-group-retention",
    "Every Lambda function writes to its own log group with retention in range.",
    check_function_log_groups,
    level=MANDATORY,
    severity=Severity.LOW,
    # https://docs.bridgecrew.io/docs/logging_13 and CKV_AWS_338 (at least a year, via maxDays)
    matches=framework("checkov", "CKV_AWS_66", "CloudWatch log group specifies retention days"),
    also_matches=["checkov:CKV_AWS_338", "aws-config:cw-loggroup-retention-period-check"],
    remediation=(
        "Create a LogGroup with `retention_in_days` and point `logging_config.log_group` at it "
        "(created before the function, so Lambda does not create one without retention)."
    ),
    config=LOG_RETENTION_CONFIG,
)


POLICIES: list[Any] = [
    concurrency_bounded,
    timeout_bounded,
    tracing_active,
    runtime_allowed,
    no_secrets_in_environment,
    environment_kms,
    function_url_auth,
    permission_scoped,
    async_failure_destination,
    function_log_group,
]
