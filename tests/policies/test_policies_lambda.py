"""Lambda policies: compliant passes, each variant fails with its exact message."""

from __future__ import annotations

from typing import Any

import pytest
from policy_helpers import UNKNOWN, cannot_check, messages, resource

from policies import resource_types as t


def function_props(**overrides: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "name": "ocr-fn",
        "runtime": "python3.12",
        "timeout": 60.0,
        "tracingConfig": {"mode": "Active"},
        "environment": {"variables": {"DOCPIPE_STAGE": "ocr", "DB_SECRET_ARN": "arn:x"}},
        "packageType": "Zip",
    }
    props.update(overrides)
    return props


def fn(**overrides: Any) -> Any:
    return resource(t.FUNCTION, "ocr", function_props(**overrides))


# -- timeout ---------------------------------------------------------------------------------


def test_timeout_within_maximum_passes() -> None:
    assert messages([fn(timeout=300.0)], "lambda-timeout-bounded") == []


def test_timeout_above_maximum_fails() -> None:
    assert messages([fn(timeout=301.0)], "lambda-timeout-bounded") == [
        "timeout 301s is above the maximum of 300s"
    ]


def test_missing_timeout_is_lambdas_default_3s() -> None:
    props = function_props()
    del props["timeout"]
    assert messages([resource(t.FUNCTION, "ocr", props)], "lambda-timeout-bounded") == []


def test_timeout_maximum_is_configurable() -> None:
    config = {"lambda-timeout-bounded": {"maxTimeoutSeconds": 30}}
    assert messages([fn()], "lambda-timeout-bounded", config) == [
        "timeout 60s is above the maximum of 30s"
    ]


def test_unknown_timeout_cannot_be_checked_and_does_not_fail() -> None:
    found = cannot_check([fn(timeout=UNKNOWN)], "lambda-timeout-bounded")
    assert [(f.level, f.message) for f in found] == [
        ("advisory", "cannot check: string value at .timeout can't be known during preview")
    ]
    assert messages([fn(timeout=UNKNOWN)], "lambda-timeout-bounded") == []


# -- tracing, runtime ------------------------------------------------------------------------


def test_tracing_active_passes() -> None:
    assert messages([fn()], "lambda-tracing-active") == []


@pytest.mark.parametrize(
    ("tracing", "message"),
    [
        ({"mode": "PassThrough"}, "tracingConfig.mode is PassThrough, not Active"),
        (None, "tracingConfig.mode is unset, not Active"),
    ],
)
def test_tracing_not_active_fails(tracing: Any, message: str) -> None:
    assert messages([fn(tracingConfig=tracing)], "lambda-tracing-active") == [message]


def test_allowed_runtime_passes_and_images_are_exempt() -> None:
    assert messages([fn(runtime="python3.13")], "lambda-runtime-allowed") == []
    image = fn(packageType="Image", runtime=None)
    assert messages([image], "lambda-runtime-allowed") == []


@pytest.mark.parametrize(
    ("runtime", "message"),
    [
        (
            "python3.9",
            "runtime python3.9 is not in the allowed list: python3.12, python3.13, python3.14",
        ),
        (None, "runtime unset is not in the allowed list: python3.12, python3.13, python3.14"),
    ],
)
def test_runtime_outside_allow_list_fails(runtime: Any, message: str) -> None:
    assert messages([fn(runtime=runtime)], "lambda-runtime-allowed") == [message]


def test_runtime_allow_list_is_configurable() -> None:
    config = {"lambda-runtime-allowed": {"allowedRuntimes": ["python3.13"]}}
    assert messages([fn()], "lambda-runtime-allowed", config) == [
        "runtime python3.12 is not in the allowed list: python3.13"
    ]


# -- secrets and environment KMS -------------------------------------------------------------


def test_plain_environment_passes() -> None:
    assert messages([fn()], "lambda-no-secrets-in-environment") == []


