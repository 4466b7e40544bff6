"""Step Functions and EventBridge Pipes: tracing, logging, retries, timeouts, scoped roles,
and the pipe-to-workflow invocation AWS accepts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
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
    allow_statements,
    as_list,
    for_type,
    framework,
    is_mapping,
    json_document,
    number,
    of_type,
    referrers,
    resource_policy,
    sources_of,
    stack_policy,
)

LOG_LEVELS = ("ALL", "ERROR", "FATAL")
# Lambda's transient service errors, which AWS asks every Lambda task to retry.
# https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html
LAMBDA_SERVICE_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
)
# Error names that match every task error (States.Timeout aside), so they cover the above.
WILDCARD_ERRORS = ("States.ALL", "States.TaskFailed")
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
DYNAMIC = "(chosen at run time)"


# -- the definition ---------------------------------------------------------------------------


def _states(machine: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every state, those inside Parallel branches and Map iterators too."""
    for name, state in (machine.get("States") or {}).items():
        if not is_mapping(state):
            continue
        yield name, state
        for branch in as_list(state.get("Branches")):
            if is_mapping(branch):
                yield from _states(branch)
        for key in ("Iterator", "ItemProcessor"):
            if is_mapping(state.get(key)):
                yield from _states(state[key])


def _lambda_function(state: Mapping[str, Any]) -> str | None:
    """The function a Task invokes, or None when it is not a Lambda task."""
    if state.get("Type") != "Task":
        return None
    resource = str(state.get("Resource") or "")
    if resource.startswith(LAMBDA_INVOKE):
        parameters = state.get("Parameters") or {}
        # "FunctionName.$" picks the function at run time: DYNAMIC, it cannot be judged here.
        return str(parameters.get("FunctionName") or DYNAMIC)
    if ":lambda:" in resource and ":function:" in resource:
        return resource
    return None


def _definition(args: ResourceValidationArgs | PolicyResource) -> Mapping[str, Any] | None:
    return json_document(args.props.get("definition"))


# -- tracing ----------------------------------------------------------------------------------


@for_type(t.STATE_MACHINE)
def check_tracing(args: ResourceValidationArgs, report: ReportViolation) -> None:
    tracing = args.props.get("tracingConfiguration") or {}
    if tracing.get("enabled") is not True:
        report("tracingConfiguration.enabled is not true: executions are not traced", None)


tracing_enabled = resource_policy(
    "stepfunctions-tracing-enabled",
    "Step Functions state machines send X-Ray traces.",
    check_tracing,
    level=MANDATORY,
    severity=Severity.LOW,
    # https://docs.prismacloud.io/en/enterprise-edition/policy-reference/aws-policies/aws-logging-policies/bc-aws-284
    matches=framework("checkov", "CKV_AWS_284", "State Machine has X-Ray tracing enabled"),
    remediation="Set `tracing_configuration={'enabled': True}`.",
)


# -- logging ----------------------------------------------------------------------------------


@for_type(t.STATE_MACHINE)
def check_logging(args: ResourceValidationArgs, report: ReportViolation) -> None:
    logging = args.props.get("loggingConfiguration") or {}
    level = logging.get("level")
    if level not in LOG_LEVELS:
        report(f"loggingConfiguration.level is {level or 'OFF'}: executions are not logged", None)
    elif not logging.get("logDestination"):
        report("loggingConfiguration has no logDestination", None)


logging_enabled = resource_policy(
    "stepfunctions-logging-enabled",
    "Step Functions state machines log their executions to CloudWatch Logs.",
    check_logging,
    level=MANDATORY,
    severity=Severity.MEDIUM,
    # https://docs.aws.amazon.com/config/latest/developerguide/step-functions-state-machine-logging-enabled.html
    # checkov's CKV_AWS_285 passes only with include_execution_data = true, which this pack
    # does not ask for: a state's input and output can hold file names (personal data).
    matches=framework(
        "aws-config",
        "step-functions-state-machine-logging-enabled",
        "State machine logging is enabled (level ALL, ERROR or FATAL)",
    ),
    remediation=(
        "Set `logging_configuration={'level': 'ERROR', 'log_destination': "
        "log_group.arn + ':*', 'include_execution_data': False}` and a log group with retention."
    ),
)


