"""DocumentWorkflow: a Step Functions state machine calling the pipeline's functions in order,
started once per message of an SQS queue by an EventBridge Pipe.

The queue takes a burst first, so no upload is lost even while Step Functions throttles
StartExecution. The pipe reads one message per execution (batch size 1: one execution per
document) with its own role, allowed to consume that queue and start that state machine
only. A Standard execution started for each message then waits in its Retry while its
step's function is at its reserved concurrency; for Express the pipe waits for each
execution, so the burst stays in the queue.

The state machine's role may invoke exactly the steps' functions, deliver its logs and write
X-Ray traces. Its definition (components/workflow_definition.py) retries throttling and
Lambda's transient errors with backoff and full jitter, and ends a document the stage
settled (rejected, replayed) as `settled`.

Standard or Express (`workflow_type`):
- STANDARD: exactly-once execution of each state, 90 days of execution history in Step
  Functions, up to a year per execution, $0.025 per 1,000 state transitions (retries
  included). Pipes can only start it asynchronously (FIRE_AND_FORGET): the message leaves
  the queue once the execution has started; a failed execution is then the dead letter.
- EXPRESS: at-least-once, no history but the logs, five minutes at most, priced per request
  and GB-second. The pipe waits for the result (REQUEST_RESPONSE): a failed or timed-out
  execution leaves the message in the queue, whose redrive policy gives it to the DLQ.
Pipes give no execution a name of their own choosing (their target parameters for Step
Functions hold only the invocation type), so Standard's idempotent names cannot dedupe a
document: the first step does, through the ledger (docs/orchestration.md).
https://docs.aws.amazon.com/eventbridge/latest/pipes-reference/API_PipeTargetStateMachineParameters.html
"""

import re
from collections.abc import Mapping, Sequence
from typing import Any, Required, TypedDict

import pulumi
import pulumi_aws as aws

from components import iam, workflow_definition
from components.alarms import alarm
from components.queue_function import LOG_RETENTION_DAYS
from components.validation import Problems, check_range, coerce, merge, plain
from contract.orchestration import EXPRESS, EXPRESS_MAX_SECONDS, STANDARD, WORKFLOW_TYPES

TYPE = "docpipe:index:DocumentWorkflow"

LOG_LEVELS = ("ALL", "ERROR", "FATAL")
STANDARD_DEFAULT_TIMEOUT_SECONDS = 24 * 3600
STANDARD_MAX_SECONDS = 365 * 24 * 3600
# A step's state is named after its stage (state names may be up to 80 characters).
STATE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# The pipe's start call: asynchronous for Standard (the only mode Pipes offer it), waiting
# for the result for Express, so a failed execution returns the message to the queue.
INVOCATION = {STANDARD: "FIRE_AND_FORGET", EXPRESS: "REQUEST_RESPONSE"}
START_ACTION = {STANDARD: "states:StartExecution", EXPRESS: "states:StartSyncExecution"}
PIPE_CONSUME_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
# What Step Functions needs to deliver logs to CloudWatch Logs; none of these actions
# supports resource-level permissions.
# https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html
LOG_DELIVERY_ACTIONS = [
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
]
# Step Functions' X-Ray tracing also reads the sampling rules.
# https://docs.aws.amazon.com/step-functions/latest/dg/xray-iam.html
XRAY_ACTIONS = [*iam.XRAY_ACTIONS, "xray:GetSamplingRules", "xray:GetSamplingTargets"]


class WorkflowStepArgs(TypedDict):
    """One step of the workflow: a stage and its function."""

    name: str
    """The stage's name, also its state's name."""
    function_arn: pulumi.Input[str]
    """The function the step invokes."""
    timeout: int
    """The function's timeout in seconds (the step waits a minute longer)."""
    attempts: int
    """Tries in all when the function fails, 1 to 100 (a queue's `max_receive_count`)."""