@pytest.mark.parametrize("key", ["DB_PASSWORD", "API_KEY", "GITHUB_TOKEN", "aws_secret_access_key"])
def test_secret_looking_keys_fail(key: str) -> None:
    env = {"variables": {key: "x", "DOCPIPE_STAGE": "ocr"}}
    assert messages([fn(environment=env)], "lambda-no-secrets-in-environment") == [
        f"environment variable {key} looks like a secret: keep it in Secrets Manager or SSM "
        "and pass its ARN or name"
    ]


def test_no_environment_at_all_passes() -> None:
    assert messages([fn(environment=None)], "lambda-no-secrets-in-environment") == []


def test_environment_kms_only_when_configured() -> None:
    assert messages([fn()], "lambda-environment-kms") == []
    config = {"lambda-environment-kms": {"requireCustomerManagedKey": True}}
    assert messages([fn()], "lambda-environment-kms", config) == [
        "environment variables are not encrypted with a customer managed KMS key"
    ]
    assert messages([fn(kmsKeyArn="arn:aws:kms:k")], "lambda-environment-kms", config) == []


# -- URLs and permissions --------------------------------------------------------------------


def test_function_url_auth() -> None:
    iam_url = resource(t.FUNCTION_URL, "url", {"authorizationType": "AWS_IAM"})
    open_url = resource(t.FUNCTION_URL, "url", {"authorizationType": "NONE"})
    assert messages([iam_url], "lambda-function-url-auth") == []
    assert messages([open_url], "lambda-function-url-auth") == [
        "authorizationType is NONE: anyone may invoke the function"
    ]


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"principal": "s3.amazonaws.com", "sourceArn": "arn:aws:s3:::b"}, []),
        ({"principal": "events.amazonaws.com", "sourceAccount": "123456789012"}, []),
        ({"principal": "123456789012"}, []),
        ({"principal": "*"}, ["principal * lets anyone invoke the function"]),
        (
            {"principal": "s3.amazonaws.com"},
            ["principal s3.amazonaws.com is not scoped: set sourceArn or sourceAccount"],
        ),
    ],
)
def test_permission_principal(props: dict[str, Any], expected: list[str]) -> None:
    permission = resource(t.PERMISSION, "perm", {"action": "lambda:InvokeFunction", **props})
    assert messages([permission], "lambda-permission-scoped") == expected


# -- stack policies --------------------------------------------------------------------------


def queue() -> Any:
    return resource(t.QUEUE, "work-queue", {"visibilityTimeoutSeconds": 360.0})


def mapping(function: Any, source: Any, **props: Any) -> Any:
    return resource(
        t.MAPPING,
        "mapping",
        {"functionResponseTypes": ["ReportBatchItemFailures"], **props},
        deps={"functionName": [function], "eventSourceArn": [source]},
    )


def test_concurrency_bounded_by_reserved_or_mapping_maximum() -> None:
    reserved = fn(reservedConcurrentExecutions=5.0)
    assert messages([reserved], "lambda-concurrency-bounded") == []
    function, source = fn(), queue()
    bounded = mapping(function, source, scalingConfig={"maximumConcurrency": 2.0})
    assert messages([function, source, bounded], "lambda-concurrency-bounded") == []


def test_unbounded_function_fails() -> None:
    function, source = fn(reservedConcurrentExecutions=-1.0), queue()
    assert messages([function], "lambda-concurrency-bounded") == [
        "function ocr has no reserved concurrency and no event source mapping with a maximum "
        "concurrency"
    ]
    unbounded = mapping(function, source)
    assert messages([function, source, unbounded], "lambda-concurrency-bounded") == [
        "function ocr has no reserved concurrency and event source mapping mapping sets no "
        "scalingConfig.maximumConcurrency"
    ]


def scheduled(function: Any) -> Any:
    return resource(t.SCHEDULE, "tick", {"target": {"arn": "arn:fn"}}, deps={"target": [function]})