# -- Lambda task retries ----------------------------------------------------------------------


def _retried(state: Mapping[str, Any]) -> set[str]:
    return {
        str(name)
        for retrier in as_list(state.get("Retry"))
        if is_mapping(retrier) and (number(retrier.get("MaxAttempts")) or 3) > 0
        for name in as_list(retrier.get("ErrorEquals"))
    }


@for_type(t.STATE_MACHINE)
def check_lambda_retries(args: ResourceValidationArgs, report: ReportViolation) -> None:
    definition = _definition(args)
    if definition is None:
        return
    for name, state in _states(definition):
        if _lambda_function(state) is None:
            continue
        retried = _retried(state)
        if retried & set(WILDCARD_ERRORS):
            continue
        missing = [error for error in LAMBDA_SERVICE_ERRORS if error not in retried]
        if missing:
            report(f"Lambda task {name!r} does not retry {', '.join(missing)}", None)


lambda_tasks_retry = resource_policy(
    "stepfunctions-lambda-tasks-retry",
    "Lambda tasks retry Lambda's transient service errors.",
    check_lambda_retries,
    level=MANDATORY,
    severity=Severity.MEDIUM,
    # https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html
    matches=framework(
        "aws-docs", "bp-lambda-serviceexception", "Lambda tasks retry Lambda service exceptions"
    ),
    remediation=(
        'Add a Retry with "ErrorEquals": ["Lambda.ServiceException", '
        '"Lambda.AWSLambdaException", "Lambda.SdkClientException"], backoff and jitter.'
    ),
)


# -- timeouts ---------------------------------------------------------------------------------


@for_type(t.STATE_MACHINE)
def check_timeouts(args: ResourceValidationArgs, report: ReportViolation) -> None:
    definition = _definition(args)
    if definition is None or number(definition.get("TimeoutSeconds")):
        return
    unbounded = [
        name
        for name, state in _states(definition)
        if state.get("Type") == "Task"
        and not (number(state.get("TimeoutSeconds")) or state.get("TimeoutSecondsPath"))
    ]
    if unbounded:
        report(
            "neither the state machine nor its tasks "
            f"{', '.join(repr(n) for n in unbounded)} set TimeoutSeconds: a stuck execution "
            "waits for a year (Standard) and never raises ExecutionsTimedOut",
            None,
        )


execution_timeout = resource_policy(
    "stepfunctions-execution-timeout",
    "State machines bound their executions (TimeoutSeconds on the machine or every task).",
    check_timeouts,
    level=MANDATORY,
    severity=Severity.LOW,
    # https://docs.aws.amazon.com/step-functions/latest/dg/sfn-best-practices.html#use-timeouts-to-avoid-stuck-executions
    matches=framework(
        "aws-docs", "sfn-best-practices-timeouts", "Use timeouts to avoid stuck executions"
    ),
    remediation='Set "TimeoutSeconds" at the top of the definition (or on every Task).',
)


# -- the state machine's role invokes its own functions only ----------------------------------


def _role_documents(resources: list[PolicyResource], owner: PolicyResource) -> list[Any]:
    """The permission documents of the role `owner` runs with (joined by dependencies)."""
    documents = []
    for role in sources_of(owner, "roleArn", t.ROLE):
        for role_policy in referrers(resources, t.ROLE_POLICY, "role", role):
            document = json_document(role_policy.props.get("policy"))
            if document:
                documents.append(document)
    return documents


def _unqualified(arn: str) -> str:
    """A function ARN without its version or alias (`...:function:name:prod`)."""
    return ":".join(arn.split(":")[:7])


def _invoke_resources(document: Mapping[str, Any]) -> list[str]:
    granted = []
    for statement in allow_statements(document):
        actions = {str(a).lower() for a in as_list(statement.get("Action"))}
        if actions & {"lambda:invokefunction", "lambda:*", "*"}:
            granted += [str(r) for r in as_list(statement.get("Resource"))]
    return granted