class DocumentWorkflowArgs(TypedDict, total=False):
    """Arguments of DocumentWorkflow."""

    steps: Required[Sequence[WorkflowStepArgs]]
    """The steps in order; each passes its output to the next."""
    source_queue_arn: Required[pulumi.Input[str]]
    """The queue the pipe reads: one execution per message."""
    source_queue_kms_key_arn: pulumi.Input[str]
    """The queue's customer-managed KMS key, if any: the pipe's role may decrypt with it."""
    workflow_type: str
    """`STANDARD` (default) or `EXPRESS` (docs/orchestration.md compares them)."""
    timeout_seconds: int
    """Longest execution. Default: a day for Standard, 300 (the limit) for Express."""
    log_level: str
    """`ALL`, `ERROR` (default) or `FATAL`."""
    include_execution_data: bool
    """Log each state's input and output (S3 keys, file names). Default false."""
    log_retention_days: int
    """Retention of the workflow's log group. Default 14."""
    tracing_enabled: bool
    """X-Ray tracing of every execution. Default true."""
    create_alarms: bool
    """Alarms on failed and timed-out executions. Default true."""
    alarm_topic_arn: pulumi.Input[str]
    """SNS topic that receives alarm and OK notifications. Default: none."""
    tags: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    """Tags for every taggable child. Default: none."""


DEFAULTS: dict[str, Any] = {
    "workflow_type": STANDARD,
    "log_level": "ERROR",
    "include_execution_data": False,
    "log_retention_days": 14,
    "tracing_enabled": True,
    "create_alarms": True,
}


def validate(name: str, args: DocumentWorkflowArgs) -> dict[str, Any]:
    """The effective settings; every problem with `args` raised as one ValueError."""
    s = merge(DEFAULTS, dict(args), {})
    problems = Problems("DocumentWorkflow", name)
    if s.get("source_queue_arn") is None:
        problems.add("source_queue_arn", "is required")
    kind = s["workflow_type"]
    if kind not in WORKFLOW_TYPES:
        problems.add("workflow_type", f"must be one of {list(WORKFLOW_TYPES)}, got {kind!r}")
    if s.get("timeout_seconds") is None and kind in WORKFLOW_TYPES:
        s["timeout_seconds"] = (
            EXPRESS_MAX_SECONDS if kind == EXPRESS else STANDARD_DEFAULT_TIMEOUT_SECONDS
        )
    limit = EXPRESS_MAX_SECONDS if kind == EXPRESS else STANDARD_MAX_SECONDS
    check_range(problems, s, "timeout_seconds", 1, limit)
    if s["log_level"] not in LOG_LEVELS:
        problems.add("log_level", f"must be one of {list(LOG_LEVELS)}, got {s['log_level']!r}")
    if plain(s["log_retention_days"]) not in LOG_RETENTION_DAYS:
        problems.add("log_retention_days", f"must be one of {list(LOG_RETENTION_DAYS)}")
    _check_steps(problems, s)
    problems.raise_if_any()
    return s


def _check_steps(problems: Problems, s: Mapping[str, Any]) -> None:
    steps = list(s.get("steps") or [])
    if not steps:
        problems.add("steps", "needs at least one step")
        return
    names = [step.get("name") for step in steps]
    reserved = {workflow_definition.SETTLED_STATE, workflow_definition.FAILED_STATE}
    execution = plain(s.get("timeout_seconds"))
    for index, step in enumerate(steps):
        found = Problems("DocumentWorkflow", "")
        name = step.get("name")
        if not isinstance(name, str) or not STATE_NAME.match(name) or name in reserved:
            found.add("name", f"{name!r} is not a stage name (1-64 of A-Z a-z 0-9 _ -)")
        elif names.index(name) != index:
            found.add("name", f"{name!r} is used by more than one step")
        for key in ("function_arn", "timeout", "attempts"):
            if step.get(key) is None:
                found.add(key, "is required")
        check_range(found, step, "timeout", 1, 900)
        check_range(found, step, "attempts", 1, 100)
        timeout = plain(step.get("timeout"))
        if isinstance(timeout, int) and isinstance(execution, int) and timeout >= execution:
            found.add(
                "timeout",
                f"{timeout} s leaves no time in an execution of timeout_seconds {execution}",
            )
        problems.messages += [f"steps[{index}].{message}" for message in found.messages]