def test_async_invoked_function_needs_failure_destination() -> None:
    function = fn()
    assert messages([function, scheduled(function)], "lambda-async-failure-destination") == [
        "function ocr is invoked asynchronously by tick but has no on-failure destination or "
        "dead-letter queue"
    ]


def test_async_failure_destination_or_dlq_passes() -> None:
    with_dlq = fn(deadLetterConfig={"targetArn": "arn:aws:sqs:dlq"})
    assert messages([with_dlq, scheduled(with_dlq)], "lambda-async-failure-destination") == []
    function = fn()
    invoke_config = resource(
        t.INVOKE_CONFIG,
        "invoke-config",
        {"destinationConfig": {"onFailure": {"destination": "arn:aws:sqs:dlq"}}},
        deps={"functionName": [function]},
    )
    resources = [function, scheduled(function), invoke_config]
    assert messages(resources, "lambda-async-failure-destination") == []


def test_s3_permission_makes_an_async_invoker_and_sqs_mappings_do_not() -> None:
    function, source = fn(), queue()
    s3 = resource(
        t.PERMISSION,
        "s3-invoke",
        {"principal": "s3.amazonaws.com", "sourceArn": "arn:aws:s3:::b"},
        deps={"function": [function]},
    )
    assert messages([function, s3], "lambda-async-failure-destination") == [
        "function ocr is invoked asynchronously by s3-invoke but has no on-failure destination "
        "or dead-letter queue"
    ]
    assert (
        messages([function, source, mapping(function, source)], "lambda-async-failure-destination")
        == []
    )


def log_group(days: Any) -> Any:
    return resource(t.LOG_GROUP, "ocr-logs", {"name": "ocr-logs", "retentionInDays": days})


def test_function_log_group_with_retention_passes() -> None:
    group = log_group(14.0)
    function = resource(
        t.FUNCTION,
        "ocr",
        function_props(loggingConfig={"logGroup": "ocr-logs"}),
        deps={"loggingConfig": [group]},
    )
    assert messages([function, group], "lambda-log-group-retention") == []


def test_default_log_group_name_is_recognised() -> None:
    group = resource(t.LOG_GROUP, "lg", {"name": "/aws/lambda/ocr-fn", "retentionInDays": 30.0})
    assert messages([fn(), group], "lambda-log-group-retention") == []


@pytest.mark.parametrize(
    ("days", "message"),
    [
        (None, "log group ocr-logs of function ocr has no retentionInDays"),
        (3.0, "log group ocr-logs of function ocr keeps logs 3 days, outside 7..3653"),
    ],
)
def test_function_log_group_retention_out_of_range_fails(days: Any, message: str) -> None:
    group = log_group(days)
    function = resource(t.FUNCTION, "ocr", function_props(), deps={"loggingConfig": [group]})
    assert messages([function, group], "lambda-log-group-retention") == [message]


def test_function_without_log_group_fails_and_range_is_configurable() -> None:
    assert messages([fn()], "lambda-log-group-retention") == [
        "function ocr has no log group of its own"
    ]
    group = log_group(14.0)
    function = resource(t.FUNCTION, "ocr", function_props(), deps={"loggingConfig": [group]})
    config = {"lambda-log-group-retention": {"minDays": 30}}
    assert messages([function, group], "lambda-log-group-retention", config) == [
        "log group ocr-logs of function ocr keeps logs 14 days, outside 30..3653"
    ]


def test_unknown_output_in_a_stack_policy_is_advisory() -> None:
    function = resource(t.FUNCTION, "ocr", function_props(reservedConcurrentExecutions=UNKNOWN))
    found = cannot_check([function], "lambda-concurrency-bounded")
    assert [(f.level, f.message) for f in found] == [
        (
            "advisory",
            "cannot check: string value at .reservedConcurrentExecutions can't be known "
            "during preview",
        )
    ]