def check_state_machine_role(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    for machine in of_type(resources, t.STATE_MACHINE):
        definition = _definition(machine)
        if definition is None:
            continue
        called = {f for _, state in _states(definition) if (f := _lambda_function(state))}
        if DYNAMIC in called:
            continue
        for document in _role_documents(resources, machine):
            extra = sorted(r for r in _invoke_resources(document) if _unqualified(r) not in called)
            if extra:
                report(
                    f"state machine {machine.name}'s role may invoke {extra}, which no task calls",
                    machine.urn,
                )


state_machine_role_scoped = stack_policy(
    "stepfunctions-role-invokes-its-tasks-only",
    "A state machine's role may invoke exactly the Lambda functions its tasks call.",
    check_state_machine_role,
    level=MANDATORY,
    severity=Severity.HIGH,
    # https://docs.aws.amazon.com/step-functions/latest/dg/lambda-iam.html
    matches=framework(
        "aws-docs", "sfn-lambda-iam", "IAM policies for Lambda tasks name the functions called"
    ),
    remediation="Grant `lambda:InvokeFunction` on the ARNs of the functions the tasks call.",
)


# -- EventBridge Pipes ------------------------------------------------------------------------


def check_pipe_role(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    for pipe in of_type(resources, t.PIPE):
        allowed = {str(pipe.props.get("source")), str(pipe.props.get("target"))}
        for document in _role_documents(resources, pipe):
            for statement in allow_statements(document):
                actions = [str(a) for a in as_list(statement.get("Action"))]
                if all(a.lower().startswith("kms:") for a in actions):
                    continue  # decrypting the source queue's messages
                extra = sorted(
                    str(r) for r in as_list(statement.get("Resource")) if str(r) not in allowed
                )
                if extra:
                    report(
                        f"pipe {pipe.name}'s role allows {actions} on {extra}, beyond its "
                        "source and target",
                        pipe.urn,
                    )


pipe_role_scoped = stack_policy(
    "pipes-role-scoped-to-source-and-target",
    "A pipe's role reaches its source and its target only.",
    check_pipe_role,
    level=MANDATORY,
    severity=Severity.HIGH,
    # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-permissions.html
    matches=framework(
        "aws-docs", "eb-pipes-permissions", "Pipe execution role scoped to source and target"
    ),
    remediation="Name only the pipe's source and target ARNs (and the source's KMS key).",
)


def check_pipe_invocation(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    for pipe in of_type(resources, t.PIPE):
        parameters = (pipe.props.get("targetParameters") or {}).get(
            "stepFunctionStateMachineParameters"
        ) or {}
        # REQUEST_RESPONSE is the API's default when the parameters are left out.
        invocation = parameters.get("invocationType") or "REQUEST_RESPONSE"
        for machine in sources_of(pipe, "target", t.STATE_MACHINE):
            kind = machine.props.get("type") or "STANDARD"
            if kind == "STANDARD" and invocation != "FIRE_AND_FORGET":
                report(
                    f"pipe {pipe.name} starts STANDARD state machine {machine.name} with "
                    f"{invocation}: Pipes support only FIRE_AND_FORGET for Standard workflows",
                    pipe.urn,
                )


pipe_invocation = stack_policy(
    "pipes-standard-workflow-fire-and-forget",
    "Pipes start Standard workflows asynchronously (the only way AWS accepts).",
    check_pipe_invocation,
    level=MANDATORY,
    severity=Severity.HIGH,
    # https://docs.aws.amazon.com/eventbridge/latest/pipes-reference/API_PipeTargetStateMachineParameters.html
    matches=framework(
        "aws-docs",
        "pipes-target-state-machine-parameters",
        "REQUEST_RESPONSE is not supported for STANDARD state machines",
    ),
    remediation=(
        "Set `target_parameters={'step_function_state_machine_parameters': "
        "{'invocation_type': 'FIRE_AND_FORGET'}}`, or make the state machine EXPRESS."
    ),
)


POLICIES: list[Any] = [
    tracing_enabled,
    logging_enabled,
    lambda_tasks_retry,
    execution_timeout,
    state_machine_role_scoped,
    pipe_role_scoped,
    pipe_invocation,
]