class DocumentWorkflow(pulumi.ComponentResource):
    """A state machine calling functions in order, started per queue message by a pipe."""

    state_machine_arn: pulumi.Output[str]
    """ARN of the state machine."""
    state_machine_name: pulumi.Output[str]
    """Name of the state machine."""
    role_arn: pulumi.Output[str]
    """ARN of the state machine's role."""
    pipe_arn: pulumi.Output[str]
    """ARN of the pipe that starts the executions."""
    pipe_name: pulumi.Output[str]
    """Name of the pipe."""
    pipe_role_arn: pulumi.Output[str]
    """ARN of the pipe's role."""
    log_group_name: pulumi.Output[str]
    """Name of the workflow's log group."""

    def __init__(
        self, name: str, args: DocumentWorkflowArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        s = validate(name, coerce(DocumentWorkflowArgs, args, "DocumentWorkflow", name))
        super().__init__(TYPE, name, None, opts)
        self._name, self._s, self._tags = name, s, s.get("tags")
        self._account = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).account_id
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            # AWS's advice for logs services deliver: the /aws/vendedlogs/ prefix keeps the
            # account's CloudWatch Logs resource policy from growing per log group.
            name_prefix=f"/aws/vendedlogs/states/{name}-",
            retention_in_days=s["log_retention_days"],
            tags=self._tags,
            opts=self._child(),
        )
        self._create_role()
        self._create_state_machine()
        self._create_pipe()
        self.alarms = self._create_alarms() if s["create_alarms"] else []
        self._export()

    def _child(self, **extra: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **extra)

    # -- state machine ------------------------------------------------------------------------

    def steps(self) -> list[workflow_definition.Step]:
        return [
            workflow_definition.Step(
                name=step["name"],
                function_arn=step["function_arn"],
                timeout=step["timeout"],
                attempts=step["attempts"],
            )
            for step in self._s["steps"]
        ]

    def policy_statements(self) -> list[Any]:
        """The state machine's role: invoke exactly the steps' functions, deliver logs, trace."""
        functions = [step["function_arn"] for step in self._s["steps"]]
        statements = [
            iam.statement("invoke-step-functions", ["lambda:InvokeFunction"], functions),
            iam.statement("deliver-logs", LOG_DELIVERY_ACTIONS, ["*"]),
        ]
        if self._s["tracing_enabled"]:
            statements.append(iam.statement("xray", XRAY_ACTIONS, ["*"]))
        return statements

    def _create_role(self) -> None:
        self.role = aws.iam.Role(
            f"{self._name}-role",
            # Only state machines of this account may assume it (confused deputy).
            assume_role_policy=iam.service_trust("states.amazonaws.com", self._account),
            tags=self._tags,
            opts=self._child(),
        )
        self.role_policy = aws.iam.RolePolicy(
            f"{self._name}-role-policy",
            role=self.role.id,
            policy=iam.to_json(self.policy_statements()),
            opts=self._child(),
        )

    def _create_state_machine(self) -> None:
        s = self._s
        definition = workflow_definition.definition(
            self.steps(),
            s["timeout_seconds"],
            comment=f"{self._name}: one document through "
            + " -> ".join(step["name"] for step in s["steps"]),
        )
        self.state_machine = aws.sfn.StateMachine(
            f"{self._name}-state-machine",
            type=s["workflow_type"],
            role_arn=self.role.arn,
            definition=pulumi.Output.json_dumps(definition),
            logging_configuration={
                "level": s["log_level"],
                "include_execution_data": s["include_execution_data"],
                "log_destination": pulumi.Output.concat(self.log_group.arn, ":*"),
            },
            tracing_configuration={"enabled": s["tracing_enabled"]},
            tags=self._tags,
            # Step Functions checks the role may deliver logs when the machine is created.
            opts=self._child(depends_on=[self.role_policy]),
        )

    # -- pipe ---------------------------------------------------------------------------------

    def pipe_statements(self) -> list[Any]:
        """The pipe's role: consume its queue, start its state machine, nothing else."""
        s = self._s
        statements = [
            iam.statement("consume-source-queue", PIPE_CONSUME_ACTIONS, [s["source_queue_arn"]]),
            iam.statement(
                "start-workflow", [START_ACTION[s["workflow_type"]]], [self.state_machine.arn]
            ),
        ]
        if s.get("source_queue_kms_key_arn") is not None:
            key = s["source_queue_kms_key_arn"]
            statements.append(iam.statement("decrypt-source-queue", ["kms:Decrypt"], [key]))
        return statements

    def _create_pipe(self) -> None:
        s = self._s
        self.pipe_role = aws.iam.Role(
            f"{self._name}-pipe-role",
            assume_role_policy=iam.service_trust("pipes.amazonaws.com", self._account),
            tags=self._tags,
            opts=self._child(),
        )
        self.pipe_role_policy = aws.iam.RolePolicy(
            f"{self._name}-pipe-role-policy",
            role=self.pipe_role.id,
            policy=iam.to_json(self.pipe_statements()),
            opts=self._child(),
        )
        self.pipe = aws.pipes.Pipe(
            f"{self._name}-pipe",
            description=f"Starts {self._name} once per message of its queue",
            role_arn=self.pipe_role.arn,
            source=s["source_queue_arn"],
            # One message per execution: an execution carries one document.
            source_parameters={"sqs_queue_parameters": {"batch_size": 1}},
            target=self.state_machine.arn,
            target_parameters={
                "step_function_state_machine_parameters": {
                    "invocation_type": INVOCATION[s["workflow_type"]]
                }
            },
            tags=self._tags,
            # The pipe starts polling at once: its role must work by then.
            opts=self._child(depends_on=[self.pipe_role_policy]),
        )

    # -- alarms and outputs -------------------------------------------------------------------

    def _alarm(self, role: str, description: str, metric: str) -> aws.cloudwatch.MetricAlarm:
        return alarm(
            f"{self._name}-{role}",
            description,
            0,
            self._s.get("alarm_topic_arn"),
            self._tags,
            self._child(),
            namespace="AWS/States",
            metric_name=metric,
            dimensions={"StateMachineArn": self.state_machine.arn},
            statistic="Sum",
            period=300,
        )

    def _create_alarms(self) -> list[aws.cloudwatch.MetricAlarm]:
        return [
            self._alarm(
                "failed-alarm",
                f"{self._name}: executions failed (a step failed after its retries)",
                "ExecutionsFailed",
            ),
            self._alarm(
                "timed-out-alarm", f"{self._name}: executions timed out", "ExecutionsTimedOut"
            ),
        ]

    def _export(self) -> None:
        self.state_machine_arn = self.state_machine.arn
        self.state_machine_name = self.state_machine.name
        self.role_arn = self.role.arn
        self.pipe_arn, self.pipe_name = self.pipe.arn, self.pipe.name
        self.pipe_role_arn = self.pipe_role.arn
        self.log_group_name = self.log_group.name
        self.register_outputs(
            {
                "state_machine_arn": self.state_machine_arn,
                "state_machine_name": self.state_machine_name,
                "role_arn": self.role_arn,
                "pipe_arn": self.pipe_arn,
                "pipe_name": self.pipe_name,
                "pipe_role_arn": self.pipe_role_arn,
                "log_group_name": self.log_group_name,
            }
        )
